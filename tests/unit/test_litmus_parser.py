# ruff: noqa: E501
"""Parser for litmus 0.13 output (tests/common/litmus.py).

The samples are genuine litmus 0.13 output (Debian 12 package), captured by running it with
stdout to a pipe against `rclone serve webdav` (rclone 1.60) on a temporary directory, against a
closed port, and with a wrong password.  Piped, litmus prints every test line twice, separated by
a carriage return; the samples keep it.  Only the suites' tests differ between servers, the
format does not.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.common.litmus import (
    ALL_SUITES,
    FAIL,
    PASS,
    SKIPPED,
    UNFINISHED,
    parse_litmus,
    run_litmus,
)

# litmus -k http://127.0.0.1:18765/ u p   (rclone serve webdav; TESTS="basic copymove props locks http")
BASIC = """\
-> running `basic':
\r 0. init.................. \r 0. init.................. pass
\r 1. begin................. \r 1. begin................. pass
\r 2. options............... \r 2. options............... pass
\r 3. put_get............... \r 3. put_get............... pass
\r 4. put_get_utf8_segment.. \r 4. put_get_utf8_segment.. pass
\r 5. put_no_parent......... \r 5. put_no_parent......... pass
\r 6. mkcol_over_plain...... \r 6. mkcol_over_plain...... pass
\r 7. delete................ \r 7. delete................ pass
\r 8. delete_null........... \r 8. delete_null........... pass
\r 9. delete_fragment....... \r 9. delete_fragment....... pass
\r10. mkcol................. \r10. mkcol................. pass
\r11. mkcol_again........... \r11. mkcol_again........... FAIL (MKCOL on existing collection should fail (RFC2518:8.3.1))
\r12. delete_coll........... \r12. delete_coll........... pass
\r13. mkcol_no_parent....... \r13. mkcol_no_parent....... pass
\r14. mkcol_with_body....... \r14. mkcol_with_body....... pass
\r15. finish................ \r15. finish................ pass
<- summary for `basic': of 16 tests run: 15 passed, 1 failed. 93.8%
"""

COPYMOVE = """\
-> running `copymove':
\r 0. init.................. \r 0. init.................. pass
\r 1. begin................. \r 1. begin................. pass
\r 2. copy_init............. \r 2. copy_init............. pass
\r 3. copy_simple........... \r 3. copy_simple........... pass
\r 4. copy_overwrite........ \r 4. copy_overwrite........ pass
\r 5. copy_nodestcoll....... \r 5. copy_nodestcoll....... pass
\r 6. copy_cleanup.......... \r 6. copy_cleanup.......... pass
\r 7. copy_coll............. \r 7. copy_coll............. pass
\r 8. copy_shallow.......... \r 8. copy_shallow.......... pass
\r 9. move.................. \r 9. move.................. pass
\r10. move_coll............. \r10. move_coll............. pass
\r11. move_cleanup.......... \r11. move_cleanup.......... pass
\r12. finish................ \r12. finish................ pass
<- summary for `copymove': of 13 tests run: 13 passed, 0 failed. 100.0%
"""

PROPS = """\
-> running `props':
\r 0. init.................. \r 0. init.................. pass
\r 1. begin................. \r 1. begin................. pass
\r 2. propfind_invalid...... \r 2. propfind_invalid...... pass
\r 3. propfind_invalid2..... \r 3. propfind_invalid2..... FAIL (PROPFIND with invalid namespace declaration in body (see FAQ) got 207 response not 400)
\r 4. propfind_d0........... \r 4. propfind_d0........... pass
\r 5. propinit.............. \r 5. propinit.............. pass
\r 6. propset............... \r 6. propset............... FAIL (PROPPATCH on `/litmus/prop': http://127.0.0.1:18765/litmus/prop: 403 Forbidden
)
\r 7. propget............... \r 7. propget............... SKIPPED
\r 8. propextended.......... \r 8. propextended.......... pass
\r 9. propmove.............. \r 9. propmove.............. SKIPPED
\r10. propget............... \r10. propget............... SKIPPED
\r11. propdeletes........... \r11. propdeletes........... SKIPPED
\r12. propget............... \r12. propget............... SKIPPED
\r13. propreplace........... \r13. propreplace........... SKIPPED
\r14. propget............... \r14. propget............... SKIPPED
\r15. propnullns............ \r15. propnullns............ SKIPPED
\r16. propget............... \r16. propget............... SKIPPED
\r17. prophighunicode....... \r17. prophighunicode....... SKIPPED
\r18. propget............... \r18. propget............... SKIPPED
\r19. propremoveset......... \r19. propremoveset......... SKIPPED
\r20. propget............... \r20. propget............... SKIPPED
\r21. propsetremove......... \r21. propsetremove......... SKIPPED
\r22. propget............... \r22. propget............... SKIPPED
\r23. propvalnspace......... \r23. propvalnspace......... SKIPPED
\r24. propwformed........... \r24. propwformed........... pass
\r25. propinit.............. \r25. propinit.............. pass
\r26. propmanyns............ \r26. propmanyns............ FAIL (PROPPATCH on `/litmus/prop': http://127.0.0.1:18765/litmus/prop: 403 Forbidden
)
\r27. propget............... \r27. propget............... FAIL (No value given for property {http://example.com/kappa}somename)
\r28. propcleanup........... \r28. propcleanup........... pass
\r29. finish................ \r29. finish................ pass
-> 16 tests were skipped.
<- summary for `props': of 14 tests run: 10 passed, 4 failed. 71.4%
"""

LOCKS = """\
-> running `locks':
\r 0. init.................. \r 0. init.................. pass
\r 1. begin................. \r 1. begin................. pass
\r 2. options............... \r 2. options............... pass
\r 3. precond............... \r 3. precond............... pass
\r 4. init_locks............ \r 4. init_locks............ pass
\r 5. put................... \r 5. put................... pass
\r 6. lock_excl............. \r 6. lock_excl............. pass
\r 7. discover.............. \r 7. discover.............. pass
\r 8. refresh............... \r 8. refresh............... pass
\r 9. notowner_modify....... \r 9. notowner_modify....... pass
\r10. notowner_lock......... \r10. notowner_lock......... pass
\r11. owner_modify.......... \r11. owner_modify.......... FAIL (PROPPATCH on locked resouce on `/litmus/lockme': http://127.0.0.1:18765/litmus/lockme: 403 Forbidden
)
\r12. notowner_modify....... \r12. notowner_modify....... pass
\r13. notowner_lock......... \r13. notowner_lock......... pass
\r14. copy.................. \r14. copy.................. pass
\r15. cond_put.............. \r15. cond_put.............. pass
\r16. fail_cond_put......... \r16. fail_cond_put......... pass
\r17. cond_put_with_not..... \r17. cond_put_with_not..... pass
\r18. cond_put_corrupt_token WARNING: PUT failed with 412 not 423
    ...................... pass (with 1 warning)
    ...................... \r19. complex_cond_put...... pass
