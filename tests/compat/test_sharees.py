"""/ocs/v{1,2}.php/apps/files_sharing/api/v1/sharees: whom the share dialogs offer."""

from __future__ import annotations

from typing import Any

import pytest

from tests.common import factories
from tests.compat.support import auth, ocs_json, ocs_xml
from thvc.accounts.services import Principal
from thvc.services import Services
from thvc.sharing.sharees import FOREIGN_CAP, find_sharees

SHAREES = "/apps/files_sharing/api/v1/sharees"
EMPTY_EXACT = {
    "users": [],
    "groups": [],
    "remotes": [],
    "remote_groups": [],
    "emails": [],
    "circles": [],
    "rooms": [],
}


def search(client: Any, who: str, term: str, version: int = 2, **extra: Any) -> dict[str, Any]:
    params = {"format": "json", "search": term, "itemType": "folder", **extra}
    r = client.get(f"/ocs/v{version}.php{SHAREES}", params=params, headers=auth(who))
    assert r.status_code == 200, r.text
    meta, data = ocs_json(r)
    assert meta["status"] == "ok", meta
    return data  # type: ignore[no-any-return]


def found(data: dict[str, Any], key: str = "users") -> list[str]:
    """shareWith of the exact and then the partial matches."""
    return [x["value"]["shareWith"] for x in data["exact"][key] + data[key]]


@pytest.fixture
def people(svc: Services, anna: Principal, ben: Principal) -> None:
    factories.tenant(svc, "erfurt")
    svc.accounts.create_user(
        "kim@lauscha", factories.PASSWORD, display_name="Kim Kämmerer", email="kim@lauscha.example"
    )
    svc.accounts.create_user("bea@lauscha", factories.PASSWORD, display_name="Beate Bauer")
    svc.accounts.create_user("bernd@suhl", factories.PASSWORD, display_name="Bernd Brandt")
    svc.accounts.create_user("berta@erfurt", factories.PASSWORD, display_name="Berta Born")


@pytest.mark.parametrize("version", [1, 2])
def test_the_answer_has_nextclouds_shape(
    client: Any, anna: Principal, people: None, version: int
) -> None:
    data = search(client, anna.login, "kim", version)
    assert set(data) == {
        "exact",
        "users",
        "groups",
        "remotes",
        "remote_groups",
        "emails",
        "lookup",
        "circles",
        "rooms",
        "lookupEnabled",
    }
    assert data["lookupEnabled"] is False
    assert data["users"] == [
        {
            "label": "Kim Kämmerer",
            "subline": "",
            "icon": "icon-user",
            "value": {"shareType": 0, "shareWith": "kim@lauscha"},
            "shareWithDisplayNameUnique": "kim@lauscha",
            "status": [],
        }
    ]
    assert data["exact"] == EMPTY_EXACT


@pytest.mark.parametrize(
    ("term", "exact", "partial"),
    [
        ("kim@lauscha", ["kim@lauscha"], []),
        ("KIM@LAUSCHA", ["kim@lauscha"], []),
        ("Kim Kämmerer", ["kim@lauscha"], []),
        ("kim@lauscha.example", ["kim@lauscha"], []),
        ("lauscha.ex", [], ["kim@lauscha"]),
        ("ämmer", [], ["kim@lauscha"]),
        ("bauer", [], ["bea@lauscha"]),
        ("%", [], []),
        ("_", [], []),
    ],
)
def test_users_by_login_display_name_or_address(
    client: Any, anna: Principal, people: None, term: str, exact: list[str], partial: list[str]
) -> None:
    data = search(client, anna.login, term)
    assert [x["value"]["shareWith"] for x in data["exact"]["users"]] == exact
    assert [x["value"]["shareWith"] for x in data["users"]] == partial


def test_a_short_search_never_lists_another_tenants_users(
    client: Any, anna: Principal, people: None
) -> None:
    for term in ("b", "be", "BE", " be ", "s", "su"):
        assert all(u.endswith("@lauscha") for u in found(search(client, anna.login, term)))
    assert found(search(client, anna.login, "be")) == ["bea@lauscha"]
    # Three characters find them, in every tenant the policies allow.
    assert found(search(client, anna.login, "ber")) == ["bernd@suhl", "berta@erfurt"]
    assert found(search(client, anna.login, "ben@suhl")) == ["ben@suhl"]


def test_an_empty_search_lists_the_own_tenant_only(
    client: Any, anna: Principal, people: None
) -> None:
    assert found(search(client, anna.login, "")) == ["bea@lauscha", "kim@lauscha"]


def test_the_caller_is_not_offered(client: Any, anna: Principal, people: None) -> None:
    assert found(search(client, anna.login, "anna@lauscha")) == []


def test_a_forbidding_policy_hides_the_tenant_completely(
    client: Any, svc: Services, anna: Principal, people: None
) -> None:
    svc.tenants.set_policy("suhl", share_with="none")
    for term in ("ben@suhl", "bernd", "suhl", "Bernd Brandt"):
        assert not [u for u in found(search(client, anna.login, term)) if u.endswith("@suhl")]
    assert found(search(client, anna.login, "berta")) == ["berta@erfurt"]
    # Lauscha's own policy counts as well.
    svc.tenants.set_policy("lauscha", share_with="suhl")
    svc.tenants.set_policy("suhl", share_with="all")
    assert found(search(client, anna.login, "ber")) == ["bernd@suhl"]
    # And the other way round: suhl's users find lauscha only if lauscha allows them.
    assert found(search(client, "ben@suhl", "bea@lauscha")) == ["bea@lauscha"]
    assert found(search(client, "berta@erfurt", "bea@lauscha")) == []


