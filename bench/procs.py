"""Processes: free ports, starting servers in their own session, stopping them, and reading
memory (VmHWM) and CPU time of a process tree from /proc."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Proc:
    """A child process in its own session (a Ctrl-C on the terminal does not reach it; we
    stop it ourselves, with its whole process group)."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        stdin_text: str | None = None,
    ) -> None:
        self.name = name
        self.log = log
        self._logf = log.open("ab")
        self.popen = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL if stdin_text is None else subprocess.PIPE,
            stdout=self._logf,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
        )
        self.pid = self.popen.pid
        if stdin_text is not None:
            assert self.popen.stdin is not None
            self.popen.stdin.write(stdin_text.encode())
            self.popen.stdin.close()

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        with contextlib.suppress(OSError):
            text = self.log.read_text(errors="replace").splitlines()
            return "\n".join(text[-lines:])
        return ""

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM to the process group, SIGKILL after ``timeout``. Idempotent."""
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.pid, signal.SIGKILL)
                self.popen.wait(10)
        # Anything left in the group (a worker that outlived its parent).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        self._logf.close()


def wait_until(check: Callable[[], bool], *, timeout: float, what: str, proc: Proc) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if not proc.alive():
            raise RuntimeError(f"{what}: the process exited early\n{proc.log_tail()}")
        with contextlib.suppress(Exception):
            if check():
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not ready after {timeout:.0f} s\n{proc.log_tail()}")
        time.sleep(0.1)


# -- /proc readings ------------------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = Path(f"/proc/{entry.name}/stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            kids.setdefault(ppid, []).append(int(entry.name))
    return kids


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    kids = _children()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def _status_kib(pid: int, field: str) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def hwm_mib(pid: int) -> float:
    """Peak resident memory (VmHWM) of ``pid`` and its descendants, summed, in MiB."""
    return sum(_status_kib(p, "VmHWM") for p in tree(pid)) / 1024


def rss_mib(pid: int) -> float:
    return sum(_status_kib(p, "VmRSS") for p in tree(pid)) / 1024


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, incl. reaped children) of ``pid`` and its descendants."""
    total = 0
    for p in tree(pid):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            # after the command: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
            total += sum(int(fields[i]) for i in (11, 12, 13, 14))
    return total / CLK_TCK
