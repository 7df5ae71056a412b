"""THVC_WORKER_THREADS: the thread pool that runs requests' blocking work, and the
database connections kept open for it."""

from __future__ import annotations

from typing import Any

import anyio
import anyio.to_thread

from thvc.app import create_app
from thvc.db.engine import Database
from thvc.services import build_services
from thvc.settings import Settings


def _with_threads(settings: Settings, n: int) -> Settings:
    return settings.model_copy(update={"worker_threads": n})


def _threads_after_startup(settings: Settings) -> int:
    """Start the app as a server does (the ASGI lifespan), read the pool's size, stop it."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = create_app(settings, build_services(settings))

    async def main() -> int:
        started, stop = anyio.Event(), anyio.Event()
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "lifespan.startup"}
            await stop.wait()
            return {"type": "lifespan.shutdown"}

        async def send(message: dict[str, Any]) -> None:
            assert not message["type"].endswith(".failed"), message
            if message["type"] == "lifespan.startup.complete":
                started.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(app, {"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)
            await started.wait()
            limit = int(anyio.to_thread.current_default_thread_limiter().total_tokens)
            stop.set()
        return limit

    return anyio.run(main)


def test_the_server_runs_requests_on_as_many_threads_as_configured(settings: Settings) -> None:
    assert _threads_after_startup(_with_threads(settings, 7)) == 7
    assert _threads_after_startup(settings) == 8  # the default


def test_the_database_keeps_a_connection_open_for_each_thread(settings: Settings) -> None:
    db = Database(_with_threads(settings, 13))
    try:
        assert db.engine.pool.size() == 13  # type: ignore[attr-defined]
    finally:
        db.dispose()
