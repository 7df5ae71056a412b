"""Medians, ratios, the issue's targets, and the Markdown table."""

from __future__ import annotations

import statistics
from typing import Any

from bench.targets import LABELS

THVC = ("thvc", "thvc-pg")
PEERS = ("rclone", "nginx", "wsgidav", "disk")

# key: (label, unit, value field, higher is better)
ROWS: dict[str, tuple[str, str, str, bool]] = {
    "put_1g": ("1. PUT 1 GiB (curl)", "MB/s", "mb_s", True),
    "rss_put_1g": ("1. peak RSS (VmHWM) after the 1 GiB PUTs", "MiB", "mib", False),
    "get_1g": ("2. GET 1 GiB (curl)", "MB/s", "mb_s", True),
    "put_4k": ("3. 1,000 × PUT 4 KiB (wrk, 8 conns)", "ops/s", "ops_s", True),
    "propfind_allprop": (
        "4. PROPFIND Depth 1, 1,000 files, allprop (wrk, 16 conns)",
        "req/s",
        "req_s",
        True,
    ),
    "propfind_nc": (
        "4. PROPFIND Depth 1, 1,000 files, Nextcloud props (wrk, 16 conns)",
        "req/s",
        "req_s",
        True,
    ),
    "propfind_allprop_ms": ("4. the same, allprop, one request alone", "ms", "ms", False),
    "propfind_nc_ms": ("4. the same, Nextcloud props, one request alone", "ms", "ms", False),
    "get_4k": ("5. GET 4 KiB (wrk, 16 conns)", "req/s", "req_s", True),
}


def median_of(runs: list[dict[str, Any]] | str | None, field: str) -> float | None:
    if not isinstance(runs, list):
        return None
    values = [r[field] for r in runs if isinstance(r, dict) and field in r]
    return statistics.median(values) if values else None


