"""Writers in one space at the same time, as a sync client sends them (up to six at once).

On PostgreSQL, writers that took rows in different orders (space, folders, tenant, audit
head) deadlocked and one of them failed with a 500; every writer now queues on its
spaces' rows first. The same mix runs on SQLite, where the write lock serialises anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from tests.common import factories
from tests.common.factories import loc, mkdir, put

from thvc.accounts.services import Principal
from thvc.services import Services

from .test_services import assert_accounting

ROUNDS = 12


@pytest.fixture
def anna(svc: Services) -> Principal:
    return factories.user(svc, "anna@lauscha")


def test_puts_moves_deletes_and_mkcols_at_once_all_succeed(svc: Services, anna: Principal) -> None:
    for folder in ("Ämter", "Projekte", "Neu"):
        mkdir(svc, anna, folder)
    for i in range(ROUNDS):
        put(svc, anna, f"Ämter/{i:03}.md", b"x" * (i + 1))
        put(svc, anna, f"Projekte/{i:03}.txt", b"y" * (i + 1))

    def edit(i: int) -> None:
        put(svc, anna, f"{i:03} Haushalt.txt", b"neu" * (i + 1))

    def rename(i: int) -> None:
        svc.files.move(
            loc(svc, anna, f"Ämter/{i:03}.md"),
            loc(svc, anna, f"Ämter/umbenannt {i:03}.md"),
            actor=anna,
        )

    def remove(i: int) -> None:
        svc.files.delete(loc(svc, anna, f"Projekte/{i:03}.txt"), actor=anna)

    def create(i: int) -> None:
        mkdir(svc, anna, f"Neu/{i:03}")
        put(svc, anna, f"Neu/{i:03}/notiz.txt", b"hallo")

    jobs: list[Callable[[int], None]] = [edit, rename, remove, create]
    with ThreadPoolExecutor(max_workers=6) as pool:
        futures = [pool.submit(job, i) for i in range(ROUNDS) for job in jobs]
        failures = [repr(f.exception()) for f in futures if f.exception() is not None]
    assert failures == []
    names = {e.name for e in svc.files.listing(loc(svc, anna, "Ämter"))[1]}
    assert names == {f"umbenannt {i:03}.md" for i in range(ROUNDS)}
    assert svc.files.listing(loc(svc, anna, "Projekte"))[1] == []
    assert_accounting(svc)
