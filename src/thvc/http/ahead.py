"""Overlap the thread pool's work with the event loop's for streamed bodies.

A download read one segment in the thread pool (disk read, AES-GCM), then sent it from the
event loop, then read the next: the two never ran at once, although both mostly run
outside the GIL (OpenSSL, the kernel). An upload did the same the other way round.
Keeping one piece in flight in the thread pool while the loop moves the other lets a
2-core machine use both cores for one transfer; memory stays bounded by two pieces.

These helpers start thread-pool calls as asyncio tasks: ThVC's server runs on asyncio.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anyio
import anyio.to_thread


class _Source:
    """``chunks`` stepped in the thread pool, and closed (its file) in whichever thread
    comes last: the loop that stops reading, or the thread still making a chunk then."""

    __slots__ = ("_chunks", "_lock", "_running", "_stopped")

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._lock = threading.Lock()
        self._running = False
        self._stopped = False

    def step(self) -> bytes | None:
        with self._lock:
            if self._stopped:
                return None
            self._running = True
        try:
            return next(self._chunks, None)
        finally:
            with self._lock:
                self._running = False
                close = self._stopped
            if close:
                self._close()

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            close = not self._running
        if close:
            self._close()

    def _close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()


async def read_ahead(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """``chunks``, produced in the thread pool one ahead of what the caller consumes.

    An error of ``chunks`` is raised where the caller awaits the chunk it concerns. If
    the caller stops early (a client that went away), the chunk being produced is
    dropped and ``chunks`` closed once its thread returns.
    """
    source = _Source(chunks)
    pending = asyncio.ensure_future(anyio.to_thread.run_sync(source.step))
    try:
        while True:
            # Shielded: a cancelled download leaves the thread to finish its chunk.
            chunk = await asyncio.shield(pending)
            if chunk is None:
                return
            pending = asyncio.ensure_future(anyio.to_thread.run_sync(source.step))
            yield chunk
    finally:
        pending.add_done_callback(_retrieve)
        source.stop()


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Mark a dropped task's outcome as seen (asyncio logs unseen exceptions)."""
    if not task.cancelled():
        task.exception()


class WriteBehind:
    """Hand pieces to ``write`` in the thread pool, one at a time and in order, without
    waiting for a piece to be written before the next is received.

    ``await put(piece)`` returns once the previous piece is written and this one has
    started; ``await drain()`` waits for the last. An error of ``write`` is raised by the
    next ``put`` or ``drain``. ``drain`` must be awaited before anything else touches what
    ``write`` writes to, whether the transfer succeeded or not: the thread may still be
    writing, and it is waited for even if the caller is cancelled meanwhile.
    """

    __slots__ = ("_pending", "_write")

    def __init__(self, write: Callable[[bytes], None]) -> None:
        self._write = write
        self._pending: asyncio.Future[None] | None = None

    async def put(self, piece: bytes) -> None:
        await self.drain()
        self._pending = asyncio.ensure_future(anyio.to_thread.run_sync(self._write, piece))

    async def drain(self) -> None:
        pending, self._pending = self._pending, None
        if pending is None:
            return
        try:
            await asyncio.shield(pending)
        except asyncio.CancelledError:
            if not pending.done():
                with anyio.CancelScope(shield=True):
                    await asyncio.wait([pending])
            pending.add_done_callback(_retrieve)
            raise
