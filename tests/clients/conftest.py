"""Real sync clients against a real server: nextcloudcmd, owncloudcmd, rclone."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.common.server import LiveServer, start_server

USER = "anna@lauscha"
PASSWORD = "anna-sync-password-1"
# The clients' own bookkeeping in the synced folder.
JOURNAL = (".sync_", "._sync_", ".nextcloudsync.log", ".owncloudsync.log", ".csync_journal")


def require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:  # `make test` installs them; a missing tool is a failure, not a skip
        raise AssertionError(f"{tool} is not installed: run `make system-deps`")
    return path


@pytest.fixture
def sync_server(tmp_path: Path, database_url: str) -> Iterator[LiveServer]:
    with start_server(tmp_path / "server", database_url, log_level="info") as live:
        live.user(USER, PASSWORD)
        yield live


def client_args(tool: str) -> list[str]:
    """Debian's owncloudcmd ships no system exclude list and refuses to start without
    one; both clients get the same explicit list (the Nextcloud package's)."""
    args = ["--non-interactive", "-u", USER, "-p", PASSWORD]
    if tool == "owncloudcmd":
        args += ["--exclude", "/etc/Nextcloud/sync-exclude.lst"]
    return args


# Fixed 10 MB chunks (the client otherwise grows them to ~100 MB), for tests that
# need to interrupt an upload between chunks.
SMALL_CHUNKS = {
    "OWNCLOUD_CHUNK_SIZE": "10000000",
    "OWNCLOUD_MIN_CHUNK_SIZE": "10000000",
    "OWNCLOUD_MAX_CHUNK_SIZE": "10000000",
}


def client_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(home), **(extra or {})}


def run_client(
    tool: str,
    local: Path,
    server: LiveServer,
    *extra: str,
    timeout: float = 900,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """One sync run; raises with the client's output if it fails."""
    argv = [require(tool), *client_args(tool), *extra, str(local), server.url]
    proc = subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, env=client_env(local.parent, env)
    )
    if proc.returncode != 0:
        # The server's side of the story too: a 500 the client reports is explained there.
        errors = server_errors(server)
        raise AssertionError(
            f"{tool} exited {proc.returncode}:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
            f"\n--- server log, errors ---\n{errors}"
        )
    return proc


def server_errors(server: LiveServer, limit: int = 6000) -> str:
    """The server log from its first traceback on (or its tail), shortened."""
    text = server.log.read_text(errors="replace") if server.log.is_file() else ""
    at = text.find("Traceback")
    return (text[at:] if at >= 0 else text[-2000:])[:limit]


def files_in(folder: Path) -> list[Path]:
    """The user's files in a folder, sorted; never the client's journal."""
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(JOURNAL))


def tree(root: Path) -> dict[str, str]:
    """Relative path (NFC) -> SHA-256 of every file; folders as 'dir'; journal files left out."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        for d in dirnames:
            out[unicodedata.normalize("NFC", str(rel_dir / d))] = "dir"
        for f in filenames:
            if f.startswith(JOURNAL):
                continue
            h = hashlib.sha256()
            with open(Path(dirpath) / f, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    h.update(chunk)
            out[unicodedata.normalize("NFC", str(rel_dir / f))] = h.hexdigest()
    return out


NAMES = [
    "Haushaltsplan 2026.txt",
    "Grünflächen Übersicht.md",
    "Straße & Brücke.csv",
    "Протокол заседания.txt",
    "Ψήφισμα.txt",
    "会议记录.txt",
    "قرار.txt",
    "a b  c.txt",
    "Leerzeichen am Ende .txt"[:-5] + ".txt",
    "(Klammern) [eckig] {geschweift}.txt",
    "percent%20sign.txt",
    "plus+sign.txt",
    "hash#tag.txt",
    "apostroph's.txt",
]


def make_tree(root: Path, *, files: int = 300, big_mib: int = 300) -> None:
    """Nested folders, names from several scripts, empty files and one big file."""
    folders = [
        root,
        root / "Ämter",
        root / "Ämter" / "Bauamt",
        root / "Ämter" / "Ordnungsamt",
        root / "Projekte 2026",
        root / "Projekte 2026" / "Σχέδια",
        root / "空",
    ]
    for f in folders:
        f.mkdir(parents=True, exist_ok=True)
    n = 0
    while n < files - 1:
        folder = folders[n % len(folders)]
        name = NAMES[n % len(NAMES)]
        path = folder / f"{n:03d} {name}"
        size = 0 if n % 17 == 0 else (n * 997) % 70_000
        path.write_bytes(os.urandom(size))
        n += 1
    with (root / "Projekte 2026" / "Grundriss groß.bin").open("wb") as fh:
        for _ in range(big_mib):
            fh.write(os.urandom(1 << 20))
