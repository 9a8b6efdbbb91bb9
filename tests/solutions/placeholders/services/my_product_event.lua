-- No known alias prefixes the name: it splits at the first "_" (my / product_event).
return event
