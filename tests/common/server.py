"""Run ThVC as a user would: ``thvc init`` then ``thvc serve``, in a subprocess."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

THVC = str(Path(sys.executable).parent / "thvc")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    data_dir: Path
    database_url: str
    port: int
    operator_password: str
    proc: subprocess.Popen[bytes] | None = None
    log: Path = field(default_factory=Path)
    log_level: str = "warning"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("THVC_")}
        env.update(
            THVC_DATA_DIR=str(self.data_dir),
            THVC_DATABASE_URL=self.database_url,
            THVC_BIND=f"127.0.0.1:{self.port}",
            THVC_CONFIG=str(self.data_dir / "none.toml"),
            THVC_LOG_LEVEL=self.log_level,
        )
        return env

    def cli(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [THVC, *args], env=self.env, input=input, capture_output=True, text=True, timeout=600
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"thvc {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
            )
        return proc

    def user(self, login: str, password: str) -> None:
        slug = login.rpartition("@")[2]
        if slug not in self.cli("tenant", "list").stdout:
            self.cli("tenant", "create", slug, "--name", slug.title())
        self.cli("user", "create", login, "--password-stdin", input=password + "\n")

    def start(self) -> None:
        assert self.proc is None
        self.log = self.data_dir / f"serve-{time.monotonic_ns()}.log"
        with self.log.open("wb") as fh:
            self.proc = subprocess.Popen(
                [THVC, "serve"], env=self.env, stdout=fh, stderr=fh, start_new_session=True
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.proc = None  # never signal a finished process group (pids get reused)
                raise RuntimeError(f"thvc serve died:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"thvc serve did not come up:\n{self.log.read_text()}")

    def requests(self, method: str, fragment: str = "") -> int:
        """How many requests of ``method`` whose path contains ``fragment`` the access log shows."""
        needle = f'"{method} '
        return sum(
            1
            for line in self.log.read_text(errors="replace").splitlines()
            if needle in line and fragment in line
        )

    def kill(self) -> None:
        """SIGKILL, as a power cut or the OOM killer would."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def peak_rss_kib(self) -> int:
        """VmHWM of the server process and its children (uvicorn workers)."""
        assert self.proc is not None
        total = 0
        for pid in [self.proc.pid, *_children(self.proc.pid)]:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1])
            except FileNotFoundError:
                pass
        return total


def _children(pid: int) -> list[int]:
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return []
    out = [int(k) for k in kids]
    for k in list(out):
        out += _children(k)
    return out


@contextmanager
def start_server(
    data_dir: Path, database_url: str, *, log_level: str = "warning"
) -> Iterator[LiveServer]:
    data_dir.mkdir(parents=True, exist_ok=True)
    live = LiveServer(data_dir, database_url, free_port(), "", log_level=log_level)
    init = live.cli("init")
    for line in init.stdout.splitlines():
        if "password:" in line:
            live.operator_password = line.split("password:")[1].strip()
    live.start()
    try:
        yield live
    finally:
        live.stop()
