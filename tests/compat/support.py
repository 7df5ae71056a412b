"""Helpers for the compat tests: OCS answers as dicts, HTML forms as dicts."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import httpx

from tests.common import factories
from tests.common.dav import basic


def auth(login: str, password: str = factories.PASSWORD) -> dict[str, str]:
    """Headers as the clients send them to the OCS API."""
    return {"Authorization": basic(login, password), "OCS-APIRequest": "true"}


def ocs_json(r: httpx.Response) -> tuple[dict[str, Any], Any]:
    """(meta, data) of a JSON OCS answer."""
    assert r.headers["content-type"].startswith("application/json"), r.text
    doc = json.loads(r.text)
    assert set(doc) == {"ocs"} and set(doc["ocs"]) == {"meta", "data"}, doc
    return doc["ocs"]["meta"], doc["ocs"]["data"]


def ocs_xml(r: httpx.Response) -> tuple[ET.Element, ET.Element]:
    """(meta, data) elements of an XML OCS answer."""
    assert r.headers["content-type"].startswith("application/xml"), r.text
    root = ET.fromstring(r.content)
    assert root.tag == "ocs", r.text
    meta, data = root.find("meta"), root.find("data")
    assert meta is not None and data is not None, r.text
    return meta, data


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: dict[str, list[str]] = field(default_factory=dict)


class Page(HTMLParser):
    """What the tests look at in a page: forms, inputs, labels, links, scripts, styles."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.lang: str | None = None
        self.forms: list[Form] = []
        self.inputs: list[dict[str, str]] = []
        self.label_for: list[str] = []
        self.stylesheets: list[str] = []
        self.scripts = 0
        self.style_attrs = 0
        self.alerts = 0
        self.duplicate_attrs: list[str] = []
        self.ids: list[str] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if len(a) != len(attrs):
            self.duplicate_attrs.append(tag)
        if "id" in a:
            self.ids.append(a["id"])
        if "style" in a or tag == "style":
            self.style_attrs += 1
        if tag == "html":
            self.lang = a.get("lang")
        elif tag == "script":
            self.scripts += 1
        elif tag == "link" and a.get("rel") == "stylesheet":
            self.stylesheets.append(a["href"])
        elif tag == "form":
            self.forms.append(Form(a.get("action", ""), a.get("method", "get")))
        elif tag == "input":
            self.inputs.append(a)
            if self.forms and "name" in a:
                self.forms[-1].fields[a["name"]] = a.get("value", "")
        elif tag == "button" and self.forms and "name" in a:
            self.forms[-1].buttons.setdefault(a["name"], []).append(a.get("value", ""))
        elif tag == "label":
            self.label_for.append(a.get("for", ""))
        if a.get("role") == "alert":
            self.alerts += 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    @property
    def all_text(self) -> str:
        return " ".join(" ".join(self.text).split())

    @property
    def form(self) -> Form:
        assert len(self.forms) == 1, self.forms
        return self.forms[0]
