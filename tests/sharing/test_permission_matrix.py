"""Who may do what with a shared folder, checked over WebDAV as the clients do it.

Rows are roles (the owner, recipients holding each permission set, a stranger in
the owner's tenant, one in another tenant, a guest with a read share, a guest with
nothing); columns are operations. Everything a role may not see is 404 (as if it
did not exist); what it may see but not change is 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from starlette.testclient import TestClient
from starlette.types import ASGIApp

from tests.common import factories
from tests.common.dav import DavClient, basic
from tests.common.factories import PASSWORD, loc, mkdir, put
from tests.compat.support import auth
from thvc.accounts.models import Role
from thvc.accounts.services import Principal
from thvc.db.types import utcnow
from thvc.errors import Forbidden, NotFound
from thvc.files.perms import Perm
from thvc.services import Services
from thvc.sharing.models import Link, LinkKind

R, U, C, D, S = Perm.READ, Perm.UPDATE, Perm.CREATE, Perm.DELETE, Perm.SHARE
OPS = ("list", "read", "write", "create", "rename", "delete", "reshare")


@dataclass(frozen=True)
class Row:
    who: str
    grant: Perm | None  # None: no share (owner or stranger)
    # Expected outcome per operation: True done, 403 refused, 404 not found.
    expect: dict[str, bool | int]


def row(who: str, grant: Perm | None, *outcomes: bool | int) -> Row:
    return Row(who, grant, dict(zip(OPS, outcomes, strict=True)))


ALLOWED, NO, HIDDEN, DENIED = True, 403, 404, "denied"
ROWS = [
    #   who              grant         list  read  write create rename delete reshare
    row("anna@lauscha", None, True, True, True, True, True, True, True),
    row("r@suhl", R, True, True, NO, NO, NO, NO, NO),
    row("rs@suhl", R | S, True, True, NO, NO, NO, NO, True),
    row("ru@suhl", R | U, True, True, True, NO, True, NO, NO),
    row("rc@suhl", R | C, True, True, NO, True, NO, NO, NO),
    row("rd@suhl", R | D, True, True, NO, NO, NO, True, NO),
    row("all@suhl", R | U | C | D | S, True, True, True, True, True, True, True),
    row("kim@lauscha", None, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN),
    row("eve@erfurt", None, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN),
    row("guest", R, True, True, NO, NO, NO, NO, NO),
    # A guest's own root takes nothing: writes there are refused before anything is looked up.
    row("lonely-guest", None, HIDDEN, HIDDEN, NO, NO, NO, NO, HIDDEN),
]


def _guest(svc: Services, anna: Principal, email: str) -> Principal:
    invited = svc.invitations.invite(anna, email)
    svc.invitations.accept(invited.url.rsplit("/", 1)[1], PASSWORD)
    return svc.accounts.authenticate(invited.login, PASSWORD, client="test")


@pytest.fixture
def world(svc: Services) -> dict[str, Principal]:
    anna = factories.user(svc, "anna@lauscha")
    people = {"anna@lauscha": anna}
    mkdir(svc, anna, "Haushalt")
    put(svc, anna, "Haushalt/plan.txt", b"Plan 2026\n")
    for r in ROWS:
        tag = r.who.partition("@")[0]
        for kind in ("rename", "delete"):
            put(svc, anna, f"Haushalt/{kind}-{tag}.txt", b"x")
        if r.who == "anna@lauscha":
            continue
        if r.who.endswith("guest"):
            who = _guest(svc, anna, f"{r.who}@example.org")
        else:
            who = factories.user(svc, r.who)
        people[r.who] = who
        if r.grant is not None:
            svc.sharing.share(anna, loc(svc, anna, "Haushalt"), user=who.login, permissions=r.grant)
    return people


def _outcome(status: int, ok: tuple[int, ...]) -> bool | int:
    if status in ok:
        return True
    # 409: a write into a folder that does not exist (RFC 4918 §9.7.1): not found, too.
    assert status in (403, 404, 409), f"unexpected status {status}"
    return HIDDEN if status == 409 else status


def _run(dav: DavClient, tag: str) -> dict[str, bool | int]:
    base = "/Haushalt"
    got: dict[str, bool | int] = {}
    got["list"] = _outcome(
        dav.request("PROPFIND", base, headers={"Depth": "1"}).status_code, (207,)
    )
    got["read"] = _outcome(dav.get(f"{base}/plan.txt", check=None).status_code, (200,))
    got["write"] = _outcome(dav.put(f"{base}/plan.txt", b"neu").status_code, (204,))
    got["create"] = _outcome(dav.put(f"{base}/neu-{tag}.txt", b"neu").status_code, (201,))
    got["rename"] = _outcome(
        dav.move(f"{base}/rename-{tag}.txt", f"{base}/renamed-{tag}.txt").status_code, (201,)
    )
    got["delete"] = _outcome(dav.delete(f"{base}/delete-{tag}.txt", check=None).status_code, (204,))
    return got


def _reshare_over_ocs(app: ASGIApp, who: Principal, target: str) -> bool | int:
    """POST /ocs/v2.php/.../shares as the Nextcloud apps do; v2 says it in the status."""
    r = TestClient(app).post(
        "/ocs/v2.php/apps/files_sharing/api/v1/shares?format=json",
        data={"path": "/Haushalt", "shareType": 0, "shareWith": target, "permissions": 1},
        headers=auth(who.login),
    )
    return _outcome(r.status_code, (200,))


@pytest.mark.parametrize("r", ROWS, ids=[r.who for r in ROWS])
def test_webdav_and_resharing(
    r: Row, app: ASGIApp, svc: Services, world: dict[str, Principal]
) -> None:
    who = world[r.who]
    got = _run(DavClient(app, who.login), r.who.partition("@")[0])
    target = "kim@lauscha" if r.who != "kim@lauscha" else "eve@erfurt"
    over_ocs = _reshare_over_ocs(app, who, target)
    if over_ocs is True:  # undo, so that the core is asked the same question afresh
        [made] = [
            s for s in svc.sharing.shares_by(who) if s.sharer == who.login and s.recipient == target
        ]
        svc.sharing.delete_share(who, made.id)
    # And through the core itself, which every adapter (OCS, web) goes through.
    try:
        svc.sharing.share(who, loc(svc, who, "Haushalt"), user=target, permissions=R)
        got["reshare"] = True
    except Forbidden:
        got["reshare"] = NO
    except NotFound:
        got["reshare"] = HIDDEN
    assert got == r.expect
    assert over_ocs == r.expect["reshare"], "the OCS API and the core disagree"


def test_nobody_reaches_the_owners_tree_by_its_url(
    app: ASGIApp, world: dict[str, Principal]
) -> None:
    for login in ("r@suhl", "all@suhl", "kim@lauscha", "eve@erfurt"):
        dav = DavClient(app, login)
        assert dav.get("/dav/files/anna@lauscha/Haushalt/plan.txt", check=None).status_code == 404
        assert dav.put("/dav/files/anna@lauscha/Haushalt/x.txt", b"x").status_code == 404


def test_a_guest_cannot_store_files_of_its_own(app: ASGIApp, world: dict[str, Principal]) -> None:
    guest = world["guest"]
    dav = DavClient(app, guest.login)
    assert dav.put("/eigen.txt", b"x").status_code == 403
    assert dav.children("/") == {"Haushalt"}
    assert world["guest"].role is Role.GUEST


# -- anonymous visitors through public WebDAV ------------------------------------------

LINK_ROWS = {
    #  link            list  read  write create rename delete
    "read": (True, True, NO, NO, NO, NO),
    "read-write": (True, True, True, True, True, True),
    # A drop lists nothing (the folder alone), serves nothing, takes new files only.
    "drop": (True, HIDDEN, NO, True, NO, NO),
    # 401, and 429 once the wrong attempts are throttled: refused either way.
    "wrong password": (DENIED,) * 6,
    "expired": (HIDDEN,) * 6,
}


@pytest.mark.parametrize("case", list(LINK_ROWS))
def test_anonymous_visitors_with_a_link(
    case: str, app: ASGIApp, svc: Services, world: dict[str, Principal]
) -> None:
    anna = world["anna@lauscha"]
    kind = {"read-write": LinkKind.READ_WRITE, "drop": LinkKind.DROP}.get(case, LinkKind.READ)
    link = svc.sharing.create_link(
        anna, loc(svc, anna, "Haushalt"), kind=kind, password="geheim-123"
    )
    if case == "expired":
        with svc.db.write() as s:
            s.get_one(Link, link.id).expires_at = utcnow() - timedelta(seconds=1)
    password = "falsch" if case == "wrong password" else "geheim-123"
    client = TestClient(app)
    headers = {"Authorization": basic(link.token, password)}
    base = "/public.php/webdav"
    tag = "visitor"

    def status(method: str, path: str, **extra: str) -> int:
        body = b"neu" if method == "PUT" else None
        r = client.request(method, base + path, content=body, headers={**headers, **extra})
        return r.status_code

    def outcome(code: int, ok: tuple[int, ...]) -> bool | int | str:
        if code in (401, 429):
            return DENIED
        return _outcome(code, ok)

    put(svc, anna, f"Haushalt/rename-{tag}.txt", b"x")
    put(svc, anna, f"Haushalt/delete-{tag}.txt", b"x")
    got = (
        outcome(status("PROPFIND", "/", Depth="1"), (207,)),
        outcome(status("GET", "/plan.txt"), (200,)),
        # A drop cannot overwrite; its PUT onto a taken name lands under a free one, so
        # "write" is tried where the drop cannot look: as an update of the known file.
        outcome(status("PROPPATCH", "/plan.txt"), (207,))
        if case == "drop"
        else outcome(status("PUT", "/plan.txt"), (204,)),
        outcome(status("PUT", f"/neu-{tag}.txt"), (201,)),
        outcome(
            status(
                "MOVE",
                f"/rename-{tag}.txt",
                Destination=f"http://testserver{base}/renamed-{tag}.txt",
            ),
            (201,),
        ),
        outcome(status("DELETE", f"/delete-{tag}.txt"), (204,)),
    )
    assert got == LINK_ROWS[case]
