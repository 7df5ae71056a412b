"""FileService: quotas, versions, trash, copy and move, team spaces, accounting (§5)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from tests.common import factories
from tests.common.factories import loc, mkdir, put, read

from thvc.accounts.services import Principal
from thvc.errors import Forbidden, NotFound, PreconditionFailed, QuotaExceeded
from thvc.files.errors import (
    IntoItself,
    IsCollection,
    NodeNotFound,
    ParentMissing,
    ProtectedNode,
    ReadOnly,
)
from thvc.files.models import Blob, Node, Space, SpaceRole, Version
from thvc.files.services import FileService, PropOp
from thvc.services import Services
from thvc.tenants.models import Tenant


@pytest.fixture
def anna(svc: Services) -> Principal:
    return factories.user(svc, "anna@lauscha")


def stored_blobs(svc: Services) -> set[str]:
    return {b for _, b in svc.blobs.iter_blobs()}


def blob_rows(svc: Services) -> set[str]:
    with svc.db.read() as s:
        return set(s.scalars(select(Blob.id)).all())


def assert_accounting(svc: Services) -> None:
    """Folder sizes, space and tenant usage agree with the live files (computed here)."""
    with svc.db.read() as s:
        nodes = s.execute(
            select(Node.space_id, Node.path, Node.is_dir, Node.size).where(
                Node.trashed_at.is_(None)
            )
        ).all()
        spaces = {
            sid: (used, tid)
            for sid, used, tid in s.execute(
                select(Space.id, Space.used_bytes, Space.tenant_id)
            ).all()
        }
        tenants = dict(s.execute(select(Tenant.id, Tenant.used_bytes)).all())
    files = [(sid, path, size) for sid, path, is_dir, size in nodes if not is_dir]
    wrong = []
    for sid, path, is_dir, size in nodes:
        if is_dir:
            below = sum(sz for fs, fp, sz in files if fs == sid and fp.startswith(path + "/"))
            if below != size:
                wrong.append(f"folder {sid}:{path or '/'} is {size}, files below sum to {below}")
    per_space: dict[int, int] = defaultdict(int)
    for sid, _, size in files:
        per_space[sid] += size
    per_tenant: dict[int, int] = defaultdict(int)
    for sid, (used, tid) in spaces.items():
        per_tenant[tid] += per_space[sid]
        if used != per_space[sid]:
            wrong.append(f"space {sid} uses {used}, its files {per_space[sid]}")
    for tid, used in tenants.items():
        if used != per_tenant[tid]:
            wrong.append(f"tenant {tid} uses {used}, its spaces {per_tenant[tid]}")
    assert wrong == []


def used(svc: Services, who: Principal, path: str = "/") -> int:
    return svc.files.quota(loc(svc, who, path))[0]


def size_of(svc: Services, who: Principal, path: str) -> int:
    return svc.files.stat(loc(svc, who, path)).size


def team(svc: Services, name: str = "Team", *, quota: int | None = None) -> None:
    svc.files.create_team_space("lauscha", name, quota_bytes=quota)


def member(svc: Services, who: Principal, role: SpaceRole, name: str = "Team") -> None:
    svc.files.set_space_member("lauscha", name, role=role, user_login=who.login)


# -- quotas ------------------------------------------------------------------------------


def test_a_user_quota_refuses_a_known_length_before_any_byte(svc: Services) -> None:
    anna = factories.user(svc, "anna@lauscha", quota=100)
    put(svc, anna, "/a", b"x" * 60)
    before = stored_blobs(svc)
    with pytest.raises(QuotaExceeded) as info:
        svc.files.begin_put(loc(svc, anna, "/b"), length=50)
    assert (info.value.needed, info.value.available) == (50, 40)
    assert stored_blobs(svc) == before
    assert_accounting(svc)


def test_a_user_quota_stops_a_stream_of_unknown_length(svc: Services) -> None:
    anna = factories.user(svc, "anna@lauscha", quota=100)
    put(svc, anna, "/a", b"x" * 60)
    up = svc.files.begin_put(loc(svc, anna, "/b"), length=None)
    up.write(b"y" * 30)
    with pytest.raises(QuotaExceeded) as info:
        up.write(b"y" * 30)
    assert (info.value.needed, info.value.available) == (60, 40)
    svc.files.abort_put(up)
    with pytest.raises(NodeNotFound):
        svc.files.stat(loc(svc, anna, "/b"))
    assert used(svc, anna) == 60
    assert not list((svc.blobs.root / ".tmp").iterdir())


def test_an_overwrite_needs_only_the_difference(svc: Services) -> None:
    anna = factories.user(svc, "anna@lauscha", quota=100)
    put(svc, anna, "/a", b"x" * 90)
    put(svc, anna, "/a", b"y" * 100)
    assert used(svc, anna) == 100
    with pytest.raises(QuotaExceeded):
        put(svc, anna, "/a", b"z" * 101)


def test_a_tenant_quota_counts_all_its_users(svc: Services) -> None:
    factories.tenant(svc, "lauscha", quota=100)
    anna = factories.user(svc, "anna@lauscha")
    carl = factories.user(svc, "carl@lauscha")
    put(svc, anna, "/a", b"x" * 70)
    with pytest.raises(QuotaExceeded) as info:
        put(svc, carl, "/c", b"x" * 40)
    assert info.value.available == 30
    put(svc, carl, "/c", b"x" * 30)
    assert_accounting(svc)


def test_a_team_space_quota(svc: Services, anna: Principal) -> None:
    team(svc, quota=50)
    member(svc, anna, SpaceRole.EDITOR)
    with pytest.raises(QuotaExceeded) as info:
        put(svc, anna, "/Team/big", b"x" * 60)
    assert (info.value.needed, info.value.available) == (60, 50)
    put(svc, anna, "/Team/ok", b"x" * 50)
    put(svc, anna, "/mine", b"x" * 60)  # the personal space has its own quota
    assert used(svc, anna, "/Team/") == 50
    with svc.db.read() as s:
        assert s.get_one(Tenant, anna.tenant_id).used_bytes == 110
    assert_accounting(svc)


def test_the_smallest_quota_wins(svc: Services) -> None:
    factories.tenant(svc, "lauscha", quota=30)
    anna = factories.user(svc, "anna@lauscha", quota=1000)
    assert svc.files.quota(loc(svc, anna))[1] == 30


def test_copy_is_charged_and_refused_over_the_quota(svc: Services) -> None:
    anna = factories.user(svc, "anna@lauscha", quota=100)
    put(svc, anna, "/a", b"x" * 60)
    with pytest.raises(QuotaExceeded) as info:
        svc.files.copy(loc(svc, anna, "/a"), loc(svc, anna, "/b"), actor=anna)
    assert (info.value.needed, info.value.available) == (60, 40)
    with pytest.raises(NodeNotFound):
        svc.files.stat(loc(svc, anna, "/b"))
    assert used(svc, anna) == 60


# -- versions ------------------------------------------------------------------------------


def test_an_overwrite_keeps_the_old_content_as_a_version(svc: Services, anna: Principal) -> None:
    first = put(svc, anna, "/a", b"one")
    put(svc, anna, "/a", b"two!")
    put(svc, anna, "/a", b"three")
    versions = svc.files.list_versions(loc(svc, anna, "/a"))
    assert [v.size for v in versions] == [4, 3]  # newest first
    assert versions[0].author == anna.login
    entry = svc.files.stat(loc(svc, anna, "/a"))
    assert entry.id == first.id
    assert used(svc, anna) == 5  # versions are not charged
    assert_accounting(svc)


def test_restore_version(svc: Services, anna: Principal) -> None:
    put(svc, anna, "/a", b"one")
    put(svc, anna, "/a", b"two!")
    etag = svc.files.stat(loc(svc, anna, "/a")).etag
    (old,) = svc.files.list_versions(loc(svc, anna, "/a"))
    entry = svc.files.restore_version(loc(svc, anna, "/a"), old.id, actor=anna)
    assert entry.etag != etag
    assert read(svc, anna, "/a") == b"one"
    (current_before,) = svc.files.list_versions(loc(svc, anna, "/a"))
    assert current_before.size == 4
    assert used(svc, anna) == 3
    assert_accounting(svc)


def test_versions_of_a_folder(svc: Services, anna: Principal) -> None:
    mkdir(svc, anna, "/d")
    with pytest.raises(IsCollection):
        svc.files.list_versions(loc(svc, anna, "/d"))


@pytest.fixture
def keep2(svc: Services) -> FileService:
    """The file service with ``versions_kept = 2``."""
    return FileService(
        svc.db, audit=svc.audit, blobs=svc.blobs, keys=svc.files.keys, versions_kept=2
    )


def test_retention_drops_the_oldest_versions_and_their_blobs(
    svc: Services, anna: Principal, keep2: FileService
) -> None:
    svc.files = keep2
    for i in range(6):
        put(svc, anna, "/a", f"content {i}".encode())
    versions = keep2.list_versions(loc(svc, anna, "/a"))
    assert len(versions) == 2
    with svc.db.read() as s:
        kept = {v.blob_id for v in s.scalars(select(Version))}
        current = s.scalars(select(Node.blob_id).where(Node.path == "/a")).one()
    assert stored_blobs(svc) == blob_rows(svc) == kept | {current}
    assert len(stored_blobs(svc)) == 3
    assert read(svc, anna, "/a") == b"content 5"
    for v, want in zip(versions, (b"content 4", b"content 3"), strict=True):
        restored = keep2.restore_version(loc(svc, anna, "/a"), v.id, actor=anna)
        assert restored.size == len(want)
        assert read(svc, anna, "/a") == want
        assert len(keep2.list_versions(loc(svc, anna, "/a"))) <= 2


def test_retention_keeps_a_blob_a_copy_still_uses(
    svc: Services, anna: Principal, keep2: FileService
) -> None:
    svc.files = keep2
    put(svc, anna, "/a", b"shared")
    keep2.copy(loc(svc, anna, "/a"), loc(svc, anna, "/copy"), actor=anna)
    for i in range(4):
        put(svc, anna, "/a", f"new {i}".encode())
    assert read(svc, anna, "/copy") == b"shared"
    with svc.db.read() as s:
        referenced = set(s.scalars(select(Node.blob_id).where(Node.blob_id.is_not(None))))
        referenced |= set(s.scalars(select(Version.blob_id)))
    assert stored_blobs(svc) == blob_rows(svc) == referenced


# -- trash -----------------------------------------------------------------------------------


def test_restore_to_the_original_place(svc: Services, anna: Principal) -> None:
    mkdir(svc, anna, "/d")
    f = put(svc, anna, "/d/f", b"data")
    svc.files.delete(loc(svc, anna, "/d/f"), actor=anna)
    assert size_of(svc, anna, "/d") == 0
    assert_accounting(svc)
    (item,) = svc.files.list_trash(anna)
    assert svc.files.restore_trash(anna, item.id) == "/d/f"
    assert read(svc, anna, "/d/f") == b"data"
    assert svc.files.stat(loc(svc, anna, "/d/f")).id == f.id
    assert size_of(svc, anna, "/d") == 4
    assert_accounting(svc)


def test_restore_to_the_root_when_the_parent_is_gone(svc: Services, anna: Principal) -> None:
    mkdir(svc, anna, "/d")
    put(svc, anna, "/d/f", b"data")
    svc.files.delete(loc(svc, anna, "/d/f"), actor=anna)
    svc.files.delete(loc(svc, anna, "/d"), actor=anna)
    item = next(t for t in svc.files.list_trash(anna) if t.path == "/d/f")
    assert svc.files.restore_trash(anna, item.id) == "/f"
    assert read(svc, anna, "/f") == b"data"
    assert_accounting(svc)


def test_restore_with_a_name_collision_adds_a_suffix(svc: Services, anna: Principal) -> None:
    for content in (b"1", b"22"):
        put(svc, anna, "/a.txt", content)
        svc.files.delete(loc(svc, anna, "/a.txt"), actor=anna)
    put(svc, anna, "/a.txt", b"333")
    restored = [svc.files.restore_trash(anna, t.id) for t in svc.files.list_trash(anna)]
    assert restored == ["/a.txt (restored 2)", "/a.txt (restored 3)"]
    assert {read(svc, anna, p) for p in restored} == {b"1", b"22"}
    assert read(svc, anna, "/a.txt") == b"333"
    assert_accounting(svc)


def test_restore_a_folder_with_its_contents_under_a_new_name(
    svc: Services, anna: Principal
) -> None:
    mkdir(svc, anna, "/d")
    mkdir(svc, anna, "/d/sub")
    put(svc, anna, "/d/sub/f", b"deep")
    svc.files.delete(loc(svc, anna, "/d"), actor=anna)
    mkdir(svc, anna, "/d")
    (item,) = svc.files.list_trash(anna)
    assert svc.files.restore_trash(anna, item.id) == "/d (restored 2)"
    assert read(svc, anna, "/d (restored 2)/sub/f") == b"deep"
    assert size_of(svc, anna, "/d (restored 2)") == 4
    assert_accounting(svc)


def test_restore_is_charged_to_the_quota(svc: Services) -> None:
    anna = factories.user(svc, "anna@lauscha", quota=100)
    put(svc, anna, "/a", b"x" * 60)
    svc.files.delete(loc(svc, anna, "/a"), actor=anna)
    put(svc, anna, "/b", b"x" * 60)
    (item,) = svc.files.list_trash(anna)
    with pytest.raises(QuotaExceeded):
        svc.files.restore_trash(anna, item.id)
    assert svc.files.list_trash(anna) == [item]
    assert_accounting(svc)


def test_another_users_trash_is_not_reachable(svc: Services, anna: Principal) -> None:
    put(svc, anna, "/a", b"x")
    svc.files.delete(loc(svc, anna, "/a"), actor=anna)
    (item,) = svc.files.list_trash(anna)
    carl = factories.user(svc, "carl@lauscha")
    assert svc.files.list_trash(carl) == []
    with pytest.raises(NodeNotFound):
        svc.files.restore_trash(carl, item.id)


def test_one_trash_item_is_purged_for_good_by_its_owner_only(
    svc: Services, anna: Principal
) -> None:
    mkdir(svc, anna, "/d")
    put(svc, anna, "/d/f", b"v1")
    put(svc, anna, "/d/f", b"v2")
    put(svc, anna, "/e", b"e")
    svc.files.delete(loc(svc, anna, "/d"), actor=anna)
    svc.files.delete(loc(svc, anna, "/e"), actor=anna)
    d = next(i for i in svc.files.list_trash(anna) if i.path == "/d")
    before = len(stored_blobs(svc))
    carl = factories.user(svc, "carl@lauscha")
    with pytest.raises(NodeNotFound):
        svc.files.purge_trash_item(carl, d.id)
    svc.files.purge_trash_item(anna, d.id)
    assert [i.path for i in svc.files.list_trash(anna)] == ["/e"]
    assert len(stored_blobs(svc)) == before - 2  # the file and its earlier version
    with pytest.raises(NodeNotFound):
        svc.files.purge_trash_item(anna, d.id)
    with pytest.raises(NodeNotFound):
        svc.files.restore_trash(anna, d.id)
    assert_accounting(svc)


def test_purge_removes_rows_and_blob_files(svc: Services, anna: Principal) -> None:
    mkdir(svc, anna, "/d")
    put(svc, anna, "/d/f", b"v1")
    put(svc, anna, "/d/f", b"v2")  # a version too
    put(svc, anna, "/keep", b"keep")
    svc.files.proppatch(
        loc(svc, anna, "/d/f"), [PropOp("urn:x", "p", "<p xmlns='urn:x'/>")], actor=anna
    )
    svc.files.delete(loc(svc, anna, "/d"), actor=anna)
    assert svc.files.purge_trash() == 0  # younger than the retention
    assert len(stored_blobs(svc)) == 3
    assert svc.files.purge_trash(older_than_days=0) == 1
    assert svc.files.list_trash(anna) == []
    with svc.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Version)) == 0
        paths = set(s.scalars(select(Node.path)))
    assert paths == {"", "/keep"}
    assert len(stored_blobs(svc)) == 1
    assert stored_blobs(svc) == blob_rows(svc)
    assert read(svc, anna, "/keep") == b"keep"
    assert_accounting(svc)


def test_purge_keeps_a_blob_a_live_copy_uses(svc: Services, anna: Principal) -> None:
    put(svc, anna, "/a", b"shared")
    svc.files.copy(loc(svc, anna, "/a"), loc(svc, anna, "/b"), actor=anna)
    svc.files.delete(loc(svc, anna, "/a"), actor=anna)
    svc.files.purge_trash(older_than_days=0)
    assert read(svc, anna, "/b") == b"shared"
    assert len(stored_blobs(svc)) == 1


# -- copy and move -------------------------------------------------------------------------


@pytest.fixture
def tree(svc: Services, anna: Principal) -> Principal:
    mkdir(svc, anna, "/src")
    mkdir(svc, anna, "/src/sub")
    put(svc, anna, "/src/a", b"aaa")
    put(svc, anna, "/src/sub/b", b"bb")
    mkdir(svc, anna, "/dst")
    return anna


def test_copy_shares_blobs_and_charges_the_quota(svc: Services, tree: Principal) -> None:
    blobs = stored_blobs(svc)
    svc.files.copy(loc(svc, tree, "/src"), loc(svc, tree, "/dst/copy"), actor=tree)
    assert stored_blobs(svc) == blobs
    assert used(svc, tree) == 10
    assert size_of(svc, tree, "/dst") == 5
    assert read(svc, tree, "/dst/copy/sub/b") == b"bb"
    assert_accounting(svc)


def test_copy_without_recursion_copies_the_folder_alone(svc: Services, tree: Principal) -> None:
    svc.files.copy(loc(svc, tree, "/src"), loc(svc, tree, "/dst/copy"), actor=tree, recursive=False)
    _, kids = svc.files.listing(loc(svc, tree, "/dst/copy"))
    assert kids == []
    assert size_of(svc, tree, "/dst/copy") == 0
    assert_accounting(svc)


def test_copy_overwrite_false(svc: Services, tree: Principal) -> None:
    put(svc, tree, "/dst/a", b"old")
    with pytest.raises(PreconditionFailed):
        svc.files.copy(
            loc(svc, tree, "/src/a"), loc(svc, tree, "/dst/a"), actor=tree, overwrite=False
        )
    assert svc.files.copy(loc(svc, tree, "/src/a"), loc(svc, tree, "/dst/a"), actor=tree)
    assert read(svc, tree, "/dst/a") == b"aaa"
    assert_accounting(svc)


@pytest.mark.parametrize("op", ["copy", "move"])
def test_into_itself(svc: Services, tree: Principal, op: str) -> None:
    fn = getattr(svc.files, op)
    with pytest.raises(IntoItself):
        fn(loc(svc, tree, "/src"), loc(svc, tree, "/src/sub/x"), actor=tree)
    with pytest.raises(IntoItself):
        fn(loc(svc, tree, "/src"), loc(svc, tree, "/src"), actor=tree)


@pytest.mark.parametrize("op", ["copy", "move"])
def test_onto_an_ancestor_of_the_source(svc: Services, tree: Principal, op: str) -> None:
    """The destination's replacement would take the source with it: refuse, or do it right."""
    fn = getattr(svc.files, op)
    try:
        fn(loc(svc, tree, "/src/sub"), loc(svc, tree, "/src"), actor=tree)
    except (Forbidden, IntoItself, ParentMissing, PreconditionFailed):
        assert read(svc, tree, "/src/sub/b") == b"bb"
    else:
        assert read(svc, tree, "/src/b") == b"bb"
    assert_accounting(svc)


