"""``/ocs/v{1,2}.php/apps/files_sharing/api/v1/shares``: Nextcloud's OCS Share API.

What the desktop and mobile apps and the web interface call to share a file or
folder, list shares, change and revoke them, and accept or decline received
ones (Nextcloud ``ShareAPIController``; ``pending`` and ``state`` as ownCloud 10
has them). Every rule is the sharing core's; this module reads parameters,
calls it, and renders its answers in Nextcloud's field names.

- Parameters come from the query string and from a url-encoded, multipart or
  JSON body (the body wins), as Nextcloud's request object merges them.
- Share types: 0 user, 1 group, 3 public link, 4 e-mail. An e-mail share is a
  public link labelled with the address; no mail is sent.
- Ids: user and group shares and links are two tables in the core, one id space
  here. A share's OCS id is twice its id, a link's twice its id plus one, so
  ids stay numbers (the mobile apps parse them as integers).
- Errors carry the code Nextcloud gives them: 400 malformed, 403 not allowed
  (with the core's reason), 404 no such file, folder or share. Under v1 the
  code is in ``statuscode`` with HTTP 200.
- A link's password is never sent back; ``password`` is a fixed marker when
  one is set, which is all the clients look at.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from email import policy as email_policy
from email.parser import BytesParser
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qsl

import anyio.to_thread
from sqlalchemy import select

from thvc.accounts.models import User
from thvc.accounts.services import Principal
from thvc.compat.auth import client_address
from thvc.compat.ocs import OcsRequest, Reported
from thvc.errors import (
    AlreadyExists,
    BadRequest,
    Forbidden,
    NotAuthenticated,
    NotFound,
    ThvcError,
    TooManyFailedLogins,
)
from thvc.files import paths
from thvc.files.models import Node, Space
from thvc.files.perms import Perm
from thvc.files.services import Location, MountKind
from thvc.services import Services
from thvc.sharing.models import LinkKind, ShareState
from thvc.sharing.services import TYPE_EMAIL, TYPE_GROUP, TYPE_LINK, TYPE_USER, LinkInfo, ShareInfo

BODY_LIMIT = 64 * 1024
LABEL_MAX = 200  # the core's column
ID_MAX = 2**31 - 1  # the core's integer ids
PASSWORD_MARKER = "********"  # noqa: S105 - shown instead of a password
LINK_DISPLAY_NAME = "(Shared link)"
WRONG_ID = "Wrong share ID, share does not exist"
FOLDER_MIME = "httpd/unix-directory"
# ownCloud's numbers for a received share's state, and its ?state= filter.
STATE_CODES = {ShareState.ACCEPTED: 0, ShareState.PENDING: 1, ShareState.DECLINED: 2}
DATE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
)
INTEGER = re.compile(r"[+-]?\d{1,30}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
PERMS_HELP = "1 read, 2 update, 4 create, 8 delete, 16 share"
UPDATABLE = (
    "permissions",
    "password",
    "publicUpload",
    "expireDate",
    "note",
    "label",
    # Accepted and ignored: ThVC has no hidden downloads, Talk or share mails.
    "hideDownload",
    "sendPasswordByTalk",
    "sendMail",
    "attributes",
)

T = TypeVar("T")


# -- parameters --------------------------------------------------------------


def _clean(value: str) -> str:
    """A parameter the core and both databases can store: no NUL, valid UTF-8."""
    if "\x00" in value:
        raise BadRequest("parameters must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest("parameters must be valid UTF-8") from None
    return value


class Params:
    """A request's parameters as Nextcloud's controllers see them: the query string,
    then the body's fields; ``name[]`` and JSON arrays give several values."""

    def __init__(self, pairs: Iterable[tuple[str, Any]]) -> None:
        self.values: dict[str, list[Any]] = {}
        for key, value in pairs:
            if key.endswith("[]"):  # name[]=1&name[]=2
                self.values.setdefault(key[:-2], []).append(value)
            else:  # a JSON array stays one value: a list where a list is wanted
                self.values[key] = [value]

    def has(self, name: str) -> bool:
        """Given with a value (JSON null counts as not given, as in Nextcloud)."""
        return any(v is not None for v in self.values.get(name, []))

    def _last(self, name: str) -> Any:
        given = [v for v in self.values.get(name, []) if v is not None]
        return given[-1] if given else None

    def text(self, name: str, *, max_len: int | None = None) -> str | None:
        value = self._last(name)
        if value is None:
            return None
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, int | float):
            value = str(value)
        elif not isinstance(value, str):
            raise BadRequest(f"{name} must be a string")
        value = _clean(value)
        if max_len is not None and len(value) > max_len:
            raise BadRequest(f"{name} must not be longer than {max_len} characters")
        return value

    def integer(self, name: str, lo: int, hi: int, *, hint: str = "") -> int | None:
        value = self._last(name)
        if value is None or value == "":
            return None
        number = self._to_int(value)
        if number is None or not lo <= number <= hi:
            raise BadRequest(f"{name} must be a whole number from {lo} to {hi}{hint}")
        return number

    def integers(self, name: str) -> list[int] | None:
        given = [
            item
            for v in self.values.get(name, [])
            for item in (v if isinstance(v, list) else [v])
            if item is not None and item != ""
        ]
        if not given:
            return None
        out = [self._to_int(v) for v in given]
        if any(n is None for n in out):
            raise BadRequest(f"{name} must be whole numbers")
        return [n for n in out if n is not None]

    @staticmethod
    def _to_int(value: Any) -> int | None:
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            return int(value) if value.is_integer() and abs(value) < 2**53 else None
        if isinstance(value, str) and INTEGER.fullmatch(value.strip()):
            return int(value)
        return None

    def flag(self, name: str) -> bool | None:
        """ "true" or "false" (or 1/0, JSON booleans); anything else is a bad request."""
        value = self._last(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "yes"):
            return True
        if text in ("false", "0", "no"):
            return False
        raise BadRequest(f"{name} must be true or false")

    def switch(self, name: str) -> bool:
        """A listing option: only "true" switches it on (Nextcloud compares with 'true')."""
        value = self._last(name)
        return value is True or (isinstance(value, str) and value.strip().lower() in ("true", "1"))


