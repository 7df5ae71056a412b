from __future__ import annotations

import pytest
from tests.common.dav import skip_fsync, use_cheap_password_hashing

from thvc.services import Services


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch, svc: Services) -> None:
    """Users are only scenery here, and durability is the crash tests' business."""
    use_cheap_password_hashing(monkeypatch)
    skip_fsync(monkeypatch, svc.db.engine)
