"""/spaces: members see theirs; creating one and choosing members is for admins."""

from __future__ import annotations

from tests.api.support import Api, problem_of
from thvc.accounts.services import Principal


def test_an_admin_creates_a_space_and_a_member_sees_it(
    api: Api, api_carla: Api, anna: Principal
) -> None:
    created = api_carla.post("/spaces", json={"name": "Bauamt", "quota_bytes": 1000}, check=201)
    assert created.json() == {"name": "Bauamt", "tenant": "lauscha", "quota_bytes": 1000}
    assert api.get("/spaces").json()["items"] == []
    api_carla.put("/spaces/Bauamt/members", json={"user": anna.login, "role": "viewer"}, check=204)
    space = api.get("/spaces").json()["items"]
    assert space == [
        {
            "name": "Bauamt",
            "path": "/Bauamt",
            "permissions": ["read"],
            "used_bytes": 0,
            "available_bytes": 1000,
        }
    ]
    api_carla.put("/spaces/Bauamt/members", json={"user": anna.login, "role": "editor"}, check=204)
    assert "create" in api.get("/spaces").json()["items"][0]["permissions"]
    problem_of(api_carla.post("/spaces", json={"name": "Bauamt"}, check=409), 409)


def test_groups_can_be_members(api: Api, api_carla: Api, anna: Principal) -> None:
    api_carla.post("/spaces", json={"name": "Kasse"}, check=201)
    api_carla.post("/tenants/lauscha/groups", json={"name": "kasse"}, check=201)
    api_carla.put("/tenants/lauscha/groups/kasse/members/anna", check=204)
    api_carla.put("/spaces/Kasse/members", json={"group": "kasse", "role": "manager"}, check=204)
    assert [s["name"] for s in api.get("/spaces").json()["items"]] == ["Kasse"]


def test_members_may_not_create_spaces_or_choose_members(
    api: Api, api_carla: Api, anna: Principal
) -> None:
    problem_of(api.post("/spaces", json={"name": "Meins"}, check=403), 403, "forbidden")
    api_carla.post("/spaces", json={"name": "Bauamt"}, check=201)
    problem_of(
        api.put("/spaces/Bauamt/members", json={"user": anna.login, "role": "manager"}, check=403),
        403,
    )


def test_an_admin_administers_only_their_tenant(
    api_carla: Api, api_ben: Api, ben: Principal, api_root: Api
) -> None:
    problem_of(api_carla.post("/spaces", json={"name": "X", "tenant": "suhl"}, check=403), 403)
    api_carla.post("/spaces", json={"name": "Bauamt"}, check=201)
    # A user of another tenant cannot become a member.
    problem_of(
        api_carla.put(
            "/spaces/Bauamt/members", json={"user": ben.login, "role": "viewer"}, check=404
        ),
        404,
    )
    # The operator may, in any tenant.
    api_root.post("/spaces", json={"name": "Archiv", "tenant": "suhl"}, check=201)
    api_root.put(
        "/spaces/Archiv/members",
        json={"user": ben.login, "role": "viewer", "tenant": "suhl"},
        check=204,
    )
    assert [s["name"] for s in api_ben.get("/spaces").json()["items"]] == ["Archiv"]


def test_member_requests_name_one_user_or_group(api_carla: Api, anna: Principal) -> None:
    problem_of(api_carla.put("/spaces/X/members", json={"role": "viewer"}, check=422), 422)
    problem_of(
        api_carla.put("/spaces/X/members", json={"user": anna.login, "role": "boss"}, check=422),
        422,
    )
    problem_of(
        api_carla.put("/spaces/X/members", json={"user": anna.login, "role": "viewer"}, check=404),
        404,
    )
