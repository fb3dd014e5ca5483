"""One handler per subresource or virtual resource (see shim.registry.subresource), listed with their resources
in shim.registry.builtin and shim.registry.catalog."""
