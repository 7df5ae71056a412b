"""``/status.php`` and ``/index.php/204``: what the clients probe before anything else.

The clients decide what to use from the capabilities, not from the version,
except for a few switches: the Nextcloud desktop client (3.x) warns about
servers older than 16, prefills the login name in Login Flow v2 and asks for a
checksum to be recalculated (``X-Recalculate-Hash``) from 24 on, and offers
secure file drop (end-to-end encryption) from 26. The ownCloud client 2.11
refuses servers below 10 and any whose ``version-productname`` ends in
"Nextcloud". We report the API level of Nextcloud 28, whose behaviour the
WebDAV and OCS adapters follow, under our own product name.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

MAJOR, MINOR, MICRO = 28, 0, 0
VERSION = f"{MAJOR}.{MINOR}.{MICRO}.0"
VERSION_STRING = f"{MAJOR}.{MINOR}.{MICRO}"
PRODUCT = "ThVC"


def status_document() -> dict[str, object]:
    return {
        "installed": True,
        "maintenance": False,
        "needsDbUpgrade": False,
        "version": VERSION,
        "versionstring": VERSION_STRING,
        "edition": "",
        "productname": PRODUCT,
        "extendedSupport": False,
    }


async def status_php(request: Request) -> Response:
    """Always JSON, with no authentication, as Nextcloud's ``status.php``."""
    return JSONResponse(
        status_document(),
        headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"},
    )


async def connectivity_check(request: Request) -> Response:
    """``/index.php/204``: the mobile apps' captive-portal check expects an empty 204."""
    return Response(status_code=204)
