"""The JSON API: an HTTP adapter over the core, for scripts and other systems."""
