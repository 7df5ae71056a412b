"""The Nextcloud/ownCloud client API's routes, for ``create_app`` to mount.

Chunked uploads (``/remote.php/dav/uploads``) are mounted by ``create_app``
itself, next to the WebDAV trees.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route

from thvc.compat import capabilities, loginflow, pages, sharees, shares, status, users
from thvc.compat.ocs import OcsApp, OcsRoute
from thvc.services import Services
from thvc.settings import Settings

SHARING = "/apps/files_sharing/api/v1"

OCS_ROUTES = [
    OcsRoute("GET", "/cloud/capabilities", capabilities.get_capabilities),
    OcsRoute("GET", "/cloud/user", users.get_current_user),
    OcsRoute("GET", "/cloud/users/{id}", users.get_user),
    # The literal /shares/pending before /shares/{id}: the first match wins.
    OcsRoute("GET", f"{SHARING}/shares", shares.list_shares),
    OcsRoute("POST", f"{SHARING}/shares", shares.create_share),
    OcsRoute("GET", f"{SHARING}/shares/pending", shares.pending_shares),
    OcsRoute("POST", f"{SHARING}/shares/pending/{{id}}", shares.accept_share),
    OcsRoute("DELETE", f"{SHARING}/shares/pending/{{id}}", shares.decline_share),
    OcsRoute("GET", f"{SHARING}/shares/{{id}}", shares.get_share),
    OcsRoute("PUT", f"{SHARING}/shares/{{id}}", shares.update_share),
    OcsRoute("DELETE", f"{SHARING}/shares/{{id}}", shares.delete_share),
    OcsRoute("GET", f"{SHARING}/sharees", sharees.search),
]


def compat_routes(settings: Settings, svc: Services) -> list[BaseRoute]:
    flow = loginflow.LoginFlowEndpoints(svc.login_flows, settings=settings)
    return [
        Route("/status.php", status.status_php, methods=["GET"]),
        Route("/index.php/204", status.connectivity_check, methods=["GET"]),
        Mount("/ocs/v1.php", app=OcsApp("/ocs/v1.php", 1, OCS_ROUTES, svc=svc)),
        Mount("/ocs/v2.php", app=OcsApp("/ocs/v2.php", 2, OCS_ROUTES, svc=svc)),
        Route(loginflow.START_PATH, flow.start, methods=["POST"]),
        Route(loginflow.POLL_PATH, flow.poll, methods=["POST"]),
        Route(pages.CSS_PATH, flow.stylesheet, methods=["GET"]),
        Route(loginflow.FLOW_PATH + "{token}", flow.flow_page, methods=["GET", "POST"]),
        Route(loginflow.GRANT_PATH + "{token}", flow.grant, methods=["POST"]),
    ]
