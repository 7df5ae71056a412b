"""Chunked upload over HTTP, as nextcloudcmd and owncloudcmd send it, in-process."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator

import anyio
import pytest

from tests.common import factories
from tests.common.dav import DAV_NS, OC_NS, DavClient
from tests.uploads.conftest import ChunkClient
from thvc.accounts.services import Principal
from thvc.audit.models import AuditEvent
from thvc.compat.chunking import ChunkingApp
from thvc.services import Services

CHUNKS = [os.urandom(200_000), os.urandom(200_000), os.urandom(50_000)]
WHOLE = b"".join(CHUNKS)
TOTAL = str(len(WHOLE))


def upload_numbered(chunks: ChunkClient, tid: str, data: list[bytes] = CHUNKS) -> None:
    chunks.mkcol(tid, oc_total_length=str(sum(map(len, data))))
    for i, piece in enumerate(data, 1):
        chunks.put(tid, f"{i:05d}", piece, check=201, oc_total_length=TOTAL)


def pieces(data: bytes, size: int = 70_000) -> Iterator[bytes]:
    """A body without Content-Length (chunked transfer encoding)."""
    for i in range(0, len(data), size):
        yield data[i : i + size]


# -- the v2 flow -------------------------------------------------------------------


def test_nextcloud_chunked_upload(chunks: ChunkClient, dav: DavClient, svc: Services) -> None:
    upload_numbered(chunks, "1234567")
    r = chunks.move(
        "1234567",
        "/big.bin",
        check=201,
        oc_total_length=TOTAL,
        x_oc_mtime="1700000000",
        oc_checksum="SHA1:" + hashlib.sha1(WHOLE).hexdigest(),
    )
    assert r.headers["X-OC-MTime"] == "accepted"
    assert r.headers["OC-ETag"] == r.headers["ETag"] == dav.etag("/big.bin")
    assert r.headers["OC-FileId"] == f"{int(dav.fileid('/big.bin')):08d}thvc"
    assert dav.get("/big.bin").content == WHOLE
    assert dav.prop("/big.bin", "{DAV:}getlastmodified") == "Tue, 14 Nov 2023 22:13:20 GMT"
    # The transfer folder is gone.
    chunks.propfind("/1234567", check=404)
    with svc.db.read() as s:
        events = [e.action for e in s.query(AuditEvent).order_by(AuditEvent.seq)]
    assert events[-2:] == ["file.put", "upload.assemble"]


def test_a_second_upload_replaces_the_file(chunks: ChunkClient, dav: DavClient) -> None:
    dav.put("/f.bin", b"old", check=201)
    old = dav.etag("/f.bin")
    fileid = dav.fileid("/f.bin")
    upload_numbered(chunks, "t2")
    r = chunks.move(
        "t2",
        "/f.bin",
        check=204,
        oc_total_length=TOTAL,
        if_=f'<{chunks.destination("/f.bin")}> (["{old.strip(chr(34))}"])',
    )
    assert r.headers["OC-ETag"] != old
    assert dav.fileid("/f.bin") == fileid
    assert dav.get("/f.bin").content == WHOLE


def test_chunks_stream_without_content_length(chunks: ChunkClient, dav: DavClient) -> None:
    chunks.mkcol("t")
    big = os.urandom(3 << 20)  # several 1 MiB pieces per chunk
    chunks.put("t", "00001", pieces(big, 300_000), check=201)
    chunks.put("t", "00002", pieces(b"tail"), check=201)
    chunks.move("t", "/s.bin", check=201, oc_total_length=str(len(big) + 4))
    assert dav.get("/s.bin").content == big + b"tail"


def test_resume_lists_the_chunks_already_stored(chunks: ChunkClient, dav: DavClient) -> None:
    chunks.mkcol("resume", oc_total_length=TOTAL)
    first = chunks.put("resume", "00001", CHUNKS[0], check=201)
    chunks.put("resume", "00002", CHUNKS[1], check=201)
    # The client was killed. On its next run it creates the folder again and asks what is there.
    chunks.mkcol("resume", oc_total_length=TOTAL)
    found = chunks.propfind(
        "/resume", ["{DAV:}resourcetype", "{DAV:}getcontentlength", "{DAV:}getetag"]
    )
    folder = found.pop(chunks.href("resume"))
    assert folder[f"{{{DAV_NS}}}resourcetype"][0] == 200
    assert len(folder[f"{{{DAV_NS}}}resourcetype"][1]) == 1  # <d:collection/>
    assert sorted(found) == [chunks.href("resume", "00001"), chunks.href("resume", "00002")]
    one = found[chunks.href("resume", "00001")]
    assert one[f"{{{DAV_NS}}}getcontentlength"] == (200, str(len(CHUNKS[0])))
    assert one[f"{{{DAV_NS}}}resourcetype"] == (200, "")
    assert one[f"{{{DAV_NS}}}getetag"] == (200, first.headers["ETag"])
    # Only the missing chunk is sent again.
    chunks.put("resume", "00003", CHUNKS[2], check=201)
    chunks.move("resume", "/r.bin", check=201, oc_total_length=TOTAL)
    assert dav.get("/r.bin").content == WHOLE


def test_propfind_depth_0_and_allprop(chunks: ChunkClient) -> None:
    upload_numbered(chunks, "t")
    assert list(chunks.propfind("/t", depth="0")) == [chunks.href("t")]
    props = chunks.propfind("/t", None)[chunks.href("t", "00003")]
    assert props[f"{{{DAV_NS}}}getcontentlength"] == (200, "50000")
    assert props[f"{{{OC_NS}}}size"] == (200, "50000")
    unknown = chunks.propfind("/t", ["{DAV:}getcontentlength", "{urn:x}nope"], depth="0")
    assert unknown[chunks.href("t")] == {
        f"{{{DAV_NS}}}getcontentlength": (404, ""),
        "{urn:x}nope": (404, ""),
    }


def test_the_users_transfers_are_listed(chunks: ChunkClient) -> None:
    chunks.mkcol("a")
    chunks.mkcol("b")
    found = chunks.propfind("/")
    assert sorted(found) == [
        f"/remote.php/dav/uploads/{chunks.login}/",
        chunks.href("a"),
        chunks.href("b"),
    ]


def test_a_chunk_sent_again_replaces_it(chunks: ChunkClient, dav: DavClient) -> None:
    chunks.mkcol("t")
    chunks.put("t", "00001", b"broken", check=201)
    chunks.put("t", "00001", b"good", check=204)
    chunks.move("t", "/g", check=201, oc_total_length="4")
    assert dav.get("/g").content == b"good"


def test_delete_aborts_the_transfer(chunks: ChunkClient, svc: Services) -> None:
    upload_numbered(chunks, "t")
    chunks.request("DELETE", "/t", check=204)
    chunks.propfind("/t", check=404)
    chunks.request("DELETE", "/t", check=404)
    assert list(svc.blobs.iter_blobs()) == []


# -- ownCloud chunking NG and Nextcloud before v2 -------------------------------------


def test_owncloud_ng_chunk_indexes_with_offsets(chunks: ChunkClient, dav: DavClient) -> None:
    """ownCloud 2.11 names chunks 0, 1, 2... and sends the byte offset in OC-Chunk-Offset."""
    tid = "3735928559"
    chunks.mkcol(tid, oc_total_length=TOTAL)
    chunks.put(tid, "0", CHUNKS[0], check=201, oc_chunk_offset="0")
    # A chunk after a hole, left by an earlier run with another chunk size: the
    # resuming client drops what it will not reuse.
    chunks.put(tid, "7", b"stale", check=201, oc_chunk_offset="1400000")
    chunks.request("DELETE", f"/{tid}/7", check=204)
    chunks.request("DELETE", f"/{tid}/7", check=404)
    chunks.put(tid, "1", CHUNKS[1], check=201, oc_chunk_offset="200000")
    chunks.put(tid, "2", CHUNKS[2], check=201, oc_chunk_offset="400000")
    chunks.move(tid, "/oc.bin", check=201, oc_total_length=TOTAL, x_oc_mtime="1700000000")
    assert dav.get("/oc.bin").content == WHOLE


def test_offset_named_chunks(chunks: ChunkClient, dav: DavClient) -> None:
    """Names that are the zero-padded byte offset, as older Nextcloud clients send."""
    chunks.mkcol("t", oc_total_length=TOTAL)
    offset = 0
    for piece in CHUNKS:
        chunks.put("t", f"{offset:016d}", piece, check=201, oc_chunk_offset=str(offset))
        offset += len(piece)
    chunks.move("t", "/o.bin", check=201, oc_total_length=TOTAL)
    assert dav.get("/o.bin").content == WHOLE


def test_destination_on_mkcol_and_put_as_chunking_v2_sends_it(
    chunks: ChunkClient, dav: DavClient
) -> None:
    dst = chunks.destination("/v2.bin")
    chunks.mkcol("t", destination=dst, oc_total_length=TOTAL)
    for i, piece in enumerate(CHUNKS, 1):
        chunks.put("t", f"{i:05d}", piece, check=201, destination=dst, oc_total_length=TOTAL)
    chunks.move("t", "/v2.bin", check=201, oc_total_length=TOTAL)
    assert dav.get("/v2.bin").content == WHOLE


# -- bad input ---------------------------------------------------------------------------


def test_wrong_total_length_is_400_and_nothing_visible(chunks: ChunkClient, dav: DavClient) -> None:
    dav.put("/f.bin", b"old", check=201)
    etag = dav.etag("/f.bin")
    upload_numbered(chunks, "t")
    r = chunks.move("t", "/f.bin", check=400, oc_total_length=str(len(WHOLE) + 1))
    assert "LengthMismatch" in r.text
    chunks.move("t", "/new.bin", check=400, oc_total_length="1")
    assert dav.etag("/f.bin") == etag and dav.get("/f.bin").content == b"old"
    dav.get("/new.bin", check=404)
    # Nothing lost: with the right length it goes through.
    chunks.move("t", "/new.bin", check=201, oc_total_length=TOTAL)


def test_a_missing_chunk_is_400_and_nothing_visible(chunks: ChunkClient, dav: DavClient) -> None:
    chunks.mkcol("t")
    chunks.put("t", "00001", CHUNKS[0], check=201)
    chunks.put("t", "00003", CHUNKS[2], check=201)
    r = chunks.move("t", "/f.bin", check=400, oc_total_length=TOTAL)
    assert "IncompleteUpload" in r.text
    r = chunks.move("t", "/f.bin", check=400)
    dav.get("/f.bin", check=404)


def test_an_unknown_upload_is_404(chunks: ChunkClient) -> None:
    chunks.put("nope", "00001", b"x", check=404)
    chunks.move("nope", "/f", check=404, oc_total_length="1")
    chunks.propfind("/nope", check=404)
    chunks.request("DELETE", "/nope", check=404)
    chunks.mkcol("t")
    chunks.request("DELETE", "/t/00001", check=404)


@pytest.mark.parametrize("name", ["abc", "1e5", "-1", "00001.part", "0x10", "1" * 20])
def test_chunk_names_that_are_not_numbers_are_400(chunks: ChunkClient, name: str) -> None:
    chunks.mkcol("t")
    chunks.put("t", name, b"x", check=400)
    assert chunks.propfind("/t", depth="1").keys() == {chunks.href("t")}


@pytest.mark.parametrize(
    "path", ["/%2e%2e/00001", "/t/%2e%2e", "/a%2fb/1", "/t%00/1", "/t/1%00", "/" + "n" * 256 + "/1"]
)
def test_hostile_names_are_400(chunks: ChunkClient, path: str) -> None:
    chunks.mkcol("t")
    chunks.request("PUT", path, b"x", check=400)


def test_a_long_transfer_name_is_400(chunks: ChunkClient) -> None:
    chunks.mkcol("n" * 201, check=400)


def test_another_users_uploads_do_not_exist(
    chunks: ChunkClient, chunks_ben: ChunkClient, ben: Principal
) -> None:
    upload_numbered(chunks, "t")
    # Ben, in anna's URL space, and with anna's transfer id in his own.
    theirs = f"/remote.php/dav/uploads/{chunks.login}/t"
    chunks_ben.propfind(theirs, check=404)
    chunks_ben.request("PUT", theirs + "/00004", b"x", check=404)
    chunks_ben.request("DELETE", theirs, check=404)
    chunks_ben.propfind("/t", check=404)
    chunks_ben.move("t", "/stolen", check=404, oc_total_length=TOTAL)
    # A Destination in anna's tree is not his either.
    chunks_ben.mkcol("mine")
    chunks_ben.put("mine", "00001", b"x", check=201)
    r = chunks_ben.request(
        "MOVE",
        "/mine/.file",
        headers={"Destination": chunks.destination("/planted")},
        check=404,
    )
    assert r.status_code == 404
    assert len(chunks.propfind("/t")) == 4


def test_unauthenticated_is_401(chunks: ChunkClient) -> None:
    r = chunks.client.request("MKCOL", chunks.url("/t"))
    assert r.status_code == 401
    assert "Basic" in r.headers["WWW-Authenticate"]


def test_a_wrong_if_etag_is_412(chunks: ChunkClient, dav: DavClient) -> None:
    dav.put("/f.bin", b"old", check=201)
    upload_numbered(chunks, "t")
    chunks.move(
        "t",
        "/f.bin",
        check=412,
        oc_total_length=TOTAL,
        if_=f'<{chunks.destination("/f.bin")}> (["not-the-etag"])',
    )
    assert dav.get("/f.bin").content == b"old"


def test_overwrite_f_keeps_an_existing_file(chunks: ChunkClient, dav: DavClient) -> None:
    dav.put("/f.bin", b"old", check=201)
    upload_numbered(chunks, "t")
    chunks.move("t", "/f.bin", check=412, oc_total_length=TOTAL, overwrite="F")
    assert dav.get("/f.bin").content == b"old"


def test_a_locked_destination_is_423_without_its_token(
    chunks: ChunkClient, dav: DavClient, svc: Services, anna: Principal
) -> None:
    dav.put("/f.bin", b"old", check=201)
    info, _ = svc.files.lock(
        factories.loc(svc, anna, "/f.bin"),
        actor=anna,
        exclusive=True,
        infinite=False,
        owner="",
        timeout=600,
        root_href="/f.bin",
    )
    upload_numbered(chunks, "t")
    chunks.move("t", "/f.bin", check=423, oc_total_length=TOTAL)
    assert dav.get("/f.bin").content == b"old"
    chunks.move("t", "/f.bin", check=204, oc_total_length=TOTAL, if_=f"(<{info.token}>)")
    assert dav.get("/f.bin").content == WHOLE


def test_a_wrong_checksum_is_400(chunks: ChunkClient, dav: DavClient) -> None:
    upload_numbered(chunks, "t")
    chunks.move("t", "/f.bin", check=400, oc_total_length=TOTAL, oc_checksum="SHA1:" + "0" * 40)
    dav.get("/f.bin", check=404)


def test_quota_is_507(app: object, svc: Services, dav: DavClient) -> None:
    factories.user(svc, "carl@lauscha", quota=100_000)
    carl = ChunkClient(app, "carl@lauscha")
    carl.mkcol("t", check=507, oc_total_length="100001")
    carl.mkcol("t", oc_total_length="100000")
    carl.put("t", "00001", b"x" * 100_001, check=400)  # more than the declared total
    carl.mkcol("u")
    carl.put("u", "00001", b"x" * 100_001, check=507)


def test_a_missing_destination_parent_is_409(chunks: ChunkClient) -> None:
    upload_numbered(chunks, "t")
    chunks.move("t", "/no/such/f.bin", check=409, oc_total_length=TOTAL)
    chunks.move("t", "/f.bin", check=201, oc_total_length=TOTAL)


def test_only_dot_file_can_be_moved(chunks: ChunkClient) -> None:
    upload_numbered(chunks, "t")
    chunks.request("MOVE", "/t/00001", headers={"Destination": chunks.destination("/x")}, check=400)


def test_other_methods_are_405(chunks: ChunkClient) -> None:
    upload_numbered(chunks, "t")
    r = chunks.request("GET", "/t/00001", check=405)
    assert "PUT" in r.headers["Allow"]
    chunks.request("PROPPATCH", "/t", b"", check=405)
    chunks.request("MKCOL", "/t/00001", check=405)


def test_a_client_that_goes_away_mid_chunk_leaves_no_part(
    svc: Services, chunks: ChunkClient
) -> None:
    """The sync client killed during a PUT: nothing half-written is kept or left behind."""
    chunks.mkcol("t")
    app = ChunkingApp(
        "/remote.php/dav/uploads",
        settings=svc.settings,
        accounts=svc.accounts,
        files=svc.files,
        uploads=svc.uploads,
    )
    path = f"/remote.php/dav/uploads/{chunks.login}/t/00001"
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "PUT",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"authorization", chunks.auth.encode()),
            (b"content-length", b"3000000"),
        ],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    messages = iter(
        [
            {"type": "http.request", "body": b"x" * 1_500_000, "more_body": True},
            {"type": "http.disconnect"},
        ]
    )
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return next(messages)

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    anyio.run(app, scope, receive, send)
    assert chunks.propfind("/t").keys() == {chunks.href("t")}
    assert list(svc.blobs.iter_blobs()) == []
    tmp = svc.blobs.root / ".tmp"
    assert not tmp.exists() or os.listdir(tmp) == []
