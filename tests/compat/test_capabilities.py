"""/ocs/v{1,2}.php/cloud/capabilities, XML and JSON, with and without a login."""

from __future__ import annotations

from typing import Any

import pytest

from tests.compat.support import auth, ocs_json, ocs_xml
from thvc.accounts.services import Principal
from thvc.compat.capabilities import CHECKSUM_TYPES
from thvc.files.services import Checksum
from thvc.services import Services

OK = {1: 100, 2: 200}


@pytest.mark.parametrize("version", [1, 2])
def test_capabilities_json(client: Any, anna: Principal, version: int) -> None:
    r = client.get(f"/ocs/v{version}.php/cloud/capabilities?format=json", headers=auth(anna.login))
    assert r.status_code == 200
    meta, data = ocs_json(r)
    assert meta == {
        "status": "ok",
        "statuscode": OK[version],
        "message": "OK",
        "totalitems": "",
        "itemsperpage": "",
    }
    assert data["version"] == {
        "major": 28,
        "minor": 0,
        "micro": 0,
        "string": "28.0.0",
        "edition": "",
        "extendedSupport": False,
    }
    caps = data["capabilities"]
    assert caps["core"]["webdav-root"] == "remote.php/webdav"
    assert caps["core"]["pollinterval"] == 60
    assert caps["dav"] == {"chunking": "1.0"}  # no bulkupload: /remote.php/dav/bulk is absent
    assert caps["files"]["bigfilechunking"] is True
    assert caps["files"]["blacklisted_files"] == [".htaccess"]
    assert caps["checksums"]["preferredUploadType"] == "SHA256"
    assert caps["checksums"]["supportedTypes"][0] == "SHA256"
    assert caps["files_sharing"]["api_enabled"] is True
    # Nextcloud's nextcloudcmd takes core.status.version over status.php's, if present.
    assert "status" not in caps["core"]


@pytest.mark.parametrize("version", [1, 2])
def test_capabilities_xml_is_the_default(client: Any, anna: Principal, version: int) -> None:
    r = client.get(f"/ocs/v{version}.php/cloud/capabilities", headers=auth(anna.login))
    assert r.status_code == 200
    meta, data = ocs_xml(r)
    assert meta.findtext("status") == "ok"
    assert meta.findtext("statuscode") == str(OK[version])
    assert meta.findtext("message") == "OK"
    assert data.findtext("version/major") == "28"
    assert data.findtext("version/string") == "28.0.0"
    assert data.findtext("capabilities/core/webdav-root") == "remote.php/webdav"
    assert data.findtext("capabilities/core/pollinterval") == "60"
    assert data.findtext("capabilities/dav/chunking") == "1.0"
    assert data.find("capabilities/dav/bulkupload") is None
    # PHP's XMLWriter: true is "1", lists are <element>s.
    assert data.findtext("capabilities/files/bigfilechunking") == "1"
    assert [e.text for e in data.findall("capabilities/files/blacklisted_files/element")] == [
        ".htaccess"
    ]
    types = [e.text for e in data.findall("capabilities/checksums/supportedTypes/element")]
    assert types == CHECKSUM_TYPES


def test_accept_json_selects_json(client: Any, anna: Principal) -> None:
    r = client.get(
        "/ocs/v2.php/cloud/capabilities",
        headers={**auth(anna.login), "Accept": "application/json"},
    )
    meta, _ = ocs_json(r)
    assert meta["statuscode"] == 200


def test_format_xml_wins_over_accept(client: Any, anna: Principal) -> None:
    r = client.get(
        "/ocs/v2.php/cloud/capabilities?format=xml",
        headers={**auth(anna.login), "Accept": "application/json"},
    )
    ocs_xml(r)


def test_anonymous_capabilities_leave_out_sharing(client: Any) -> None:
    r = client.get("/ocs/v2.php/cloud/capabilities?format=json")
    assert r.status_code == 200
    _, data = ocs_json(r)
    assert data["capabilities"]["dav"]["chunking"] == "1.0"
    assert "files_sharing" not in data["capabilities"]


def test_sharing_as_the_default_policy_allows_it(client: Any, anna: Principal) -> None:
    r = client.get("/ocs/v2.php/cloud/capabilities?format=json", headers=auth(anna.login))
    _, data = ocs_json(r)
    sharing = data["capabilities"]["files_sharing"]
    assert sharing["api_enabled"] is True
    assert sharing["resharing"] is True
    assert sharing["group_sharing"] is True
    assert sharing["user"]["send_mail"] is False
    assert sharing["federation"]["outgoing"] is False
    assert sharing["federation"]["incoming"] is False
    assert sharing["sharee"]["query_lookup_default"] is False
    public = sharing["public"]
    assert public["enabled"] is True
    assert public["password"]["enforced"] is False
    assert public["expire_date"] == {"enabled": False}
    assert public["upload"] is True
    assert public["upload_files_drop"] is True
    assert public["multiple_links"] is True


def test_sharing_follows_the_callers_tenant_policy(
    client: Any, svc: Services, anna: Principal, ben: Principal
) -> None:
    svc.tenants.set_policy("lauscha", link_password_required=True, link_max_days=14)
    svc.tenants.set_policy("suhl", links=False)
    _, data = ocs_json(
        client.get("/ocs/v2.php/cloud/capabilities?format=json", headers=auth(anna.login))
    )
    public = data["capabilities"]["files_sharing"]["public"]
    assert public["enabled"] is True
    assert public["password"]["enforced"] is True
    assert public["expire_date"] == {"enabled": True, "days": 14, "enforced": True}
    _, data = ocs_json(
        client.get("/ocs/v2.php/cloud/capabilities?format=json", headers=auth(ben.login))
    )
    public = data["capabilities"]["files_sharing"]["public"]
    assert public["enabled"] is False
    assert public["upload"] is False
    assert public["password"]["enforced"] is False
    # Shares to people stay possible.
    assert data["capabilities"]["files_sharing"]["api_enabled"] is True


def test_sharing_capabilities_in_xml(client: Any, anna: Principal) -> None:
    r = client.get("/ocs/v1.php/cloud/capabilities", headers=auth(anna.login))
    _, data = ocs_xml(r)
    assert data.findtext("capabilities/files_sharing/api_enabled") == "1"
    assert data.findtext("capabilities/files_sharing/public/enabled") == "1"
    assert data.findtext("capabilities/files_sharing/federation/outgoing") == ""


@pytest.mark.parametrize(("version", "code"), [(1, 997), (2, 401)])
def test_wrong_credentials_are_401_even_where_anonymous_is_fine(
    client: Any, anna: Principal, version: int, code: int
) -> None:
    r = client.get(
        f"/ocs/v{version}.php/cloud/capabilities?format=json",
        headers=auth(anna.login, "not-the-password"),
    )
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Basic ")
    meta, data = ocs_json(r)
    assert (meta["status"], meta["statuscode"]) == ("failure", code)
    assert data == []


def test_every_advertised_checksum_is_one_the_put_path_verifies() -> None:
    for kind in CHECKSUM_TYPES:
        Checksum(f"{kind}:00")  # raises BadRequest for a type the core cannot verify
