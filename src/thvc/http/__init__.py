"""HTTP helpers that are no protocol's own (RFC 9110 ranges, ...), shared by the adapters
so that they need not import one another."""