async def read_params(ocs: OcsRequest) -> Params:
    """The query string and, for POST, PUT and DELETE, a body of at most 64 KiB."""
    request = ocs.request
    pairs: list[tuple[str, Any]] = [
        (_clean(k), _clean(v)) for k, v in request.query_params.multi_items()
    ]
    if request.method.upper() in ("GET", "HEAD"):
        return Params(pairs)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > BODY_LIMIT:
        raise BadRequest(f"the request body is larger than {BODY_LIMIT // 1024} KiB")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > BODY_LIMIT:
            raise BadRequest(f"the request body is larger than {BODY_LIMIT // 1024} KiB")
    if body.strip():
        raw_type = request.headers.get("content-type", "")
        pairs += _body_pairs(raw_type, bytes(body))
    return Params(pairs)


def _body_pairs(raw_type: str, body: bytes) -> list[tuple[str, Any]]:
    ctype = raw_type.split(";")[0].strip().lower()
    try:
        if ctype == "application/json":
            doc = json.loads(body.decode("utf-8"))
            if not isinstance(doc, dict):
                raise BadRequest("the JSON body must be an object")
            return [(_clean(str(k)), _json_value(v)) for k, v in doc.items()]
        if ctype == "multipart/form-data":
            return _multipart(raw_type, body)
        if ctype in ("", "application/x-www-form-urlencoded", "text/plain"):
            text = body.decode("utf-8")
            return [
                (_clean(k), _clean(v))
                for k, v in parse_qsl(
                    text, keep_blank_values=True, errors="strict", max_num_fields=200
                )
            ]
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadRequest("the request body is not valid form data or JSON") from None
    raise BadRequest(f"send the parameters url-encoded, as multipart or as JSON, not {ctype}")


def _json_value(value: Any) -> Any:
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    return value


