"""The ``thvc`` command."""