def test_disabled_users_are_not_offered(
    client: Any, svc: Services, anna: Principal, people: None
) -> None:
    from thvc.accounts.models import UserState

    svc.accounts.set_state("kim@lauscha", UserState.DISABLED)
    assert found(search(client, anna.login, "kim")) == []


def test_another_tenants_users_are_capped(client: Any, svc: Services, anna: Principal) -> None:
    factories.tenant(svc, "suhl")
    for n in range(FOREIGN_CAP + 5):
        svc.accounts.create_user(f"mitarbeiter{n:02d}@suhl", factories.PASSWORD)
    data = search(client, anna.login, "mitarbeiter", perPage=200)
    assert len(found(data)) == FOREIGN_CAP
    # Paging does not get around it.
    assert found(search(client, anna.login, "mitarbeiter", page=2, perPage=10)) == []


def test_the_own_tenant_pages(client: Any, svc: Services, anna: Principal) -> None:
    for n in range(30):
        svc.accounts.create_user(f"kollege{n:02d}@lauscha", factories.PASSWORD)
    first = found(search(client, anna.login, "kollege", perPage=20))
    second = found(search(client, anna.login, "kollege", perPage=20, page=2))
    assert len(first) == 20 and len(second) == 10
    assert first + second == [f"kollege{n:02d}@lauscha" for n in range(30)]
    # At most 25 per page, as Nextcloud's default.
    assert len(found(search(client, anna.login, "kollege", perPage=1000))) == 25


def test_groups_of_the_own_tenant_only(
    client: Any, svc: Services, anna: Principal, ben: Principal
) -> None:
    svc.accounts.create_group("lauscha", "kaemmerei")
    svc.accounts.create_group("lauscha", "bauamt")
    svc.accounts.create_group("suhl", "kaemmerei-suhl")
    data = search(client, anna.login, "kaem")
    assert found(data, "groups") == ["kaemmerei"]
    assert data["groups"] == [
        {"label": "kaemmerei", "value": {"shareType": 1, "shareWith": "kaemmerei"}}
    ]
    exact = search(client, anna.login, "bauamt")
    assert [g["value"]["shareWith"] for g in exact["exact"]["groups"]] == ["bauamt"]
    assert found(search(client, ben.login, "kaem"), "groups") == ["kaemmerei-suhl"]


def test_share_types_narrow_the_answer(
    client: Any, svc: Services, anna: Principal, people: None
) -> None:
    svc.accounts.create_group("lauscha", "kimchi")
    both = search(client, anna.login, "kim")
    assert found(both) == ["kim@lauscha"] and found(both, "groups") == ["kimchi"]
    users = search(client, anna.login, "kim", **{"shareType[]": ["0"]})
    assert found(users) == ["kim@lauscha"] and found(users, "groups") == []
    groups = search(client, anna.login, "kim", shareType="1")
    assert found(groups) == [] and found(groups, "groups") == ["kimchi"]


def test_the_answer_in_xml(client: Any, anna: Principal, people: None) -> None:
    r = client.get(
        f"/ocs/v1.php{SHAREES}",
        params={"search": "kim", "itemType": "file"},
        headers=auth(anna.login),
    )
    meta, data = ocs_xml(r)
    assert meta.findtext("statuscode") == "100"
    assert data.findtext("users/element/value/shareWith") == "kim@lauscha"
    assert data.findtext("users/element/label") == "Kim Kämmerer"
    assert data.find("exact/users") is not None
    assert data.findtext("lookupEnabled") == ""


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"search": "kim"}, 400),
        ({"search": "kim", "itemType": "file", "perPage": "abc"}, 400),
        ({"search": "kim", "itemType": "file", "perPage": "0"}, 400),
        ({"search": "kim", "itemType": "file", "page": "0"}, 400),
        ({"search": "kim", "itemType": "file", "page": "9" * 40}, 400),
        ({"search": "kim", "itemType": "file", "shareType[]": "x"}, 400),
        ({"search": "k\x00im", "itemType": "file"}, 400),
        ({"search": "k" * 201, "itemType": "file"}, 400),
    ],
)
@pytest.mark.parametrize("version", [1, 2])
def test_bad_searches(
    client: Any, anna: Principal, params: dict[str, str], code: int, version: int
) -> None:
    r = client.get(
        f"/ocs/v{version}.php{SHAREES}",
        params={"format": "json", **params},
        headers=auth(anna.login),
    )
    assert r.status_code == (200 if version == 1 else code), r.text
    meta, _ = ocs_json(r)
    assert (meta["status"], meta["statuscode"]) == ("failure", code)


def test_a_far_page_is_empty_not_an_error(client: Any, anna: Principal, people: None) -> None:
    data = search(client, anna.login, "", page=100_000)
    assert found(data) == []


def test_sharees_need_a_login(client: Any) -> None:
    r = client.get(f"/ocs/v2.php{SHAREES}?format=json&search=a&itemType=file")
    assert r.status_code == 401


def test_the_core_search_directly(svc: Services, anna: Principal, people: None) -> None:
    hits = find_sharees(svc.sharing, anna, "Kim Kämmerer", 10)
    assert [(h.id, h.tenant_slug, h.exact) for h in hits] == [("kim@lauscha", "lauscha", True)]
    assert [h.id for h in find_sharees(svc.sharing, anna, "ber", 1)] == ["bernd@suhl"]