def _multipart(raw_type: str, body: bytes) -> list[tuple[str, Any]]:
    head = b"Content-Type: " + raw_type.encode("latin-1", "replace") + b"\r\n\r\n"
    msg = BytesParser(policy=email_policy.HTTP).parsebytes(head + body)
    if not msg.is_multipart():
        raise BadRequest("the multipart body has no parts")
    out: list[tuple[str, Any]] = []
    for part in msg.iter_parts():
        disposition = part.get("content-disposition")
        name = disposition.params.get("name") if disposition is not None else None
        if not name:
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        out.append((_clean(str(name)), _clean(data.decode("utf-8"))))
    return out


def expiry(raw: str | None) -> datetime | None:
    """``YYYY-MM-DD`` (a time after it is ignored, as Nextcloud does) -> the end of that
    day, UTC; empty -> None."""
    text = (raw or "").strip().strip('"')
    if not text:
        return None
    m = DATE.fullmatch(text)
    if m is None:
        raise BadRequest(f"invalid date {text[:40]!r}: the format is YYYY-MM-DD")
    try:
        day = date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise BadRequest(f"invalid date {text[:40]!r}: no such day") from None
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


def link_kind(permissions: int | None, public_upload: bool | None) -> LinkKind:
    """Nextcloud's link permissions (the share bit aside) as one of the core's link kinds."""
    if public_upload is not None:
        if not public_upload:
            return LinkKind.READ
        return LinkKind.DROP if permissions == Perm.CREATE else LinkKind.READ_WRITE
    wanted = Perm(permissions if permissions is not None else Perm.READ) & ~Perm.SHARE
    if wanted == Perm.READ:
        return LinkKind.READ
    if wanted == Perm.CREATE:
        return LinkKind.DROP
    if wanted == Perm.READ | Perm.write():
        return LinkKind.READ_WRITE
    if not wanted & (Perm.READ | Perm.CREATE):
        raise BadRequest("a link must at least allow reading (1) or uploading (4)")
    raise BadRequest(
        "a link is read-only (permissions 1), read-write (15) or a file drop (4); "
        f"{int(wanted)} is none of them"
    )


def share_id(info: ShareInfo) -> str:
    return str(info.id * 2)


def link_id(info: LinkInfo) -> str:
    return str(info.id * 2 + 1)


