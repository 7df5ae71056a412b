"""Workloads 1-5: one measurement each, against one target. bench/run.py repeats and
interleaves them across the targets and takes medians.

Clients: curl for the 1 GiB transfers (keep-alive, ``Expect:`` off so no server pays a
100-continue round trip), wrk for the small requests (workload 3 with bench/lua/put_many.lua,
4 and 5 with bench/lua/fixed.lua), curl again for single-request latency. The same files
and request bodies go to every target.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.targets import Target

LUA = Path(__file__).resolve().parent / "lua"
MB = 1_000_000

# What nextcloudcmd 3.x asks for when it lists a folder (discovery PROPFIND).
NC_PROPFIND = b"""<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns" xmlns:nc="http://nextcloud.org/ns">
  <d:prop>
    <d:resourcetype/><d:getlastmodified/><d:getcontentlength/><d:getetag/>
    <oc:size/><oc:id/><oc:fileid/><oc:downloadURL/><oc:dDC/><oc:permissions/>
    <oc:checksums/><nc:is-encrypted/><oc:share-types/><oc:data-fingerprint/>
  </d:prop>
</d:propfind>
"""
ALLPROP = b"""<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:allprop/></d:propfind>
"""

_RESPONSE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?response[\s>]")


class WorkloadError(RuntimeError):
    pass


def curl_config(target: Target, directory: Path) -> Path:
    """Credentials for curl in a file (not on its command line)."""
    path = directory / f"curl-{target.key}.cfg"
    if not path.exists():
        path.write_text(f'user = "{target.login}:{target.password}"\n')
        path.chmod(0o600)
    return path


def _curl(cfg: Path, args: list[str], timeout: float) -> list[list[str]]:
    argv = ["curl", "-sS", "-K", str(cfg), "-H", "Expect:", *args]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if r.returncode != 0:
        raise WorkloadError(f"curl exited {r.returncode}: {r.stderr.strip()[:300]}")
    return [line.split() for line in r.stdout.splitlines() if line.strip()]


# -- workloads 1 and 2: 1 GiB PUT and GET -----------------------------------------------------


def put_big(target: Target, cfg: Path, src: Path, name: str) -> dict[str, Any]:
    (code, seconds, size), *_ = _curl(
        cfg,
        [
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{time_total} %{size_upload}\n",
            "-T",
            str(src),
            target.url(name),
        ],
        timeout=900,
    )
    if code not in ("201", "204") or int(size) != src.stat().st_size:
        raise WorkloadError(f"PUT {name}: HTTP {code}, {size} bytes sent")
    return {"mb_s": int(size) / float(seconds) / MB, "seconds": float(seconds)}


def get_big(target: Target, cfg: Path, name: str, size: int) -> dict[str, Any]:
    (code, seconds, got), *_ = _curl(
        cfg,
        [
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{time_total} %{size_download}\n",
            target.url(name),
        ],
        timeout=900,
    )
    if code != "200" or int(got) != size:
        raise WorkloadError(f"GET {name}: HTTP {code}, {got} of {size} bytes")
    return {"mb_s": size / float(seconds) / MB, "seconds": float(seconds)}


def delete(target: Target, path: str) -> None:
    with target.client() as c:
        c.delete(target.url(path))


def disk_write(src: Path, dst: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    subprocess.run(
        ["dd", f"if={src}", f"of={dst}", "bs=1M", "conv=fdatasync", "status=none"], check=True
    )
    seconds = time.perf_counter() - t0
    return {"mb_s": dst.stat().st_size / seconds / MB, "seconds": seconds}


def disk_read(path: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    with path.open("rb") as f:
        subprocess.run(["cat"], stdin=f, stdout=subprocess.DEVNULL, check=True)
    seconds = time.perf_counter() - t0
    return {"mb_s": path.stat().st_size / seconds / MB, "seconds": seconds}


# -- workload 3: 1,000 PUTs of 4 KiB ----------------------------------------------------------


def mkcol(target: Target, path: str) -> None:
    with target.client() as c:
        r = c.request("MKCOL", target.url(path))
        if r.status_code not in (201, 405):  # 405: exists already
            raise WorkloadError(f"MKCOL {path}: HTTP {r.status_code}")


def _wrk_json(stdout: str, stderr: str = "", rc: int | None = None) -> dict[str, Any]:
    for line in stdout.splitlines():
        if line.startswith("WRKJSON "):
            return json.loads(line[len("WRKJSON ") :])  # type: ignore[no-any-return]
    raise WorkloadError(f"wrk (exit {rc}) printed no result: {stdout[-400:]} {stderr[-400:]}")


def put_many(
    target: Target, folder: str, small: Path, *, count: int, connections: int, limit: float
) -> dict[str, Any]:
    env = {
        **os.environ,
        "WRK_PREFIX": target.root + folder,
        "WRK_COUNT": str(count),
        "WRK_BODY_FILE": str(small),
        "WRK_AUTH": target.auth,
    }
    argv = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{int(limit)}s",
        "--timeout",
        "30s",
        "-s",
        str(LUA / "put_many.lua"),
        target.base + "/",
    ]
    r = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=limit + 30, check=False
    )
    try:
        res = _wrk_json(r.stdout)
    except WorkloadError:
        raise WorkloadError(
            f"{count} PUTs did not finish within {limit:.0f} s (or wrk failed): "
            f"{r.stdout[-400:]}{r.stderr[-400:]}"
        ) from None
    if res["good"] != count:
        raise WorkloadError(f"{count} PUTs: only {res['good']} succeeded: {res['bad_statuses']}")
    return {"ops_s": count / res["seconds"], "seconds": res["seconds"]}


# -- workloads 4 and 5: wrk on one request ------------------------------------------------------


def wrk_fixed(
    target: Target,
    path: str,
    *,
    method: str = "GET",
    depth: str | None = None,
    body: Path | None = None,
    seconds: float,
    connections: int = 16,
    threads: int = 2,
) -> dict[str, Any]:
    env = {
        **os.environ,
        "WRK_METHOD": method,
        "WRK_AUTH": target.auth,
        "WRK_DEPTH": depth or "",
        "WRK_BODY_FILE": str(body) if body else "",
    }
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--timeout",
        "30s",
        "-s",
        str(LUA / "fixed.lua"),
        target.url(path),
    ]
    r = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    res = _wrk_json(r.stdout, r.stderr, r.returncode)
    bad = res["status"] + res["timeout"] + res["connect"]
    if res["requests"] == 0:
        raise WorkloadError(f"wrk {method} {path}: no request completed in {seconds:g} s")
    if bad:
        raise WorkloadError(f"wrk {method} {path}: {bad} errors (status/timeout/connect): {res}")
    return {
        "req_s": res["requests"] / (res["duration_us"] / 1e6),
        "requests": res["requests"],
        "latency_p50_ms": res["latency_p50_us"] / 1000,
        "latency_p99_ms": res["latency_p99_us"] / 1000,
    }


def latency(
    target: Target,
    cfg: Path,
    path: str,
    *,
    n: int,
    method: str = "GET",
    depth: str | None = None,
    body: Path | None = None,
) -> dict[str, Any]:
    """``n`` requests one after the other on one keep-alive connection (curl); the median
    time of one request in ms (the first, which opens the connection, is left out)."""
    args = ["-X", method, "-w", "%{http_code} %{time_total} %{time_connect}\n"]
    if depth is not None:
        args += ["-H", f"Depth: {depth}"]
    if body is not None:
        args += ["-H", "Content-Type: application/xml; charset=utf-8", "--data-binary", f"@{body}"]
    args += ["-o", "/dev/null"] * (n + 1) + [target.url(path)] * (n + 1)
    rows = _curl(cfg, args, timeout=600)
    codes = {row[0] for row in rows}
    if codes - {"200", "207"}:
        raise WorkloadError(f"{method} {path}: HTTP {sorted(codes)}")
    times = [float(row[1]) for row in rows[1:]]
    return {"ms": statistics.median(times) * 1000, "n": len(times)}


def count_responses(target: Target, folder: str, body: bytes) -> int:
    """How many <response> elements a PROPFIND Depth 1 of ``folder`` returns."""
    with target.client(timeout=300) as c:
        r = c.request(
            "PROPFIND",
            target.url(folder),
            content=body,
            headers={"Depth": "1", "Content-Type": "application/xml; charset=utf-8"},
        )
        if r.status_code != 207:
            raise WorkloadError(f"PROPFIND {folder}: HTTP {r.status_code}")
        return len(_RESPONSE.findall(r.content))
