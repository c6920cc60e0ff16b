"""HTTP routes, thin: they parse, call a plain module, and present the result."""
