--#EVENT {product.id} event
Keystore.set{key = "from_product", value = event.identity}

--#EVENT interface subscriberAdded
Keystore.set{key = "subscriber", value = subscription.solution_id}
