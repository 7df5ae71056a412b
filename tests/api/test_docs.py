"""The OpenAPI document and the reference page ThVC renders from it (no script, no inline
style, nothing from elsewhere), and the API mounted in the whole application."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from starlette.types import ASGIApp

from tests.api.support import Api
from thvc import __version__
from thvc.accounts.services import Principal
from thvc.app import create_app
from thvc.services import Services
from thvc.settings import Settings


def test_the_openapi_document(anonymous: Api) -> None:
    doc = anonymous.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    assert doc["info"]["title"] == "ThVC API" and doc["info"]["version"] == __version__
    assert doc["servers"] == [{"url": "/api/v1"}]
    assert set(doc["components"]["securitySchemes"]) == {"basic", "bearer", "session"}
    assert doc["components"]["securitySchemes"]["session"]["name"] == "thvc_session"
    assert "/me" in doc["paths"] and "/files/content" in doc["paths"]
    assert "/docs" not in doc["paths"]
    me = doc["paths"]["/me"]["get"]
    assert me["security"] == [{"basic": []}, {"bearer": []}, {"session": []}]
    assert me["operationId"] == "get_me"
    assert set(me["responses"]["401"]["content"]) == {"application/problem+json"}
    assert me["responses"]["401"]["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/Problem"
    }


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_the_docs_page_is_plain_html_from_this_server(anonymous: Api) -> None:
    r = anonymous.get("/docs")
    assert r.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    parser = _Tags()
    parser.feed(r.text)
    names = [t for t, _ in parser.tags]
    assert "script" not in names and "style" not in names
    assert not any(
        "style" in attrs or any(a.startswith("on") for a in attrs) for _, attrs in parser.tags
    )
    links = [a.get("href") or a.get("src") for _, a in parser.tags if a.get("href") or a.get("src")]
    assert all(not re.match(r"^(https?:)?//", str(u)) for u in links), links
    assert ("link", {"rel": "stylesheet", "href": "/api/v1/docs.css"}) in parser.tags
    # Grouped by tag, with parameters and schemas.
    assert 'id="tag-files"' in r.text and 'id="list_folder"' in r.text
    assert "next_cursor" in r.text and "application/problem+json" in r.text
    css = anonymous.get("/docs.css")
    assert css.headers["content-type"].startswith("text/css") and "body" in css.text


def test_the_api_is_mounted_after_the_tus_endpoint(
    settings: Settings, svc: Services, anna: Principal
) -> None:
    app: ASGIApp = create_app(settings, svc)
    api = Api(app, anna.login)
    assert api.get("/me").json()["login"] == anna.login
    assert api.get("/openapi.json").json()["servers"] == [{"url": "/api/v1"}]
    # /api/v1/uploads is still tus.
    r = api.request("OPTIONS", "/uploads/", check=204)
    assert r.headers["tus-resumable"] == "1.0.0"
