"""``/ocs/v{1,2}.php/cloud/user`` and ``/cloud/users/{id}``: who the caller is, and their quota.

The desktop clients take ``id`` as the user name in every WebDAV URL
(``/remote.php/dav/files/{id}/``) and show ``display-name``; the mobile apps
show ``email`` and the ``quota`` block. Only one's own account is visible:
any other id is "not found" (404, or 998 under v1), whether it exists or not.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread

from thvc.accounts.services import Principal
from thvc.compat.ocs import OcsRequest
from thvc.errors import NotFound
from thvc.services import Services

# Nextcloud's (and SabreDAV's) "unlimited" / "unknown" for quota numbers.
SPACE_UNLIMITED = -3


def quota_block(used: int, available: int | None) -> dict[str, Any]:
    """Nextcloud's ``OC_Helper::getStorageInfo`` numbers for a used/available pair."""
    if available is None:
        # No limit, and no meaningful "free": Nextcloud's numbers for an unknown free space.
        return {
            "free": SPACE_UNLIMITED,
            "used": used,
            "total": SPACE_UNLIMITED,
            "relative": 0,
            "quota": SPACE_UNLIMITED,
        }
    total = used + available
    return {
        "free": available,
        "used": used,
        "total": total,
        "relative": round(used / total * 100, 2) if total > 0 else 0,
        "quota": total,
    }


def user_data(svc: Services, actor: Principal) -> dict[str, Any]:
    """Blocking: the account's record and its personal space's quota."""
    loc = svc.files.locate(actor, actor.login, [])
    used, available = svc.files.quota(loc)
    with svc.db.read() as s:
        user = svc.accounts.get_user(s, actor.login)
        email = user.email
    return {
        "enabled": True,
        "id": actor.login,
        "display-name": actor.display_name,
        "displayname": actor.display_name,
        "email": email,
        "quota": quota_block(used, available),
    }


async def get_current_user(ocs: OcsRequest) -> dict[str, Any]:
    actor = await ocs.actor()
    return await anyio.to_thread.run_sync(lambda: user_data(ocs.svc, actor))


async def get_user(ocs: OcsRequest) -> dict[str, Any]:
    actor = await ocs.actor()
    if ocs.params["id"].strip().lower() != actor.login:
        raise NotFound("User does not exist")
    return await anyio.to_thread.run_sync(lambda: user_data(ocs.svc, actor))
