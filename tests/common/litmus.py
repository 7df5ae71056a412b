"""Run the litmus WebDAV compliance suite and parse what it prints.

litmus 0.13 (Debian package ``litmus``) is a shell wrapper that runs one program per suite
(``basic copymove props locks http``, chosen with ``$TESTS``).  With ``-k`` it keeps going after
a failing suite and then **exits 0 even when tests failed**, so the verdict has to come from the
output:

* ``-> running `basic':`` starts a suite;
* `` 3. put_get............... pass`` / ``FAIL (reason)`` / ``SKIPPED`` is one test; when stdout
  is not a terminal every test line is printed twice, separated by ``\\r``; the reason of a
  failure may span several lines;
* ``WARNING: text`` is printed inside a test, whose result then comes on a line of its own
  (``    ...................... pass (with 1 warning)``);
* ``-> 16 tests were skipped.`` (a skipped test is not a passed one), then
  ``<- summary for `props': of 14 tests run: 10 passed, 4 failed. 71.4%`` (the skipped tests are
  not counted as run) or ``<- all tests skipped for `props'.``;
* a suite that stops without its summary (crash, timeout) or never starts (unknown suite:
  ``ERROR: Could not find /usr/libexec/litmus/x``) has failed.

:func:`run_litmus` runs it, :func:`parse_litmus` parses a captured output; both return a
:class:`LitmusResult` whose ``ok`` is true only if every requested suite ran to its summary
with no failed and no skipped test.  ``str(result)`` is a report meant for assertion messages.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "ALL_SUITES",
    "LitmusResult",
    "LitmusTest",
    "SuiteResult",
    "parse_litmus",
    "run_litmus",
]

ALL_SUITES: tuple[str, ...] = ("basic", "copymove", "props", "locks", "http")

PASS = "pass"
FAIL = "FAIL"
SKIPPED = "SKIPPED"
OOPS = "OOPS"  # "unexpected test result": counts as a failure
UNFINISHED = "unfinished"  # the test started but no result was printed (crash, timeout)

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_RUNNING = re.compile(r"^-> running `(?P<suite>[^']*)':\s*$")
_SUMMARY = re.compile(
    r"^<- summary for `(?P<suite>[^']*)': of (?P<run>\d+) tests run: "
    r"(?P<passed>\d+) passed, (?P<failed>\d+) failed\."
)
_ALL_SKIPPED = re.compile(r"^<- all tests skipped for `(?P<suite>[^']*)'\.")
_SKIP_COUNT = re.compile(r"^-> (?P<n>\d+) tests? (?:was|were) skipped\.")
_WARN_COUNT = re.compile(r"^-> (?P<n>\d+) warnings? (?:was|were) issued\.")
_ARGH = re.compile(r"^-> ARGH!")
_NO_TESTS = re.compile(r"^-> no tests found in `(?P<suite>[^']*)'")
_ERROR = re.compile(r"^ERROR: (?P<text>.*)$")
_TEST = re.compile(r"^\s*(?P<num>\d+)\. (?P<name>[^\s.]+)\.*(?: (?P<rest>.*))?$")
_ALIGNED = re.compile(r"^\s+\.{3,}(?: (?P<rest>.*))?$")
_RESULT = re.compile(r"^(?P<outcome>pass|FAIL|SKIPPED|OOPS)\b\s*(?P<detail>.*)$")
_SEGFAULT = "FAILED - segmentation fault"


@dataclass
class LitmusTest:
    """One test of a suite.  ``number`` is litmus's index; names repeat (``propget``)."""

    suite: str
    number: int
    name: str
    outcome: str = UNFINISHED
    message: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.suite} {self.number}. {self.name}"

    @property
    def failed(self) -> bool:
        return self.outcome in {FAIL, OOPS, UNFINISHED}

    def __str__(self) -> str:
        return f"{self.label}: {self.message}" if self.message else self.label


@dataclass
class SuiteResult:
    name: str
    run: int = 0
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    completed: bool = False  # its summary line was seen
    tests: list[LitmusTest] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[LitmusTest]:
        return [t for t in self.tests if t.failed]

    @property
    def skipped_tests(self) -> list[LitmusTest]:
        return [t for t in self.tests if t.outcome == SKIPPED]

    @property
    def ok(self) -> bool:
        return (
            self.completed
            and self.run > 0
            and self.failed == 0
            and self.skipped == 0
            and not self.failures
            and not self.problems
        )

    def counts(self) -> str:
        return f"{self.run} run, {self.passed} passed, {self.failed} failed, {self.skipped} skipped"