def test_move_keeps_the_ids_and_fixes_the_sizes(svc: Services, tree: Principal) -> None:
    ids = {p: svc.files.stat(loc(svc, tree, p)).id for p in ("/src", "/src/sub/b")}
    svc.files.move(loc(svc, tree, "/src"), loc(svc, tree, "/dst/moved"), actor=tree)
    assert svc.files.stat(loc(svc, tree, "/dst/moved")).id == ids["/src"]
    assert svc.files.stat(loc(svc, tree, "/dst/moved/sub/b")).id == ids["/src/sub/b"]
    assert size_of(svc, tree, "/dst") == 5
    assert used(svc, tree) == 5
    assert_accounting(svc)


def test_move_of_the_root_is_refused(svc: Services, tree: Principal) -> None:
    with pytest.raises(ProtectedNode):
        svc.files.move(loc(svc, tree, "/"), loc(svc, tree, "/dst/root"), actor=tree)
    with pytest.raises(ProtectedNode):
        svc.files.delete(loc(svc, tree, "/"), actor=tree)


def test_move_needs_the_destination_parent(svc: Services, tree: Principal) -> None:
    with pytest.raises(ParentMissing):
        svc.files.move(loc(svc, tree, "/src"), loc(svc, tree, "/none/x"), actor=tree)


