"""The page where an invited guest sets a password: once, with a CSRF-safe form."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from thvc.accounts.models import Role
from thvc.accounts.services import Principal
from thvc.services import Services


def _invite(svc: Services, anna: Principal) -> tuple[str, str]:
    invited = svc.invitations.invite(anna, "ing.mueller@planungsbuero.example")
    return invited.login, invited.url.split("/invite/", 1)[1]


def _form(client: TestClient, token: str, lang: str = "de") -> str:
    page = client.get(f"/invite/{token}?lang={lang}")
    assert page.status_code == 200
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found
    return found.group(1)


def test_a_guest_sets_a_password_and_can_log_in(
    client: TestClient, svc: Services, anna: Principal
) -> None:
    login, token = _invite(svc, anna)
    page = client.get(f"/invite/{token}")
    assert page.status_code == 200 and login in page.text and 'lang="de"' in page.text
    assert "Content-Security-Policy" in page.headers
    csrf = _form(client, token)
    r = client.post(
        f"/invite/{token}",
        data={"csrf": csrf, "password": "ein-gutes-passwort", "repeat": "ein-gutes-passwort"},
    )
    assert r.status_code == 200 and "Passwort festgelegt" in r.text
    who = svc.accounts.authenticate(login, "ein-gutes-passwort", client="t")
    assert who.role is Role.GUEST
    # Used up: the same page is now a 404.
    assert client.get(f"/invite/{token}").status_code == 404


def test_bad_forms_are_explained_and_change_nothing(
    client: TestClient, svc: Services, anna: Principal
) -> None:
    login, token = _invite(svc, anna)
    csrf = _form(client, token, "en")
    differ = client.post(
        f"/invite/{token}?lang=en",
        data={"csrf": csrf, "password": "ein-gutes-passwort", "repeat": "ein-anderes-passwort"},
    )
    assert differ.status_code == 400 and "differ" in differ.text
    short = client.post(
        f"/invite/{token}?lang=en", data={"csrf": csrf, "password": "kurz", "repeat": "kurz"}
    )
    assert short.status_code == 400 and "too short" in short.text
    forged = TestClient(client.app).post(
        f"/invite/{token}?lang=en",
        data={"csrf": csrf, "password": "ein-gutes-passwort", "repeat": "ein-gutes-passwort"},
    )
    assert forged.status_code == 400 and "expired" in forged.text
    assert client.get("/invite/erfunden").status_code == 404
    assert svc.invitations.pending(token)[0] == login
