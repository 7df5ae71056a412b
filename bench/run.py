"""ThVC measured side by side with the peers an administration would run instead (issue 7).

    .venv/bin/python -m bench.run --quick     # workloads 1-5, fewer repetitions (< 5 min)
    .venv/bin/python -m bench.run             # workloads 1-6 (< 30 min)

Starts ThVC (SQLite, and a second instance on a private PostgreSQL cluster), rclone serve
webdav, nginx with its DAV modules and WsgiDAV, each on a free port on 127.0.0.1 and with its
data under one temporary directory (one filesystem, also the raw-disk column's), runs the
workloads interleaved across the servers, stops everything (also on an error or Ctrl-C), and
writes bench/results/latest.json and latest.md. Exit status 0 when the run completes, whether
or not ThVC meets its targets; 1 when the run itself fails; 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import procs, report, workloads
from bench.targets import (
    LABELS,
    REPO,
    Target,
    postmaster_pid,
    start_nginx,
    start_postgres,
    start_rclone,
    start_thvc,
    start_wsgidav,
    versions,
)
from bench.workloads import ALLPROP, NC_PROPFIND, WorkloadError

RESULTS = REPO / "bench" / "results"
GiB = 1 << 30

MODES: dict[str, dict[str, Any]] = {
    # reps: at most this many runs of each measurement; budget: no further run is started
    # once the runs so far plus one more would exceed it (seconds). Medians are of the runs
    # made; the count is in the results.
    "quick": {
        "workloads": [1, 2, 3, 4, 5],
        "big_reps": 3,
        "big_budget": 75,
        "put_reps": 1,
        "put_budget": 0,
        "propfind_reps": 3,
        "propfind_budget": 60,
        "get_reps": 3,
        "get_budget": 20,
        "wrk_seconds": 3,
        "wrk_max_seconds": 12,
        "latency_n": 5,
        "put_limit": 150,
    },
    "full": {
        "workloads": [1, 2, 3, 4, 5, 6],
        "big_reps": 5,
        "big_budget": 220,
        "put_reps": 5,
        "put_budget": 150,
        "propfind_reps": 5,
        "propfind_budget": 150,
        "get_reps": 5,
        "get_budget": 60,
        "wrk_seconds": 5,
        "wrk_max_seconds": 20,
        "latency_n": 10,
        "put_limit": 300,
        "sync_users": [330, 1000, 3300],
        # rclone is the reference peer of the targets; add nginx/WsgiDAV with --sync-targets
        # (about 3.5 min each) when the 30-minute bound allows.
        "sync_targets": ["thvc", "thvc-pg", "rclone"],
        "poll_seconds": 30,
        "steady_seconds": 30,
        "settle_seconds": 5,
        "login_wait_seconds": 45,
        "spawn_rate": 60,
        "change_probability": 0.1,
    },
}
ALL_TARGETS = ["thvc", "thvc-pg", "rclone", "nginx", "wsgidav", "disk"]
# Before each measurement the servers must be idle: together under SETTLE_IDLE of a core
# over SETTLE_WINDOW seconds, waited for up to SETTLE_LIMIT seconds (Bench.settle).
SETTLE_IDLE = 0.1
SETTLE_WINDOW = 0.5
SETTLE_LIMIT = 90.0
PUT_COUNT = 1000
PUT_CONNECTIONS = 8


def log(msg: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


class Interrupted(BaseException):
    pass


def _on_signal(signum: int, frame: object) -> None:
    raise Interrupted(signal.Signals(signum).name)


def check_tools(need: set[str]) -> None:
    missing = []
    tools = {"curl": "curl", "wrk": "wrk", "dd": "dd"}
    if "rclone" in need:
        tools["rclone"] = "rclone"
    if "nginx" in need:
        tools["nginx"] = shutil.which("nginx") or "/usr/sbin/nginx"
    for name, path in tools.items():
        if not (shutil.which(path) or Path(path).exists()):
            missing.append(name)
    if "wsgidav" in need and not (Path(sys.executable).parent / "wsgidav").exists():
        missing.append("wsgidav (pip)")
    if "nginx" in need and not Path("/usr/lib/nginx/modules/ngx_http_dav_ext_module.so").exists():
        missing.append("nginx DAV ext module (nginx-extras)")
    if "thvc-pg" in need:
        sys.path.insert(0, str(REPO))
        from tests.common.postgres import PostgresError, find_bin_dir

        try:
            find_bin_dir()
        except PostgresError:
            missing.append("PostgreSQL server (postgresql)")
    if missing:
        raise SystemExit(f"bench: missing {', '.join(missing)}: run `make bench-deps`")


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(want, 65536)), hard))


def cpu_pressure() -> float | None:
    """The share of time some task waited for a CPU (PSI, last 60 s): other load on the
    machine while the benchmark ran."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        line = Path("/proc/pressure/cpu").read_text().splitlines()[0]
        return float(line.split()[2].split("=")[1])
    return None


