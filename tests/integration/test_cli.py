"""``thvc`` as an operator uses it (issue 3, §1, §2, §4): init, settings, tenants, users,
app passwords, suspension; each checked against the running server where it matters."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import httpx

from tests.common.server import THVC, LiveServer, free_port
from tests.integration.support import (
    ANNA,
    ANNA_PASSWORD,
    BEN,
    BEN_PASSWORD,
    account,
    client,
    files,
    files_containing,
    sqlite_files,
)

OPERATOR = "admin@platform"


def lines(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]


def can_log_in(server: LiveServer, login: str, password: str) -> int:
    with client(server, login, password) as http:
        return http.request("PROPFIND", files(login), headers={"Depth": "0"}).status_code


def test_init_prints_the_operator_password_once_and_never_stores_or_logs_it(
    tmp_path: Path, database_url: str
) -> None:
    live = LiveServer(tmp_path / "data", database_url, free_port(), "", log_level="debug")
    live.data_dir.mkdir()

    first = live.cli("init")
    found = re.findall(r"password:\s*(\S+)", first.stdout)
    assert len(found) == 1, first.stdout
    password = found[0]
    assert (first.stdout + first.stderr).count(password) == 1
    assert OPERATOR in first.stdout

    second = live.cli("init")
    assert password not in second.stdout + second.stderr
    assert "password" not in (second.stdout + second.stderr).lower(), second.stdout
    assert OPERATOR in second.stdout

    live.start()
    try:
        assert can_log_in(live, OPERATOR, password) == 207
        assert can_log_in(live, OPERATOR, password + "x") == 401
    finally:
        live.stop()

    roots = [live.data_dir, *sqlite_files(database_url)]
    assert live.log.is_file() and live.log.is_relative_to(live.data_dir)
    leaks = files_containing(roots, password.encode())
    assert leaks == [], f"the operator password is stored in {leaks}"


def test_creating_a_tenant_twice_fails_with_one_line(cli_only: LiveServer) -> None:
    cli_only.cli("tenant", "create", "lauscha", "--name", "Stadt Lauscha")

    again = cli_only.cli("tenant", "create", "lauscha", "--name", "Stadt Lauscha", check=False)

    assert again.returncode == 1
    assert len(lines(again)) == 1, lines(again)
    assert "lauscha" in again.stderr
    assert "exists" in again.stderr


def test_an_invalid_tenant_slug_is_refused_with_a_clear_message(cli_only: LiveServer) -> None:
    for slug in ["Stadt Lauscha", "x" * 64]:
        made = cli_only.cli("tenant", "create", slug, "--name", "Stadt Lauscha", check=False)

        assert made.returncode in (1, 2), f"{slug!r}: exit {made.returncode}"
        assert "slug" in made.stderr.lower(), made.stderr
        assert "Traceback" not in made.stderr


def test_a_user_in_a_tenant_that_does_not_exist_is_refused(cli_only: LiveServer) -> None:
    made = cli_only.cli(
        "user",
        "create",
        "x@nosuchtenant",
        "--password-stdin",
        input="long-enough-pw\n",
        check=False,
    )

    assert made.returncode == 1
    assert "nosuchtenant" in made.stderr
    assert len(lines(made)) == 1, lines(made)


WRONG_SETTINGS = [("THVC_BIND", "nonsense"), ("THVC_DATABASE_URL", "mysql://x")]


def test_a_wrong_setting_stops_init_and_serve_with_one_line_naming_it(
    cli_only: LiveServer,
) -> None:
    problems = []
    for command in ("init", "serve"):
        for name, value in WRONG_SETTINGS:
            # Not a terminal: the width a pipe or a service manager's log gives (80 columns).
            env = {**cli_only.env, name: value, "COLUMNS": "80"}
            try:
                proc = subprocess.run(
                    [THVC, command], env=env, capture_output=True, text=True, timeout=60
                )
            except subprocess.TimeoutExpired:
                problems.append(f"thvc {command} with {name}={value} kept running")
                continue
            output = lines(proc)
            if proc.returncode == 0:
                problems.append(f"thvc {command} with {name}={value} exited 0: {output}")
            elif len(output) != 1 or name not in output[0]:
                problems.append(
                    f"thvc {command} with {name}={value}: not one line naming {name}: {output}"
                )
    assert problems == [], "\n".join(problems)


def test_an_app_password_authenticates_until_it_is_revoked(server: LiveServer) -> None:
    account(server, ANNA, ANNA_PASSWORD)

    made = server.cli("user", "app-password", "create", ANNA, "laptop-sync")
    token = made.stdout.strip()
    assert token and len(token.split()) == 1, made.stdout
    assert can_log_in(server, ANNA, token) == 207
    assert can_log_in(server, ANNA, token) == 207  # again, now from the credential cache

    listed = server.cli("user", "app-password", "list", ANNA).stdout
    assert "laptop-sync" in listed
    assert token not in listed

    server.cli("user", "app-password", "revoke", ANNA, "laptop-sync")
    assert can_log_in(server, ANNA, token) == 401
    assert can_log_in(server, ANNA, ANNA_PASSWORD) == 207  # the password itself still works


def test_a_suspended_tenant_or_disabled_user_is_locked_out_until_restored(
    server: LiveServer,
) -> None:
    account(server, ANNA, ANNA_PASSWORD)
    account(server, BEN, BEN_PASSWORD)
    assert can_log_in(server, ANNA, ANNA_PASSWORD) == 207  # and now cached

    server.cli("tenant", "suspend", "lauscha")
    assert can_log_in(server, ANNA, ANNA_PASSWORD) == 401
    assert can_log_in(server, BEN, BEN_PASSWORD) == 207  # another tenant is not affected

    server.cli("tenant", "resume", "lauscha")
    assert can_log_in(server, ANNA, ANNA_PASSWORD) == 207

    server.cli("user", "disable", ANNA)
    assert can_log_in(server, ANNA, ANNA_PASSWORD) == 401
    assert can_log_in(server, BEN, BEN_PASSWORD) == 207

    server.cli("user", "enable", ANNA)
    assert can_log_in(server, ANNA, ANNA_PASSWORD) == 207


def test_tenant_policy_without_links_refuses_a_link_with_the_reason(server: LiveServer) -> None:
    """Acceptance (issue 5): after `thvc tenant policy suhl --links no`, ben's attempt to
    create a link is a 403 that says why; the policy prints as it now is."""
    account(server, BEN, BEN_PASSWORD)
    with client(server, BEN, BEN_PASSWORD) as http:
        assert http.request("MKCOL", files(BEN, "Pl%C3%A4ne")).status_code == 201
    shown = server.cli("tenant", "policy", "suhl").stdout
    assert "links & drops:  yes" in shown
    changed = server.cli("tenant", "policy", "suhl", "--links", "no").stdout
    assert "links & drops:  no" in changed
    invite = server.cli("tenant", "policy", "suhl", "--members-invite", "no").stdout
    assert "members invite: no" in invite and "links & drops:  no" in invite
    bad = server.cli("tenant", "policy", "suhl", "--links", "vielleicht", check=False)
    assert bad.returncode == 2 and "--links takes yes or no" in bad.stderr
    with client(server, BEN, BEN_PASSWORD) as http:
        r = http.post(
            "/ocs/v2.php/apps/files_sharing/api/v1/shares?format=json",
            data={"path": "/Pläne", "shareType": 3},
            headers={"OCS-APIRequest": "true"},
        )
    assert r.status_code == 403, r.text
    assert "policy does not allow public links" in r.json()["ocs"]["meta"]["message"]


def test_tenant_usage_reports_storage_accounts_and_bytes_moved(server: LiveServer) -> None:
    account(server, ANNA, ANNA_PASSWORD)
    body = b"u" * 300_000
    auth = (ANNA, ANNA_PASSWORD)
    url = f"{server.url}/dav/files/{ANNA}/usage.bin"
    assert httpx.put(url, content=body, auth=auth).status_code == 201
    assert httpx.get(url, auth=auth).content == body
    # The server writes its traffic sums every few seconds: wait for them.
    deadline = time.monotonic() + 30
    while True:
        rows = [r.split("\t") for r in server.cli("tenant", "usage", "--tsv").stdout.splitlines()]
        head, row = rows[0], next(r for r in rows if r[0] == "lauscha")
        usage = dict(zip(head, row, strict=True))
        if usage["out"] != "0" or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert usage["state"] == "active"
    assert usage["accounts"] == "1"
    for column in ("used", "in", "out", "in_30d", "out_30d"):
        assert usage[column] == "300000", usage
