"""A throw-away PostgreSQL cluster for the test suite.

The cluster lives in a fresh directory under /tmp, listens only on a Unix socket in that
directory (no TCP), trusts every local connection and runs with ``fsync=off``.  It is meant for
tests only and is destroyed (``pg_ctl stop -m immediate`` plus removal of the directory) by
:meth:`PostgresCluster.stop`.

``initdb`` and ``postgres`` refuse to run as root, so when the test process is root the cluster
directory is handed to an unprivileged user (``nobody``) and the server binaries run as that
user.  As any other user they run directly.

Usage from a fixture::

    with PostgresCluster() as pg:
        engine = sqlalchemy.create_engine(pg.url)
        pg.create_database("thvc_test_gw0")
        ...

Usage from a shell script (the cluster outlives the Python process)::

    python -m tests.common.postgres start DIR   # prints the SQLAlchemy URL on stdout
    python -m tests.common.postgres stop DIR    # stops the server and removes DIR
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

__all__ = ["PostgresCluster", "PostgresError", "find_bin_dir"]

DEFAULT_PORT = 5432
DEFAULT_USER = "nobody"
SUPERUSER = "postgres"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")

# Settings appended to postgresql.conf.  Speed over durability: this cluster is disposable.
DEFAULT_SETTINGS: Mapping[str, str | int] = {
    "listen_addresses": "",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": 200,
    "shared_buffers": "64MB",
    "log_min_messages": "warning",
    "log_line_prefix": "%m [%p] %d ",
    "timezone": "UTC",
}


class PostgresError(RuntimeError):
    """The cluster could not be created, started or stopped."""


def _version_key(path: str) -> tuple[int, ...]:
    version = Path(path).parent.parent.name  # /usr/lib/postgresql/<version>/bin/initdb
    return tuple(int(part) for part in re.findall(r"\d+", version)) or (0,)


def find_bin_dir() -> Path:
    """Directory holding ``initdb``/``pg_ctl``: ``$THVC_PG_BINDIR``, else the newest
    ``/usr/lib/postgresql/*/bin``, else wherever ``initdb`` is on ``$PATH``."""
    override = os.environ.get("THVC_PG_BINDIR")
    if override:
        return Path(override)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_key)
    if candidates:
        return Path(candidates[-1]).parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    raise PostgresError(
        "PostgreSQL server binaries not found (no /usr/lib/postgresql/*/bin/initdb); "
        "run `make system-deps` or set THVC_PG_BINDIR"
    )


