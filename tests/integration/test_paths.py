"""Hostile and unusual names (issue 3, §5): refused with 400, never escaping the user's
space; names are NFC-normalised, so NFD and NFC spellings are the same file."""

from __future__ import annotations

import unicodedata

from tests.common.server import LiveServer
from tests.integration.support import (
    ANNA,
    ANNA_PASSWORD,
    BEN,
    BEN_PASSWORD,
    account,
    basic,
    children,
    client,
    files,
    propfind,
    raw_request,
    status_of,
)

# As they go on the wire (already percent-encoded), relative to anna's root.
HOSTILE = [
    "%2e%2e/ben@suhl/x",
    "%2E%2E/%2E%2E/files/ben@suhl/x",
    "..%2fben@suhl%2fx",
    "%2e%2e%2fben@suhl%2fx",
    "sub/%2e%2e/%2e%2e/ben@suhl/x",
    "%2e",
    "a%00b",
    "a%2fb",
    "a%5cb",
    "a%01b",
    "a%0ab",
    "a%0db",
    "a%7fb",
    "a%c2%85b",  # U+0085 NEXT LINE, a C1 control character
    "a%c2%9b31mb",  # U+009B CONTROL SEQUENCE INTRODUCER: a terminal escape
    "a%ffb",
    "x" * 256,
    "%C3%BC" * 128,
    "ok/" + "y" * 300 + "/z",
]


def test_hostile_paths_get_400_and_create_nothing_anywhere(server: LiveServer) -> None:
    account(server, ANNA, ANNA_PASSWORD)
    account(server, BEN, BEN_PASSWORD)
    with client(server, ANNA, ANNA_PASSWORD) as anna:
        assert anna.request("MKCOL", files(ANNA, "sub/")).status_code == 201
        problems = []
        for path in HOSTILE:
            for method, body in (
                ("PUT", b"escaped"),
                ("MKCOL", None),
                ("GET", None),
                ("PROPFIND", None),
                ("DELETE", None),
            ):
                r = anna.request(method, files(ANNA, path), content=body)
                if r.status_code != 400:
                    problems.append(f"{method} {path[:40]}: {r.status_code}")
        assert problems == [], "\n".join(problems)

    # Dot segments sent literally (httpx would remove them before sending).
    auth = basic(ANNA, ANNA_PASSWORD).decode()
    for raw in (
        "/dav/files/anna@lauscha/../ben@suhl/x",
        "/dav/files/anna@lauscha/sub/../../ben@suhl/x",
        "/dav/files/anna@lauscha/./x",
    ):
        head = (
            f"PUT {raw} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            f"Authorization: {auth}\r\nContent-Length: 7\r\n\r\n"
        ).encode()
        answer = raw_request(server.port, head, b"escaped")
        assert status_of(answer) == 400, f"{raw}: {answer[:300]!r}"

    with client(server, BEN, BEN_PASSWORD) as ben:
        assert children(ben, files(BEN)) == []
    with client(server, ANNA, ANNA_PASSWORD) as anna:
        assert children(anna, files(ANNA)) == ["sub"]
        assert children(anna, files(ANNA, "sub/")) == []


def test_a_hostile_destination_of_move_or_copy_gets_400_and_moves_nothing(
    server: LiveServer,
) -> None:
    account(server, ANNA, ANNA_PASSWORD)
    account(server, BEN, BEN_PASSWORD)
    with client(server, ANNA, ANNA_PASSWORD) as anna:
        assert anna.put(files(ANNA, "akte.txt"), content=b"secret").status_code == 201
        for target in ("%2e%2e/ben@suhl/x", "../ben@suhl/x", "a%2fb", "a%00b", "%2e%2e"):
            for method in ("MOVE", "COPY"):
                destination = f"{server.url}{files(ANNA, target)}"
                r = anna.request(
                    method, files(ANNA, "akte.txt"), headers={"Destination": destination}
                )
                assert r.status_code == 400, f"{method} to {target}: {r.status_code} {r.text}"
        assert children(anna, files(ANNA)) == ["akte.txt"]
        assert anna.get(files(ANNA, "akte.txt")).content == b"secret"
    with client(server, BEN, BEN_PASSWORD) as ben:
        assert children(ben, files(BEN)) == []


def test_names_up_to_255_bytes_are_accepted(server: LiveServer) -> None:
    account(server, ANNA, ANNA_PASSWORD)
    longest = "x" * 255
    umlauts = "ü" * 127 + "a"  # 255 bytes in UTF-8, 128 characters
    with client(server, ANNA, ANNA_PASSWORD) as anna:
        for name in (longest, umlauts):
            r = anna.put(files(ANNA, name), content=name.encode())
            assert r.status_code == 201, f"{len(name.encode())} bytes: {r.status_code} {r.text}"
            assert anna.get(files(ANNA, name)).content == name.encode()
        assert sorted(children(anna, files(ANNA))) == sorted([longest, umlauts])


NFD = "Mu\u0308nchen.txt"
NFC = "M\u00fcnchen.txt"


def test_an_nfd_name_is_stored_as_nfc_and_found_under_both_spellings(server: LiveServer) -> None:
    assert unicodedata.normalize("NFC", NFD) == NFC != NFD
    account(server, ANNA, ANNA_PASSWORD)
    with client(server, ANNA, ANNA_PASSWORD) as anna:
        assert anna.put(files(ANNA, NFD), content=b"Weisswurst").status_code == 201

        assert anna.get(files(ANNA, NFC)).content == b"Weisswurst"
        assert anna.get(files(ANNA, NFD)).content == b"Weisswurst"
        assert children(anna, files(ANNA)) == [NFC]

        # The NFC spelling names the same file: an overwrite, not a second file.
        assert anna.put(files(ANNA, NFC), content=b"Brezn").status_code == 204
        assert children(anna, files(ANNA)) == [NFC]
        assert anna.get(files(ANNA, NFD)).content == b"Brezn"

        # Folders too: made with NFD, used with NFC.
        assert anna.request("MKCOL", files(ANNA, "Gru\u0308n/")).status_code == 201
        assert anna.put(files(ANNA, "Gr\u00fcn/a.txt"), content=b"a").status_code == 201
        assert sorted(children(anna, files(ANNA))) == sorted([NFC, "Gr\u00fcn"])
        assert propfind(anna, files(ANNA, "Gru\u0308n/"), depth="0") == [
            f"/dav/files/{ANNA}/Gr\u00fcn/"
        ]
        assert children(anna, files(ANNA, "Gru\u0308n/")) == ["a.txt"]
