"""Workload 6: a population of simulated sync-client users, driven by locust (as a library).

Run by bench/run.py as its own process (locust monkey-patches the standard library with
gevent), with a JSON configuration on stdin; prints one JSON result on stdout.

Each simulated user behaves like a desktop sync client that is up to date:

* when it starts it "logs in": a PROPFIND Depth 0 on its root with HTTP Basic credentials
  (at ThVC its own app password, as the desktop client has one from Login Flow v2: the
  first request checks it and remembers the credential);
* then, every ``poll_seconds`` (Nextcloud's and ownCloud's default remote poll interval is
  30 s), it polls its root with PROPFIND Depth 0 (the property set the Nextcloud client asks
  for) to see whether the root's ETag changed;
* in a fraction ``change_probability`` of the polls it has a local change to sync: it uploads a
  4 KiB file (PUT), lists its root (PROPFIND Depth 1, as the client does when an ETag changed)
  and downloads the file again (GET).

Users are spawned evenly over ``ramp_seconds``; logins happen then, and each user starts its
poll cycle at a random phase. Once every user has logged in (or ``login_wait_seconds`` after
the ramp, whichever comes first) and a short settling time has passed, the statistics are
reset and the steady state is measured for ``steady_seconds``. Errors are counted over the
whole run (ramp included); latency percentiles are those of the steady window (and,
separately, of the ramp). All traffic goes to ``base_url`` (127.0.0.1); the run is bounded in
users and in time and stops by itself.
"""

from __future__ import annotations

import base64
import itertools
import json
import random
import resource
import sys
import time
from pathlib import Path
from typing import Any

CFG: dict[str, Any] = json.loads(sys.stdin.readline())
if not CFG["base_url"].startswith(("http://127.", "http://localhost", "http://[::1]")):
    raise SystemExit("syncload: refusing a target outside the loopback interface")

import gevent  # noqa: E402  (locust patches the standard library on import)
from locust import FastHttpUser, constant_pacing, task  # noqa: E402
from locust.env import Environment  # noqa: E402

BODY = Path(CFG["small_file"]).read_bytes()
PROPFIND_BODY = Path(CFG["propfind_body"]).read_bytes()
# ThVC's users log in with an app password each, as a Nextcloud client does after Login
# Flow v2; the peers have one user and password for all.
APP_PASSWORDS = Path(CFG["passwords_file"]).read_text().split() if CFG.get("passwords_file") else []
_ids = itertools.count()
_logins = {"done": 0}
_rng = random.Random(CFG.get("seed", 7))


def _cpu(pid: int) -> float:
    sys.path.insert(0, CFG["repo"])
    from bench.procs import cpu_seconds

    return cpu_seconds(pid)


class SyncClient(FastHttpUser):
    host = CFG["base_url"]
    wait_time = constant_pacing(CFG["poll_seconds"])
    network_timeout = CFG.get("timeout", 60.0)
    connection_timeout = CFG.get("timeout", 60.0)

    def on_start(self) -> None:
        i = next(_ids)
        self.root = CFG["root_template"].format(i=i)
        login = CFG["login_template"].format(i=i)
        secret = APP_PASSWORDS[i] if APP_PASSWORDS else CFG["password"]
        token = base64.b64encode(f"{login}:{secret}".encode()).decode()
        self.auth = {"Authorization": f"Basic {token}"}
        self.changes = 0
        try:
            self._propfind("0", "login: PROPFIND Depth 0")
        finally:
            _logins["done"] += 1
        # Clients do not poll in step: each starts its cycle at a random phase, so the
        # request rate is steady (users / poll_seconds) from the start.
        gevent.sleep(_rng.uniform(0, CFG["poll_seconds"]))

    def _propfind(self, depth: str, name: str) -> None:
        headers = {**self.auth, "Depth": depth, "Content-Type": "application/xml"}
        with self.client.request(
            "PROPFIND",
            self.root,
            data=PROPFIND_BODY,
            headers=headers,
            name=name,
            catch_response=True,
        ) as r:
            if r.status_code != 207:
                r.failure(f"status {r.status_code}")

    @task
    def poll(self) -> None:
        self._propfind("0", "poll: PROPFIND Depth 0")
        if _rng.random() >= CFG["change_probability"]:
            return
        path = f"{self.root}sync-{self.changes % 4}.bin"
        self.changes += 1
        headers = {**self.auth, "Content-Type": "application/octet-stream"}
        with self.client.request(
            "PUT", path, data=BODY, headers=headers, name="change: PUT 4 KiB", catch_response=True
        ) as r:
            if r.status_code not in (201, 204):
                r.failure(f"status {r.status_code}")
        self._propfind("1", "change: PROPFIND Depth 1")
        with self.client.request(
            "GET", path, headers=self.auth, name="change: GET 4 KiB", catch_response=True
        ) as r:
            if r.status_code != 200 or len(r.content or b"") != len(BODY):
                r.failure(f"status {r.status_code}, {len(r.content or b'')} bytes")


