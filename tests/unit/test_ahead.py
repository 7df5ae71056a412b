"""thvc.http.ahead: the thread pool works one piece ahead of (or behind) the event loop."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import anyio
import pytest

from thvc.http.ahead import WriteBehind, read_ahead


def _run(main: object) -> None:
    anyio.run(main, backend="asyncio")  # type: ignore[arg-type]


class Source:
    """A generator of numbered chunks that records which thread made each and when it closed."""

    def __init__(self, count: int, *, fail_at: int | None = None, delay: float = 0.0) -> None:
        self.count = count
        self.fail_at = fail_at
        self.delay = delay
        self.made: list[int] = []
        self.threads: set[int] = set()
        self.closed = threading.Event()

    def chunks(self) -> Iterator[bytes]:
        try:
            for i in range(self.count):
                if i == self.fail_at:
                    raise OSError(f"segment {i} is unreadable")
                time.sleep(self.delay)
                self.made.append(i)
                self.threads.add(threading.get_ident())
                yield f"chunk {i};".encode()
        finally:
            self.closed.set()


def test_read_ahead_yields_everything_in_order_from_the_thread_pool() -> None:
    src = Source(20)
    got: list[bytes] = []

    async def main() -> None:
        async for chunk in read_ahead(src.chunks()):
            got.append(chunk)

    _run(main)
    assert got == [f"chunk {i};".encode() for i in range(20)]
    assert threading.get_ident() not in src.threads
    assert src.closed.is_set()


def test_read_ahead_produces_the_next_chunk_while_the_caller_is_busy() -> None:
    src = Source(3)
    seen: list[list[int]] = []

    async def main() -> None:
        async for _ in read_ahead(src.chunks()):
            # Sending: meanwhile the next one is made, unasked (and no more than that).
            for _ in range(500):
                if len(src.made) == min(len(seen) + 2, 3):
                    break
                await asyncio.sleep(0.01)
            seen.append(list(src.made))

    _run(main)
    assert seen == [[0, 1], [0, 1, 2], [0, 1, 2]]


def test_read_ahead_raises_the_sources_error_where_its_chunk_is_awaited() -> None:
    src = Source(5, fail_at=3)
    got: list[bytes] = []

    async def main() -> None:
        async for chunk in read_ahead(src.chunks()):
            got.append(chunk)

    with pytest.raises(OSError, match="segment 3 is unreadable"):
        _run(main)
    assert len(got) == 3


def test_read_ahead_stopped_early_closes_the_source_once_its_thread_is_done() -> None:
    src = Source(100, delay=0.02)

    async def main() -> None:
        ahead = read_ahead(src.chunks())
        async for _ in ahead:
            break
        await ahead.aclose()  # what a client that went away leads to

    _run(main)
    assert src.closed.wait(5)
    assert len(src.made) <= 2  # nothing was read beyond the one chunk ahead


def test_read_ahead_of_a_cancelled_download_lets_its_thread_finish() -> None:
    src = Source(100, delay=0.1)

    async def main() -> None:
        with anyio.move_on_after(0.15):
            async for _ in read_ahead(src.chunks()):
                pass

    _run(main)
    assert src.closed.wait(5)


class Sink:
    def __init__(self, *, fail_at: int | None = None, delay: float = 0.0) -> None:
        self.fail_at = fail_at
        self.delay = delay
        self.written: list[bytes] = []
        self.busy = False

    def write(self, piece: bytes) -> None:
        assert not self.busy, "two writes at once"
        self.busy = True
        try:
            time.sleep(self.delay)
            if len(self.written) == self.fail_at:
                raise OSError("disk full")
            self.written.append(piece)
        finally:
            self.busy = False


def test_write_behind_writes_every_piece_in_order_one_at_a_time() -> None:
    sink = Sink(delay=0.005)

    async def main() -> None:
        behind = WriteBehind(sink.write)
        for i in range(10):
            await behind.put(b"%d" % i)
        await behind.drain()

    _run(main)
    assert sink.written == [b"%d" % i for i in range(10)]


def test_write_behind_returns_before_the_piece_is_written() -> None:
    sink = Sink(delay=0.1)
    during: list[int] = []

    async def main() -> None:
        behind = WriteBehind(sink.write)
        await behind.put(b"one")
        during.append(len(sink.written))  # the caller receives the next piece meanwhile
        await behind.drain()
        during.append(len(sink.written))

    _run(main)
    assert during == [0, 1]


def test_write_behind_raises_a_write_error_at_the_next_put_or_drain() -> None:
    for then_put in (True, False):
        sink = Sink(fail_at=1)

        async def main(then_put: bool = then_put, sink: Sink = sink) -> None:
            behind = WriteBehind(sink.write)
            await behind.put(b"a")
            await behind.put(b"b")  # fails in the thread
            if then_put:
                await behind.put(b"c")
            await behind.drain()

        with pytest.raises(OSError, match="disk full"):
            _run(main)
        assert sink.written == [b"a"]


def test_write_behind_drain_waits_for_the_thread_even_when_cancelled() -> None:
    """The caller aborts the upload after drain: the writer must be idle by then."""
    sink = Sink(delay=0.3)
    after: list[bool] = []

    async def main() -> None:
        behind = WriteBehind(sink.write)
        await behind.put(b"piece")
        with anyio.move_on_after(0.05):
            await behind.drain()
        after.append(sink.busy)

    _run(main)
    assert after == [False]
    assert sink.written == [b"piece"]
