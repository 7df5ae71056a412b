"""Failed logins are throttled per account and per client address, in the database
(issue 3, §3 and §4): 401 for the first wrong passwords, then 429 with Retry-After.

The client address is varied by connecting from other loopback addresses (127.0.0.2, ...):
the server binds 127.0.0.1 and sees the connection's real source address.
"""

from __future__ import annotations

import time

import httpx

from tests.common.server import LiveServer
from tests.integration.support import (
    ANNA,
    ANNA_PASSWORD,
    BEN,
    BEN_PASSWORD,
    account,
    files,
)

WRONG = "not-the-password"
MAX_ATTEMPTS = 20  # the free allowance is a setting; this is far above any sane one
# Blocks long enough to observe them, or to restart the server, on a busy machine.
LONG_BLOCK = 8
RESTART_BLOCK = 16


def connect(
    server: LiveServer, login: str, password: str, source: str = "127.0.0.1"
) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=source)
    return httpx.Client(
        base_url=server.url, auth=(login, password), transport=transport, timeout=30
    )


def probe(http: httpx.Client, login: str = ANNA) -> httpx.Response:
    return http.request("PROPFIND", files(login), headers={"Depth": "0"})


def fail_until_blocked(http: httpx.Client) -> tuple[list[int], int]:
    """Send wrong passwords until one is answered 429; return (statuses, Retry-After)."""
    statuses = []
    for _ in range(MAX_ATTEMPTS):
        r = probe(http)
        statuses.append(r.status_code)
        if r.status_code == 429:
            retry_after = r.headers.get("Retry-After", "")
            assert retry_after.isdigit(), f"Retry-After {retry_after!r} is not whole seconds"
            assert int(retry_after) > 0
            return statuses, int(retry_after)
        assert r.status_code == 401, f"{r.status_code} {r.text}"
        assert r.headers.get("WWW-Authenticate", "").lower().startswith("basic")
    raise AssertionError(
        f"{MAX_ATTEMPTS} wrong passwords in a row were never throttled: {statuses}"
    )


def block_for_at_least(http: httpx.Client, seconds: int) -> tuple[list[int], list[int]]:
    """Fail logins until blocked; wait each block out and fail again until a block lasts
    ``seconds`` (delays grow with every failure). Returns (first statuses, Retry-Afters)."""
    first, retry_after = fail_until_blocked(http)
    waits = [retry_after]
    while retry_after < seconds:
        time.sleep(retry_after + 0.1)
        statuses, retry_after = fail_until_blocked(http)
        assert statuses[0] == 401, f"after a block is over, a wrong password is 401: {statuses}"
        waits.append(retry_after)
    return first, waits


def test_wrong_passwords_get_401_then_429_and_block_the_account_and_the_address(
    server: LiveServer,
) -> None:
    account(server, ANNA, ANNA_PASSWORD)
    account(server, BEN, BEN_PASSWORD)
    with connect(server, ANNA, WRONG) as wrong:
        statuses, waits = block_for_at_least(wrong, LONG_BLOCK)
    blocked_at = time.monotonic()

    assert statuses[0] == 401
    assert set(statuses[:-1]) == {401}
    assert statuses[-1] == 429
    assert waits[-1] > waits[0], f"the delays do not grow: {waits}"

    with connect(server, ANNA, ANNA_PASSWORD) as anna:
        same_account_same_address = probe(anna).status_code
    with connect(server, ANNA, ANNA_PASSWORD, source="127.0.0.2") as anna_elsewhere:
        same_account_other_address = probe(anna_elsewhere).status_code
    with connect(server, BEN, BEN_PASSWORD) as ben:
        other_account_same_address = probe(ben, BEN).status_code
    assert time.monotonic() - blocked_at < waits[-1], "too slow to observe the block"
    with connect(server, BEN, BEN_PASSWORD, source="127.0.0.3") as ben_elsewhere:
        other_account_other_address = probe(ben_elsewhere, BEN).status_code

    assert same_account_same_address == 429, "the right password got through the block"
    assert same_account_other_address == 429, "the account is not throttled as such"
    assert other_account_same_address == 429, "the client address is not throttled as such"
    assert other_account_other_address == 207, "an unrelated login was throttled"

    # Once the block is over, the right password works again.
    time.sleep(max(0.0, waits[-1] - (time.monotonic() - blocked_at)) + 0.2)
    with connect(server, ANNA, ANNA_PASSWORD) as anna:
        assert probe(anna).status_code == 207


def test_the_throttle_outlives_a_restart_of_the_server(server: LiveServer) -> None:
    account(server, ANNA, ANNA_PASSWORD)
    with connect(server, ANNA, WRONG) as wrong:
        _, waits = block_for_at_least(wrong, RESTART_BLOCK)
    blocked_until = time.monotonic() + waits[-1]

    server.stop()
    server.start()

    with connect(server, ANNA, ANNA_PASSWORD) as anna:
        r = probe(anna)
    assert time.monotonic() < blocked_until, "the restart took longer than the block"
    assert r.status_code == 429, f"the block was forgotten by the restart: {r.status_code}"
    assert 0 < int(r.headers["Retry-After"]) <= waits[-1]
