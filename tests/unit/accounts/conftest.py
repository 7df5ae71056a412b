from __future__ import annotations

import pytest
from tests.common.dav import skip_fsync

from thvc.services import Services


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch, svc: Services) -> None:
    """Durability is the crash tests' business; argon2 keeps its real cost here."""
    skip_fsync(monkeypatch, svc.db.engine)
