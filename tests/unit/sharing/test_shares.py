"""Shares to users and groups, across tenants, with policies; what recipients may do."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.common import factories
from tests.common.factories import loc, mkdir, put, read

from thvc.accounts.services import Principal
from thvc.db.types import utcnow
from thvc.errors import BadRequest, Forbidden, NotFound
from thvc.files.errors import NodeNotFound, ReadOnly
from thvc.files.perms import Perm
from thvc.files.services import MountKind
from thvc.services import Services
from thvc.sharing.models import ShareState
from thvc.sharing.services import TYPE_GROUP, TYPE_USER, PolicyForbids

READ = Perm.READ
RW = Perm.READ | Perm.UPDATE | Perm.CREATE | Perm.DELETE


@pytest.fixture
def anna(svc: Services) -> Principal:
    a = factories.user(svc, "anna@lauscha")
    mkdir(svc, a, "Haushalt")
    put(svc, a, "Haushalt/plan.txt", b"Plan 2026\n")
    return a


@pytest.fixture
def ben(svc: Services) -> Principal:
    return factories.user(svc, "ben@suhl")


def names(svc: Services, who: Principal, path: str = "/") -> list[str]:
    return [e.name for e in svc.files.listing(loc(svc, who, path))[1]]


def test_a_read_only_share_appears_in_the_recipients_root_and_refuses_writes(
    svc: Services, anna: Principal, ben: Principal
) -> None:
    svc.sharing.share(anna, loc(svc, anna, "Haushalt"), user="ben@suhl", permissions=READ)
    root = {e.name: e for e in svc.files.listing(loc(svc, ben))[1]}
    assert "Haushalt" in root
    mounted = root["Haushalt"]
    assert mounted.is_mount and mounted.mount_type is MountKind.SHARED
    assert mounted.owner == "anna@lauscha"
    assert read(svc, ben, "Haushalt/plan.txt") == b"Plan 2026\n"
    with pytest.raises(ReadOnly):
        put(svc, ben, "Haushalt/neu.txt", b"x")
    with pytest.raises(ReadOnly):
        svc.files.delete(loc(svc, ben, "Haushalt/plan.txt"), actor=ben)


def test_granting_update_takes_effect_at_once_and_revoking_hides_everything(
    svc: Services, anna: Principal, ben: Principal
) -> None:
    share = svc.sharing.share(anna, loc(svc, anna, "Haushalt"), user="ben@suhl", permissions=READ)
    svc.sharing.update_share(anna, share.id, permissions=RW)
    put(svc, ben, "Haushalt/neu.txt", b"von Ben")
    assert read(svc, anna, "Haushalt/neu.txt") == b"von Ben"
    svc.sharing.delete_share(anna, share.id)
    assert "Haushalt" not in names(svc, ben)
    with pytest.raises(NodeNotFound):
        read(svc, ben, "Haushalt/plan.txt")


def test_a_revocation_during_an_upload_stops_it_before_it_commits(
    svc: Services, anna: Principal, ben: Principal
) -> None:
    share = svc.sharing.share(anna, loc(svc, anna, "Haushalt"), user="ben@suhl", permissions=RW)
    up = svc.files.begin_put(loc(svc, ben, "Haushalt/gross.bin"), length=3)
    up.write(b"abc")
    svc.sharing.delete_share(anna, share.id)
    with pytest.raises(NodeNotFound):
        svc.files.finish_put(up, actor=ben)
    assert names(svc, anna, "Haushalt") == ["plan.txt"]


def test_the_upload_counts_against_the_owners_quota(
    svc: Services, anna: Principal, ben: Principal
) -> None:
    svc.sharing.share(anna, loc(svc, anna, "Haushalt"), user="ben@suhl", permissions=RW)
    before = svc.files.quota(loc(svc, anna))[0]
    put(svc, ben, "Haushalt/neu.txt", b"12345")
    assert svc.files.quota(loc(svc, anna))[0] == before + 5
    assert svc.files.quota(loc(svc, ben))[0] == 0


def test_a_reshare_never_grants_more_and_narrows_with_its_source(
    svc: Services, anna: Principal, ben: Principal
) -> None:
    carl = factories.user(svc, "carl@suhl")
    share = svc.sharing.share(
        anna, loc(svc, anna, "Haushalt"), user="ben@suhl", permissions=READ | Perm.SHARE
    )
    with pytest.raises(Forbidden, match="more than you hold"):
        svc.sharing.share(ben, loc(svc, ben, "Haushalt"), user="carl@suhl", permissions=RW)
    svc.sharing.share(ben, loc(svc, ben, "Haushalt"), user="carl@suhl", permissions=READ)
    assert read(svc, carl, "Haushalt/plan.txt") == b"Plan 2026\n"
    # Without SHARE, ben can no longer re-share; revoking ben's share removes carl's too.
    svc.sharing.update_share(anna, share.id, permissions=READ)
    with pytest.raises(Forbidden):
        svc.sharing.share(ben, loc(svc, ben, "Haushalt"), user="dora@suhl", permissions=READ)
    svc.sharing.delete_share(anna, share.id)
    assert "Haushalt" not in names(svc, carl)


def test_group_shares_reach_members_of_the_own_tenant_only(svc: Services, anna: Principal) -> None:
    kim = factories.user(svc, "kim@lauscha")
    svc.accounts.create_group("lauscha", "kaemmerei")
    svc.accounts.add_to_group("kaemmerei", "kim@lauscha")
    svc.sharing.share(anna, loc(svc, anna, "Haushalt"), group="kaemmerei", permissions=READ)
    assert "Haushalt" in names(svc, kim)
    entry = svc.files.stat(loc(svc, anna, "Haushalt"))
    assert entry.share_types == (TYPE_GROUP,)
    with pytest.raises(NotFound):
        svc.sharing.share(anna, loc(svc, anna, "Haushalt"), group="nobody", permissions=READ)


def test_share_types_show_on_the_owners_side(
    svc: Services, anna: Principal, ben: Principal
) -> None:
    svc.sharing.share(anna, loc(svc, anna, "Haushalt"), user="ben@suhl", permissions=READ)
    kids = {e.name: e for e in svc.files.listing(loc(svc, anna))[1]}
    assert kids["Haushalt"].share_types == (TYPE_USER,)


def test_the_stricter_policy_wins_across_tenants(
    svc: Services, anna: Principal, ben: Principal
) -> None:
    svc.tenants.set_policy("suhl", share_with="none")
    with pytest.raises(PolicyForbids, match="suhl"):
        svc.sharing.share(anna, loc(svc, anna, "Haushalt"), user="ben@suhl", permissions=READ)
    svc.tenants.set_policy("suhl", share_with="lauscha")
    svc.sharing.share(anna, loc(svc, anna, "Haushalt"), user="ben@suhl", permissions=READ)
    assert "suhl" in svc.sharing.may_share_with(anna)


def test_pending_shares_wait_for_acceptance_where_the_policy_says_so(
    svc: Services, anna: Principal, ben: Principal
) -> None:
    svc.tenants.set_policy("suhl", auto_accept=False)
    share = svc.sharing.share(anna, loc(svc, anna, "Haushalt"), user="ben@suhl", permissions=READ)
    assert share.state is ShareState.PENDING
    assert "Haushalt" not in names(svc, ben)
    svc.sharing.respond(ben, share.id, accept=True)
    assert "Haushalt" in names(svc, ben)


def test_expired_shares_vanish(svc: Services, anna: Principal, ben: Principal) -> None:
    share = svc.sharing.share(
        anna,
        loc(svc, anna, "Haushalt"),
        user="ben@suhl",
        permissions=READ,
        expires_at=utcnow() + timedelta(days=1),
    )
    assert "Haushalt" in names(svc, ben)
    with svc.db.write() as s:
        from thvc.sharing.models import Share

        s.get_one(Share, share.id).expires_at = utcnow() - timedelta(seconds=1)
    assert "Haushalt" not in names(svc, ben)


def test_name_clashes_get_the_sharers_login(svc: Services, anna: Principal, ben: Principal) -> None:
    mkdir(svc, ben, "Haushalt")
    svc.sharing.share(anna, loc(svc, anna, "Haushalt"), user="ben@suhl", permissions=READ)
    assert sorted(names(svc, ben)) == ["Haushalt", "Haushalt (anna@lauscha)"]
    assert read(svc, ben, "Haushalt (anna@lauscha)/plan.txt") == b"Plan 2026\n"


def test_bad_share_requests(svc: Services, anna: Principal, ben: Principal) -> None:
    with pytest.raises(BadRequest):
        svc.sharing.share(anna, loc(svc, anna, "Haushalt"), user="anna@lauscha")
    with pytest.raises(NotFound):
        svc.sharing.share(anna, loc(svc, anna, "Haushalt"), user="niemand@suhl")
    with pytest.raises(Forbidden):
        svc.sharing.share(anna, loc(svc, anna), user="ben@suhl")
    with pytest.raises(BadRequest):
        svc.sharing.share(
            anna, loc(svc, anna, "Haushalt"), user="ben@suhl", permissions=Perm.UPDATE
        )
    with pytest.raises(NotFound):
        svc.sharing.share(anna, loc(svc, anna, "Fehlt"), user="ben@suhl")
    # Someone else's share cannot be changed or revoked: it does not exist for them.
    share = svc.sharing.share(anna, loc(svc, anna, "Haushalt"), user="ben@suhl")
    eve = factories.user(svc, "eve@erfurt")
    with pytest.raises(NotFound):
        svc.sharing.delete_share(eve, share.id)


def test_deleting_a_received_share_from_ones_root_leaves_it(
    svc: Services, anna: Principal, ben: Principal
) -> None:
    share = svc.sharing.share(anna, loc(svc, anna, "Haushalt"), user="ben@suhl", permissions=RW)
    svc.files.delete(loc(svc, ben, "Haushalt"), actor=ben)
    assert "Haushalt" not in names(svc, ben)
    assert names(svc, anna, "Haushalt") == ["plan.txt"]
    assert svc.sharing.get_share(anna, share.id).state is ShareState.DECLINED


def test_sharing_again_after_the_recipient_left_offers_it_anew(
    svc: Services, anna: Principal, ben: Principal
) -> None:
    first = svc.sharing.share(anna, loc(svc, anna, "Haushalt"), user="ben@suhl", permissions=READ)
    svc.files.delete(loc(svc, ben, "Haushalt"), actor=ben)
    again = svc.sharing.share(anna, loc(svc, anna, "Haushalt"), user="ben@suhl", permissions=RW)
    assert again.id == first.id and again.state is ShareState.ACCEPTED
    assert again.permissions == RW
    assert "Haushalt" in names(svc, ben)


def test_a_link_may_live_to_the_end_of_its_last_allowed_day(svc: Services, anna: Principal) -> None:
    svc.tenants.set_policy("lauscha", link_max_days=7)
    day7 = (utcnow() + timedelta(days=7)).replace(hour=23, minute=59, second=59)
    link = svc.sharing.create_link(anna, loc(svc, anna, "Haushalt"), expires_at=day7)
    assert link.expires_at == day7
    with pytest.raises(PolicyForbids, match="7 days"):
        svc.sharing.create_link(
            anna, loc(svc, anna, "Haushalt"), expires_at=day7 + timedelta(days=1)
        )
    unlimited = svc.sharing.create_link(anna, loc(svc, anna, "Haushalt"))
    assert unlimited.expires_at is not None and unlimited.expires_at >= day7


def test_a_verified_link_password_gives_a_ticket_that_a_new_password_voids(
    svc: Services, anna: Principal
) -> None:
    from thvc.errors import NotAuthenticated

    link = svc.sharing.create_link(anna, loc(svc, anna, "Haushalt"), password="erstes-passwort")
    with pytest.raises(NotAuthenticated):
        svc.sharing.open_link(link.token, None)
    ticket = svc.sharing.open_link(link.token, "erstes-passwort").ticket
    assert svc.sharing.open_link(link.token, None, ticket=ticket).link_id == link.id
    # Change the last digit to a different one (a fixed "0" would equal it one time in 16).
    forged = ticket[:-1] + ("1" if ticket[-1] == "0" else "0")
    with pytest.raises(NotAuthenticated):
        svc.sharing.open_link(link.token, None, ticket=forged)
    svc.sharing.update_link(anna, link.id, password="zweites-passwort")
    with pytest.raises(NotAuthenticated):
        svc.sharing.open_link(link.token, None, ticket=ticket)