\r20. fail_complex_cond_put. \r20. fail_complex_cond_put. FAIL (PUT with complex bogus conditional should fail with 412: 201 Created)
\r21. unlock................ \r21. unlock................ pass
\r22. fail_cond_put_unlocked \r22. fail_cond_put_unlocked pass
\r23. lock_shared........... \r23. lock_shared........... FAIL (LOCK on `/litmus/lockme': 501 Not Implemented)
\r24. notowner_modify....... \r24. notowner_modify....... SKIPPED
\r25. notowner_lock......... \r25. notowner_lock......... SKIPPED
\r26. owner_modify.......... \r26. owner_modify.......... SKIPPED
\r27. double_sharedlock..... \r27. double_sharedlock..... SKIPPED
\r28. notowner_modify....... \r28. notowner_modify....... SKIPPED
\r29. notowner_lock......... \r29. notowner_lock......... SKIPPED
\r30. unlock................ \r30. unlock................ SKIPPED
\r31. prep_collection....... \r31. prep_collection....... pass
\r32. lock_collection....... \r32. lock_collection....... pass
\r33. owner_modify.......... \r33. owner_modify.......... FAIL (PROPPATCH on locked resouce on `/litmus/lockcoll/lockme.txt': http://127.0.0.1:18765/litmus/lockcoll/lockme.txt: 403 Forbidden
)
\r34. notowner_modify....... \r34. notowner_modify....... pass
\r35. refresh............... \r35. refresh............... pass
\r36. indirect_refresh...... \r36. indirect_refresh...... pass
\r37. unlock................ \r37. unlock................ pass
\r38. unmapped_lock......... \r38. unmapped_lock......... pass
\r39. unlock................ \r39. unlock................ pass
\r40. finish................ \r40. finish................ pass
-> 7 tests were skipped.
<- summary for `locks': of 34 tests run: 30 passed, 4 failed. 88.2%
-> 1 warning was issued.
"""

HTTP = """\
-> running `http':
\r 0. init.................. \r 0. init.................. pass
\r 1. begin................. \r 1. begin................. pass
\r 2. expect100............. \r 2. expect100............. pass
\r 3. finish................ \r 3. finish................ pass
<- summary for `http': of 4 tests run: 4 passed, 0 failed. 100.0%
"""

# TESTS="basic copymove" litmus -k http://127.0.0.1:18799/ u p   (nothing listening)
REFUSED = """\
-> running `basic':
\r 0. init.................. \r 0. init.................. FAIL (connection refused by `127.0.0.1' port 18799: Connection refused)
<- summary for `basic': of 1 tests run: 0 passed, 1 failed. 0.0%
-> running `copymove':
\r 0. init.................. \r 0. init.................. FAIL (connection refused by `127.0.0.1' port 18799: Connection refused)
<- summary for `copymove': of 1 tests run: 0 passed, 1 failed. 0.0%
"""

# TESTS=basic litmus -k http://127.0.0.1:18766/ u wrong   (rclone with --user u --pass p)
BAD_PASSWORD = """\
-> running `basic':
\r 0. init.................. \r 0. init.................. pass
\r 1. begin................. \r 1. begin................. FAIL (Could not create new collection `/litmus/' for tests: Could not authenticate to server: rejected Basic challenge
Server must allow `MKCOL /litmus/' for tests to proceed)
<- summary for `basic': of 2 tests run: 1 passed, 1 failed. 50.0%
"""

# TESTS="http bogus basic" litmus -k http://127.0.0.1:18766/ u p   (the wrapper stops, exit 1)
UNKNOWN_SUITE = """\
-> running `http':
\r 0. init.................. \r 0. init.................. pass
\r 1. begin................. \r 1. begin................. pass
\r 2. expect100............. \r 2. expect100............. pass
\r 3. finish................ \r 3. finish................ pass
<- summary for `http': of 4 tests run: 4 passed, 0 failed. 100.0%
ERROR: Could not find /usr/libexec/litmus/bogus
"""

FULL_RUN = BASIC + COPYMOVE + PROPS + LOCKS + HTTP


# -- parsing genuine output -------------------------------------------------------------------


def test_counts_and_failure_of_one_suite() -> None:
    result = parse_litmus(BASIC, ["basic"])

    basic = result["basic"]
    assert (basic.run, basic.passed, basic.failed, basic.skipped) == (16, 15, 1, 0)
    assert basic.completed
    assert len(basic.tests) == 16
    assert result.failed_tests == [
        ("basic 11. mkcol_again", "MKCOL on existing collection should fail (RFC2518:8.3.1)")
    ]
    assert not basic.ok
    assert not result.ok


def test_passing_suites_are_ok() -> None:
    result = parse_litmus(COPYMOVE + HTTP, ["copymove", "http"])

    assert result.ok, str(result)
    assert [(s.name, s.run, s.passed) for s in result.suites] == [
        ("copymove", 13, 13),
        ("http", 4, 4),
    ]
    assert result.failures == []
    assert result.warnings == []
    assert str(result).startswith("litmus: OK (suites: copymove http)")


def test_skipped_tests_are_counted_and_listed() -> None:
    props = parse_litmus(PROPS)["props"]

    assert (props.run, props.passed, props.failed, props.skipped) == (14, 10, 4, 16)
    assert len(props.skipped_tests) == 16
    assert props.skipped_tests[0].label == "props 7. propget"
    assert all(t.outcome == SKIPPED for t in props.skipped_tests)
    assert props.problems == []


def test_failure_reason_spanning_two_lines() -> None:
    props = parse_litmus(PROPS)["props"]

    assert [t.label for t in props.failures] == [
        "props 3. propfind_invalid2",
        "props 6. propset",
        "props 26. propmanyns",
        "props 27. propget",
    ]
    propset = props.failures[1]
    assert propset.outcome == FAIL
    assert propset.message == (
        "PROPPATCH on `/litmus/prop': http://127.0.0.1:18765/litmus/prop: 403 Forbidden"
    )
    # the line after the one-line ")" is a test again, not part of the reason
    assert props.tests[7].label == "props 7. propget"


def test_reason_with_several_lines_keeps_them() -> None:
    result = parse_litmus(BAD_PASSWORD, ["basic"])

    assert result.failed_tests == [
        (
            "basic 1. begin",
            "Could not create new collection `/litmus/' for tests: Could not authenticate to "
            "server: rejected Basic challenge\nServer must allow `MKCOL /litmus/' for tests to "
            "proceed",
        )
    ]
    assert not result.ok


def test_warning_belongs_to_its_test_and_does_not_lose_the_next_one() -> None:
    locks = parse_litmus(LOCKS)["locks"]

    assert (locks.run, locks.passed, locks.failed, locks.skipped) == (34, 30, 4, 7)
    assert locks.warnings == ["locks 18. cond_put_corrupt_token: PUT failed with 412 not 423"]
    warned, following = locks.tests[18], locks.tests[19]
    assert (warned.name, warned.outcome) == ("cond_put_corrupt_token", PASS)
    assert warned.warnings == ["PUT failed with 412 not 423"]
    assert (following.number, following.name, following.outcome) == (19, "complex_cond_put", PASS)
    assert [t.number for t in locks.tests] == list(range(41))
    assert locks.problems == []


def test_a_whole_run() -> None:
    result = parse_litmus(FULL_RUN, ALL_SUITES)

    assert [s.name for s in result.suites] == list(ALL_SUITES)
    assert all(s.completed for s in result.suites)
    assert len(result.failures) == 9
    assert len(result.skipped_tests) == 23
    assert len(result.warnings) == 1
    assert [s.name for s in result.suites if s.ok] == ["copymove", "http"]
    assert not result.ok


def test_connection_refused_fails_every_suite() -> None:
    result = parse_litmus(REFUSED, ["basic", "copymove"])

    assert [(s.name, s.run, s.failed) for s in result.suites] == [
        ("basic", 1, 1),
        ("copymove", 1, 1),
    ]
    assert result.failed_tests[0] == (
        "basic 0. init",
        "connection refused by `127.0.0.1' port 18799: Connection refused",
    )
    assert not result.ok


def test_unknown_suite_is_an_error_and_later_suites_did_not_run() -> None:
    result = parse_litmus(UNKNOWN_SUITE, ["http", "bogus", "basic"])

    assert result["http"].ok
    assert result.errors == ["Could not find /usr/libexec/litmus/bogus"]
    assert result.missing == ["bogus", "basic"]
    assert not result.ok
    assert "bogus: DID NOT RUN" in str(result)


def test_a_requested_suite_missing_from_the_output_is_a_failure() -> None:
    result = parse_litmus(COPYMOVE, ["copymove", "locks"])

    assert result["copymove"].ok
    assert result.missing == ["locks"]
    assert result.suite("locks") is None
    assert not result.ok


def test_empty_output_is_not_ok() -> None:
    result = parse_litmus("", ["basic"])

    assert not result.ok
    assert result.missing == ["basic"]
    assert not parse_litmus("").ok  # nothing requested, nothing ran


def test_suite_cut_off_before_its_summary_fails() -> None:
    cut = BASIC[: BASIC.index("\r 8. delete_null")] + "\r 8. delete_null........... "

    basic = parse_litmus(cut, ["basic"])["basic"]

    assert not basic.completed
    assert not basic.ok
    assert (basic.run, basic.passed, basic.failed) == (9, 8, 1)
    assert basic.tests[-1].outcome == UNFINISHED
    assert basic.failures[-1].label == "basic 8. delete_null"
    assert basic.problems


def test_skipped_without_failures_is_still_not_ok() -> None:
    # the suite-level lines of a run whose only non-pass is a skip
    output = (
        PROPS.split("\r 3.")[0]
        + "\r 3. propget............... \r 3. propget............... SKIPPED\n"
        + "-> 1 test was skipped.\n"
        + "<- summary for `props': of 3 tests run: 3 passed, 0 failed. 100.0%\n"
    )

    props = parse_litmus(output, ["props"])["props"]

    assert (props.run, props.passed, props.failed, props.skipped) == (3, 3, 0, 1)
    assert not props.ok
    assert "props: 3. propget" in str(parse_litmus(output))


def test_all_tests_skipped_is_not_ok() -> None:
    output = (
        "-> running `locks':\n"
        "\r 0. init.................. \r 0. init.................. SKIPPED (no locking)\n"
        "-> 1 test was skipped.\n"
        "<- all tests skipped for `locks'.\n"
    )

    locks = parse_litmus(output, ["locks"])["locks"]

    assert locks.completed
    assert (locks.run, locks.skipped) == (0, 1)
    assert locks.tests[0].message == "no locking"
    assert not locks.ok


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda s: s.replace("\r", ""), id="carriage-returns-dropped"),
        pytest.param(lambda s: s.replace("\r", "\n"), id="universal-newlines"),
        pytest.param(lambda s: s.replace("\n", "\r\n"), id="crlf"),
        pytest.param(
            lambda s: s.replace(" pass\n", " \x1b[32mpass\x1b[00m\n").replace(
                " FAIL", " \x1b[41;37;01mFAIL\x1b[00m"
            ),
            id="terminal-colours",
        ),
    ],
)
def test_same_result_from_mangled_output(mangle: Callable[[str], str]) -> None:
    expected = str(parse_litmus(FULL_RUN, ALL_SUITES))

    assert str(parse_litmus(mangle(FULL_RUN), ALL_SUITES)) == expected