def make_random_file(path: Path, size: int) -> None:
    """Incompressible bytes, fast: an AES-CTR key stream under a random key (os.urandom
    alone takes ~10 s for 1 GiB on a busy machine)."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    enc = Cipher(algorithms.AES(os.urandom(32)), modes.CTR(os.urandom(16))).encryptor()
    zeros = bytes(8 << 20)
    with path.open("wb") as f:
        left = size
        while left:
            n = min(len(zeros), left)
            f.write(enc.update(zeros[:n]))
            left -= n


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.mode = dict(MODES["quick" if args.quick else "full"])
        if args.reps:
            for k in ("big_reps", "put_reps", "propfind_reps", "get_reps"):
                self.mode[k] = args.reps
        if args.workloads:
            self.mode["workloads"] = [int(w) for w in args.workloads.split(",")]
        if args.sync_users:
            self.mode["sync_users"] = [int(u) for u in args.sync_users.split(",")]
            self.mode.setdefault("sync_targets", MODES["full"]["sync_targets"])
            for k in (
                "poll_seconds",
                "steady_seconds",
                "settle_seconds",
                "spawn_rate",
                "change_probability",
            ):
                self.mode.setdefault(k, MODES["full"][k])
        if args.sync_targets:
            self.mode["sync_targets"] = args.sync_targets.split(",")
        if args.steady_seconds:
            self.mode["steady_seconds"] = args.steady_seconds
        # Settings other than the defaults, for both ThVC columns (recorded in the results).
        self.thvc_env = dict(kv.split("=", 1) for kv in args.thvc_env or [])
        if self.thvc_env:
            self.mode["thvc_env"] = self.thvc_env
        self.keys = args.targets.split(",") if args.targets else list(ALL_TARGETS)
        self.password = secrets.token_urlsafe(18)
        self.targets: dict[str, Target] = {}
        self.cluster: object | None = None
        self.results: dict[str, dict[str, Any]] = {}
        self.sync: dict[str, dict[str, Any]] = {}
        self.root = Path()
        self.started = time.monotonic()
        self.runs: dict[str, int] = {}
        self.pressure_start = cpu_pressure()

    @property
    def http(self) -> list[str]:
        return [k for k in self.keys if k in self.targets]

    def order(self, rep: int, keys: list[str]) -> list[str]:
        """Rotate the order every repetition so that no server always goes first."""
        if not keys:
            return keys
        r = rep % len(keys)
        return keys[r:] + keys[:r]

    def repeat(self, what: str, reps: int, budget: float, body: Callable[[int], None]) -> None:
        """``body(rep)`` up to ``reps`` times, as long as one more run fits the budget."""
        t0, last, done = time.monotonic(), 0.0, 0
        for rep in range(reps):
            if rep and time.monotonic() - t0 + last > budget:
                log(f"  {what}: time budget ({budget:.0f} s) reached after {rep} runs")
                break
            t = time.monotonic()
            body(rep)
            last, done = time.monotonic() - t, rep + 1
        self.runs[what] = done

    def settle(self, limit: float = SETTLE_LIMIT) -> None:
        """Wait until no server is busy with an earlier measurement: one that could not keep
        up (WsgiDAV under 16 PROPFINDs of 1,000 files) goes on with the requests queued at
        it after wrk has gone, and the CPU it burns is taken from the server measured next
        (the full runs put ThVC's 4 KiB GET at 0.35× rclone, the same GETs without the
        other servers at 0.55-0.58×)."""
        pids = {t.pid: k for k, t in self.targets.items()}
        pids.update({t.db_pid: f"{k} (database)" for k, t in self.targets.items() if t.db_pid})
        t0 = time.monotonic()
        while True:
            before = {p: procs.cpu_seconds(p) for p in pids}
            time.sleep(SETTLE_WINDOW)
            busy = {p: procs.cpu_seconds(p) - before[p] for p in pids}
            if sum(busy.values()) < SETTLE_IDLE * SETTLE_WINDOW:
                waited = time.monotonic() - t0 - SETTLE_WINDOW
                if waited > 1:
                    log(f"  waited {waited:.0f} s for the servers to go idle")
                return
            if time.monotonic() - t0 > limit:
                who = ", ".join(
                    f"{pids[p]} {100 * b / SETTLE_WINDOW:.0f} %" for p, b in busy.items() if b > 0
                )
                log(f"  servers still busy after {limit:.0f} s ({who}): measuring anyway")
                return

    def record(self, key: str, target: str, fn: Callable[[], dict[str, Any]]) -> None:
        row = self.results.setdefault(key, {})
        if isinstance(row.get(target), str):
            return  # failed before: do not mix a later success into a median
        self.settle()
        try:
            value = fn()
        except (WorkloadError, subprocess.SubprocessError, OSError) as exc:
            why = str(exc)
            t = self.targets.get(target)
            if t is not None and not t.proc.alive():
                why = f"the server exited ({t.proc.popen.returncode}): " + " | ".join(
                    t.proc.log_tail(5).splitlines()
                )
            log(f"  {LABELS[target]}: {key} failed: {why}")
            row[target] = " ".join(why.split())[:300]
            return
        row.setdefault(target, []).append(value)

    # -- set-up ------------------------------------------------------------------------------

    def start(self) -> None:
        base = self.args.tmpdir or os.environ.get("BENCH_TMPDIR") or None
        self.root = Path(tempfile.mkdtemp(prefix="thvc-bench-", dir=base))
        self.root.chmod(0o755)  # the PostgreSQL cluster runs as another user
        log(f"benchmark directory {self.root} (removed at the end)")
        data = self.root / "files"
        data.mkdir()
        self.big = data / "big.bin"
        self.small = data / "small.bin"
        self.body_allprop = data / "allprop.xml"
        self.body_nc = data / "nc.xml"
        if 1 in self.mode["workloads"] or 2 in self.mode["workloads"]:
            log("writing a 1 GiB random file")
            make_random_file(self.big, self.args.big_mib << 20)
        self.small.write_bytes(os.urandom(4096))
        self.body_allprop.write_bytes(ALLPROP)
        self.body_nc.write_bytes(NC_PROPFIND)
        sync_users = max(self.mode.get("sync_users", [0])) if 6 in self.mode["workloads"] else 0
        sync_targets = set(self.mode.get("sync_targets", []))

        def users_for(key: str) -> int:
            return sync_users if key in sync_targets else 0

        if "disk" in self.keys:
            (self.root / "disk").mkdir()

        def start_one(key: str) -> Target:
            log(
                f"starting {LABELS[key]}"
                + (f" ({users_for(key)} sync users)" if users_for(key) else "")
            )
            if key == "thvc":
                return start_thvc(
                    self.root,
                    "thvc",
                    self.password,
                    sync_users=users_for(key),
                    extra_env=self.thvc_env,
                )
            if key == "thvc-pg":
                self.cluster, url = start_postgres(self.root)
                return start_thvc(
                    self.root,
                    "thvc-pg",
                    self.password,
                    database_url=url,
                    sync_users=users_for(key),
                    db_pid=postmaster_pid(self.cluster),
                    extra_env={**pg_production(), **self.thvc_env},
                )
            if key == "rclone":
                return start_rclone(self.root, self.password, sync_users=users_for(key))
            if key == "nginx":
                return start_nginx(self.root, self.password, sync_users=users_for(key))
            if key == "wsgidav":
                return start_wsgidav(self.root, self.password, sync_users=users_for(key))
            raise SystemExit(f"bench: unknown target {key!r}")

        # Set-up is mostly waiting for processes: start the servers side by side.
        http = [k for k in self.keys if k != "disk"]
        with ThreadPoolExecutor(max_workers=len(http) or 1) as pool:
            futures = {key: pool.submit(start_one, key) for key in http}
            failure: BaseException | None = None
            for key, future in futures.items():
                try:
                    self.targets[key] = future.result()
                    t = self.targets[key]
                    log(f"  {LABELS[key]} on {t.base} (pid {t.pid})")
                except BaseException as exc:  # stop the others, then report this one
                    failure = failure or exc
        if failure is not None:
            raise failure
        self.cfg = {k: workloads.curl_config(t, self.root) for k, t in self.targets.items()}

    def stop(self) -> None:
        for key, t in list(self.targets.items()):
            with contextlib.suppress(Exception):
                t.stop()
            self.targets.pop(key, None)
        if self.cluster is not None:
            with contextlib.suppress(Exception):
                self.cluster.stop()  # type: ignore[attr-defined]
            self.cluster = None
        if self.root != Path() and self.root.exists():
            if self.args.keep:
                log(f"kept {self.root}")
            else:
                shutil.rmtree(self.root, ignore_errors=True)

    # -- workloads 1 and 2 -------------------------------------------------------------------

    def big_files(self) -> None:
        m = self.mode
        keys = [k for k in self.keys if k in self.targets or k == "disk"]
        size = self.big.stat().st_size
        for key in self.http:
            self.results.setdefault("rss_start", {})[key] = procs.hwm_mib(self.targets[key].pid)
        disk = self.root / "disk"

        def one(rep: int) -> None:
            name = f"big-{rep}.bin"
            log(f"workload 1: PUT 1 GiB, run {rep + 1}")
            for key in self.order(rep, keys):
                if key == "disk":
                    self.record("put_1g", key, lambda: workloads.disk_write(self.big, disk / name))
                else:
                    t = self.targets[key]
                    self.record(
                        "put_1g",
                        key,
                        lambda t=t: workloads.put_big(t, self.cfg[t.key], self.big, name),
                    )
            if 2 in m["workloads"]:
                log(f"workload 2: GET 1 GiB, run {rep + 1}")
                for key in self.order(rep, keys):
                    if key == "disk":
                        self.record("get_1g", key, lambda: workloads.disk_read(disk / name))
                    else:
                        t = self.targets[key]
                        self.record(
                            "get_1g",
                            key,
                            lambda t=t: workloads.get_big(t, self.cfg[t.key], name, size),
                        )
            # Keep the disk bounded: every server deletes the file (ThVC: to its trash).
            for key in keys:
                if key == "disk":
                    (disk / name).unlink(missing_ok=True)
                else:
                    with contextlib.suppress(Exception):
                        workloads.delete(self.targets[key], name)

        self.repeat("1 GiB PUT/GET", m["big_reps"], m["big_budget"], one)
        for key in self.http:
            self.results.setdefault("rss_put_1g", {})[key] = [
                {"mib": procs.hwm_mib(self.targets[key].pid)}
            ]
        for key, value in self.results.get("put_1g", {}).items():
            if isinstance(value, list):
                log(f"  {LABELS[key]}: PUT {report.median_of(value, 'mb_s'):.0f} MB/s")

    # -- workload 3 --------------------------------------------------------------------------

    def small_puts(self) -> None:
        m = self.mode

        def one(rep: int) -> None:
            log(f"workload 3: {PUT_COUNT} PUTs of 4 KiB, run {rep + 1}")
            folder = f"w3-r{rep}/"
            for key in self.order(rep, self.http):
                t = self.targets[key]

                def run(t: Target = t) -> dict[str, Any]:
                    workloads.mkcol(t, folder)
                    return workloads.put_many(
                        t,
                        folder,
                        self.small,
                        count=PUT_COUNT,
                        connections=PUT_CONNECTIONS,
                        limit=m["put_limit"],
                    )

                self.record("put_4k", key, run)

        self.repeat("4 KiB PUTs", m["put_reps"], m["put_budget"], one)
        for key, value in self.results.get("put_4k", {}).items():
            if isinstance(value, list):
                log(f"  {LABELS[key]}: {report.median_of(value, 'ops_s'):.0f} PUT/s")

    def ensure_listing(self, key: str) -> None:
        """The folder of workload 3's first run must hold exactly 1,000 files."""
        t = self.targets[key]
        if not isinstance(self.results.get("put_4k", {}).get(key), list):
            workloads.mkcol(t, "w3-r0/")
            workloads.put_many(
                t,
                "w3-r0/",
                self.small,
                count=PUT_COUNT,
                connections=PUT_CONNECTIONS,
                limit=self.mode["put_limit"],
            )
        n = workloads.count_responses(t, "w3-r0/", ALLPROP)
        if n != PUT_COUNT + 1:
            raise WorkloadError(f"the listing has {n} entries, not {PUT_COUNT + 1}")

    # -- workloads 4 and 5 -------------------------------------------------------------------

    def propfind(self) -> None:
        m = self.mode
        ok = []
        for key in self.http:
            try:
                self.ensure_listing(key)
                ok.append(key)
            except (WorkloadError, OSError, subprocess.SubprocessError) as exc:
                for k in ("propfind_allprop", "propfind_nc"):
                    self.results.setdefault(k, {})[key] = f"listing not ready: {exc}"
        bodies = (("propfind_allprop", self.body_allprop), ("propfind_nc", self.body_nc))
        log("workload 4: PROPFIND Depth 1 on 1,000 files, single-request latency")
        seconds: dict[str, float] = {}
        for key in ok:
            t = self.targets[key]
            for rkey, body in bodies:
                self.record(
                    f"{rkey}_ms",
                    key,
                    lambda t=t, body=body: workloads.latency(
                        t,
                        self.cfg[t.key],
                        "w3-r0/",
                        n=m["latency_n"],
                        method="PROPFIND",
                        depth="1",
                        body=body,
                    ),
                )
            # wrk counts the requests that complete within its run: a slow server needs a
            # run long enough for its 16 connections to complete a few requests each.
            slowest = (
                max(
                    (report.median_of(self.results[f"{rk}_ms"].get(key), "ms") or 0.0)
                    for rk, _ in bodies
                )
                / 1000
            )
            seconds[key] = min(
                m["wrk_max_seconds"], max(m["wrk_seconds"], math.ceil(1.5 * 16 * slowest))
            )

        def one(rep: int) -> None:
            log(f"workload 4: PROPFIND Depth 1 on 1,000 files (wrk), run {rep + 1}")
            for key in self.order(rep, ok):
                t = self.targets[key]
                for rkey, body in bodies:
                    self.record(
                        rkey,
                        key,
                        lambda t=t, body=body: workloads.wrk_fixed(
                            t,
                            "w3-r0/",
                            method="PROPFIND",
                            depth="1",
                            body=body,
                            seconds=seconds[t.key],
                        ),
                    )

        self.repeat("PROPFIND", m["propfind_reps"], m["propfind_budget"], one)
        self.results["propfind_wrk_seconds"] = seconds
        for key in ok:
            a = report.median_of(self.results["propfind_allprop"].get(key), "req_s")
            b = report.median_of(self.results["propfind_nc"].get(key), "req_s")
            log(f"  {LABELS[key]}: allprop {a or 0:.1f}/s, Nextcloud props {b or 0:.1f}/s")

    def small_gets(self) -> None:
        m = self.mode
        keys = []
        for key in self.http:
            try:
                if not isinstance(self.results.get("propfind_allprop", {}).get(key), list):
                    self.ensure_listing(key)
                keys.append(key)
            except (WorkloadError, OSError, subprocess.SubprocessError) as exc:
                self.results.setdefault("get_4k", {})[key] = f"file not ready: {exc}"

        def one(rep: int) -> None:
            log(f"workload 5: GET 4 KiB (wrk), run {rep + 1}")
            for key in self.order(rep, keys):
                t = self.targets[key]
                self.record(
                    "get_4k",
                    key,
                    lambda t=t: workloads.wrk_fixed(t, "w3-r0/f0001.bin", seconds=m["wrk_seconds"]),
                )

        self.repeat("4 KiB GET", m["get_reps"], m["get_budget"], one)
        for key, value in self.results.get("get_4k", {}).items():
            if isinstance(value, list):
                log(f"  {LABELS[key]}: {report.median_of(value, 'req_s'):.0f} GET/s")

    # -- workload 6 --------------------------------------------------------------------------

    def sync_users(self) -> None:
        poll = self.mode["poll_seconds"]
        for key in [k for k in self.mode["sync_targets"] if k in self.targets]:
            t = self.targets[key]
            for users in self.mode["sync_users"]:
                # Users join evenly, at most spawn_rate a second (each first request is a
                # login: an app password's first check at ThVC); each then polls at a random phase.
                ramp = max(10, round(users / self.mode["spawn_rate"]))
                cfg = {
                    "base_url": t.base,
                    "root_template": t.sync_root,
                    "login_template": t.sync_login,
                    "password": self.password,
                    "passwords_file": t.sync_passwords,
                    "users": users,
                    "ramp_seconds": ramp,
                    "settle_seconds": self.mode["settle_seconds"],
                    "login_wait_seconds": self.mode["login_wait_seconds"],
                    "steady_seconds": self.mode["steady_seconds"],
                    "poll_seconds": poll,
                    "change_probability": self.mode["change_probability"],
                    "small_file": str(self.small),
                    "propfind_body": str(self.body_nc),
                    "server_pid": t.pid,
                    "db_pid": t.db_pid,
                    "repo": str(REPO),
                }
                log(
                    f"workload 6: {LABELS[key]}, {users} sync users "
                    f"({ramp} s ramp + {cfg['settle_seconds'] + cfg['steady_seconds']} s)"
                )
                limit = (
                    ramp
                    + cfg["login_wait_seconds"]
                    + cfg["settle_seconds"]
                    + cfg["steady_seconds"]
                    + 180
                )
                proc = procs.Proc(
                    "syncload",
                    [sys.executable, str(REPO / "bench" / "syncload.py")],
                    log=self.root / f"syncload-{key}-{users}.log",
                    env={**os.environ, "PYTHONPATH": str(REPO)},
                    stdin_text=json.dumps(cfg) + "\n",
                )
                try:
                    proc.popen.wait(limit)
                except subprocess.TimeoutExpired:
                    proc.stop()
                    self.sync.setdefault(key, {})[str(users)] = "did not finish in time"
                    continue
                finally:
                    proc.stop()
                out = proc.log.read_text(errors="replace")
                line = next((x for x in out.splitlines() if x.startswith("SYNCLOAD ")), None)
                if line is None:
                    self.sync.setdefault(key, {})[str(users)] = "no result: " + out[-300:]
                    log(f"  failed: {out[-600:]}")
                    continue
                run = json.loads(line[len("SYNCLOAD ") :])
                run["server_hwm_mib"] = round(procs.hwm_mib(t.pid), 1)
                self.sync.setdefault(key, {})[str(users)] = run
                s = run["steady"]
                log(
                    f"  {run['errors_total']} errors, p50 {s['p50_ms']} ms, p95 {s['p95_ms']} ms,"
                    f" p99 {s['p99_ms']} ms, {run['steady_rps']} req/s,"
                    f" server CPU {run['server_cpu_pct']:.0f} %"
                )
                if not t.proc.alive():
                    log(f"  {LABELS[key]} died: {t.proc.log_tail()}")
                    break

    # -- the run -----------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        self.start()
        w = self.mode["workloads"]
        steps = [
            ("1-2", 1 in w or 2 in w, self.big_files),
            ("3", 3 in w, self.small_puts),
            ("4", 4 in w, self.propfind),
            ("5", 5 in w, self.small_gets),
            ("6", 6 in w, self.sync_users),
        ]
        hwm = self.results.setdefault("hwm_after", {})
        for name, wanted, step in steps:
            if wanted:
                self.settle()
                step()
                # Peak RSS so far of every server: where memory grows, not only in workload 1.
                hwm[name] = {k: round(procs.hwm_mib(t.pid), 1) for k, t in self.targets.items()}
        return self.document()

    def document(self) -> dict[str, Any]:
        m = self.mode
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GiB
        meta = {
            "mode": "quick" if self.args.quick else "full",
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, "
            f"load average {os.getloadavg()[0]:.1f} at the end",
            "reps_summary": (
                f"{self.runs.get('1 GiB PUT/GET', 0)} runs of the 1 GiB transfers, "
                f"{self.runs.get('4 KiB PUTs', 0)} of the 1,000 PUTs, "
                f"{self.runs.get('PROPFIND', 0)} of the PROPFIND wrk runs "
                f"({m['wrk_seconds']}-{m['wrk_max_seconds']} s each, longer for slower "
                f"servers), {self.runs.get('4 KiB GET', 0)} of the GET wrk runs "
                f"({m['wrk_seconds']} s), {m['latency_n']} requests for single latency"
            ),
            "runs": self.runs,
            "pg_env": {**pg_production(), **self.thvc_env},
            "cpu_pressure_some_avg60": {"start": self.pressure_start, "end": cpu_pressure()},
            "settings": m,
            "versions": versions(),
            "seconds": round(time.monotonic() - self.started, 1),
        }
        if self.sync:
            meta["sync_summary"] = (
                f"Each user polls its root (PROPFIND Depth 0, Nextcloud properties) every "
                f"{m['poll_seconds']} s at a random phase; in {m['change_probability']:.0%} of "
                "the polls it also uploads a 4 KiB file, lists its root (Depth 1) and downloads "
                f"the file. Users join at up to {m['spawn_rate']} a second; their first request "
                "is the login (at ThVC with the user's own app password, as a client has after Login "
                "Flow v2). The steady state is measured for "
                f"{m['steady_seconds']} s once all users have logged in (or "
                f"{m['login_wait_seconds']} s after the ramp, whichever is first). Errors: the "
                "whole run, logins included; p50/p95/p99 and req/s: the steady state; login p95: "
                "the logins. CPU: % of one core (the machine has 2), in the steady state. "
                "VmHWM: the server's peak RSS so far (it only grows)."
            )
        doc: dict[str, Any] = {"meta": meta, "results": self.results, "sync": self.sync}
        med = report.medians(self.results)
        doc["medians"] = med
        doc["ratios"] = {
            key: {
                f"{col}/{peer}": report.ratio(med, key, col, peer)
                for col in report.THVC
                for peer in report.PEERS
            }
            for key in report.ROWS
            if key in self.results
        }
        doc["targets"] = report.evaluate_targets(med, self.sync)
        return doc


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="workloads 1-5, fewer repetitions")
    p.add_argument("--targets", help=f"comma-separated subset of {','.join(ALL_TARGETS)}")
    p.add_argument("--workloads", help="comma-separated subset of 1,2,3,4,5,6")
    p.add_argument("--reps", type=int, help="repetitions of each measurement")
    p.add_argument("--sync-users", help="workload 6 levels, e.g. 330,1000,3300")
    p.add_argument("--sync-targets", help="workload 6 servers, e.g. thvc,thvc-pg,rclone")
    p.add_argument("--steady-seconds", type=int, help="workload 6 measuring window")
    p.add_argument("--big-mib", type=int, default=1024, help="size of the big file (MiB)")
    p.add_argument("--tmpdir", help="where the benchmark directory goes (default: $TMPDIR)")
    p.add_argument("--keep", action="store_true", help="keep the benchmark directory")
    p.add_argument("--out", default=str(RESULTS), help="results directory")
    p.add_argument(
        "--thvc-env",
        action="append",
        metavar="THVC_NAME=VALUE",
        type=_thvc_setting,
        help="a ThVC setting other than its default, for both ThVC columns (repeatable)",
    )
    return p.parse_args(argv)


