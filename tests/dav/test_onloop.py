"""Small reads answered on the event loop on local storage (thvc.onloop), and everything
that would block answered from the thread pool as before."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio.to_thread
import pytest

from tests.common import factories
from tests.common.dav import DavClient, basic
from thvc.accounts.services import Principal
from thvc.files import services as file_services
from thvc.services import Services


@pytest.fixture
def pool_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the calls that went to the thread pool."""
    calls: list[str] = []
    real = anyio.to_thread.run_sync

    async def counted(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        calls.append(getattr(fn, "__qualname__", repr(fn)))
        return await real(fn, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    return calls


def test_small_reads_skip_the_pool_on_sqlite_only(
    dav: DavClient, svc: Services, anna: Principal, pool_calls: list[str]
) -> None:
    factories.put(svc, anna, "/a.txt", b"hello")
    dav.propfind("/", depth="0")  # the first request: the credential is checked in the pool
    pool_calls.clear()
    assert dav.get("/a.txt").content == b"hello"
    assert dav.request("HEAD", "/a.txt", check=200).headers["Content-Length"] == "5"
    assert set(dav.propfind("/", depth="1")) == {dav.href("/"), dav.href("/a.txt")}
    if svc.db.is_sqlite:
        assert pool_calls == []
    else:
        assert len(pool_calls) == 4  # GET, HEAD: one trip each; PROPFIND: two


def test_what_would_block_is_done_in_the_pool(
    dav: DavClient, svc: Services, anna: Principal, pool_calls: list[str]
) -> None:
    # A wrong password: argon2, a counted failure (a write), 401.
    r = dav.client.get(dav.url("/"), headers={"Authorization": basic(anna.login, "wrong one!")})
    assert r.status_code == 401
    assert pool_calls
    # An upload writes; afterwards its content is read back on the loop.
    dav.put("/b.txt", b"data", check=201)
    pool_calls.clear()
    assert dav.get("/b.txt").content == b"data"
    assert len(pool_calls) == (0 if svc.db.is_sqlite else 1)


def test_a_large_folder_is_listed_from_the_pool(
    dav: DavClient,
    svc: Services,
    anna: Principal,
    pool_calls: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for i in range(3):
        factories.put(svc, anna, f"/f{i}.txt", b"x")
    monkeypatch.setattr(file_services, "LOOP_LISTING_MAX", 2)
    dav.propfind("/", depth="0")
    pool_calls.clear()
    assert len(dav.propfind("/", depth="1")) == 4
    assert len(pool_calls) == (1 if svc.db.is_sqlite else 2)
