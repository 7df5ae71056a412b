"""``/docs``: the API's reference, rendered here from the OpenAPI document.

Plain HTML, no script, no inline style and nothing from elsewhere (the site's
CSP is ``default-src 'self'``): operations grouped by tag, each with its
parameters, request body and responses, schemas written out as nested lists.
The stylesheet is served beside it, at ``/docs.css``.
"""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

router = APIRouter()

METHODS = ("get", "post", "put", "patch", "delete")
MAX_DEPTH = 4
CSP = "default-src 'self'; frame-ancestors 'none'"

STYLESHEET = """\
body { font-family: system-ui, sans-serif; line-height: 1.45; max-width: 62rem;
       margin: 0 auto; padding: 1rem 1.5rem 4rem; color: #1d1d1f; }
header p { color: #444; }
nav ul { columns: 2; }
h2 { border-bottom: 2px solid #0b5394; padding-bottom: .2rem; margin-top: 2.5rem; }
section.op { border-left: 4px solid #ccd; padding: .2rem 0 .2rem 1rem; margin: 1.5rem 0; }
h3 code { font-size: 1rem; }
.method { display: inline-block; min-width: 4.5em; font-weight: 700; text-transform: uppercase; }
.get { color: #0b6e2e; } .post { color: #0b5394; } .put, .patch { color: #8a5a00; }
.delete { color: #a4161a; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; }
th, td { text-align: left; vertical-align: top; border-bottom: 1px solid #ddd;
         padding: .25rem .5rem; }
code { background: #f3f3f6; padding: 0 .2em; border-radius: 3px; }
ul.schema { margin: .2rem 0; padding-left: 1.2rem; }
.type { color: #555; }
.required { color: #a4161a; font-size: .85em; }
@media (prefers-color-scheme: dark) {
  body { background: #141416; color: #e8e8ea; } code { background: #26262a; }
  header p, .type { color: #aaa; } th, td { border-color: #333; }
}
"""