def test_move_between_personal_and_team_space_moves_the_usage(
    svc: Services, tree: Principal
) -> None:
    team(svc)
    member(svc, tree, SpaceRole.EDITOR)
    fid = svc.files.stat(loc(svc, tree, "/src/a")).id
    svc.files.move(loc(svc, tree, "/src"), loc(svc, tree, "/Team/src"), actor=tree)
    assert (used(svc, tree), used(svc, tree, "/Team/")) == (0, 5)
    assert svc.files.stat(loc(svc, tree, "/Team/src/a")).id == fid
    assert_accounting(svc)
    svc.files.move(loc(svc, tree, "/Team/src/sub"), loc(svc, tree, "/sub"), actor=tree)
    assert (used(svc, tree), used(svc, tree, "/Team/")) == (2, 3)
    assert read(svc, tree, "/sub/b") == b"bb"
    with svc.db.read() as s:
        assert s.get_one(Tenant, tree.tenant_id).used_bytes == 5
    assert_accounting(svc)


def test_move_into_a_full_team_space_is_refused(svc: Services, tree: Principal) -> None:
    team(svc, quota=4)
    member(svc, tree, SpaceRole.EDITOR)
    with pytest.raises(QuotaExceeded):
        svc.files.move(loc(svc, tree, "/src"), loc(svc, tree, "/Team/src"), actor=tree)
    assert read(svc, tree, "/src/a") == b"aaa"
    assert_accounting(svc)


