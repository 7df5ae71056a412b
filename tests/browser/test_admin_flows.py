"""The administration end to end, in Chromium against a real server, in German and English.

The operator (``thvc init``'s) creates the organisation ``lauscha`` and the account
``anna@lauscha`` in the console; anna logs in with the first password the console
showed, sets up two-step log-in (the code computed here from the secret the page
shows), logs out, and logs in again with password and code. axe-core checks every
page on the way.
"""

from __future__ import annotations

import base64
import re
import time

import pytest
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from playwright.sync_api import Page, expect

from tests.browser.conftest import NewPage
from tests.browser.support import axe_check, no_external_requests
from tests.common.server import LiveServer

OPERATOR = "admin@platform"
TEXT = {
    "de": {
        "log in": "Anmelden",
        "log out": "Abmelden",
        "create tenant": "Organisation anlegen",
        "first admin": "Ihr erstes Administrationskonto anlegen",
        "create account": "Konto anlegen",
        "set up totp": "Zwei-Faktor-Anmeldung einrichten",
        "turn on": "Zwei-Faktor-Anmeldung einschalten",
        "totp on": "Die Zwei-Faktor-Anmeldung ist an",
        "confirm": "Bestätigen",
    },
    "en": {
        "log in": "Log in",
        "log out": "Log out",
        "create tenant": "Create organisation",
        "first admin": "Create its first administrator",
        "create account": "Create account",
        "set up totp": "Set up two-step log-in",
        "turn on": "Turn two-step log-in on",
        "totp on": "Two-step log-in is on",
        "confirm": "Confirm",
    },
}


def code_at(secret: str, at: float) -> str:
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return TOTP(key, 6, SHA1(), 30, enforce_key_length=False).generate(at).decode()


def visit(page: Page, path: str, label: str) -> None:
    response = page.goto(path)
    assert response is not None and response.status == 200, f"{path}: {response}"
    axe_check(page, label)


def log_in(page: Page, login: str, password: str, t: dict[str, str], *, next: str) -> None:
    response = page.goto(f"/login?next={next}")
    assert response is not None and response.status == 200
    axe_check(page, "log-in page")
    page.get_by_label(re.compile("^(Anmeldename|Login name)$")).fill(login)
    page.get_by_label(re.compile("^(Passwort|Password)$")).fill(password)
    page.get_by_role("button", name=t["log in"]).click()


def log_out(page: Page, t: dict[str, str]) -> None:
    page.get_by_role("button", name=t["log out"]).click()
    expect(page).to_have_url(re.compile(r"/login"))


@pytest.mark.parametrize("lang", ["de", "en"])
def test_operator_sets_up_an_organisation_and_anna_turns_on_two_step_log_in(
    live: LiveServer, new_page: NewPage, lang: str
) -> None:
    t = TEXT[lang]
    assert live.operator_password, "thvc init printed no operator password"

    # -- the operator: organisation and account -------------------------------------
    op = new_page(lang)
    log_in(op, OPERATOR, live.operator_password, t, next="/operator")
    expect(op).to_have_url(re.compile(r"/operator$"))
    axe_check(op, "operator console")
    op.locator("#tenant-slug").fill("lauscha")
    op.locator("#tenant-name").fill("Stadt Lauscha")
    op.locator("#tenant-kind").select_option("municipality")
    op.locator("#tenant-quota").fill("5")
    op.get_by_role("button", name=t["create tenant"]).click()
    expect(op.get_by_role("status")).to_contain_text("lauscha")
    expect(op.get_by_role("row", name=re.compile("Stadt Lauscha"))).to_be_visible()
    axe_check(op, "operator console, organisation created")

    op.get_by_role("link", name=t["first admin"]).click()
    expect(op).to_have_url(re.compile(r"/admin/lauscha/users$"))
    axe_check(op, "organisation: accounts")
    op.locator("#new-name").fill("anna")
    op.locator("#new-display").fill("Anna Muster")
    op.get_by_role("button", name=t["create account"]).click()
    expect(op.get_by_role("status")).to_contain_text("anna@lauscha")
    first_password = op.locator("#initial-password").inner_text().strip()
    assert len(first_password) >= 20
    expect(op.get_by_role("row", name=re.compile("anna@lauscha"))).to_be_visible()
    axe_check(op, "organisation: account created")

    for path, label in (
        ("/admin", "organisations"),
        ("/admin/lauscha", "organisation: overview"),
        ("/admin/lauscha/guests", "organisation: guests"),
        ("/admin/lauscha/groups", "organisation: groups"),
        ("/admin/lauscha/policy", "organisation: sharing rules"),
        ("/admin/lauscha/audit", "organisation: audit log"),
        ("/admin/lauscha/users/delete?login=anna%40lauscha", "organisation: delete account"),
        ("/operator/tenants/lauscha/delete", "operator: delete organisation"),
        ("/settings", "settings"),
    ):
        visit(op, path, label)
    expect(op.locator("main")).to_contain_text("admin@platform")
    log_out(op, t)
    no_external_requests(op).check()

    # -- anna: first log-in, two-step set-up -------------------------------------------
    anna = new_page(lang)
    log_in(anna, "anna@lauscha", first_password, t, next="/settings")
    expect(anna).to_have_url(re.compile(r"/settings$"))
    axe_check(anna, "settings")
    anna.get_by_role("button", name=t["set up totp"]).click()
    secret_text = anna.locator("#totp-secret")
    expect(secret_text).to_be_visible()
    expect(anna.locator("figure.qr svg")).to_be_visible()
    axe_check(anna, "settings: two-step set-up")
    secret = secret_text.inner_text().replace(" ", "")
    anna.locator("#totp-code").fill(code_at(secret, time.time()))
    anna.get_by_role("button", name=t["turn on"]).click()
    expect(anna.get_by_role("status")).to_contain_text(t["totp on"])
    axe_check(anna, "settings: two-step on")
    log_out(anna, t)

    # -- anna again: password, then the code ------------------------------------------
    log_in(anna, "anna@lauscha", first_password, t, next="/settings")
    expect(anna).to_have_url(re.compile(r"/login/code"))
    axe_check(anna, "log-in: code")
    # The code of the next time step: the one that switched TOTP on is used up.
    anna.get_by_label("Code", exact=True).fill(code_at(secret, time.time() + 30))
    anna.get_by_role("button", name=t["confirm"]).click()
    expect(anna).to_have_url(re.compile(r"/settings$"))
    expect(anna.locator("#totp")).to_contain_text(t["totp on"])
    axe_check(anna, "settings, logged in with two steps")
    no_external_requests(anna).check()