def test_report_for_assertion_messages() -> None:
    report = str(parse_litmus(FULL_RUN, ALL_SUITES))

    assert report.splitlines()[:6] == [
        "litmus: FAILED (suites: basic copymove props locks http)",
        "  basic: NOT OK: 16 run, 15 passed, 1 failed, 0 skipped",
        "  copymove: ok: 13 run, 13 passed, 0 failed, 0 skipped",
        "  props: NOT OK: 14 run, 10 passed, 4 failed, 16 skipped",
        "  locks: NOT OK: 34 run, 30 passed, 4 failed, 7 skipped",
        "  http: ok: 4 run, 4 passed, 0 failed, 0 skipped",
    ]
    assert "  locks 23. lock_shared: LOCK on `/litmus/lockme': 501 Not Implemented" in report
    assert "  locks 18. cond_put_corrupt_token: PUT failed with 412 not 423" in report
    assert "skipped:" in report


# -- running the real litmus (quick: a closed port, a bogus suite, rclone) -------------------


def _require(tool: str) -> None:
    """A missing tool fails the test (``make test`` installs it); it is never a skip."""
    assert shutil.which(tool) is not None, f"{tool} is missing: run `make system-deps`"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.litmus
def test_run_litmus_against_nothing(tmp_path: Path) -> None:
    _require("litmus")
    url = f"http://127.0.0.1:{_free_port()}/"

    result = run_litmus(url, "u", "p", ["basic", "http"], timeout=60, log_dir=tmp_path)

    assert result.returncode == 0  # with -k even a complete failure exits 0
    assert not result.ok
    assert [(s.name, s.completed, s.failed) for s in result.suites] == [
        ("basic", True, 1),
        ("http", True, 1),
    ]
    assert result.failures[0].label == "basic 0. init"
    assert (tmp_path / "debug.log").exists()