def test_move_and_copy_to_another_tenant_are_refused(svc: Services, tree: Principal) -> None:
    ben = factories.user(svc, "ben@suhl")
    with pytest.raises(Forbidden):
        svc.files.move(loc(svc, tree, "/src/a"), loc(svc, ben, "/a"), actor=tree)
    with pytest.raises(Forbidden):
        svc.files.copy(loc(svc, tree, "/src/a"), loc(svc, ben, "/a"), actor=tree)


def test_another_users_tree_does_not_exist(svc: Services, tree: Principal) -> None:
    carl = factories.user(svc, "carl@lauscha")
    with pytest.raises(NodeNotFound):
        svc.files.locate(carl, tree.login, ["src"])
    with pytest.raises(NodeNotFound):
        svc.files.locate(carl, "nobody@lauscha", [])


# -- team spaces -----------------------------------------------------------------------------


def _root_names(svc: Services, who: Principal) -> dict[str, bool]:
    _, kids = svc.files.listing(loc(svc, who))
    return {k.name: k.is_mount for k in kids}


def test_a_team_space_is_mounted_for_direct_members(svc: Services, anna: Principal) -> None:
    team(svc)
    member(svc, anna, SpaceRole.EDITOR)
    put(svc, anna, "/mine", b"x")
    assert _root_names(svc, anna) == {"mine": False, "Team": True}
    put(svc, anna, "/Team/shared", b"team data")
    carl = factories.user(svc, "carl@lauscha")
    member(svc, carl, SpaceRole.VIEWER)
    assert read(svc, carl, "/Team/shared") == b"team data"