def _conf_value(value: str | int) -> str:
    if isinstance(value, int):
        return str(value)
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def _check_identifier(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a safe database name: {name!r}")
    return name


class PostgresCluster:
    """A private PostgreSQL server on a Unix socket in ``base_dir``.

    ``base_dir`` defaults to a new ``mkdtemp`` directory under /tmp.  If given, it may exist
    (it must then be empty apart from a previous cluster of ours); :meth:`stop` removes it
    either way.
    """

    def __init__(
        self,
        base_dir: str | os.PathLike[str] | None = None,
        *,
        port: int = DEFAULT_PORT,
        run_as: str = DEFAULT_USER,
        bin_dir: str | os.PathLike[str] | None = None,
        settings: Mapping[str, str | int] | None = None,
        start_timeout: float = 60.0,
    ) -> None:
        self._base_dir = Path(base_dir).resolve() if base_dir is not None else None
        self.port = port
        self.run_as = run_as
        self._bin_dir = Path(bin_dir) if bin_dir is not None else None
        self.settings: dict[str, str | int] = {**DEFAULT_SETTINGS, **(settings or {})}
        self.start_timeout = start_timeout
        self._started = False

    # -- paths and URLs ---------------------------------------------------------------------

    @property
    def base_dir(self) -> Path:
        if self._base_dir is None:
            raise PostgresError("cluster not started yet (no directory)")
        return self._base_dir

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def socket_dir(self) -> Path:
        return self.base_dir

    @property
    def log_file(self) -> Path:
        return self.base_dir / "log"

    @property
    def bin_dir(self) -> Path:
        if self._bin_dir is None:
            self._bin_dir = find_bin_dir()
        return self._bin_dir

    def url_for(self, database: str, *, driver: str = "postgresql+psycopg") -> str:
        """URL of ``database`` as superuser over the Unix socket."""
        return f"{driver}://{SUPERUSER}@/{database}?host={self.socket_dir}&port={self.port}"

    @property
    def url(self) -> str:
        """SQLAlchemy URL (psycopg 3) of the ``postgres`` maintenance database."""
        return self.url_for("postgres")

    @property
    def admin_url(self) -> str:
        """libpq URI of the ``postgres`` database, for ``psycopg.connect``/``psql``."""
        return self.url_for("postgres", driver="postgresql")

    def libpq_env(self) -> dict[str, str]:
        """``PGHOST``/``PGPORT``/``PGUSER`` for command-line clients (psql, pg_dump)."""
        return {"PGHOST": str(self.socket_dir), "PGPORT": str(self.port), "PGUSER": SUPERUSER}

    # -- running the server binaries --------------------------------------------------------

    @property
    def _as_root(self) -> bool:
        return os.geteuid() == 0

    def _run(self, argv: Sequence[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a server binary, as ``run_as`` when we are root."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(HOME=str(self.base_dir), LC_ALL="C.UTF-8", LANG="C.UTF-8", TZ="UTC")
        kwargs: dict[str, Any] = {}
        if self._as_root:
            entry = pwd.getpwnam(self.run_as)
            kwargs.update(user=entry.pw_uid, group=entry.pw_gid, extra_groups=[])
        proc = subprocess.run(
            list(argv),
            cwd=self.base_dir,  # must be readable by run_as: pg_ctl/initdb call getcwd()
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            # Keep the server out of our process group: a Ctrl-C must not kill it before the
            # tests' teardown has run; stop() (or the caller's trap) ends it.
            start_new_session=True,
            check=False,
            **kwargs,
        )
        if check and proc.returncode != 0:
            raise PostgresError(
                f"{' '.join(argv)} failed with exit code {proc.returncode}:\n"
                f"{proc.stdout}{proc.stderr}{self._log_tail()}"
            )
        return proc

    def _log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError, PostgresError):
            text = self.log_file.read_text(errors="replace").splitlines()
            if text:
                return "\n--- server log (tail) ---\n" + "\n".join(text[-lines:])
        return ""

    def _prepare_dir(self) -> None:
        if self._base_dir is None:
            self._base_dir = Path(tempfile.mkdtemp(prefix="thvc-pg-", dir="/tmp"))
        else:
            self._base_dir.mkdir(parents=True, exist_ok=True)
        # The socket lives here: everybody must be able to traverse the directory.
        self.base_dir.chmod(0o755)
        if self._as_root:
            entry = pwd.getpwnam(self.run_as)
            os.chown(self.base_dir, entry.pw_uid, entry.pw_gid)

    def _initdb(self) -> None:
        initdb = str(self.bin_dir / "initdb")
        base = [initdb, "-D", str(self.data_dir), "-U", SUPERUSER, "--auth=trust"]
        base += ["--encoding=UTF8", "--no-sync"]
        proc = self._run([*base, "--locale=C.UTF-8"], check=False)
        if proc.returncode != 0:
            # A libc without the C.UTF-8 locale: fall back to plain C (still UTF8 encoding).
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self._run([*base, "--locale=C"])
        settings = dict(self.settings)
        settings.update(unix_socket_directories=str(self.socket_dir), port=self.port)
        lines = [f"{key} = {_conf_value(value)}" for key, value in settings.items()]
        with (self.data_dir / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("\n# ThVC test cluster\n" + "\n".join(lines) + "\n")

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> Self:
        """Create (if needed) and start the cluster; returns self.  On failure, everything
        created so far is removed again."""
        if self._started:
            return self
        if self._base_dir is not None:
            pid = self._postmaster_pid()
            if pid is not None and _pid_alive(pid):
                raise PostgresError(f"a server (pid {pid}) is already running in {self.data_dir}")
        try:
            self._prepare_dir()
            if not (self.data_dir / "PG_VERSION").exists():
                self._initdb()
            pg_ctl = str(self.bin_dir / "pg_ctl")
            self._run(
                [
                    pg_ctl,
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_file),
                    "-t",
                    str(int(self.start_timeout)),
                    "-w",
                    "start",
                ]
            )
            self._started = True
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        import psycopg

        deadline = time.monotonic() + self.start_timeout
        while True:
            try:
                with psycopg.connect(self.admin_url, connect_timeout=5) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise PostgresError(f"server not accepting connections: {exc}") from exc
                time.sleep(0.1)

    def _postmaster_pid(self) -> int | None:
        with contextlib.suppress(OSError, ValueError, IndexError, PostgresError):
            return int((self.data_dir / "postmaster.pid").read_text().splitlines()[0])
        return None

    def stop(self) -> None:
        """Stop the server immediately and remove the cluster directory.  Idempotent; safe to
        call on a cluster that was never (fully) started, also from another process."""
        self._started = False
        if self._base_dir is None or not self._base_dir.exists():
            return
        pid = self._postmaster_pid()
        if pid is not None:
            with contextlib.suppress(OSError, PostgresError, subprocess.SubprocessError):
                pg_ctl = str(self.bin_dir / "pg_ctl")
                self._run([pg_ctl, "-D", str(self.data_dir), "-m", "immediate", "-w", "stop"])
            # If pg_ctl could not do it, make sure the postmaster is gone anyway.
            if self._postmaster_pid() == pid and _pid_alive(pid):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
                deadline = time.monotonic() + 10
                while _pid_alive(pid) and time.monotonic() < deadline:
                    time.sleep(0.05)
        shutil.rmtree(self._base_dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- databases --------------------------------------------------------------------------

    def _admin_connect(self) -> Any:
        import psycopg

        return psycopg.connect(self.admin_url, autocommit=True)

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create database ``name`` (optionally as a copy of ``template``, which must have no
        open connections); returns its SQLAlchemy URL."""
        from psycopg import sql

        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(_check_identifier(name)))
        if template is not None:
            query += sql.SQL(" TEMPLATE {}").format(sql.Identifier(_check_identifier(template)))
        with self._admin_connect() as conn:
            conn.execute(query)
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name`` if it exists, disconnecting any remaining sessions."""
        from psycopg import sql

        query = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(_check_identifier(name))
        )
        with self._admin_connect() as conn:
            conn.execute(query)

    def __repr__(self) -> str:
        where = self._base_dir if self._base_dir is not None else "(no directory yet)"
        return f"PostgresCluster({where}, started={self._started})"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped by its parent) still "exists" for kill(2).
    with contextlib.suppress(OSError, IndexError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    return True


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    usage = "usage: python -m tests.common.postgres {start|stop|url} DIR"
    if len(args) != 2 or args[0] not in {"start", "stop", "url"}:
        print(usage, file=sys.stderr)
        return 2
    command, directory = args
    cluster = PostgresCluster(directory)
    if command == "start":
        try:
            cluster.start()
        except PostgresError as exc:
            print(f"postgres: {exc}", file=sys.stderr)
            return 1
        print(f"postgres: cluster running in {cluster.base_dir}", file=sys.stderr)
    elif command == "stop":
        cluster.stop()
        return 0
    print(cluster.url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
