"""Core calls tried on the event loop's thread, and what sends them to the thread pool.

On the embedded configuration (SQLite, local disk) a request's reads are a few pages the
operating system has cached: microseconds, far less than a trip to the thread pool and
back. Under concurrency the trip is what costs: every SQLite statement of a worker thread
gives up the GIL and has to take it back against the event loop and the other workers, so
a 4 KiB GET with 16 connections ran at 280 requests/s through the pool and at 940 on the
loop (docs/benchmarks.md §0). nginx reads files on its event loop for the same reason.

The HTTP layer runs such a call inside :func:`call`. Whatever can take long or wait for
someone else calls :func:`check` first: a write transaction (it may queue behind another
writer), argon2, a network round trip (PostgreSQL, a remote blob store). Inside
:func:`call` that raises :class:`WouldBlock`, and the caller runs the call again in the
thread pool, from the start; nothing was written by then, since every write checks first.
Outside :func:`call` :func:`check` does nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class _Call:
    """What the parts of one :func:`call` share, closed when it ends."""

    __slots__ = ("held", "stack")

    def __init__(self, stack: ExitStack) -> None:
        self.stack = stack
        self.held: dict[object, Any] = {}


_CALL: ContextVar[_Call | None] = ContextVar("thvc_on_loop", default=None)


class WouldBlock(Exception):
    """The call would wait (for a lock, the network, argon2): run it in the thread pool.

    Not a :class:`thvc.errors.ThvcError`: nothing maps it to a response, and the core's
    handlers of its own errors let it through.
    """


def check(what: str) -> None:
    """Say that ``what`` comes next and may block: refused inside :func:`call`."""
    if _CALL.get() is not None:
        raise WouldBlock(what)


def held(key: object, opener: Callable[[], AbstractContextManager[T]]) -> T | None:
    """Inside :func:`call`: what ``opener()`` enters, entered on the first use under
    ``key`` and left when the call ends, so that the call's parts share it (one read
    snapshot for the authentication, the lookup and the read of a small GET: nothing
    can write in between, since writing would block). Outside: None."""
    c = _CALL.get()
    if c is None:
        return None
    if key not in c.held:
        c.held[key] = c.stack.enter_context(opener())
    value: T = c.held[key]
    return value


def call(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``fn(*args, **kwargs)`` with :func:`check` refusing; WouldBlock passes through."""
    with ExitStack() as stack:
        token = _CALL.set(_Call(stack))
        try:
            return fn(*args, **kwargs)
        finally:
            _CALL.reset(token)