def test_a_team_space_is_mounted_for_group_members(svc: Services, anna: Principal) -> None:
    team(svc)
    svc.accounts.create_group("lauscha", "bauamt")
    svc.accounts.add_to_group("bauamt", anna.login)
    svc.files.set_space_member("lauscha", "Team", role=SpaceRole.EDITOR, group="bauamt")
    assert _root_names(svc, anna) == {"Team": True}
    put(svc, anna, "/Team/f", b"x")
    svc.accounts.remove_from_group("bauamt", anna.login)
    assert _root_names(svc, anna) == {}


def test_non_members_do_not_see_a_team_space(svc: Services, anna: Principal) -> None:
    team(svc)
    member(svc, anna, SpaceRole.EDITOR)
    put(svc, anna, "/Team/f", b"x")
    carl = factories.user(svc, "carl@lauscha")
    ben = factories.user(svc, "ben@suhl")
    for who in (carl, ben):
        assert _root_names(svc, who) == {}
        with pytest.raises(NodeNotFound):
            read(svc, who, "/Team/f")


def test_members_of_another_tenant_cannot_be_added(svc: Services, anna: Principal) -> None:
    team(svc)
    factories.user(svc, "ben@suhl")
    with pytest.raises(NotFound):
        svc.files.set_space_member("lauscha", "Team", role=SpaceRole.EDITOR, user_login="ben@suhl")