def parse_id(raw: str) -> tuple[Literal["share", "link"], int]:
    """An OCS id to the core's (table, id); anything else is "no such share" (404)."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:
        raise NotFound(WRONG_ID)
    number = int(raw)
    core = number // 2
    if not 1 <= core <= ID_MAX:
        raise NotFound(WRONG_ID)
    return ("link" if number % 2 else "share"), core


# -- rendering ---------------------------------------------------------------


@dataclass(frozen=True)
class _Node:
    id: int
    space_id: int
    path: str
    parent_id: int | None
    name: str
    is_dir: bool
    size: int
    mtime: datetime
    content_type: str | None
    space_name: str
    owner_login: str | None
    owner_display: str | None


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _expiration(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%d 00:00:00")


class Renderer:
    """Shares and links in Nextcloud's fields, with paths as the caller sees them."""

    def __init__(self, svc: Services, actor: Principal) -> None:
        self.svc = svc
        self.actor = actor
        self.base_url = svc.settings.base_url.rstrip("/")
        root = svc.files.locate(actor, actor.login, [])
        self.home = root.space_id
        self.mounts = root.mounts

    def _nodes(self, ids: set[int]) -> dict[int, _Node]:
        if not ids:
            return {}
        with self.svc.db.read() as s:
            rows = s.execute(
                select(
                    Node.id,
                    Node.space_id,
                    Node.path,
                    Node.parent_id,
                    Node.name,
                    Node.is_dir,
                    Node.size,
                    Node.mtime,
                    Node.content_type,
                    Space.name,
                    User.login,
                    User.display_name,
                )
                .join(Space, Space.id == Node.space_id)
                .outerjoin(User, User.id == Space.owner_id)
                .where(Node.id.in_(ids))
            ).all()
        out = {}
        for nid, sid, path, parent, name, is_dir, size, mtime, ctype, space, login, disp in rows:
            out[nid] = _Node(
                nid, sid, path, parent, name, is_dir, size, mtime, ctype, space, login, disp
            )
        return out

    def _display_names(self, logins: set[str]) -> dict[str, str]:
        if not logins:
            return {}
        with self.svc.db.read() as s:
            rows = s.execute(select(User.login, User.display_name).where(User.login.in_(logins)))
            return {login: display or login for login, display in rows}

    def path_of(self, node: _Node) -> str | None:
        """The node's path in the caller's tree (their own space, or a team space or a
        received share mounted in their root); None where they cannot see it."""
        if node.space_id == self.home:
            return node.path or "/"
        best = None
        for m in self.mounts:
            inside = m.base == "" or node.path == m.base or node.path.startswith(m.base + "/")
            wider = best is not None and len(m.base) <= len(best.base)
            if m.space_id == node.space_id and inside and not wider:
                best = m
        if best is None:
            return None
        return "/" + best.name + node.path[len(best.base) :]

    def _common(
        self, node: _Node | None, name: str, is_dir: bool, *, path: str | None = None
    ) -> dict[str, Any]:
        """Where and what the item is. ``path`` for an item not (yet) in the caller's
        tree: a pending share shows as ``/name``, as in Nextcloud."""
        mount = None
        if path is None:
            path = (self.path_of(node) if node is not None else None) or "/" + name
            mount = next((m for m in self.mounts if "/" + m.name == path), None)
        out: dict[str, Any] = {
            "path": path,
            "item_type": "folder" if is_dir else "file",
            "mimetype": FOLDER_MIME
            if is_dir
            else (node.content_type if node and node.content_type else "application/octet-stream"),
            "has_preview": False,
            "is-mount-root": mount is not None,
            "mount-type": mount.kind.value if mount is not None else MountKind.NONE.value,
        }
        if node is not None:
            owner = node.owner_login or node.space_name
            out.update(
                {
                    "storage_id": f"home::{owner}",
                    "storage": node.space_id,
                    "item_source": node.id,
                    "file_source": node.id,
                    "file_parent": node.parent_id,
                    "item_size": node.size,
                    "item_mtime": _epoch(node.mtime),
                }
            )
        return out

    def shares(self, infos: list[ShareInfo], *, pending: bool = False) -> list[dict[str, Any]]:
        nodes = self._nodes({i.node_id for i in infos})
        return [self._share(i, nodes.get(i.node_id), pending=pending) for i in infos]

    def share(self, info: ShareInfo) -> dict[str, Any]:
        return self.shares([info])[0]

    def _share(self, info: ShareInfo, node: _Node | None, *, pending: bool) -> dict[str, Any]:
        me = self.actor.login
        mine = me in (info.sharer, info.owner)
        received = not mine
        out: dict[str, Any] = {
            "id": share_id(info),
            "share_type": info.share_type,
            "uid_owner": info.sharer,
            "displayname_owner": info.sharer_display,
            "permissions": 0 if pending else int(info.permissions),
            "can_edit": mine,
            "can_delete": mine or (received and info.share_type == TYPE_USER),
            "stime": _epoch(info.created_at),
            "parent": None,
            "expiration": _expiration(info.expires_at),
            "token": None,
            "uid_file_owner": info.owner,
            "displayname_file_owner": info.owner_display,
            "note": info.note,
            "label": info.label,
        }
        path = "/" + info.name if pending else None
        out.update(self._common(node, info.name, info.is_dir, path=path))
        out["file_target"] = out["path"] if received else "/" + info.name
        out["share_with"] = info.recipient
        out["share_with_displayname"] = info.recipient_display
        if info.share_type == TYPE_USER:
            out["share_with_displayname_unique"] = info.recipient
        if received:
            out["state"] = STATE_CODES[info.state]
        out.update({"mail_send": 0, "hide_download": 0, "attributes": None})
        return out

    def links(self, infos: list[LinkInfo]) -> list[dict[str, Any]]:
        nodes = self._nodes({i.node_id for i in infos})
        names = self._display_names({i.sharer for i in infos})
        return [self._link(i, nodes.get(i.node_id), names) for i in infos]

    def link(self, info: LinkInfo) -> dict[str, Any]:
        return self.links([info])[0]

    def _link(self, info: LinkInfo, node: _Node | None, names: dict[str, str]) -> dict[str, Any]:
        owner = (node.owner_login or node.space_name) if node is not None else info.sharer
        owner_display = (
            (node.owner_display or node.owner_login or node.space_name)
            if node is not None
            else info.sharer
        )
        marker = PASSWORD_MARKER if info.has_password else None
        out: dict[str, Any] = {
            "id": link_id(info),
            "share_type": TYPE_LINK,
            "uid_owner": info.sharer,
            "displayname_owner": names.get(info.sharer, info.sharer),
            "permissions": int(info.permissions),
            "can_edit": True,
            "can_delete": True,
            "stime": _epoch(info.created_at),
            "parent": None,
            "expiration": _expiration(info.expires_at),
            "token": info.token,
            "uid_file_owner": owner,
            "displayname_file_owner": owner_display,
            "note": info.note,
            "label": info.label,
        }
        out.update(self._common(node, info.name, info.is_dir))
        out["file_target"] = "/" + info.name
        out.update(
            {
                # Nextcloud sent a link's password here before version 15; clients
                # still read "is a password set" from it.
                "share_with": marker,
                "share_with_displayname": LINK_DISPLAY_NAME,
                "password": marker,
                "send_password_by_talk": False,
                "url": f"{self.base_url}/s/{info.token}",
                "mail_send": 0,
                "hide_download": 0,
                "attributes": None,
            }
        )
        return out


