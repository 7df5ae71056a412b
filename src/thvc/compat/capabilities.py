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
- ``files_sharing.api_enabled`` false hides the sharing UI until sharing exists;
- ``files.undelete`` and ``files.versioning`` make the mobile apps offer the
  trash bin and versions over ``/remote.php/dav/trashbin`` and
  ``/remote.php/dav/versions``, which ThVC does not serve yet: false.

Anonymous callers (the mobile apps before login) get everything but sharing.
"""

from __future__ import annotations

from typing import Any

from thvc.compat import status
from thvc.compat.ocs import OcsRequest
from thvc.files.services import Checksum

# Seconds between the clients' checks for remote changes (Nextcloud's default).
POLL_INTERVAL = 60
# What the file core verifies when a PUT carries OC-Checksum; the preferred one first.
CHECKSUM_TYPES = ["SHA256", *(k for k in Checksum.KINDS if k != "SHA256"), "ADLER32"]


def capabilities(*, authenticated: bool) -> dict[str, Any]:
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
    if authenticated:
        caps["files_sharing"] = {"api_enabled": False}
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
    return capabilities(authenticated=who is not None)