def test_a_viewer_can_read_but_not_write(svc: Services, anna: Principal) -> None:
    team(svc)
    member(svc, anna, SpaceRole.EDITOR)
    mkdir(svc, anna, "/Team/d")
    put(svc, anna, "/Team/d/f", b"data")
    carl = factories.user(svc, "carl@lauscha")
    member(svc, carl, SpaceRole.VIEWER)
    assert read(svc, carl, "/Team/d/f") == b"data"
    entry = svc.files.stat(loc(svc, carl, "/Team/d/f"))
    assert not entry.writable
    put(svc, carl, "/own", b"mine")
    attempts: list[Callable[[], object]] = [
        lambda: put(svc, carl, "/Team/d/f", b"changed"),
        lambda: put(svc, carl, "/Team/new", b"new"),
        lambda: mkdir(svc, carl, "/Team/e"),
        lambda: svc.files.delete(loc(svc, carl, "/Team/d/f"), actor=carl),
        lambda: svc.files.move(loc(svc, carl, "/Team/d/f"), loc(svc, carl, "/Team/g"), actor=carl),
        lambda: svc.files.move(loc(svc, carl, "/Team/d/f"), loc(svc, carl, "/taken"), actor=carl),
        lambda: svc.files.copy(loc(svc, carl, "/own"), loc(svc, carl, "/Team/own"), actor=carl),
        lambda: svc.files.proppatch(
            loc(svc, carl, "/Team/d/f"), [PropOp("urn:x", "p", None)], actor=carl
        ),
    ]
    for attempt in attempts:
        with pytest.raises(ReadOnly):
            attempt()
    # Copying out of a space one may read is allowed.
    svc.files.copy(loc(svc, carl, "/Team/d/f"), loc(svc, carl, "/copied"), actor=carl)
    assert read(svc, carl, "/copied") == b"data"
    assert read(svc, anna, "/Team/d/f") == b"data"
    assert_accounting(svc)