# -- the endpoints -----------------------------------------------------------


def _reported(exc: ThvcError) -> Reported:
    """A core error as Nextcloud's share controller reports it."""
    if isinstance(exc, NotFound):
        return Reported(404, exc.message)
    if isinstance(exc, Forbidden | AlreadyExists):
        return Reported(403, exc.message)
    return Reported(400, exc.message)


Endpoint = Callable[[OcsRequest], Coroutine[Any, Any, T]]


def reported(fn: Endpoint[T]) -> Endpoint[T]:
    """Let ``fn``'s core errors carry Nextcloud's codes; a missing or wrong login stays
    the envelope's 401 (and a throttled one its 429)."""

    @functools.wraps(fn)
    async def wrapper(ocs: OcsRequest) -> T:
        try:
            return await fn(ocs)
        except (NotAuthenticated, TooManyFailedLogins, Reported):
            raise
        except ThvcError as exc:
            raise _reported(exc) from exc

    return wrapper


async def in_thread(fn: Callable[[], T]) -> T:
    """Run blocking core calls (the database) in the thread pool."""
    return await anyio.to_thread.run_sync(fn)


def _locate(svc: Services, actor: Principal, raw: str) -> Location:
    segments = [paths.check_name(p) for p in raw.split("/") if p]
    if len(segments) > paths.MAX_DEPTH:
        raise BadRequest("the path is too deep")
    return svc.files.locate(actor, actor.login, segments)


@reported
async def list_shares(ocs: OcsRequest) -> list[dict[str, Any]]:
    """GET /shares: the caller's shares and links; ``path`` narrows to one item (or, with
    ``subfiles``, to a folder's children), ``reshares`` adds others' shares of the
    caller's files, ``shared_with_me`` lists what others share with the caller."""
    actor = await ocs.actor()
    p = await read_params(ocs)
    return await in_thread(lambda: _list(ocs.svc, actor, p))


