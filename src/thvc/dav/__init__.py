"""WebDAV adapter (RFC 4918 class 1): one module per method, rules in the core."""
