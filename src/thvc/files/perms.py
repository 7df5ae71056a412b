"""What a caller may do at a place in the tree: Nextcloud's permission bits.

Nextcloud's clients and OCS API speak these bits, so the core uses them too:
a personal space grants all of them, a team space what the member's role
grants, a received share what the sharer granted, a public link what its kind
allows.
"""

from __future__ import annotations

import enum


class Perm(enum.IntFlag):
    NONE = 0
    READ = 1
    UPDATE = 2
    CREATE = 4
    DELETE = 8
    SHARE = 16

    @classmethod
    def all(cls) -> Perm:
        return cls.READ | cls.UPDATE | cls.CREATE | cls.DELETE | cls.SHARE

    @classmethod
    def write(cls) -> Perm:
        return cls.UPDATE | cls.CREATE | cls.DELETE


def describe(p: Perm) -> str:
    """For messages: ``read, create``."""
    names = [m.name.lower() for m in Perm if m and m in p and m.name]
    return ", ".join(names) or "nothing"