def _list(svc: Services, actor: Principal, p: Params) -> list[dict[str, Any]]:
    raw_path = p.text("path")
    loc = _locate(svc, actor, raw_path) if raw_path else None
    view = Renderer(svc, actor)
    if p.switch("shared_with_me"):
        return _shared_with_me(svc, actor, p, loc, view)
    reshares = p.switch("reshares")
    if p.switch("subfiles"):
        if loc is None:
            raise BadRequest("subfiles needs the path of a folder")
        folder, children = svc.files.listing(loc)
        if not folder.is_dir:
            raise BadRequest("Not a directory")
        ids = {c.id for c in children}
        shares = [s for s in svc.sharing.shares_by(actor) if s.node_id in ids]
        links = [x for x in svc.sharing.links_by(actor) if x.node_id in ids]
    else:
        shares = svc.sharing.shares_by(actor, loc)
        links = svc.sharing.links_by(actor, loc)
    if not reshares:
        shares = [s for s in shares if s.sharer == actor.login]
        links = [x for x in links if x.sharer == actor.login]
    return [*view.shares(shares), *view.links(links)]


def _shared_with_me(
    svc: Services, actor: Principal, p: Params, loc: Location | None, view: Renderer
) -> list[dict[str, Any]]:
    state = (p.text("state") or "0").strip().lower()
    if state not in ("0", "1", "2", "all"):
        raise BadRequest("state must be 0 (accepted), 1 (pending), 2 (declined) or all")
    accepted = svc.sharing.shared_with(actor) if state in ("0", "all") else []
    pending = svc.sharing.shared_with(actor, pending=True) if state in ("1", "all") else []
    if loc is not None:
        node_id = svc.files.stat(loc).id
        accepted = [s for s in accepted if s.node_id == node_id]
        pending = [s for s in pending if s.node_id == node_id]
    return [*view.shares(accepted), *view.shares(pending, pending=True)]


@reported
async def create_share(ocs: OcsRequest) -> dict[str, Any]:
    """POST /shares: share ``path`` with a user or group, or make a link."""
    actor = await ocs.actor()
    p = await read_params(ocs)
    client = client_address(ocs.request)
    return await in_thread(lambda: _create(ocs.svc, actor, p, client))


def _create(svc: Services, actor: Principal, p: Params, client: str | None) -> dict[str, Any]:
    raw_path = p.text("path")
    if raw_path is None or not raw_path.strip("/ "):
        raise BadRequest("Please specify a file or folder path")
    kind = p.integer("shareType", -(2**63), 2**63)
    if kind not in (TYPE_USER, TYPE_GROUP, TYPE_LINK, TYPE_EMAIL):
        raise BadRequest("Unknown share type: use 0 (user), 1 (group), 3 (public link), 4 (e-mail)")
    permissions = p.integer("permissions", 0, int(Perm.all()), hint=f" ({PERMS_HELP})")
    expires_at = expiry(p.text("expireDate"))
    note = p.text("note") or ""
    label = p.text("label", max_len=LABEL_MAX) or ""
    loc = _locate(svc, actor, raw_path)
    view = Renderer(svc, actor)
    if kind in (TYPE_USER, TYPE_GROUP):
        recipient = (p.text("shareWith") or "").strip()
        if not recipient:
            raise BadRequest(
                "Please specify a valid account to share with"
                if kind == TYPE_USER
                else "Please specify a valid group"
            )
        # Nextcloud's default is everything; here, everything the caller holds there.
        wanted = Perm(permissions) if permissions is not None else loc.perms & Perm.all()
        info = svc.sharing.share(
            actor,
            loc,
            user=recipient if kind == TYPE_USER else None,
            group=recipient if kind == TYPE_GROUP else None,
            permissions=wanted | Perm.READ,
            expires_at=expires_at,
            note=note,
            label=label,
            client=client,
        )
        return view.share(info)
    link = link_kind(permissions, p.flag("publicUpload"))
    if kind == TYPE_EMAIL:
        address = (p.text("shareWith") or "").strip()
        if not EMAIL.fullmatch(address) or len(address) > LABEL_MAX:
            raise BadRequest("Please specify a valid email address")
        label = address
    made = svc.sharing.create_link(
        actor,
        loc,
        kind=link,
        password=p.text("password") or None,
        expires_at=expires_at,
        note=note,
        label=label,
        client=client,
    )
    return view.link(made)