def test_the_best_role_wins(svc: Services, anna: Principal) -> None:
    team(svc)
    member(svc, anna, SpaceRole.VIEWER)
    svc.accounts.create_group("lauscha", "bauamt")
    svc.accounts.add_to_group("bauamt", anna.login)
    svc.files.set_space_member("lauscha", "Team", role=SpaceRole.EDITOR, group="bauamt")
    put(svc, anna, "/Team/f", b"x")


def test_a_team_space_root_cannot_be_deleted_or_moved(svc: Services, anna: Principal) -> None:
    team(svc)
    member(svc, anna, SpaceRole.MANAGER)
    with pytest.raises(ProtectedNode):
        svc.files.delete(loc(svc, anna, "/Team"), actor=anna)
    with pytest.raises(ProtectedNode):
        svc.files.move(loc(svc, anna, "/Team"), loc(svc, anna, "/Other"), actor=anna)


# -- accounting after every operation --------------------------------------------------------


def test_folder_sizes_follow_every_operation(svc: Services, anna: Principal) -> None:
    team(svc)
    member(svc, anna, SpaceRole.EDITOR)
    steps: list[tuple[str, Callable[[], object]]] = [
        ("mkdir", lambda: mkdir(svc, anna, "/a")),
        ("mkdir deep", lambda: mkdir(svc, anna, "/a/b")),
        ("put", lambda: put(svc, anna, "/a/b/f", b"x" * 10)),
        ("put 2", lambda: put(svc, anna, "/a/g", b"x" * 7)),
        ("overwrite bigger", lambda: put(svc, anna, "/a/b/f", b"x" * 25)),
        ("overwrite smaller", lambda: put(svc, anna, "/a/b/f", b"x" * 3)),
        (
            "copy folder",
            lambda: svc.files.copy(loc(svc, anna, "/a"), loc(svc, anna, "/c"), actor=anna),
        ),
        (
            "move into team",
            lambda: svc.files.move(loc(svc, anna, "/c/b"), loc(svc, anna, "/Team/b"), actor=anna),
        ),
        (
            "copy from team",
            lambda: svc.files.copy(loc(svc, anna, "/Team/b"), loc(svc, anna, "/a/b2"), actor=anna),
        ),
        (
            "overwrite by move",
            lambda: svc.files.move(loc(svc, anna, "/a/g"), loc(svc, anna, "/a/b/f"), actor=anna),
        ),
        ("delete file", lambda: svc.files.delete(loc(svc, anna, "/a/b2/f"), actor=anna)),
        ("delete folder", lambda: svc.files.delete(loc(svc, anna, "/c"), actor=anna)),
        (
            "restore",
            lambda: [
                svc.files.restore_trash(anna, t.id)
                for t in svc.files.list_trash(anna)
                if t.path in ("/c", "/a/b2/f")
            ],
        ),
        (
            "restore version",
            lambda: (
                svc.files.restore_version(
                    loc(svc, anna, "/Team/b/f"),
                    svc.files.list_versions(loc(svc, anna, "/Team/b/f"))[0].id,
                    actor=anna,
                )
                if svc.files.list_versions(loc(svc, anna, "/Team/b/f"))
                else None
            ),
        ),
        ("purge", lambda: svc.files.purge_trash(older_than_days=0)),
    ]
    for name, step in steps:
        step()
        try:
            assert_accounting(svc)
        except AssertionError as exc:
            raise AssertionError(f"after {name}: {exc}") from None
    assert size_of(svc, anna, "/") == sum(
        svc.files.stat(loc(svc, anna, p)).size for p in ("/a", "/c") if _exists(svc, anna, p)
    )


def _exists(svc: Services, who: Principal, path: str) -> bool:
    try:
        svc.files.stat(loc(svc, who, path))
    except NodeNotFound:
        return False
    return True
