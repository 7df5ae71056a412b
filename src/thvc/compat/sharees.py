"""``GET /ocs/v{1,2}.php/apps/files_sharing/api/v1/sharees``: the recipient search.

The share dialogs of the desktop and mobile apps and of the web ask it as the
user types (``search``, ``itemType``, ``perPage``, ``page``, ``shareType[]``).
The answer has Nextcloud's shape (``ShareesAPIController``): ``exact`` and
partial ``users`` and ``groups``, every other kind empty, no lookup server.
Whom it may list is the sharing core's decision
(:func:`thvc.sharing.sharees.find_sharees`): the own tenant and the tenants the
policies allow, another tenant's users only for three characters or more.
"""

from __future__ import annotations

from typing import Any

from thvc.compat.ocs import OcsRequest
from thvc.compat.shares import in_thread, read_params, reported
from thvc.errors import BadRequest
from thvc.sharing.services import TYPE_GROUP, TYPE_USER
from thvc.sharing.sharees import Sharee, find_sharees

# Nextcloud's sharing.maxAutocompleteResults default.
MAX_PER_PAGE = 25
# Beyond this many results nobody is looking for a name any more.
MAX_RESULTS = 500
KINDS = ("users", "groups", "remotes", "remote_groups", "emails", "circles", "rooms")


def _entry(x: Sharee) -> dict[str, Any]:
    if x.share_type == TYPE_GROUP:
        return {"label": x.display_name, "value": {"shareType": TYPE_GROUP, "shareWith": x.id}}
    return {
        "label": x.display_name,
        "subline": "",
        "icon": "icon-user",
        "value": {"shareType": TYPE_USER, "shareWith": x.id},
        # A login (name@tenant) tells two people of the same name apart.
        "shareWithDisplayNameUnique": x.id,
        "status": [],
    }


@reported
async def search(ocs: OcsRequest) -> dict[str, Any]:
    actor = await ocs.actor()
    p = await read_params(ocs)
    term = p.text("search", max_len=200) or ""
    if p.text("itemType") is None:
        raise BadRequest("Missing itemType")
    page = p.integer("page", 1, 10**6) or 1
    per_page = min(p.integer("perPage", 1, 10**6) or MAX_PER_PAGE, MAX_PER_PAGE)
    wanted = set(p.integers("shareType") or (TYPE_USER, TYPE_GROUP))
    offset = (page - 1) * per_page
    found: list[Sharee] = []
    if offset < MAX_RESULTS:
        limit = min(offset + per_page, MAX_RESULTS)
        found = await in_thread(lambda: find_sharees(ocs.svc.sharing, actor, term, limit))
    exact: dict[str, list[dict[str, Any]]] = {k: [] for k in KINDS}
    partial: dict[str, list[dict[str, Any]]] = {k: [] for k in KINDS}
    for kind, key in ((TYPE_USER, "users"), (TYPE_GROUP, "groups")):
        if kind not in wanted:
            continue
        mine = [x for x in found if x.share_type == kind]
        exact[key] = [_entry(x) for x in mine if x.exact] if page == 1 else []
        partial[key] = [_entry(x) for x in mine if not x.exact][offset : offset + per_page]
    return {"exact": exact, **partial, "lookup": [], "lookupEnabled": False}