def _ref(doc: dict[str, Any], schema: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        name = ref.rpartition("/")[2]
        found = doc.get("components", {}).get("schemas", {}).get(name, {})
        return name, found if isinstance(found, dict) else {}
    return None, schema


def _type(doc: dict[str, Any], schema: dict[str, Any]) -> str:
    """A short name for a schema: ``string``, ``FileItem``, ``list of Permission``, ..."""
    name, body = _ref(doc, schema)
    if name and "enum" in body:
        return f"{name} ({_type(doc, {'enum': body['enum']})})"
    if name:
        return name
    for key in ("anyOf", "oneOf"):
        if key in body:
            return " | ".join(_type(doc, s) for s in body[key])
    if "enum" in body:
        return " | ".join(repr(v) if isinstance(v, str) else str(v) for v in body["enum"])
    if "const" in body:
        return repr(body["const"])
    kind = body.get("type", "any")
    if kind == "array":
        return f"list of {_type(doc, body.get('items', {}))}"
    fmt = body.get("format")
    return f"{kind} ({fmt})" if fmt else str(kind)


def _schema(
    doc: dict[str, Any], schema: dict[str, Any], depth: int = 0, seen: frozenset[str] = frozenset()
) -> str:
    """An object schema as a nested list of its fields; other schemas by their type."""
    name, body = _ref(doc, schema)
    if name in seen or depth > MAX_DEPTH:
        return ""
    seen = seen | {name} if name else seen
    for key in ("anyOf", "oneOf"):
        if key in body:
            return "".join(_schema(doc, s, depth, seen) for s in body[key])
    if body.get("type") == "array":
        return _schema(doc, body.get("items", {}), depth, seen)
    props = body.get("properties")
    if not isinstance(props, dict) or not props:
        return ""
    required = set(body.get("required", []))
    rows = []
    for prop, sub in props.items():
        desc = sub.get("description", "")
        flag = ' <span class="required">required</span>' if prop in required else ""
        rows.append(
            f'<li><code>{escape(prop)}</code> <span class="type">{escape(_type(doc, sub))}'
            f"</span>{flag}{' — ' + escape(desc) if desc else ''}"
            f"{_schema(doc, sub, depth + 1, seen)}</li>"
        )
    return f'<ul class="schema">{"".join(rows)}</ul>'


def _operation(doc: dict[str, Any], method: str, path: str, op: dict[str, Any]) -> str:
    anchor = escape(str(op.get("operationId", f"{method}-{path}")))
    out = [
        f'<section class="op" id="{anchor}">',
        f'<h3><span class="method {method}">{method}</span> <code>{escape(path)}</code></h3>',
    ]
    if op.get("summary"):
        out.append(f"<p><strong>{escape(op['summary'])}</strong></p>")
    if op.get("description"):
        out.extend(f"<p>{escape(p)}</p>" for p in str(op["description"]).split("\n\n"))
    params = op.get("parameters", [])
    if params:
        out.append(
            "<table><thead><tr><th>Parameter</th><th>In</th><th>Type</th>"
            "<th>Description</th></tr></thead><tbody>"
        )
        for p in params:
            req = ' <span class="required">required</span>' if p.get("required") else ""
            schema = p.get("schema", {})
            default = schema.get("default")
            desc = p.get("description", schema.get("description", ""))
            extra = (
                f" (default: <code>{escape(str(default))}</code>)" if default is not None else ""
            )
            out.append(
                f"<tr><td><code>{escape(p['name'])}</code>{req}</td><td>{escape(p['in'])}</td>"
                f"<td>{escape(_type(doc, schema))}</td>"
                f"<td>{escape(desc)}{extra}</td></tr>"
            )
        out.append("</tbody></table>")
    body = op.get("requestBody", {}).get("content", {})
    for media, content in body.items():
        schema = content.get("schema", {})
        out.append(
            f"<p>Request body (<code>{escape(media)}</code>): "
            f'<span class="type">{escape(_type(doc, schema))}</span></p>'
        )
        out.append(_schema(doc, schema))
    out.append("<table><thead><tr><th>Status</th><th>Meaning</th><th>Body</th></tr></thead><tbody>")
    answers = sorted(op.get("responses", {}).items(), key=lambda kv: str(kv[0]))
    for status, resp in answers:
        kinds = []
        for media, content in resp.get("content", {}).items():
            kinds.append(
                f"<code>{escape(media)}</code> {escape(_type(doc, content.get('schema', {})))}"
            )
        out.append(
            f"<tr><td>{escape(str(status))}</td><td>{escape(resp.get('description', ''))}"
            f"</td><td>{'<br>'.join(kinds)}</td></tr>"
        )
    out.append("</tbody></table>")
    if answers:
        status, first = answers[0]
        for content in first.get("content", {}).values():
            fields = _schema(doc, content.get("schema", {}))
            if fields:
                out.append(f"<p>Response ({escape(str(status))}):</p>{fields}")
    out.append("</section>")
    return "\n".join(out)


def _anchor(tag: str) -> str:
    """An id for a tag's heading (ids hold no spaces)."""
    return "tag-" + escape("-".join(tag.split()))


def render(doc: dict[str, Any], prefix: str) -> str:
    """The whole reference page for the OpenAPI document ``doc``."""
    info = doc.get("info", {})
    tags = [t["name"] for t in doc.get("tags", [])]
    by_tag: dict[str, list[str]] = {t: [] for t in tags}
    for path, item in doc.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            for tag in op.get("tags", ["other"]):
                by_tag.setdefault(tag, []).append(_operation(doc, method, path, op))
    descriptions = {t["name"]: t.get("description", "") for t in doc.get("tags", [])}
    nav = "".join(
        f'<li><a href="#{_anchor(t)}">{escape(t)}</a></li>' for t, ops in by_tag.items() if ops
    )
    sections = []
    for tag, ops in by_tag.items():
        if not ops:
            continue
        desc = f"<p>{escape(descriptions.get(tag, ''))}</p>" if descriptions.get(tag) else ""
        sections.append(f'<h2 id="{_anchor(tag)}">{escape(tag)}</h2>{desc}' + "".join(ops))
    schemes = doc.get("components", {}).get("securitySchemes", {})
    auth = "".join(
        f"<li><code>{escape(name)}</code>: {escape(s.get('description', s.get('type', '')))}</li>"
        for name, s in schemes.items()
    )
    title = escape(str(info.get("title", "API")))
    version = str(doc.get("openapi", ""))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} {escape(str(info.get("version", "")))}</title>
<link rel="stylesheet" href="{escape(prefix)}/docs.css">
</head>
<body>
<header>
<h1>{title} <small>{escape(str(info.get("version", "")))}</small></h1>
<p>{escape(str(info.get("description", "")))}</p>
<p>Base address: <code>{escape(prefix)}</code>. The machine-readable description:
<a href="{escape(prefix)}/openapi.json">openapi.json</a> (OpenAPI {escape(version)}).</p>
</header>
<main>
<h2 id="authentication">Authentication</h2>
<ul>{auth}</ul>
<p>Errors are <code>application/problem+json</code> (RFC 9457).</p>
<nav><h2>Contents</h2><ul>{nav}</ul></nav>
{"".join(sections)}
</main>
</body>
</html>
"""


@router.get("/docs", include_in_schema=False)
async def docs_page(request: Request) -> Response:
    prefix = request.scope.get("root_path", "").rstrip("/")
    html = render(request.app.openapi(), prefix)
    return HTMLResponse(html, headers={"Content-Security-Policy": CSP, "Cache-Control": "no-cache"})


@router.get("/docs.css", include_in_schema=False)
async def docs_stylesheet() -> Response:
    return Response(
        STYLESHEET, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"}
    )
