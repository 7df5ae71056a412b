"""A file drop through tus (acceptance): an engineering office without an account sends
500 MiB with tuspy, is interrupted, resumes; the bytes land in anna's folder; the drop
shows and serves nothing."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tusclient.client import TusClient

from tests.common.server import LiveServer, start_server
from tests.uploads.test_tus_clients import MIB, fetched, random_file
from thvc.accounts.services import principal_of
from thvc.audit.services import query as audit_query
from thvc.files.services import Location
from thvc.services import Services, build_services
from thvc.settings import Settings
from thvc.sharing.models import LinkKind

OWNER = "anna@lauscha"
PASSWORD = "anna-tus-password-1"
DROP_PASSWORD = "Pläne-bitte-hier"


@pytest.fixture
def live(tmp_path: Path, database_url: str) -> Iterator[tuple[LiveServer, Services]]:
    with start_server(tmp_path / "server", database_url) as server:
        svc = build_services(Settings(data_dir=server.data_dir, database_url=database_url))
        try:
            yield server, svc
        finally:
            svc.close()


def _drop(server: LiveServer, svc: Services) -> str:
    server.user(OWNER, PASSWORD)
    with httpx.Client(auth=(OWNER, PASSWORD)) as dav:
        assert dav.request("MKCOL", f"{server.url}/dav/files/{OWNER}/Eingang").status_code == 201
        r = dav.put(f"{server.url}/dav/files/{OWNER}/Eingang/big.bin", content=b"schon da")
        assert r.status_code == 201
    with svc.db.read() as s:
        anna = principal_of(svc.accounts.get_user(s, OWNER))
    folder: Location = svc.files.locate(anna, OWNER, ["Eingang"])
    link = svc.sharing.create_link(anna, folder, kind=LinkKind.DROP, password=DROP_PASSWORD)
    return link.token


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.slow
def test_a_500_mib_drop_resumes_and_lands_byte_identical(
    live: tuple[LiveServer, Services], tmp_path: Path
) -> None:
    server, svc = live
    token = _drop(server, svc)
    size = 500 * MIB
    source = tmp_path / "big.bin"
    sent = random_file(source, size)
    auth = {"Authorization": _basic(token, DROP_PASSWORD)}
    client = TusClient(f"{server.url}/api/v1/uploads/", headers=auth)
    chunk = 32 * MIB
    stop = 5 * chunk + 4321
    with source.open("rb") as fh:
        first = client.uploader(
            file_stream=fh,
            chunk_size=chunk,
            metadata={"filename": "big.bin", "uploader": "Ingenieurbüro Schmidt"},
            upload_checksum=True,
        )
        first.upload(stop_at=stop)
        url = first.url
    assert url is not None
    server.kill()
    server.start()
    with source.open("rb") as fh:
        again = client.uploader(file_stream=fh, url=url, chunk_size=chunk, upload_checksum=True)
        assert again.offset == stop
        again.upload()
    # The name was taken: the drop never overwrites, it picks the next free one.
    assert fetched_as(server, "Eingang/big (2).bin") == (size, sent)
    assert fetched_as(server, "Eingang/big.bin")[0] == len(b"schon da")
    # The owner's audit log says who dropped what.
    with svc.db.read() as s:
        [dropped] = audit_query(s, action="link.drop")
    assert json.loads(dropped.detail)["uploader"] == "Ingenieurbüro Schmidt"
    assert dropped.target is not None and dropped.target.endswith("/Eingang/big (2).bin")
    # The drop lists nothing and serves nothing, over any door.
    with httpx.Client(auth=(token, DROP_PASSWORD)) as visitor:
        r = visitor.request("PROPFIND", f"{server.url}/public.php/webdav/", headers={"Depth": "1"})
        assert r.status_code == 207 and "big" not in r.text
        assert visitor.get(f"{server.url}/public.php/webdav/big.bin").status_code == 404
        assert visitor.get(f"{server.url}/s/{token}/download").status_code == 404
    # A wrong password opens nothing.
    bad = httpx.post(
        f"{server.url}/api/v1/uploads/",
        headers={
            "Authorization": _basic(token, "falsch"),
            "Tus-Resumable": "1.0.0",
            "Upload-Length": "1",
        },
    )
    assert bad.status_code == 401


def fetched_as(server: LiveServer, path: str) -> tuple[int, str]:
    import tests.uploads.test_tus_clients as clients

    clients_user, clients_password = clients.USER, clients.PASSWORD
    assert (clients_user, clients_password) == (OWNER, PASSWORD)
    return fetched(server, path)


def test_a_read_link_takes_no_tus_upload(live: tuple[LiveServer, Services]) -> None:
    server, svc = live
    server.user(OWNER, PASSWORD)
    with svc.db.read() as s:
        anna = principal_of(svc.accounts.get_user(s, OWNER))
    with httpx.Client(auth=(OWNER, PASSWORD)) as dav:
        assert dav.request("MKCOL", f"{server.url}/dav/files/{OWNER}/Lesen").status_code == 201
    link = svc.sharing.create_link(anna, svc.files.locate(anna, OWNER, ["Lesen"]))
    r = httpx.post(
        f"{server.url}/api/v1/uploads/",
        headers={
            "Authorization": _basic(link.token, ""),
            "Tus-Resumable": "1.0.0",
            "Upload-Length": "1",
            "Upload-Metadata": "filename " + base64.b64encode(b"x.txt").decode(),
        },
    )
    assert r.status_code == 403, r.text
