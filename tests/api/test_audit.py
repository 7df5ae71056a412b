"""/audit: a tenant admin reads their tenant's trail, the operator everyone's; pages, time
windows, and the export as JSON lines."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from tests.api.support import Api, problem_of
from tests.common import factories
from thvc.accounts.services import Principal
from thvc.audit import AuditEvent, canonical_detail, event_hash
from thvc.services import Services


def test_an_admin_sees_their_tenants_events_only(
    api_carla: Api, api_ben: Api, anna: Principal, ben: Principal, svc: Services
) -> None:
    factories.mkdir(svc, anna, "/Akten")
    factories.mkdir(svc, ben, "/Suhl")
    events = api_carla.items("/audit")
    tenants = {e["tenant_id"] for e in events}
    assert tenants == {anna.tenant_id}
    assert any(e["action"] == "file.mkcol" and e["actor"] == anna.login for e in events)
    assert not any(e["actor"] == ben.login for e in events)
    problem_of(api_carla.get("/audit", params={"tenant": "suhl"}, check=403), 403)
    problem_of(api_ben.get("/audit", check=403), 403)


def test_the_operator_sees_all_or_one_tenant(
    api_root: Api, anna: Principal, ben: Principal, svc: Services
) -> None:
    factories.mkdir(svc, anna, "/Akten")
    factories.mkdir(svc, ben, "/Suhl")
    everything = api_root.items("/audit")
    assert {anna.tenant_id, ben.tenant_id} <= {e["tenant_id"] for e in everything}
    suhl = api_root.items("/audit", tenant="suhl")
    assert {e["tenant_id"] for e in suhl} == {ben.tenant_id}
    problem_of(api_root.get("/audit", params={"tenant": "nirgendwo"}, check=404), 404)


def test_events_page_newest_first_and_filter(
    api_carla: Api, anna: Principal, svc: Services
) -> None:
    for i in range(7):
        factories.mkdir(svc, anna, f"/d{i}")
    mkcols = api_carla.items("/audit", action="file.mkcol", limit=3)
    assert [e["target"] for e in mkcols] == [f"anna@lauscha/d{i}" for i in reversed(range(7))]
    seqs = [e["seq"] for e in mkcols]
    assert seqs == sorted(seqs, reverse=True)
    first = api_carla.get("/audit", params={"action": "file.mkcol", "limit": 3}).json()
    assert len(first["items"]) == 3 and first["next_cursor"]
    by_actor = api_carla.items("/audit", actor=anna.login)
    assert by_actor and {e["actor"] for e in by_actor} == {anna.login}
    e = mkcols[0]
    assert isinstance(e["detail"], dict) and "file_id" in e["detail"]
    assert len(e["hash"]) == 64 and len(e["prev_hash"]) == 64


def test_the_time_window(api_carla: Api, anna: Principal, svc: Services) -> None:
    for i in range(3):
        factories.mkdir(svc, anna, f"/d{i}")
    # Move the first two events a day back, as if they had happened yesterday.
    old = [e["seq"] for e in api_carla.items("/audit", action="file.mkcol")][-2:]
    yesterday = datetime.now(UTC) - timedelta(days=1)
    with svc.db.write() as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq.in_(old)).values(at=yesterday))
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    recent = api_carla.items("/audit", action="file.mkcol", **{"from": since})
    assert [e["target"] for e in recent] == ["anna@lauscha/d2"]
    before = api_carla.items("/audit", action="file.mkcol", to=since, limit=1)
    assert [e["target"] for e in before] == ["anna@lauscha/d1", "anna@lauscha/d0"]
    problem_of(api_carla.get("/audit", params={"from": "2026-01-01T00:00:00"}, check=422), 422)


def test_the_export_is_json_lines_oldest_first(
    api_carla: Api, api_root: Api, anna: Principal, svc: Services
) -> None:
    for i in range(3):
        factories.mkdir(svc, anna, f"/d{i}")
    r = api_carla.get("/audit/export")
    assert r.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert lines and {e["tenant_id"] for e in lines} == {anna.tenant_id}
    assert [e["seq"] for e in lines] == sorted(e["seq"] for e in lines)
    # The operator's whole export is the chain: every event's hash checks out.
    whole = [json.loads(line) for line in api_root.get("/audit/export").text.splitlines()]
    assert [e["seq"] for e in whole] == list(range(1, len(whole) + 1))
    for e in whole:
        row = AuditEvent(
            **{**e, "at": datetime.fromisoformat(e["at"]), "detail": canonical_detail(e["detail"])}
        )
        assert event_hash(row) == e["hash"]
    problem_of(api_carla.get("/audit/export", params={"tenant": "suhl"}, check=403), 403)


def test_a_long_export_streams_in_chunks(api_root: Api, anna: Principal, svc: Services) -> None:
    with svc.db.write() as s:
        for i in range(3000):
            svc.audit.record(
                s, action="test.bulk", tenant_id=anna.tenant_id, detail={"i": i, "pad": "x" * 100}
            )
    with api_root.client.stream("GET", "/api/v1/audit/export", auth=api_root.auth) as r:
        chunks = list(r.iter_raw())
    assert len(chunks) > 1
    lines = b"".join(chunks).decode().splitlines()
    assert sum(1 for line in lines if '"test.bulk"' in line) == 3000
