"""Spaces, the node tree, versions, trash, quota accounting and permission checks."""