def _thvc_setting(text: str) -> str:
    name, sep, _ = text.partition("=")
    if not sep or not name.startswith("THVC_"):
        raise argparse.ArgumentTypeError(f"expected THVC_NAME=VALUE, got {text!r}")
    return text


def pg_production() -> dict[str, str]:
    """The PostgreSQL column runs as README.md's production section says: one server
    process per core (the embedded SQLite default is one process)."""
    return {"THVC_WORKERS": str(os.cpu_count() or 1)}


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    bench = Bench(args)
    check_tools(set(bench.keys))
    raise_fd_limit()
    # Ctrl-C stops the run cleanly even when the shell started us with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    try:
        doc = bench.run()
    except (KeyboardInterrupt, Interrupted):
        log("interrupted: stopping the servers")
        return 130
    except Exception as exc:  # the run itself failed (a server did not start, ...)
        log(f"benchmark failed: {type(exc).__name__}: {exc}")
        return 1
    finally:
        # A second Ctrl-C must not cut the clean-up short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        bench.stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    text = report.markdown(doc)
    (out / "latest.json").write_text(json.dumps(doc, indent=2, default=str) + "\n")
    (out / "latest.md").write_text(text)
    print(text)
    log(f"done in {doc['meta']['seconds']:.0f} s: {out / 'latest.md'}, {out / 'latest.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
