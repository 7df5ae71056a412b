"""The audit trail seen from the operator's side: ``thvc audit verify|export`` (issue 3, §7).

The actions go through the real CLI and the real WebDAV endpoint; the tampering goes
straight into the database, as an intruder with database access would do it.
"""

from __future__ import annotations

import itertools
import json
import re

from sqlalchemy import create_engine, text

from tests.common.server import LiveServer
from tests.integration.support import ANNA, ANNA_PASSWORD, client, files


def act(server: LiveServer) -> None:
    """A tenant and a user (with the CLI), an upload, a good and a failed login."""
    server.cli("tenant", "create", "lauscha", "--name", "Stadt Lauscha")
    server.cli("user", "create", ANNA, "--password-stdin", input=ANNA_PASSWORD + "\n")
    with client(server, ANNA, ANNA_PASSWORD) as anna:
        assert anna.put(files(ANNA, "akte.txt"), content=b"Bescheid").status_code == 201
    with client(server, ANNA, "not-annas-password") as mallory:
        assert mallory.request("PROPFIND", files(ANNA)).status_code == 401


def tamper(server: LiveServer, sql: str, **params: object) -> None:
    """Change the database behind the server's back, as an intruder would."""
    engine = create_engine(server.database_url)
    try:
        with engine.begin() as conn:
            assert conn.execute(text(sql), params).rowcount == 1
    finally:
        engine.dispose()


def actor_of(server: LiveServer, seq: int) -> str | None:
    engine = create_engine(server.database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                text("SELECT actor FROM audit_events WHERE seq = :seq"), {"seq": seq}
            ).scalar_one()
    finally:
        engine.dispose()


def events(server: LiveServer) -> list[dict[str, object]]:
    exported = server.cli("audit", "export")
    return [json.loads(line) for line in exported.stdout.splitlines() if line.strip()]


def test_editing_or_deleting_one_audit_row_makes_verify_fail_and_name_it(
    server: LiveServer,
) -> None:
    act(server)
    untouched = server.cli("audit", "verify", check=False)
    assert untouched.returncode == 0, untouched.stdout + untouched.stderr
    original = actor_of(server, 3)
    assert original != "mallory"

    tamper(server, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 3")
    edited = server.cli("audit", "verify", check=False)

    output = edited.stdout + edited.stderr
    assert edited.returncode != 0, output
    assert re.search(r"\bevent 3\b", output), output

    # Put back exactly what was there: the chain holds again (it checks content, not history).
    tamper(server, "UPDATE audit_events SET actor = :actor WHERE seq = 3", actor=original)
    assert server.cli("audit", "verify", check=False).returncode == 0

    tamper(server, "DELETE FROM audit_events WHERE seq = 4")
    deleted = server.cli("audit", "verify", check=False)

    output = deleted.stdout + deleted.stderr
    assert deleted.returncode != 0, output
    assert re.search(r"\bevents? [45]\b", output), output


def test_audit_export_writes_json_lines_with_the_failed_login(server: LiveServer) -> None:
    act(server)

    rows = events(server)

    verified = server.cli("audit", "verify", check=False)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "intact" in verified.stdout
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
    actions = [(r["action"], r["outcome"]) for r in rows]
    assert ("tenant.create", "success") in actions
    assert ("user.create", "success") in actions
    assert ("file.put", "success") in actions
    assert ("login", "success") in actions
    failed = [r for r in rows if r["action"] == "login" and r["outcome"] == "failure"]
    assert len(failed) == 1, failed
    assert failed[0]["actor"] == ANNA
    assert failed[0]["client"] == "127.0.0.1"
    put = next(r for r in rows if r["action"] == "file.put")
    assert put["actor"] == ANNA
    assert "akte.txt" in str(put["target"])
    # The chain is in the export too: each event names its predecessor's hash.
    for before, after in itertools.pairwise(rows):
        assert after["prev_hash"] == before["hash"]
