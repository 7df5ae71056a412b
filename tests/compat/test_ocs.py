"""The OCS envelope: formats, unknown paths, methods and bad requests."""

from __future__ import annotations

from typing import Any

import pytest

from tests.common import factories
from tests.compat.support import auth, ocs_json, ocs_xml
from thvc.accounts.services import Principal
from thvc.services import Services


@pytest.mark.parametrize(("version", "code"), [(1, 998), (2, 404)])
def test_unknown_paths_are_404_in_ocs_shape(
    client: Any, anna: Principal, version: int, code: int
) -> None:
    r = client.get(f"/ocs/v{version}.php/apps/nothing/here", headers=auth(anna.login))
    assert r.status_code == 404
    meta, _ = ocs_xml(r)
    assert meta.findtext("status") == "failure"
    assert meta.findtext("statuscode") == str(code)
    assert meta.findtext("message")


def test_unknown_paths_need_no_login(client: Any) -> None:
    r = client.get("/ocs/v2.php/apps/user_status/api/v1/user_status?format=json")
    assert r.status_code == 404
    meta, _ = ocs_json(r)
    assert meta["statuscode"] == 404


def test_a_wrong_method_is_405(client: Any, anna: Principal) -> None:
    r = client.post("/ocs/v2.php/cloud/user?format=json", headers=auth(anna.login))
    assert r.status_code == 405
    assert r.headers["Allow"] == "GET"
    meta, _ = ocs_json(r)
    assert meta["statuscode"] == 405


def test_an_unknown_format_is_400(client: Any, anna: Principal) -> None:
    r = client.get("/ocs/v2.php/cloud/user?format=yaml", headers=auth(anna.login))
    assert r.status_code == 400
    meta, _ = ocs_xml(r)
    assert meta.findtext("statuscode") == "400"
    assert "yaml" in (meta.findtext("message") or "")


def test_trailing_slash_is_accepted(client: Any, anna: Principal) -> None:
    r = client.get("/ocs/v2.php/cloud/capabilities/?format=json", headers=auth(anna.login))
    assert r.status_code == 200


def test_ocs_answers_are_not_cached(client: Any, anna: Principal) -> None:
    r = client.get("/ocs/v2.php/cloud/user", headers=auth(anna.login))
    assert r.headers["Cache-Control"] == "no-store"


def test_xml_escapes_values(client: Any, svc: Services) -> None:
    factories.tenant(svc, "suhl")
    svc.accounts.create_user("eve@suhl", factories.PASSWORD, display_name='<Eve & "Co">')
    r = client.get("/ocs/v2.php/cloud/user", headers=auth("eve@suhl"))
    _, data = ocs_xml(r)
    assert data.findtext("display-name") == '<Eve & "Co">'
