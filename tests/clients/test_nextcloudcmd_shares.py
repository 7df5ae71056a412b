"""A share made through the OCS Share API, as the Nextcloud desktop client (nextcloudcmd
3.7) of the recipient sees it: the shared folder syncs down, a read-only share refuses
writes, granting update lets them through, and a revoked share goes away."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.clients.conftest import (
    PASSWORD,
    USER,
    client_env,
    require,
    server_errors,
    tree,
)
from tests.common.server import LiveServer

pytestmark = pytest.mark.slow
TOOL = "nextcloudcmd"
BEN = "ben@suhl"
BEN_PASSWORD = "ben-sync-password-1"
SHARES = "/ocs/v2.php/apps/files_sharing/api/v1/shares"
OCS = {"OCS-APIRequest": "true", "Accept": "application/json"}


def dav(login: str, path: str = "") -> str:
    return f"/remote.php/dav/files/{login}/{path}"


def ocs(server: LiveServer, method: str, path: str, **kw: Any) -> Any:
    """An OCS call as anna, the way the clients make it; the answer's data."""
    r = httpx.request(method, server.url + path, auth=(USER, PASSWORD), headers=OCS, **kw)
    assert r.status_code == 200, r.text
    doc = r.json()["ocs"]
    assert doc["meta"]["statuscode"] == 200, doc
    return doc["data"]


def sync_as_ben(local: Path, server: LiveServer) -> subprocess.CompletedProcess[str]:
    """One nextcloudcmd run for ben; raises with the client's output if it fails."""
    argv = [require(TOOL), "--non-interactive", "-u", BEN, "-p", BEN_PASSWORD]
    proc = subprocess.run(
        [*argv, str(local), server.url],
        capture_output=True,
        text=True,
        timeout=300,
        env=client_env(local.parent),
    )
    if proc.returncode != 0:
        raise AssertionError(
            f"{TOOL} exited {proc.returncode}:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
            f"\n--- server log, errors ---\n{server_errors(server)}"
        )
    return proc


def ben_put(server: LiveServer, path: str, content: bytes) -> int:
    r = httpx.put(server.url + dav(BEN, path), content=content, auth=(BEN, BEN_PASSWORD))
    return r.status_code


def test_a_share_syncs_to_the_recipient_and_goes_away_when_revoked(
    sync_server: LiveServer, tmp_path: Path
) -> None:
    server = sync_server
    server.user(BEN, BEN_PASSWORD)
    anna = (USER, PASSWORD)
    assert httpx.request("MKCOL", server.url + dav(USER, "Haushalt"), auth=anna).status_code == 201
    r = httpx.put(server.url + dav(USER, "Haushalt/plan.txt"), content=b"Plan 2026\n", auth=anna)
    assert r.status_code == 201
    # Ben has a file of his own. Without one, the revocation below would remove
    # everything ben's client has synced, and nextcloudcmd 3.7 then stops to ask
    # whether all files should go ("All the files are going to be changed, asking the
    # user"), which --non-interactive never answers: it waits for ever.
    assert ben_put(server, "eigenes.txt", b"von Ben selbst") == 201

    # Anna shares Haushalt read-only with ben, through the OCS API.
    share = ocs(
        server,
        "POST",
        SHARES,
        data={"path": "/Haushalt", "shareType": 0, "shareWith": BEN, "permissions": 1},
    )
    assert (share["share_with"], share["permissions"]) == (BEN, 1)

    # Ben's client gets the folder and the file.
    local = tmp_path / "ben"
    local.mkdir()
    sync_as_ben(local, server)
    assert sorted(tree(local)) == ["Haushalt", "Haushalt/plan.txt", "eigenes.txt"]
    assert (local / "Haushalt" / "plan.txt").read_bytes() == b"Plan 2026\n"

    # Read-only: ben's WebDAV PUT is refused.
    assert ben_put(server, "Haushalt/neu.txt", b"von Ben") == 403

    # Anna grants update; ben's PUT goes through, and his client syncs it.
    ocs(server, "PUT", f"{SHARES}/{share['id']}", data={"permissions": 15})
    assert ben_put(server, "Haushalt/neu.txt", b"von Ben") == 201
    r = httpx.get(server.url + dav(USER, "Haushalt/neu.txt"), auth=anna)
    assert (r.status_code, r.content) == (200, b"von Ben")
    sync_as_ben(local, server)
    assert (local / "Haushalt" / "neu.txt").read_bytes() == b"von Ben"

    # Anna revokes; the share is gone for ben's WebDAV and for his client.
    ocs(server, "DELETE", f"{SHARES}/{share['id']}")
    r = httpx.request(
        "PROPFIND",
        server.url + dav(BEN, "Haushalt"),
        headers={"Depth": "0"},
        auth=(BEN, BEN_PASSWORD),
    )
    assert r.status_code == 404
    r = httpx.get(server.url + dav(BEN, "Haushalt/plan.txt"), auth=(BEN, BEN_PASSWORD))
    assert r.status_code == 404
    sync_as_ben(local, server)
    # The client removes the folder it no longer finds on the server (there were no
    # local changes in it), as it does for anything deleted remotely.
    assert sorted(tree(local)) == ["eigenes.txt"]
    # Anna's files are untouched.
    r = httpx.get(server.url + dav(USER, "Haushalt/plan.txt"), auth=anna)
    assert (r.status_code, r.content) == (200, b"Plan 2026\n")
