"""Small durable-filesystem helpers shared by the key file and the local store."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def fsync_dir(path: Path) -> None:
    """Make the entries of directory ``path`` (creations, renames) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Ask the kernel to start writing ``length`` bytes at ``offset`` to disk, not waiting.

    A large file written without it sits in the page cache until the final fsync, which
    then writes it all while the client waits (0.5-0.6 s per GiB here), and the dirty
    pages pile up for the kernel to throttle and reclaim. Started early, the writing
    overlaps the transfer and the fsync only flushes the tail. Linux starts writeback of
    dirty pages for ``POSIX_FADV_DONTNEED`` (pages still dirty stay cached); PostgreSQL
    flushes its data files ahead of fsync the same way where it lacks sync_file_range.
    A hint only: where it is not supported, nothing changes but the timing.
    """
    with contextlib.suppress(OSError, AttributeError):
        os.posix_fadvise(fd, offset, length, os.POSIX_FADV_DONTNEED)


def make_dirs(path: Path, mode: int = 0o700) -> None:
    """Create ``path`` and any missing parents, each made durable in its parent.

    A directory that already exists is left as it is. Without the parent fsync a
    crash could forget a freshly made directory, and with it the blobs renamed
    into it after their own fsync.
    """
    if path.is_dir():
        return
    make_dirs(path.parent, mode)
    try:
        path.mkdir(mode=mode)
    except FileExistsError:
        # Another writer made it between our check and mkdir; it fsyncs the parent.
        if not path.is_dir():
            raise
        return
    fsync_dir(path.parent)


def write_all(fd: int, data: bytes | memoryview) -> None:
    """``os.write`` until every byte is written (it may write fewer)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def read_exact(fd: int, size: int) -> bytes:
    """Read up to ``size`` bytes, fewer only at end of file."""
    parts: list[bytes] = []
    remaining = size
    while remaining:
        part = os.read(fd, remaining)
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)
