"""Quotas per user and per tenant (issue 3, §5): an upload that would exceed one is refused
with 507 before a byte is stored when its length is known, stopped while streaming when it
is not, and nothing partial stays visible."""

from __future__ import annotations

import httpx

from tests.common.server import LiveServer
from tests.integration.support import (
    ANNA,
    ANNA_PASSWORD,
    MiB,
    account,
    basic,
    children,
    client,
    files,
    random_body,
    raw_request,
    status_of,
)

KiB = 1 << 10
CARL = "carl@lauscha"
CARL_PASSWORD = "carl-password-1234"


def with_quota(
    server: LiveServer, login: str, password: str, *, quota: str = "", tenant_quota: str = ""
) -> None:
    """A new tenant and user made with the CLI, as an operator sets quotas: ``--quota 1M``."""
    slug = login.rpartition("@")[2]
    extra = ["--quota", tenant_quota] if tenant_quota else []
    server.cli("tenant", "create", slug, "--name", slug.title(), *extra)
    extra = ["--quota", quota] if quota else []
    server.cli("user", "create", login, "--password-stdin", *extra, input=password + "\n")


def nothing_left_behind(server: LiveServer, http: httpx.Client, name: str) -> None:
    assert http.get(files(ANNA, name)).status_code == 404
    assert name not in children(http, files(ANNA))
    assert list(server.data_dir.rglob("*.part")) == [], "a temporary upload file was left"
    repaired = server.cli("fsck", "--repair", "--temp-age", "0", check=False)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    checked = server.cli("fsck", check=False)
    assert checked.returncode == 0 and "fsck: clean" in checked.stdout, checked.stdout


def test_a_put_over_quota_with_a_length_is_refused_before_the_body_is_sent(
    server: LiveServer,
) -> None:
    with_quota(server, ANNA, ANNA_PASSWORD, quota="1M")
    # Expect: 100-continue: the server must answer without asking for the body.
    head = (
        f"PUT {files(ANNA, 'too-big.bin')} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{server.port}\r\n"
        f"Authorization: {basic(ANNA, ANNA_PASSWORD).decode()}\r\n"
        f"Content-Length: {2 * MiB}\r\n"
        "Expect: 100-continue\r\n\r\n"
    ).encode()

    answer = raw_request(server.port, head)

    assert not answer.startswith(b"HTTP/1.1 100"), "the server asked for the body"
    assert status_of(answer) == 507, answer[:500]
    assert b"quota-not-exceeded" in answer
    with client(server, ANNA, ANNA_PASSWORD) as anna:
        # And the same with the body sent right away, as most clients do.
        r = anna.put(
            files(ANNA, "too-big.bin"),
            content=random_body(2 * MiB),
            headers={"Content-Length": str(2 * MiB)},
        )
        assert r.status_code == 507, r.text
        nothing_left_behind(server, anna, "too-big.bin")


def test_a_chunked_put_over_quota_is_stopped_with_507_and_leaves_nothing(
    server: LiveServer,
) -> None:
    with_quota(server, ANNA, ANNA_PASSWORD, quota="1M")
    with client(server, ANNA, ANNA_PASSWORD) as anna:
        # A generator and no Content-Length: httpx sends it chunked.
        r = anna.put(files(ANNA, "stream.bin"), content=random_body(2 * MiB, chunk=64 * KiB))

        assert r.status_code == 507, r.text
        assert r.request.headers.get("Transfer-Encoding") == "chunked"
        nothing_left_behind(server, anna, "stream.bin")
        # The refused upload used up nothing: the whole quota is still there.
        assert anna.put(files(ANNA, "fits.bin"), content=b"x" * MiB).status_code == 201


def test_puts_within_the_user_quota_succeed_and_the_one_too_many_does_not(
    server: LiveServer,
) -> None:
    with_quota(server, ANNA, ANNA_PASSWORD, quota="1M")
    with client(server, ANNA, ANNA_PASSWORD) as anna:
        assert anna.put(files(ANNA, "a.bin"), content=b"a" * (512 * KiB)).status_code == 201
        assert anna.put(files(ANNA, "b.bin"), content=b"b" * (600 * KiB)).status_code == 507
        # Overwriting frees the old size first: 900 KiB in place of 512 KiB fits.
        assert anna.put(files(ANNA, "a.bin"), content=b"A" * (900 * KiB)).status_code == 204
        assert anna.put(files(ANNA, "c.bin"), content=b"c" * (124 * KiB)).status_code == 201
        assert anna.put(files(ANNA, "d.bin"), content=b"d").status_code == 507
        assert sorted(children(anna, files(ANNA))) == ["a.bin", "c.bin"]
        assert anna.get(files(ANNA, "a.bin")).content == b"A" * (900 * KiB)


def test_the_tenant_quota_limits_the_sum_over_its_users(server: LiveServer) -> None:
    with_quota(server, ANNA, ANNA_PASSWORD, tenant_quota="3M")
    account(server, CARL, CARL_PASSWORD)
    with client(server, ANNA, ANNA_PASSWORD) as anna, client(server, CARL, CARL_PASSWORD) as carl:
        assert anna.put(files(ANNA, "a.bin"), content=b"a" * (2 * MiB)).status_code == 201
        # Carl has no quota of his own, but his tenant has 1 MiB left.
        r = carl.put(files(CARL, "c.bin"), content=b"c" * (2 * MiB))
        assert r.status_code == 507, r.text
        assert carl.put(files(CARL, "c.bin"), content=b"c" * MiB).status_code == 201
        assert carl.put(files(CARL, "d.bin"), content=b"d").status_code == 507
        assert anna.put(files(ANNA, "e.bin"), content=b"e").status_code == 507
        assert children(carl, files(CARL)) == ["c.bin"]
        assert children(anna, files(ANNA)) == ["a.bin"]
