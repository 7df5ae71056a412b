"""status.php and the connectivity check: what the clients probe first."""

from __future__ import annotations

import json
from typing import Any


def test_status_php_has_nextclouds_shape(client: Any) -> None:
    r = client.get("/status.php")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    assert json.loads(r.text) == {
        "installed": True,
        "maintenance": False,
        "needsDbUpgrade": False,
        "version": "28.0.0.0",
        "versionstring": "28.0.0",
        "edition": "",
        "productname": "ThVC",
        "extendedSupport": False,
    }


def test_status_php_needs_no_login_and_ignores_credentials(client: Any) -> None:
    r = client.get("/status.php", headers={"Authorization": "Basic bm9ib2R5OndoYXRldmVy"})
    assert r.status_code == 200


def test_the_version_is_new_enough_for_the_clients_switches(client: Any) -> None:
    """Nextcloud desktop 3.x: >= 16 supported, >= 24 login prefill; ownCloud 2.11: >= 10."""
    info = client.get("/status.php").json()
    major = int(info["version"].split(".")[0])
    assert major >= 24
    # ownCloud 2.11 calls a server unsupported if version-productname ends in "Nextcloud".
    assert not f"{info['version']}-{info['productname']}".endswith("Nextcloud")


def test_status_php_answers_head(client: Any) -> None:
    assert client.head("/status.php").status_code == 200


def test_connectivity_check_is_an_empty_204(client: Any) -> None:
    r = client.get("/index.php/204")
    assert r.status_code == 204
    assert r.content == b""
