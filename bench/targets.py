"""The servers under test, each started on a free port on 127.0.0.1 with its data under one
benchmark directory (one filesystem), and stopped again by :meth:`Target.stop`.

ThVC runs as a user runs it: ``thvc init``, ``thvc tenant create``, ``thvc user create`` and
``thvc serve`` with nothing but ``THVC_DATA_DIR``/``THVC_BIND`` (and ``THVC_DATABASE_URL``
for the PostgreSQL column) set: SQLite + local disk, encryption at rest and audit (always on).
The peers run with their defaults plus HTTP Basic authentication for one user, as ThVC has.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.procs import Proc, free_port, wait_until

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
BENCH_USER = "bench"  # the peers' Basic user
THVC_TENANT = "bench"
THVC_USER = f"alice@{THVC_TENANT}"
SYNC_PREFIX = "s"  # workload 6 users: s0000@bench ... (ThVC) or /users/s0000/ (peers)

LABELS = {
    "thvc": "ThVC",
    "thvc-pg": "ThVC (PostgreSQL)",
    "rclone": "rclone",
    "nginx": "nginx",
    "wsgidav": "WsgiDAV",
    "disk": "disk",
}


@dataclass
class Target:
    key: str
    base: str  # http://127.0.0.1:PORT
    root: str  # URL path of the benchmark user's tree, ending in "/"
    login: str
    password: str
    proc: Proc
    # Workload 6: the URL root and login of simulated user i ({i} is formatted in).
    sync_root: str = ""
    sync_login: str = ""
    # ThVC: a file with each simulated user's app password, one per line (see thvc_users).
    sync_passwords: str = ""
    db_pid: int | None = None  # PostgreSQL postmaster, for CPU figures
    extra_stop: list[object] = field(default_factory=list)

    @property
    def label(self) -> str:
        return LABELS[self.key]

    @property
    def pid(self) -> int:
        return self.proc.pid

    def url(self, path: str = "") -> str:
        return f"{self.base}{self.root}{path}"

    @property
    def auth(self) -> str:
        token = base64.b64encode(f"{self.login}:{self.password}".encode()).decode()
        return f"Basic {token}"

    def client(self, timeout: float = 120.0) -> httpx.Client:
        return httpx.Client(headers={"Authorization": self.auth}, timeout=timeout)

    def stop(self) -> None:
        self.proc.stop()
        for stopper in self.extra_stop:
            with contextlib.suppress(Exception):
                stopper.stop()  # type: ignore[attr-defined]


def _propfind_ok(target: Target) -> bool:
    with target.client(timeout=5) as c:
        r = c.request("PROPFIND", target.url(), headers={"Depth": "0"})
        return r.status_code == 207


def _ready(target: Target, timeout: float = 90.0) -> Target:
    """Wait until *our* server answers an authenticated PROPFIND (the random password makes
    sure no other server on that port could), and check it is still our process."""
    wait_until(lambda: _propfind_ok(target), timeout=timeout, what=target.key, proc=target.proc)
    if not target.proc.alive():
        raise RuntimeError(f"{target.key} exited after start-up\n{target.proc.log_tail()}")
    return target


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("THVC_", "PG"))}
    env.update(extra)
    return env


# -- ThVC ----------------------------------------------------------------------------------


def start_thvc(
    root: Path,
    key: str,
    password: str,
    *,
    database_url: str | None = None,
    sync_users: int = 0,
    db_pid: int | None = None,
    extra_env: dict[str, str] | None = None,
) -> Target:
    d = root / key
    d.mkdir()
    port = free_port()
    env = clean_env(
        **(extra_env or {}),
        THVC_DATA_DIR=str(d / "data"),
        THVC_BIND=f"127.0.0.1:{port}",
        THVC_CONFIG=str(d / "thvc.toml"),  # does not exist: defaults + the variables above
    )
    if database_url:
        env["THVC_DATABASE_URL"] = database_url
    thvc = str(VENV_BIN / "thvc")

    def cli(*args: str, stdin: str | None = None) -> None:
        r = subprocess.run(
            [thvc, *args], env=env, cwd=d, input=stdin, capture_output=True, text=True, check=False
        )
        if r.returncode != 0:
            raise RuntimeError(f"thvc {' '.join(args)} failed: {r.stdout}{r.stderr}")

    cli("init")  # prints the operator's password: captured, not shown
    cli("tenant", "create", THVC_TENANT, "--name", "Benchmark")
    cli("user", "create", THVC_USER, "--password-stdin", stdin=password + "\n")
    if sync_users:
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.thvc_users",
                str(sync_users),
                SYNC_PREFIX,
                THVC_TENANT,
                str(d / "sync-app-passwords.txt"),
            ],
            env={**env, "PYTHONPATH": str(REPO)},
            cwd=d,
            input=password + "\n",
            capture_output=True,
            text=True,
            check=False,
        )
        if r.returncode != 0:
            raise RuntimeError(f"creating {sync_users} ThVC users failed: {r.stdout}{r.stderr}")
    proc = Proc(key, [thvc, "serve"], log=d / "serve.log", env=env, cwd=d)
    target = Target(
        key,
        f"http://127.0.0.1:{port}",
        f"/dav/files/{THVC_USER}/",
        THVC_USER,
        password,
        proc,
        sync_root="/dav/files/" + SYNC_PREFIX + "{i:04d}@" + THVC_TENANT + "/",
        sync_login=SYNC_PREFIX + "{i:04d}@" + THVC_TENANT,
        sync_passwords=str(d / "sync-app-passwords.txt") if sync_users else "",
        db_pid=db_pid,
    )
    try:
        return _ready(target)
    except BaseException:
        target.stop()
        raise


def start_postgres(root: Path) -> tuple[object, str]:
    """A private PostgreSQL cluster (tests/common/postgres.py) with durable settings, as a
    production server has them (the test default turns fsync off)."""
    sys.path.insert(0, str(REPO))
    from tests.common.postgres import PostgresCluster

    cluster = PostgresCluster(
        root / "pg",
        settings={"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"},
    )
    cluster.start()
    try:
        url = cluster.create_database("thvc")
    except BaseException:
        cluster.stop()
        raise
    return cluster, url


def postmaster_pid(cluster: object) -> int | None:
    return cluster._postmaster_pid()  # type: ignore[attr-defined,no-any-return]


# -- peers ---------------------------------------------------------------------------------


def _peer_dirs(root: Path, key: str, sync_users: int) -> tuple[Path, Path]:
    d = root / key
    data = d / "data"
    data.mkdir(parents=True)
    for i in range(sync_users):
        (data / "users" / f"{SYNC_PREFIX}{i:04d}").mkdir(parents=True)
    return d, data


def _peer(key: str, port: int, password: str, proc: Proc) -> Target:
    target = Target(
        key,
        f"http://127.0.0.1:{port}",
        "/",
        BENCH_USER,
        password,
        proc,
        sync_root="/users/" + SYNC_PREFIX + "{i:04d}/",
        sync_login=BENCH_USER,
    )
    try:
        return _ready(target)
    except BaseException:
        target.stop()
        raise


def start_rclone(root: Path, password: str, *, sync_users: int = 0) -> Target:
    d, data = _peer_dirs(root, "rclone", sync_users)
    port = free_port()
    argv = [
        "rclone",
        "serve",
        "webdav",
        str(data),
        "--addr",
        f"127.0.0.1:{port}",
        "--user",
        BENCH_USER,
        "--pass",
        password,
        "--config",
        str(d / "rclone.conf"),  # none: defaults
    ]
    return _peer("rclone", port, password, Proc("rclone", argv, log=d / "rclone.log", cwd=d))


NGINX_CONF = """\
# nginx with its DAV modules (Debian nginx-extras): a plain WebDAV file server.
{user_line}
daemon off;
worker_processes auto;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
load_module {modules}/ngx_http_dav_ext_module.so;

