-- An old-style module (no return): it runs at every VM load and defines globals.
MODULE_LOADS = (MODULE_LOADS or 0) + 1
function shout(text)
  return string.upper(text)
end