def medians(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    out: dict[str, dict[str, float | None]] = {}
    for key, (_, _, field, _) in ROWS.items():
        out[key] = {t: median_of(runs, field) for t, runs in results.get(key, {}).items()}
    return out


def ratio(med: dict[str, dict[str, float | None]], key: str, thvc: str, peer: str) -> float | None:
    """ThVC's ratio to a peer, > 1 when ThVC is better (for times: peer / ThVC)."""
    row = med.get(key, {})
    a, b = row.get(thvc), row.get(peer)
    if a is None or b is None or a == 0 or b == 0:
        return None
    return a / b if ROWS[key][3] else b / a


def evaluate_targets(
    med: dict[str, dict[str, float | None]], sync: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """The targets of issue 7, for each ThVC column."""
    checks: list[tuple[str, list[tuple[str, str]], float]] = [
        ("PUT 1 GiB ≥ 1.0× rclone", [("put_1g", "rclone")], 1.0),
        ("PUT 1 GiB ≥ 0.5× disk (dd conv=fdatasync)", [("put_1g", "disk")], 0.5),
        ("GET 1 GiB ≥ 1.0× rclone", [("get_1g", "rclone")], 1.0),
        ("4 KiB PUT ≥ 1.0× rclone", [("put_4k", "rclone")], 1.0),
        (
            "PROPFIND Depth 1 on 1,000 files ≥ 2× rclone",
            [("propfind_allprop", "rclone"), ("propfind_nc", "rclone")],
            2.0,
        ),
        (
            "PROPFIND Depth 1 on 1,000 files ≥ 20× WsgiDAV",
            [("propfind_allprop", "wsgidav"), ("propfind_nc", "wsgidav")],
            20.0,
        ),
        ("4 KiB GET ≥ 0.5× rclone", [("get_4k", "rclone")], 0.5),
    ]
    out: list[dict[str, Any]] = []
    for name, parts, need in checks:
        row: dict[str, Any] = {"target": name, "need": need}
        for col in THVC:
            ratios = [ratio(med, key, col, peer) for key, peer in parts]
            if any(r is None for r in ratios):
                row[col] = {"value": None, "met": None}
            else:
                worst = min(r for r in ratios if r is not None)
                row[col] = {"value": worst, "met": worst >= need}
        out.append(row)
    rss: dict[str, Any] = {"target": "RSS ≤ 150 MiB (VmHWM during the 1 GiB PUT)", "need": 150}
    for col in THVC:
        v = med.get("rss_put_1g", {}).get(col)
        rss[col] = {"value": v, "met": None if v is None else v <= 150}
    out.append(rss)
    users: dict[str, Any] = {"target": "3,300 sync users: 0 errors and p95 < 500 ms", "need": None}
    for col in THVC:
        run = (sync or {}).get(col, {}).get("3300")
        if not isinstance(run, dict):
            users[col] = {"value": None, "met": None}
        else:
            p95 = run["steady"]["p95_ms"]
            users[col] = {
                "value": f"{run['errors_total']} errors, p95 {p95} ms",
                "met": run["errors_total"] == 0 and p95 is not None and p95 < 500,
            }
    out.append(users)
    return out


def _fmt(v: float | None, unit: str = "") -> str:
    if v is None:
        return "–"
    if unit == "ms":
        return f"{v:.1f}" if v < 100 else f"{v:,.0f}"
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def _psi(p: dict[str, float | None] | None) -> str:
    if not p or p.get("start") is None:
        return "unknown"
    return f"{p['start']:.0f} % at the start, {p['end']:.0f} % at the end"


def _after(run: dict[str, Any]) -> str:
    if "logins_done" not in run:
        return "–"
    if run.get("all_logged_in_after_s") is None:
        return f"not all ({run['logins_done']:,} of {run['users']:,})"
    return f"{run['all_logged_in_after_s']:.0f} s"


def _mib(v: float | None) -> str:
    return "–" if v is None else f"{v:,.0f} MiB"


def _fr(r: float | None) -> str:
    return "–" if r is None else (f"{r:.2f}×" if r < 10 else f"{r:.0f}×")


def _met(m: bool | None) -> str:
    return "not measured" if m is None else ("**met**" if m else "**not met**")


def markdown(doc: dict[str, Any]) -> str:
    results = doc["results"]
    med = medians(results)
    cols = [t for t in (*THVC, *PEERS) if any(t in results.get(k, {}) for k in ROWS)]
    peers = [p for p in PEERS if p in cols]
    lines = [
        f"## ThVC benchmark — {doc['meta']['mode']} run, {doc['meta']['date']}",
        "",
        f"Machine: {doc['meta']['machine']}; CPU pressure from other work (PSI some, 60 s): "
        f"{_psi(doc['meta'].get('cpu_pressure_some_avg60'))}. "
        f"Medians of {doc['meta']['reps_summary']}. "
        "Ratios are ThVC's (SQLite · PostgreSQL) to each peer, > 1 means ThVC is better "
        "(for times and memory: the peer's figure divided by ThVC's).",
        "",
    ]
    if pg_env := doc["meta"].get("pg_env"):
        settings = ", ".join(f"`{k}={v}`" for k, v in sorted(pg_env.items()))
        lines[-1:-1] = [
            f"ThVC (PostgreSQL) runs as README.md's production section describes: {settings} "
            "(one server process per core; peak RSS and CPU are those of all its processes).",
        ]
    head = ["workload", "unit", *(LABELS[c] for c in cols), *(f"ThVC ÷ {LABELS[p]}" for p in peers)]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "|".join(["---", "---"] + ["---:"] * (len(head) - 2)) + "|")
    for key, (label, unit, _, _) in ROWS.items():
        if key not in results:
            continue
        cells = [label, unit]
        for c in cols:
            runs = results[key].get(c)
            cells.append("error" if isinstance(runs, str) else _fmt(med[key].get(c), unit))
        for p in peers:
            a, b = ratio(med, key, "thvc", p), ratio(med, key, "thvc-pg", p)
            cells.append("–" if a is None and b is None else f"{_fr(a)} · {_fr(b)}")
        lines.append("| " + " | ".join(cells) + " |")
    errors = [
        f"- {LABELS.get(t, t)}, {ROWS[k][0]}: {runs}"
        for k, row in results.items()
        if k in ROWS
        for t, runs in row.items()
        if isinstance(runs, str)
    ]
    if errors:
        lines += ["", "Errors:", *errors]
    lines += [
        "",
        "### Targets (issue 7)",
        "",
        "| target | ThVC | ThVC (PostgreSQL) |",
        "|---|---|---|",
    ]
    for t in doc["targets"]:
        cells = [t["target"]]
        for col in THVC:
            v = t.get(col, {})
            value = v.get("value")
            shown = (
                "–"
                if value is None
                else value
                if isinstance(value, str)
                else f"{value:.0f} MiB"
                if t["target"].startswith("RSS")
                else _fr(value)
            )
            cells.append(f"{shown}: {_met(v.get('met'))}")
        lines.append("| " + " | ".join(cells) + " |")
    hwm = results.get("hwm_after")
    if hwm:
        keys = [c for c in cols if c != "disk"]
        lines += [
            "",
            "### Peak RSS (VmHWM, MiB) of each server after each workload",
            "",
            "| after workload | " + " | ".join(LABELS[c] for c in keys) + " |",
            "|---|" + "---:|" * len(keys),
        ]
        for step, row in hwm.items():
            lines.append(f"| {step} | " + " | ".join(_mib(row.get(c)) for c in keys) + " |")
    sync = doc.get("sync")
    if sync:
        lines += [
            "",
            "### 6. Simulated sync-client users (locust)",
            "",
            f"{doc['meta'].get('sync_summary', '')}",
            "",
            "| target | users | requests | errors | p50 ms | p95 ms | p99 ms | req/s "
            "| server CPU | DB CPU | load generator CPU | login p95 ms | all logged in after "
            "| server VmHWM |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for target, levels in sync.items():
            for users, run in levels.items():
                if not isinstance(run, dict):
                    lines.append(f"| {LABELS[target]} | {users} | error: {run} |||||||||||")
                    continue
                s = run["steady"]
                login = run["ramp"]["by_name"].get("login: PROPFIND Depth 0", {})
                db = "–" if run.get("db_cpu_pct") is None else f"{run['db_cpu_pct']:.0f} %"
                lines.append(
                    f"| {LABELS[target]} | {users} | {run['requests_total']:,} | "
                    f"{run['errors_total']} | {s['p50_ms']} | {s['p95_ms']} | {s['p99_ms']} | "
                    f"{run['steady_rps']} | {run['server_cpu_pct']:.0f} % | {db} | "
                    f"{run['loadgen_cpu_pct']:.0f} % | {login.get('p95_ms', '–')} | "
                    f"{_after(run)} | {_mib(run.get('server_hwm_mib'))} |"
                )
    return "\n".join(lines) + "\n"
