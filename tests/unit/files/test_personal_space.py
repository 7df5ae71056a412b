"""A user's personal space: created with the account, or on the first request of an
account that has none (created before, or a guest)."""

from __future__ import annotations

from contextlib import AbstractContextManager

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from tests.common import factories

from thvc.accounts.models import User
from thvc.files.models import Node, Space, SpaceKind
from thvc.services import Services


def _spaces_of(svc: Services, user_id: int) -> list[Space]:
    with svc.db.read() as s:
        return list(s.scalars(select(Space).where(Space.owner_id == user_id)))


@pytest.fixture
def writes(svc: Services, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per write transaction opened from now on."""
    opened: list[int] = []
    real = svc.db.write

    def counted() -> AbstractContextManager[Session]:
        opened.append(1)
        return real()

    monkeypatch.setattr(svc.db, "write", counted)
    return opened


def test_a_new_account_comes_with_its_personal_space(svc: Services) -> None:
    anna = factories.user(svc, "anna@town")
    (space,) = _spaces_of(svc, anna.user_id)
    assert (space.kind, space.name, space.tenant_id) == (
        SpaceKind.PERSONAL,
        "anna@town",
        anna.tenant_id,
    )
    with svc.db.read() as s:
        root = s.scalar(select(Node).where(Node.space_id == space.id, Node.path == ""))
    assert root is not None and root.is_dir


def test_the_first_request_of_a_new_account_writes_only_its_login(
    svc: Services, writes: list[int]
) -> None:
    anna = factories.user(svc, "anna@town")
    writes.clear()
    svc.accounts.authenticate("anna@town", factories.PASSWORD, client="127.0.0.1")
    assert len(writes) == 1  # the login: audit event and credential cache
    loc = factories.loc(svc, anna)
    assert writes == [1] and loc.space_id == _spaces_of(svc, anna.user_id)[0].id


def test_an_account_without_a_space_gets_one_on_its_first_request(
    svc: Services, writes: list[int]
) -> None:
    anna = factories.user(svc, "anna@town")
    with svc.db.write() as s:  # as for an account created before spaces came with it
        space_id = s.scalar(select(Space.id).where(Space.owner_id == anna.user_id))
        s.execute(delete(Node).where(Node.space_id == space_id))
        s.execute(delete(Space).where(Space.id == space_id))
    writes.clear()
    loc = factories.loc(svc, anna)
    (space,) = _spaces_of(svc, anna.user_id)
    assert loc.space_id == space.id and len(writes) == 1
    factories.put(svc, anna, "/a.txt", b"hello")
    assert factories.read(svc, anna, "/a.txt") == b"hello"


def test_an_account_and_its_space_are_created_together_or_not_at_all(svc: Services) -> None:
    factories.tenant(svc, "town")

    def refuse(s: Session, user: User) -> None:
        raise RuntimeError("the next provisioner fails")

    svc.accounts.provisioners.append(refuse)
    try:
        with pytest.raises(RuntimeError):
            svc.accounts.create_user("anna@town", factories.PASSWORD)
    finally:
        svc.accounts.provisioners.remove(refuse)
    with svc.db.read() as s:
        assert s.scalar(select(User.id).where(User.login == "anna@town")) is None
        assert list(s.scalars(select(Space).where(Space.name == "anna@town"))) == []
