"""Guests: invited by e-mail (through a local SMTP sink), limited to what is shared."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import delete
from tests.common import factories
from tests.common.factories import loc, mkdir, put, read

from thvc.accounts.invitations import InvitationGone
from thvc.accounts.models import CredentialCache, Role, User
from thvc.audit.services import query as audit_query
from thvc.db.types import utcnow
from thvc.errors import BadRequest, Forbidden, NotAuthenticated
from thvc.files.errors import ReadOnly
from thvc.files.perms import Perm
from thvc.services import Services, build_services
from thvc.settings import Settings


class Sink:
    """Keeps every message it is handed."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def sink() -> Iterator[tuple[Sink, int]]:
    handler, port = Sink(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture
def mailing(settings: Settings, sink: tuple[Sink, int]) -> Iterator[Services]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    mailer = settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": sink[1], "smtp_starttls": False}
    )
    services = build_services(mailer)
    yield services
    services.close()


def test_an_invitation_is_mailed_and_sets_the_guests_password_once(
    mailing: Services, sink: tuple[Sink, int]
) -> None:
    svc = mailing
    anna = factories.user(svc, "anna@lauscha")
    invited = svc.invitations.invite(anna, "Ing.Mueller@planungsbuero.example", days=30)
    assert invited.mailed
    assert invited.login == "gast.ing.mueller@lauscha"
    [msg] = sink[0].messages
    assert msg["To"] == "ing.mueller@planungsbuero.example"
    body = msg.get_payload(decode=True)
    assert isinstance(body, bytes)
    assert invited.url in body.decode()
    token = invited.url.rsplit("/", 1)[1]
    assert svc.invitations.pending(token)[0] == invited.login
    with pytest.raises(NotAuthenticated):
        svc.accounts.authenticate(invited.login, "irgendwas-langes", client="t")
    svc.invitations.accept(token, "ein-gutes-passwort")
    guest = svc.accounts.authenticate(invited.login, "ein-gutes-passwort", client="t")
    assert guest.role is Role.GUEST
    with pytest.raises(InvitationGone):
        svc.invitations.accept(token, "noch-ein-passwort")


def test_a_guest_sees_only_what_is_shared_and_expires(svc: Services) -> None:
    anna = factories.user(svc, "anna@lauscha")
    invited = svc.invitations.invite(anna, "extern@example.org")
    assert not invited.mailed and "/invite/" in invited.url
    svc.invitations.accept(invited.url.rsplit("/", 1)[1], "ein-gutes-passwort")
    guest = svc.accounts.authenticate(invited.login, "ein-gutes-passwort", client="t")
    with pytest.raises(ReadOnly):
        put(svc, guest, "eigen.txt", b"x")
    mkdir(svc, anna, "Projekt")
    put(svc, anna, "Projekt/plan.txt", b"Plan")
    svc.sharing.share(
        anna, loc(svc, anna, "Projekt"), user=invited.login, permissions=Perm.READ | Perm.CREATE
    )
    assert read(svc, guest, "Projekt/plan.txt") == b"Plan"
    put(svc, guest, "Projekt/antwort.txt", b"Antwort")
    assert read(svc, anna, "Projekt/antwort.txt") == b"Antwort"
    # Past its expiry the account no longer logs in (the credential cache included).
    with svc.db.write() as s:
        u = svc.accounts.get_user(s, invited.login)
        assert isinstance(u, User)
        u.expires_at = utcnow() - timedelta(seconds=1)
        s.execute(delete(CredentialCache))
    with pytest.raises(NotAuthenticated, match="expired"):
        svc.accounts.authenticate(invited.login, "ein-gutes-passwort", client="t")


def test_who_may_invite_and_bad_addresses(svc: Services) -> None:
    anna = factories.user(svc, "anna@lauscha")
    with pytest.raises(BadRequest):
        svc.invitations.invite(anna, "keine-adresse")
    svc.tenants.set_policy("lauscha", members_invite=False)
    with pytest.raises(Forbidden, match="only tenant admins"):
        svc.invitations.invite(anna, "a@example.org")
    admin = factories.user(svc, "chefin@lauscha", role=Role.TENANT_ADMIN)
    first = svc.invitations.invite(admin, "a@example.org")
    second = svc.invitations.invite(admin, "a@example.com")
    assert first.login != second.login
    with pytest.raises(InvitationGone):
        svc.invitations.accept("erfunden", "ein-gutes-passwort")
    with svc.db.read() as s:
        events = audit_query(s, action="guest.invite")
    assert [e.actor for e in events] == ["chefin@lauscha", "chefin@lauscha"]
