"""SIGKILL in the middle of a PUT, an overwrite and a MOVE (issue 3, §9, Acceptance 6).

After each kill the server is started again on the same data directory and database:
the old or the new state is visible, never a mix, and ``thvc fsck --repair`` leaves a
report that a second ``thvc fsck`` calls clean.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable

import httpx
import pytest

from tests.common.server import LiveServer
from tests.integration.support import (
    ANNA,
    ANNA_PASSWORD,
    MiB,
    account,
    children,
    client,
    download_sha256,
    files,
    members,
    random_body,
)

pytestmark = pytest.mark.slow

BODY = 200 * MiB
KILL_AT = 50 * MiB


def in_background(call: Callable[[], httpx.Response]) -> tuple[threading.Thread, list[object]]:
    """Run ``call`` in a thread; its response or its exception lands in the returned list."""
    outcome: list[object] = []

    def target() -> None:
        try:
            outcome.append(call())
        except httpx.TransportError as exc:  # the server died under it: expected
            outcome.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, outcome


def wait_for(
    event: threading.Event, thread: threading.Thread, server: LiveServer, outcome: list[object]
) -> None:
    """Wait until ``event`` is set; fail at once (with the server's log) if the request ended."""
    deadline = time.monotonic() + 60
    while not event.wait(0.05):
        if not thread.is_alive() or time.monotonic() > deadline:
            state = "gone" if server.proc is None else f"exit status {server.proc.poll()}"
            raise AssertionError(
                f"the request ended before the kill: {outcome}; server process: {state}; "
                f"log:\n{server.log.read_text()}"
            )


def kill_mid_upload(server: LiveServer, path: str) -> list[object]:
    """PUT a 200 MiB body to ``path`` and SIGKILL the server once 50 MiB have gone out."""
    halfway = threading.Event()
    with client(server, ANNA, ANNA_PASSWORD, timeout=120) as anna:
        thread, outcome = in_background(
            lambda: anna.put(
                files(ANNA, path),
                content=random_body(BODY, signal_at=KILL_AT, signal=halfway),
                headers={"Content-Length": str(BODY)},
            )
        )
        wait_for(halfway, thread, server, outcome)
        server.kill()
        thread.join(60)
    assert not thread.is_alive()
    return outcome


def repair_then_check(server: LiveServer) -> None:
    """``fsck --repair --temp-age 0`` succeeds, then a plain ``fsck`` reports clean."""
    repaired = server.cli("fsck", "--repair", "--temp-age", "0", check=False)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    checked = server.cli("fsck", check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "fsck: clean" in checked.stdout, checked.stdout
    assert "problem" not in checked.stdout and "damaged" not in checked.stdout, checked.stdout
    leftovers = [p for p in server.data_dir.rglob("*.part")]
    assert leftovers == [], f"temporary upload files survived the repair: {leftovers}"
    audit = server.cli("audit", "verify", check=False)
    assert audit.returncode == 0, audit.stdout + audit.stderr


def test_a_put_killed_halfway_leaves_no_file_and_fsck_repairs_to_clean(
    server: LiveServer,
) -> None:
    account(server, ANNA, ANNA_PASSWORD)

    outcome = kill_mid_upload(server, "new.bin")
    assert outcome and isinstance(outcome[0], httpx.TransportError), outcome

    server.start()
    with client(server, ANNA, ANNA_PASSWORD) as anna:
        assert anna.get(files(ANNA, "new.bin")).status_code == 404
        assert anna.request("PROPFIND", files(ANNA, "new.bin")).status_code == 404
        assert "new.bin" not in children(anna, files(ANNA))
    repair_then_check(server)
    # The server still works on the same name afterwards.
    with client(server, ANNA, ANNA_PASSWORD) as anna:
        assert anna.put(files(ANNA, "new.bin"), content=b"second try").status_code == 201
        assert anna.get(files(ANNA, "new.bin")).content == b"second try"


def test_an_overwrite_killed_halfway_keeps_exactly_the_old_content(server: LiveServer) -> None:
    account(server, ANNA, ANNA_PASSWORD)
    old = os.urandom(MiB)
    with client(server, ANNA, ANNA_PASSWORD) as anna:
        assert anna.put(files(ANNA, "report.bin"), content=old).status_code == 201
        before = anna.request("PROPFIND", files(ANNA, "report.bin"), headers={"Depth": "0"})
        assert before.status_code == 207

    outcome = kill_mid_upload(server, "report.bin")
    assert outcome and isinstance(outcome[0], httpx.TransportError), outcome

    server.start()
    with client(server, ANNA, ANNA_PASSWORD) as anna:
        status, digest, size = download_sha256(anna, files(ANNA, "report.bin"))
        assert (status, size) == (200, MiB)
        assert digest == hashlib.sha256(old).hexdigest()
        after = anna.request("PROPFIND", files(ANNA, "report.bin"), headers={"Depth": "0"})
        assert after.content == before.content  # same etag, size, mtime: nothing changed
    repair_then_check(server)
    with client(server, ANNA, ANNA_PASSWORD) as anna:
        assert anna.get(files(ANNA, "report.bin")).content == old


FOLDER_FILES = 200
# A MOVE of 200 files takes ~40-50 ms just after a restart: kill before, during and after
# its transaction.
KILL_DELAYS = (0.0, 0.025, 0.04, 0.055, 0.3)


def test_a_move_of_a_folder_killed_in_flight_is_all_or_nothing(server: LiveServer) -> None:
    account(server, ANNA, ANNA_PASSWORD)
    # Every file has its own size, so a listing shows which node is which.
    contents = {f"f{i:03d}.txt": os.urandom(1024 + i) for i in range(FOLDER_FILES)}
    sizes = {name: len(data) for name, data in contents.items()}
    with client(server, ANNA, ANNA_PASSWORD) as anna:
        assert anna.request("MKCOL", files(ANNA, "alt/")).status_code == 201
        assert anna.request("MKCOL", files(ANNA, "archiv/")).status_code == 201
        for name, data in contents.items():
            assert anna.put(files(ANNA, f"alt/{name}"), content=data).status_code == 201

    here, there = "alt", "archiv/neu"
    for delay in KILL_DELAYS:
        sending = threading.Event()
        with client(server, ANNA, ANNA_PASSWORD, timeout=30) as anna:
            # Connected and authenticated already, so the delay falls on the MOVE itself.
            assert anna.request("PROPFIND", files(ANNA), headers={"Depth": "0"}).status_code == 207
            anna.event_hooks["request"] = [lambda request, sending=sending: sending.set()]
            destination = f"{server.url}{files(ANNA, there + '/')}"
            thread, outcome = in_background(
                lambda anna=anna, destination=destination, here=here: anna.request(
                    "MOVE", files(ANNA, here + "/"), headers={"Destination": destination}
                )
            )
            wait_for(sending, thread, server, outcome)
            time.sleep(delay)
            server.kill()
            thread.join(30)
        assert not thread.is_alive()
        server.start()

        with client(server, ANNA, ANNA_PASSWORD) as anna:
            at_old = anna.request("PROPFIND", files(ANNA, here + "/"), headers={"Depth": "0"})
            at_new = anna.request("PROPFIND", files(ANNA, there + "/"), headers={"Depth": "0"})
            assert sorted([at_old.status_code, at_new.status_code]) == [207, 404], (
                f"after a kill {delay * 1000:g} ms into the MOVE: "
                f"{here} {at_old.status_code}, {there} {at_new.status_code}"
            )
            if at_new.status_code == 207:  # it moved; the next round moves it back
                here, there = there, here
            assert members(anna, files(ANNA, here + "/")) == sizes, f"{here} after {delay}"

    with client(server, ANNA, ANNA_PASSWORD) as anna:
        for name, data in contents.items():
            status, digest, _ = download_sha256(anna, files(ANNA, f"{here}/{name}"))
            assert (status, digest) == (200, hashlib.sha256(data).hexdigest()), name
    repair_then_check(server)