@dataclass
class LitmusResult:
    requested: list[str]
    suites: list[SuiteResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    other_warnings: list[str] = field(default_factory=list)  # printed outside any suite
    output: str = ""
    returncode: int | None = None
    url: str = ""

    def suite(self, name: str) -> SuiteResult | None:
        """The (last) result of suite ``name``, None if it never started."""
        for suite in reversed(self.suites):
            if suite.name == name:
                return suite
        return None

    def __getitem__(self, name: str) -> SuiteResult:
        suite = self.suite(name)
        if suite is None:
            raise KeyError(name)
        return suite

    @property
    def missing(self) -> list[str]:
        """Requested suites that did not run at all."""
        return [name for name in self.requested if self.suite(name) is None]

    @property
    def failures(self) -> list[LitmusTest]:
        return [t for s in self.suites for t in s.failures]

    @property
    def failed_tests(self) -> list[tuple[str, str]]:
        """``(label, message)`` of every failed test, e.g. ``("basic 11. mkcol_again", "…")``."""
        return [(t.label, t.message) for t in self.failures]

    @property
    def skipped_tests(self) -> list[LitmusTest]:
        return [t for s in self.suites for t in s.skipped_tests]

    @property
    def warnings(self) -> list[str]:
        return [*self.other_warnings, *(w for s in self.suites for w in s.warnings)]

    @property
    def ok(self) -> bool:
        if self.errors or self.missing or not self.requested:
            return False
        return all(suite.ok for suite in self.suites)

    def __str__(self) -> str:
        verdict = "OK" if self.ok else "FAILED"
        where = f" against {self.url}" if self.url else ""
        lines = [f"litmus{where}: {verdict} (suites: {' '.join(self.requested) or '-'})"]
        names = list(dict.fromkeys([*self.requested, *(s.name for s in self.suites)]))
        for name in names:
            suite = self.suite(name)
            if suite is None:
                lines.append(f"  {name}: DID NOT RUN")
                continue
            state = "" if suite.completed else " (no summary: did not complete)"
            mark = "ok" if suite.ok else "NOT OK"
            lines.append(f"  {name}: {mark}: {suite.counts()}{state}")
            lines.extend(f"    problem: {problem}" for problem in suite.problems)
        sections: list[tuple[str, list[str]]] = [
            ("failed", [_indent(str(t)) for t in self.failures]),
            ("skipped", [_indent(line) for line in self._skipped_by_suite()]),
            ("warnings", [_indent(w) for w in self.warnings]),
            ("errors", [_indent(e) for e in self.errors]),
        ]
        for title, items in sections:
            if items:
                lines.append(f"{title}:")
                lines.extend(items)
        if not self.suites and self.output.strip():
            tail = self.output.replace("\r", "").strip().splitlines()[-20:]
            lines.append("output (tail):")
            lines.extend(_indent(line) for line in tail)
        return "\n".join(lines)

    def _skipped_by_suite(self) -> list[str]:
        lines = []
        for suite in self.suites:
            tests = suite.skipped_tests
            if tests:
                names = ", ".join(f"{t.number}. {t.name}" for t in tests)
                lines.append(f"{suite.name}: {names}")
            elif suite.skipped:
                lines.append(f"{suite.name}: {suite.skipped} test(s)")
        return lines


def _indent(text: str) -> str:
    return "  " + text.replace("\n", "\n    ")


def _visible(raw: str) -> str:
    """What a terminal would show for one output line: the text after the last ``\\r``."""
    parts = [part for part in raw.split("\r") if part.strip()]
    return parts[-1].rstrip() if parts else ""


def _unwrap(detail: str) -> str:
    detail = detail.strip()
    if detail.startswith("("):
        detail = detail[1:].removesuffix(")")
    elif detail.startswith("- "):  # "SKIPPED - reason" in other neon versions
        detail = detail[2:]
    return detail.strip()


class _Parser:
    def __init__(self, requested: Sequence[str] | None) -> None:
        self.result = LitmusResult(requested=list(requested or []))
        self.suite: SuiteResult | None = None
        self.test: LitmusTest | None = None
        self.open_message: LitmusTest | None = None  # a "FAIL (..." whose ")" is still to come
        self.message_lines: list[str] = []

    # -- helpers ----------------------------------------------------------------------------

    def _current_suite(self) -> SuiteResult:
        if self.suite is None:  # test lines without a "-> running" header
            self.suite = SuiteResult(name="?")
            self.result.suites.append(self.suite)
        return self.suite

    def _close_message(self) -> None:
        if self.open_message is not None:
            self.open_message.message = _unwrap("\n".join(self.message_lines))
            self.open_message = None
            self.message_lines = []

    def _finish_suite(self) -> None:
        self._close_message()
        suite = self.suite
        if suite is not None and not suite.completed:
            counted = _count(suite)
            suite.run, suite.passed, suite.failed, suite.skipped = counted
            suite.problems.append("suite stopped before its summary (crash or timeout?)")
            for test in suite.tests:
                if test.outcome == UNFINISHED and not test.message:
                    test.message = "no result printed (interrupted)"
        self.suite = None
        self.test = None

    def _warning(self, text: str) -> None:
        suite = self.suite
        if suite is None:
            self.result.other_warnings.append(text)
        elif self.test is not None and self.test.outcome == UNFINISHED:
            self.test.warnings.append(text)
            suite.warnings.append(f"{self.test.label}: {text}")
        else:
            suite.warnings.append(f"{suite.name}: {text}")

    def _result(self, test: LitmusTest, text: str) -> None:
        """``text`` is what follows the dots: a result, a warning, or nothing yet."""
        if "WARNING:" in text:
            self._warning(text.split("WARNING:", 1)[1].strip())
            return
        match = _RESULT.match(text)
        if match is None:
            if text.startswith(_SEGFAULT):
                self._current_suite().problems.append(f"{test.label}: segmentation fault")
            return
        test.outcome = match["outcome"]
        detail = match["detail"]
        if test.outcome == PASS:
            return
        if test.outcome == OOPS:
            test.message = detail.strip()
        elif detail.startswith("(") and not detail.endswith(")"):
            self.open_message = test
            self.message_lines = [detail]
        else:
            test.message = _unwrap(detail)

    # -- one line ---------------------------------------------------------------------------

    def feed(self, raw: str) -> None:
        raw = _ANSI.sub("", raw)
        text = _visible(raw)
        if self.open_message is not None:
            structural = "\r" in raw or _is_structural(text)
            if not structural:
                self.message_lines.append(raw.rstrip())
                if raw.rstrip().endswith(")"):
                    self._close_message()
                return
            self._close_message()
        if not text:
            return

        if match := _RUNNING.match(text):
            self._finish_suite()
            self.suite = SuiteResult(name=match["suite"])
            self.result.suites.append(self.suite)
        elif match := _SUMMARY.match(text):
            suite = self._summary_suite(match["suite"])
            suite.run, suite.passed, suite.failed = (
                int(match["run"]),
                int(match["passed"]),
                int(match["failed"]),
            )
            suite.skipped = max(suite.skipped, len(suite.skipped_tests))
            suite.completed = True
            self._check_counts(suite)
            self.test = None
        elif match := _ALL_SKIPPED.match(text):
            suite = self._summary_suite(match["suite"])
            suite.run = suite.passed = suite.failed = 0
            suite.skipped = max(suite.skipped, len(suite.skipped_tests))
            suite.completed = True
            suite.problems.append("all tests were skipped")
            self.test = None
        elif match := _SKIP_COUNT.match(text):
            self._current_suite().skipped = int(match["n"])
        elif _WARN_COUNT.match(text) or text.startswith("See debug.log"):
            pass
        elif _ARGH.match(text):
            self._current_suite().problems.append(text.removeprefix("-> "))
        elif _NO_TESTS.match(text):
            self._current_suite().problems.append("no tests found")
        elif match := _ERROR.match(text):
            self._finish_suite()
            self.result.errors.append(match["text"])
        elif match := _TEST.match(text):
            suite = self._current_suite()
            number, name = int(match["num"]), match["name"]
            rest = (match["rest"] or "").strip()
            # The line printed twice with its "\r" lost: "3. put_get.... 3. put_get.... pass".
            again = _TEST.match(rest)
            if again and (again["num"], again["name"]) == (match["num"], name):
                rest = (again["rest"] or "").strip()
            test = self.test
            if test is None or test.number != number or test.name != name:
                test = LitmusTest(suite=suite.name, number=number, name=name)
                suite.tests.append(test)
                self.test = test
            self._result(test, rest)
        elif match := _ALIGNED.match(text):
            rest = (match["rest"] or "").strip()
            if _TEST.match(rest):  # "    ....... 19. next_test..... pass" with its "\r" lost
                self.feed(rest)
            elif self.test is not None:
                self._result(self.test, rest)
        elif "WARNING:" in text:
            self._warning(text.split("WARNING:", 1)[1].strip())
        elif text.startswith(_SEGFAULT):
            label = self.test.label if self.test is not None else self._current_suite().name
            self._current_suite().problems.append(f"{label}: segmentation fault")

    def _summary_suite(self, name: str) -> SuiteResult:
        self._close_message()
        if self.suite is None or self.suite.name != name:
            self._finish_suite()
            self.suite = SuiteResult(name=name)
            self.result.suites.append(self.suite)
        return self.suite

    def _check_counts(self, suite: SuiteResult) -> None:
        _, passed, failed, _ = _count(suite)
        if suite.tests and (passed, failed) != (suite.passed, suite.failed):
            suite.problems.append(
                f"test lines ({passed} passed, {failed} failed) disagree with the summary "
                f"({suite.passed} passed, {suite.failed} failed)"
            )

    def finish(self) -> LitmusResult:
        self._finish_suite()
        if not self.result.requested:
            names = [s.name for s in self.result.suites]
            self.result.requested = list(dict.fromkeys(names))
        return self.result


def _count(suite: SuiteResult) -> tuple[int, int, int, int]:
    passed = sum(t.outcome == PASS for t in suite.tests)
    failed = sum(t.failed for t in suite.tests)
    skipped = max(suite.skipped, sum(t.outcome == SKIPPED for t in suite.tests))
    return passed + failed, passed, failed, skipped


def _is_structural(text: str) -> bool:
    return bool(
        text.startswith(("-> ", "<- ", "ERROR: ", "See debug.log"))
        or _TEST.match(text)
        or _ALIGNED.match(text)
    )


def parse_litmus(output: str, requested: Sequence[str] | None = None) -> LitmusResult:
    """Parse the captured stdout (+stderr) of litmus.

    ``requested`` are the suites that were asked for (``$TESTS``); one that does not appear in
    the output counts as failed.  Without it, the suites found in the output are taken.
    """
    parser = _Parser(requested)
    for line in output.replace("\r\n", "\n").split("\n"):
        parser.feed(line)
    result = parser.finish()
    result.output = output
    return result


def run_litmus(
    url: str,
    user: str,
    password: str,
    suites: Sequence[str] = ALL_SUITES,
    *,
    timeout: float = 600,
    log_dir: str | os.PathLike[str] | None = None,
    executable: str = "litmus",
) -> LitmusResult:
    """Run ``litmus -k URL USER PASSWORD`` with ``TESTS="<suites>"`` and parse its output.

    ``url`` must be an existing collection and end in ``/``.  litmus writes ``debug.log`` and
    ``child.log`` (full HTTP traces) into its working directory: ``log_dir`` if given (kept),
    else a temporary directory (removed).  On timeout the whole process group is killed and
    the result carries an error.
    """
    suites = list(suites)
    if not url.endswith("/"):
        raise ValueError(f"litmus needs a collection URL ending in '/': {url!r}")
    if not suites or any(not s or s.split() != [s] for s in suites):
        raise ValueError(f"bad suite list: {suites!r}")
    program = shutil.which(executable)
    if program is None:
        raise FileNotFoundError(f"{executable} not found; install it with `make system-deps`")

    with contextlib.ExitStack() as stack:
        if log_dir is None:
            cwd = stack.enter_context(tempfile.TemporaryDirectory(prefix="thvc-litmus-"))
        else:
            cwd = os.fspath(log_dir)
            Path(cwd).mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "TESTS": " ".join(suites)}
        proc = subprocess.Popen(
            [program, "-k", url, user, password],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killable as a whole
        )
        timed_out = False
        try:
            try:
                raw, _ = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                _kill_group(proc)
                raw, _ = proc.communicate()
        finally:
            if proc.poll() is None:  # interrupted (Ctrl-C) or an error above
                _kill_group(proc)
                proc.wait()

    result = parse_litmus(raw.decode("utf-8", errors="replace"), suites)
    result.url = url
    result.returncode = proc.returncode
    if timed_out:
        result.errors.append(f"litmus timed out after {timeout:g} s and was killed")
    elif proc.returncode != 0:
        result.errors.append(f"litmus exited with status {proc.returncode}")
    return result


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
