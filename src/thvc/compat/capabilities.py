"""``GET /ocs/v{1,2}.php/cloud/capabilities``: what the clients may use here.

The clients switch features on what this says, so it says only what ThVC
does. The keys they read (Nextcloud desktop 3.7 ``capabilities.cpp``,
ownCloud client 2.11, the Nextcloud mobile apps):

- ``core.webdav-root`` and ``core.pollinterval``;
- ``dav.chunking`` >= "1.0" switches chunked uploads on (``/remote.php/dav/uploads``);
  ``dav.bulkupload`` would switch on ``/remote.php/dav/bulk``, which ThVC does
  not have, so it is absent;
- ``files.bigfilechunking`` (ownCloud; default true);
- ``checksums.preferredUploadType`` is the type the clients put in
  ``OC-Checksum`` on upload (both default to SHA1 without it). SHA256 is what
  the file core stores and reports in ``oc:checksums``, so uploads, downloads
  and conflict checks all compare one type;
- ``files_sharing`` (for a logged-in caller) switches the share dialogs on and says
  what the caller's tenant policy allows: ``public.enabled`` (links at all),
  ``public.password.enforced``, ``public.expire_date`` (``enforced`` with the
  maximum ``days``), ``public.upload`` (read-write links and file drops). No
  federation, no share mails, no lookup server. The core applies the policies
  either way; this only spares the user a refusal;
- ``files.undelete`` and ``files.versioning`` make the mobile apps offer the
  trash bin and versions over ``/remote.php/dav/trashbin`` and
  ``/remote.php/dav/versions``, which ThVC does not serve yet: false.

Anonymous callers (the mobile apps before login) get everything but sharing.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread

from thvc.compat import status
from thvc.compat.ocs import OcsRequest
from thvc.files.perms import Perm
from thvc.files.services import Checksum
from thvc.tenants.services import Policy, policy_of

# Seconds between the clients' checks for remote changes (Nextcloud's default).
POLL_INTERVAL = 60
# What the file core verifies when a PUT carries OC-Checksum; the preferred one first.
CHECKSUM_TYPES = ["SHA256", *(k for k in Checksum.KINDS if k != "SHA256"), "ADLER32"]


def sharing(policy: Policy) -> dict[str, Any]:
    """Nextcloud's ``files_sharing`` block for a caller whose tenant has ``policy``."""
    days = policy.link_max_days
    links = policy.links
    return {
        "api_enabled": True,
        "public": {
            "enabled": links,
            "password": {
                "enforced": links and policy.link_password_required,
                "askForOptionalPassword": False,
            },
            "expire_date": (
                {"enabled": True, "days": days, "enforced": True}
                if links and days is not None
                else {"enabled": False}
            ),
            "expire_date_internal": {"enabled": False},
            "expire_date_remote": {"enabled": False},
            "multiple_links": True,
            "send_mail": False,
            "upload": links,
            "upload_files_drop": links,
        },
        "resharing": True,
        "user": {"send_mail": False, "expire_date": {"enabled": True}},
        "group_sharing": True,
        "group": {"enabled": True, "expire_date": {"enabled": True}},
        "default_permissions": int(Perm.all()),
        "federation": {
            "outgoing": False,
            "incoming": False,
            "expire_date": {"enabled": False},
            "expire_date_supported": {"enabled": False},
        },
        "sharee": {"query_lookup_default": False, "always_show_unique": True},
    }


def capabilities(*, policy: Policy | None) -> dict[str, Any]:
    """Everything; ``files_sharing`` only for a logged-in caller (``policy`` is their
    tenant's)."""
    caps: dict[str, Any] = {
        "core": {"pollinterval": POLL_INTERVAL, "webdav-root": "remote.php/webdav"},
        "dav": {"chunking": "1.0"},
        "files": {
            "bigfilechunking": True,
            "blacklisted_files": [".htaccess"],
            "undelete": False,
            "versioning": False,
        },
        "checksums": {"supportedTypes": CHECKSUM_TYPES, "preferredUploadType": "SHA256"},
    }
    if policy is not None:
        caps["files_sharing"] = sharing(policy)
    return {
        "version": {
            "major": status.MAJOR,
            "minor": status.MINOR,
            "micro": status.MICRO,
            "string": status.VERSION_STRING,
            "edition": "",
            "extendedSupport": False,
        },
        "capabilities": caps,
    }


async def get_capabilities(ocs: OcsRequest) -> dict[str, Any]:
    """Anonymous or with valid credentials; wrong credentials are a 401 all the same."""
    who = await ocs.caller()
    if who is None:
        return capabilities(policy=None)

    tenant_id = who.tenant_id

    def tenant_policy() -> Policy:
        with ocs.svc.db.read() as s:
            return policy_of(s, tenant_id)

    return capabilities(policy=await anyio.to_thread.run_sync(tenant_policy))
