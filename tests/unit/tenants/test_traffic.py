"""Bytes moved per tenant: counted where they flow, written in sums, reported with storage."""

from __future__ import annotations

from tests.common.factories import put, read, user

from thvc.services import Services


def usage_of(svc: Services, slug: str):  # type: ignore[no-untyped-def]
    return next(u for u in svc.tenants.usage() if u.slug == slug)


def test_uploads_and_downloads_count_for_the_owners_tenant(svc: Services) -> None:
    anna = user(svc, "anna@suhl")
    ben = user(svc, "ben@jena")
    put(svc, anna, "/a.bin", b"x" * 5000)
    put(svc, ben, "/b.bin", b"y" * 700)
    assert read(svc, anna, "/a.bin") == b"x" * 5000
    assert read(svc, anna, "/a.bin") == b"x" * 5000
    svc.traffic.flush()
    suhl, jena = usage_of(svc, "suhl"), usage_of(svc, "jena")
    assert (suhl.bytes_in, suhl.bytes_out) == (5000, 10000)
    assert (jena.bytes_in, jena.bytes_out) == (700, 0)
    assert (suhl.bytes_in_recent, suhl.bytes_out_recent) == (5000, 10000)
    assert suhl.used_bytes == 5000
    assert svc.accounts.user_counts()[anna.tenant_id] == 1


def test_sums_add_up_over_flushes_and_an_aborted_download_counts_its_part(
    svc: Services,
) -> None:
    anna = user(svc, "anna@suhl")
    put(svc, anna, "/a.bin", b"x" * 3000)
    svc.traffic.flush()
    put(svc, anna, "/b.bin", b"x" * 1000)
    handle = svc.files.open_read(svc.files.locate(anna, anna.login, ["a.bin"]))
    chunks = svc.files.read(handle, 0, 10)
    assert next(iter(chunks)) == b"x" * 10
    chunks.close()  # type: ignore[attr-defined]
    svc.traffic.flush()
    suhl = usage_of(svc, "suhl")
    assert (suhl.bytes_in, suhl.bytes_out) == (4000, 10)


def test_close_writes_what_is_pending(svc: Services) -> None:
    anna = user(svc, "anna@suhl")
    put(svc, anna, "/a.bin", b"z" * 123)
    svc.traffic.close()
    assert usage_of(svc, "suhl").bytes_in == 123