events {{
    worker_connections 8192;
}}

http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    sendfile on;
    keepalive_requests 100000;

    server {{
        listen 127.0.0.1:{port};
        root {data};
        client_max_body_size 0;

        location / {{
            auth_basic "bench";
            auth_basic_user_file {dir}/htpasswd;
            dav_methods PUT DELETE MKCOL COPY MOVE;
            dav_ext_methods PROPFIND OPTIONS;
            dav_access user:rw group:r all:r;
            create_full_put_path on;
        }}
    }}
}}
"""


def start_nginx(root: Path, password: str, *, sync_users: int = 0) -> Target:
    d, data = _peer_dirs(root, "nginx", sync_users)
    port = free_port()
    (d / "htpasswd").write_text(f"{BENCH_USER}:{{PLAIN}}{password}\n")
    (d / "htpasswd").chmod(0o644)
    modules = "/usr/lib/nginx/modules"
    conf = NGINX_CONF.format(
        user_line="user root;" if os.geteuid() == 0 else "",
        dir=d,
        data=data,
        port=port,
        modules=modules,
    )
    if not Path(modules, "ngx_http_dav_ext_module.so").exists():
        conf = conf.replace(f"load_module {modules}/ngx_http_dav_ext_module.so;\n", "")
    (d / "nginx.conf").write_text(conf)
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    argv = [nginx, "-p", str(d), "-c", str(d / "nginx.conf"), "-e", str(d / "error.log")]
    return _peer("nginx", port, password, Proc("nginx", argv, log=d / "nginx.log", cwd=d))


def start_wsgidav(root: Path, password: str, *, sync_users: int = 0) -> Target:
    d, data = _peer_dirs(root, "wsgidav", sync_users)
    port = free_port()
    config = {
        "host": "127.0.0.1",
        "port": port,
        "provider_mapping": {"/": str(data)},
        "http_authenticator": {
            "domain_controller": None,
            "accept_basic": True,
            "accept_digest": False,
            "default_to_digest": False,
        },
        "simple_dc": {"user_mapping": {"*": {BENCH_USER: {"password": password}}}},
    }
    (d / "wsgidav.json").write_text(json.dumps(config, indent=2))
    argv = [str(VENV_BIN / "wsgidav"), "--config", str(d / "wsgidav.json")]
    return _peer("wsgidav", port, password, Proc("wsgidav", argv, log=d / "wsgidav.log", cwd=d))


def versions() -> dict[str, str]:
    """Versions of everything measured, for the record."""

    def first_line(argv: list[str]) -> str:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            r = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
            return (r.stdout or r.stderr).strip().splitlines()[0]
        return "?"

    out = {
        "python": sys.version.split()[0],
        "rclone": first_line(["rclone", "version"]),
        "nginx": first_line([shutil.which("nginx") or "/usr/sbin/nginx", "-v"]),
        "curl": first_line(["curl", "--version"]),
        "wrk": first_line(["wrk", "--version"]),
        "thvc_commit": first_line(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]),
    }
    with contextlib.suppress(Exception):
        from importlib.metadata import version

        out["thvc"] = version("thvc")
        out["wsgidav"] = version("wsgidav")
        out["cheroot"] = version("cheroot")
        out["locust"] = version("locust")
    with contextlib.suppress(Exception):
        sys.path.insert(0, str(REPO))
        from tests.common.postgres import find_bin_dir

        out["postgresql"] = first_line([str(find_bin_dir() / "postgres"), "--version"])
    return out