def _summary(env: Environment) -> dict[str, Any]:
    total = env.stats.total
    by_name = {}
    for (name, _method), entry in sorted(env.stats.entries.items()):
        by_name[name] = {
            "requests": entry.num_requests,
            "failures": entry.num_failures,
            "p50_ms": entry.get_response_time_percentile(0.50),
            "p95_ms": entry.get_response_time_percentile(0.95),
            "p99_ms": entry.get_response_time_percentile(0.99),
        }
    errors = {f"{e.name}: {e.error}"[:200]: e.occurrences for e in env.stats.errors.values()}
    return {
        "requests": total.num_requests,
        "failures": total.num_failures,
        "p50_ms": total.get_response_time_percentile(0.50) if total.num_requests else None,
        "p95_ms": total.get_response_time_percentile(0.95) if total.num_requests else None,
        "p99_ms": total.get_response_time_percentile(0.99) if total.num_requests else None,
        "max_ms": total.max_response_time if total.num_requests else None,
        "by_name": by_name,
        "errors": errors,
    }


def main() -> None:
    users = int(CFG["users"])
    ramp = float(CFG["ramp_seconds"])
    env = Environment(user_classes=[SyncClient], host=CFG["base_url"])
    runner = env.create_local_runner()
    server_pid, db_pid = CFG["server_pid"], CFG.get("db_pid")
    t_start = time.monotonic()
    runner.start(users, spawn_rate=users / ramp)
    gevent.sleep(ramp)
    # The steady state starts once every user has logged in (bounded wait): a login backlog
    # is reported as such (login phase, login latency), not mixed into the polling latency.
    deadline = time.monotonic() + CFG.get("login_wait_seconds", 45)
    while _logins["done"] < users and time.monotonic() < deadline:
        gevent.sleep(0.25)
    logged_in = time.monotonic() - t_start if _logins["done"] >= users else None
    logins_done = _logins["done"]
    gevent.sleep(CFG["settle_seconds"])
    ramp_stats = _summary(env)
    spawned = runner.user_count
    env.stats.reset_all()
    cpu0 = _cpu(server_pid)
    db0 = _cpu(db_pid) if db_pid else 0.0
    own0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.monotonic()
    gevent.sleep(CFG["steady_seconds"])
    window = time.monotonic() - t0
    steady = _summary(env)
    cpu1 = _cpu(server_pid)
    db1 = _cpu(db_pid) if db_pid else 0.0
    own1 = resource.getrusage(resource.RUSAGE_SELF)
    runner.quit()
    own = (own1.ru_utime - own0.ru_utime) + (own1.ru_stime - own0.ru_stime)
    result = {
        "users": users,
        "spawned": spawned,
        "ramp_seconds": ramp,
        "logins_done": logins_done,
        "all_logged_in_after_s": None if logged_in is None else round(logged_in, 1),
        "steady_seconds": round(window, 2),
        "poll_seconds": CFG["poll_seconds"],
        "ramp": ramp_stats,
        "steady": steady,
        "errors_total": ramp_stats["failures"] + steady["failures"],
        "requests_total": ramp_stats["requests"] + steady["requests"],
        "steady_rps": round(steady["requests"] / window, 1) if window else None,
        "server_cpu_pct": round(100 * (cpu1 - cpu0) / window, 1),
        "db_cpu_pct": round(100 * (db1 - db0) / window, 1) if db_pid else None,
        "loadgen_cpu_pct": round(100 * own / window, 1),
        "wall_seconds": round(time.monotonic() - t_start, 1),
    }
    sys.stdout.write("SYNCLOAD " + json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