@reported
async def get_share(ocs: OcsRequest) -> list[dict[str, Any]]:
    """GET /shares/{id}: one share, as a list of one (as Nextcloud answers)."""
    actor = await ocs.actor()
    table, core_id = parse_id(ocs.params["id"])
    return await in_thread(lambda: _get(ocs.svc, actor, table, core_id))


def _get(svc: Services, actor: Principal, table: str, core_id: int) -> list[dict[str, Any]]:
    view = Renderer(svc, actor)
    if table == "link":
        return view.links([svc.sharing.get_link(actor, core_id)])
    info = svc.sharing.get_share(actor, core_id)
    pending = info.state is ShareState.PENDING and info.recipient == actor.login
    return view.shares([info], pending=pending)


@reported
async def update_share(ocs: OcsRequest) -> dict[str, Any]:
    """PUT /shares/{id}: permissions, password, expireDate, note, label, publicUpload."""
    actor = await ocs.actor()
    table, core_id = parse_id(ocs.params["id"])
    p = await read_params(ocs)
    client = client_address(ocs.request)
    return await in_thread(lambda: _update(ocs.svc, actor, table, core_id, p, client))


def _update(
    svc: Services,
    actor: Principal,
    table: str,
    core_id: int,
    p: Params,
    client: str | None,
) -> dict[str, Any]:
    if not any(p.has(name) for name in UPDATABLE):
        raise BadRequest("Wrong or no update parameter given")
    permissions = p.integer("permissions", 0, int(Perm.all()), hint=f" ({PERMS_HELP})")
    expires_at: datetime | bool | None = (
        expiry(p.text("expireDate")) if p.has("expireDate") else False
    )
    note = p.text("note")
    label = p.text("label", max_len=LABEL_MAX)
    view = Renderer(svc, actor)
    if table == "share":
        info = svc.sharing.update_share(
            actor,
            core_id,
            permissions=Perm(permissions) if permissions is not None else None,
            expires_at=expires_at,
            note=note,
            label=label,
            client=client,
        )
        return view.share(info)
    public_upload = p.flag("publicUpload")
    kind = (
        link_kind(permissions, public_upload)
        if permissions is not None or public_upload is not None
        else None
    )
    # An empty password removes it, as in Nextcloud.
    password: str | bool | None = (p.text("password") or None) if p.has("password") else False
    made = svc.sharing.update_link(
        actor,
        core_id,
        password=password,
        expires_at=expires_at,
        kind=kind,
        note=note,
        label=label,
        client=client,
    )
    return view.link(made)


@reported
async def delete_share(ocs: OcsRequest) -> None:
    """DELETE /shares/{id}: revoke (sharer or owner), or leave it (the recipient)."""
    actor = await ocs.actor()
    table, core_id = parse_id(ocs.params["id"])
    client = client_address(ocs.request)
    if table == "link":
        await in_thread(lambda: ocs.svc.sharing.delete_link(actor, core_id, client=client))
    else:
        await in_thread(lambda: ocs.svc.sharing.delete_share(actor, core_id, client=client))


@reported
async def pending_shares(ocs: OcsRequest) -> list[dict[str, Any]]:
    """GET /shares/pending: received shares waiting for the caller's answer."""
    actor = await ocs.actor()

    def run() -> list[dict[str, Any]]:
        infos = ocs.svc.sharing.shared_with(actor, pending=True)
        return Renderer(ocs.svc, actor).shares(infos, pending=True)

    return await in_thread(run)


async def _respond(ocs: OcsRequest, *, accept: bool) -> None:
    actor = await ocs.actor()
    table, core_id = parse_id(ocs.params["id"])
    if table != "share":
        raise NotFound(WRONG_ID)
    client = client_address(ocs.request)
    await in_thread(lambda: ocs.svc.sharing.respond(actor, core_id, accept=accept, client=client))


@reported
async def accept_share(ocs: OcsRequest) -> None:
    """POST /shares/pending/{id}."""
    await _respond(ocs, accept=True)


@reported
async def decline_share(ocs: OcsRequest) -> None:
    """DELETE /shares/pending/{id}."""
    await _respond(ocs, accept=False)
