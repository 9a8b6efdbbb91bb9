-- A {placeholder} alias (MuranoCLI replaced it with the configured product id): a script key.
--#EVENT {product.id} event
return { type = event.type }