@pytest.mark.litmus
def test_run_litmus_unknown_suite() -> None:
    _require("litmus")
    url = f"http://127.0.0.1:{_free_port()}/"

    result = run_litmus(url, "u", "p", ["no_such_suite"], timeout=60)

    assert result.returncode == 1
    assert result.missing == ["no_such_suite"]
    assert not result.ok


def test_run_litmus_needs_a_collection_url() -> None:
    with pytest.raises(ValueError, match="ending in '/'"):
        run_litmus("http://127.0.0.1:1/dav", "u", "p", ["basic"])


@pytest.fixture
def rclone_webdav(tmp_path: Path) -> Iterator[str]:
    _require("rclone")
    port = _free_port()
    root = tmp_path / "dav"
    root.mkdir()
    proc = subprocess.Popen(
        ["rclone", "serve", "webdav", str(root), "--addr", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("rclone serve webdav did not start")
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.litmus
def test_run_litmus_against_rclone(rclone_webdav: str) -> None:
    _require("litmus")
    result = run_litmus(rclone_webdav, "u", "p", ["basic", "copymove", "http"], timeout=120)

    assert result.returncode == 0
    assert result.missing == []
    assert all(s.completed for s in result.suites), str(result)
    assert result["basic"].run == 16
    assert result["copymove"].ok, str(result)
    assert result["http"].ok, str(result)
