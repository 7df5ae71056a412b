"""Resumable uploads: Nextcloud/ownCloud chunking and tus share one assembly path."""
