"""``/files``: one's folders and files; ``/trash``, ``/versions``, ``/rename``, ``/spaces``.

- ``GET /files/{path}``: a folder's listing (sorted by ``?sort=name|size|modified`` and
  ``?order=asc|desc``, 100 entries a ``?page=``), or a file's bytes (Range, ETag);
- ``POST /files/{path}`` with ``action``: ``mkdir`` (``name``), ``mkdirs`` (``path``, for
  folders dropped into the uploader), and for the selected ``item`` names ``zip`` (a
  streamed ZIP), ``delete``, ``move`` and ``copy`` (to ``target``, a folder path);
- ``/rename?path=``, ``/versions?path=`` (restore), ``/trash`` (restore),
  ``/spaces`` (the team spaces one is in; a tenant admin creates one).

Everything goes through the file service with the asking principal, which decides
what may be done; a page only hides what the entry's permissions do not allow. A
listing is one core call (one query for the children, whatever their number) and
one sort in Python; nothing is asked per row.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from thvc.accounts import authz
from thvc.errors import BadRequest, InvalidName, ThvcError
from thvc.files import paths
from thvc.files.models import SpaceRole
from thvc.files.perms import Perm
from thvc.files.services import Entry, FileService, Location, MountKind
from thvc.http.websession import CSRF_FIELD
from thvc.web import downloads
from thvc.web.http import PayloadTooLarge, run
from thvc.web.ui import Ui, WebUser, client_of

PAGE_SIZE = 100
FORM_LIMIT = 512 * 1024
# Downloads are never rendered as a page of ours, whatever their type.
DOWNLOAD_HEADERS = {"Content-Security-Policy": "default-src 'none'; sandbox"}
SORTS = ("name", "size", "modified")
# Nextcloud's share type numbers (thvc.sharing.services): user, group, link, e-mail.
SHARED_TYPES = frozenset({0, 1, 4})
LINK_TYPE = 3


# -- addresses and paths ---------------------------------------------------------------


def file_url(segments: Sequence[str], **query: str) -> str:
    """``/files/a%20b/c`` (each name quoted whole: a name may hold ``?``, ``#``, ``%``)."""
    url = "/files" + "".join("/" + quote(s, safe="") for s in segments)
    return f"{url}?{urlencode(query)}" if query else url


def path_of(segments: Sequence[str]) -> str:
    """The path as the pages show it and send it in ``?path=``: ``/a/b``, ``/`` for the root."""
    return "/" + "/".join(segments)


def segments_of(path: str) -> list[str]:
    """A ``?path=`` or a typed folder path (``Akten/2026``, ``/Akten/``) as checked names."""
    segs = [paths.check_name(p) for p in path.replace("\\", "/").split("/") if p.strip()]
    if len(segs) > paths.MAX_DEPTH:
        raise InvalidName("the path is too deep")
    return segs


def url_segments(request: Request) -> list[str]:
    """The names after ``/files`` in the raw URL: split before decoding, so that ``%2F``
    stays inside a name and ``%2e%2e`` is refused, never followed."""
    raw: bytes = request.scope.get("raw_path") or request.scope["path"].encode()
    raw = raw.split(b"?", 1)[0]
    assert raw.startswith(b"/files")
    return paths.segments_from_url(raw[len(b"/files") :])


def safe_back(target: str, default: str) -> str:
    """Only a path of ours to go back to (never another site)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return default
    return target


async def read_fields(request: Request, ui: Ui, who: WebUser) -> dict[str, list[str]]:
    """An urlencoded form with repeated fields (the selected items), CSRF checked."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise BadRequest("this form is sent as application/x-www-form-urlencoded")
    buf = bytearray()
    async for chunk in request.stream():
        buf += chunk
        if len(buf) > FORM_LIMIT:
            raise PayloadTooLarge(f"the form is larger than {FORM_LIMIT} bytes")
    try:
        text = buf.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the form is not UTF-8") from None
    fields = parse_qs(text, keep_blank_values=True, max_num_fields=5000)
    ui.check_csrf(request, who, (fields.get(CSRF_FIELD) or [""])[0])
    return fields


def first(fields: dict[str, list[str]], name: str) -> str:
    return (fields.get(name) or [""])[0]


# -- the listing -----------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One entry of a listing with its addresses (made only for the page shown)."""

    entry: Entry
    url: str
    path: str

    @property
    def can_rename(self) -> bool:
        return not self.entry.is_mount and Perm.UPDATE in self.entry.perms

    @property
    def can_share(self) -> bool:
        return not self.entry.is_mount and Perm.SHARE in self.entry.perms

    @property
    def has_versions(self) -> bool:
        return not self.entry.is_dir and Perm.READ in self.entry.perms

    @property
    def shared(self) -> bool:
        return bool(SHARED_TYPES & set(self.entry.share_types))

    @property
    def linked(self) -> bool:
        return LINK_TYPE in self.entry.share_types

    @property
    def team(self) -> bool:
        return self.entry.is_mount and self.entry.mount_type is MountKind.GROUP

    @property
    def received(self) -> bool:
        return self.entry.is_mount and self.entry.mount_type is MountKind.SHARED


def sort_entries(entries: list[Entry], sort: str, descending: bool) -> list[Entry]:
    """Folders first, then files, each by ``sort``: one sort of the whole list."""
    keys: dict[str, Callable[[Entry], Any]] = {
        "name": lambda e: (e.name.casefold(), e.name),
        "size": lambda e: (e.size, e.name.casefold()),
        "modified": lambda e: (e.mtime, e.name.casefold()),
    }
    ordered = sorted(entries, key=keys[sort], reverse=descending)
    return [e for e in ordered if e.is_dir] + [e for e in ordered if not e.is_dir]


def int_param(value: str, default: int) -> int:
    return int(value) if value.isdigit() and len(value) < 10 else default


@dataclass(frozen=True)
class Paging:
    page: int
    pages: int
    total: int

    @property
    def numbers(self) -> list[int | None]:
        """The page numbers to offer: first, last, and two around this one (None: a gap)."""
        show = sorted({1, self.pages, *range(self.page - 2, self.page + 3)})
        out: list[int | None] = []
        last = 0
        for n in show:
            if 1 <= n <= self.pages:
                if n > last + 1:
                    out.append(None)
                out.append(n)
                last = n
        return out


class FilesPages:
    def __init__(self, ui: Ui) -> None:
        self.ui = ui

    @property
    def files(self) -> FileService:
        return self.ui.services.files

    def routes(self) -> list[Route]:
        page = self.ui.page
        return [
            Route("/files", page(self.folder), methods=["GET", "HEAD", "POST"]),
            Route("/files/", page(self.folder), methods=["GET", "HEAD", "POST"]),
            Route("/files/{path:path}", page(self.folder), methods=["GET", "HEAD", "POST"]),
            Route("/rename", page(self.rename), methods=["GET", "POST"]),
            Route("/versions", page(self.versions), methods=["GET"]),
            Route("/versions/restore", page(self.version_restore), methods=["POST"]),
            Route("/trash", page(self.trash), methods=["GET"]),
            Route("/trash/restore", page(self.trash_restore), methods=["POST"]),
            Route("/trash/purge", page(self.trash_purge), methods=["POST"]),
            Route("/spaces", page(self.spaces), methods=["GET", "POST"]),
        ]

    async def locate(self, who: WebUser, segments: Sequence[str]) -> Location:
        me = who.principal
        return await run(self.files.locate, me, me.login, list(segments))

    async def child(self, who: WebUser, folder: Location, name: str) -> Location:
        """``name`` in ``folder``; in the user's root a name may be a mount (its own space)."""
        name = paths.check_name(name)
        if folder.is_user_root:
            return await self.locate(who, [name])
        return folder.child(name)

    def crumbs(self, who: WebUser, segments: Sequence[str]) -> list[dict[str, str]]:
        out = [{"name": self.ui.tr(who, "My files"), "url": file_url([])}]
        for i, name in enumerate(segments):
            out.append({"name": name, "url": file_url(segments[: i + 1])})
        return out

    def notices(self, who: WebUser, done: str, count: int) -> str:
        tr = self.ui.tr
        texts = {
            "mkdir": tr(who, "The folder was created."),
            "deleted": tr(who, "Moved to the trash: %(count)s.", count=count),
            "moved": tr(who, "Moved: %(count)s.", count=count),
            "copied": tr(who, "Copied: %(count)s.", count=count),
            "renamed": tr(who, "The name was changed."),
            "restored": tr(who, "Restored from the trash."),
            "purged": tr(who, "Deleted for good."),
            "version": tr(who, "The version was restored. The content before is now a version."),
            "space": tr(who, "The team space was created."),
        }
        return texts.get(done, "")

    # -- GET /files/{path} ---------------------------------------------------------------

    async def folder(self, request: Request, ui: Ui, who: WebUser) -> Response:
        segs = url_segments(request)
        if request.method == "POST":
            return await self.act(request, who, segs)
        loc = await self.locate(who, segs)
        me, kids = await run(self.files.listing, loc)
        if not me.is_dir:
            return await self.download(request, loc)
        return self.listing_page(request, who, segs, loc, me, kids)

    async def download(self, request: Request, loc: Location) -> Response:
        handle = await run(self.files.open_read, loc)

        async def nothing() -> None:
            return None

        response = await downloads.file_response(request, self.files, handle, nothing)
        response.headers.update(DOWNLOAD_HEADERS)
        return response

    def listing_page(
        self,
        request: Request,
        who: WebUser,
        segs: Sequence[str],
        loc: Location,
        me: Entry,
        kids: list[Entry],
        *,
        error: str = "",
        status: int = 200,
        values: dict[str, str] | None = None,
    ) -> Response:
        q = request.query_params
        sort = q.get("sort", "name")
        sort = sort if sort in SORTS else "name"
        order = "desc" if q.get("order") == "desc" else "asc"
        total = len(kids)
        pages = max(1, math.ceil(total / PAGE_SIZE))
        page = min(max(1, int_param(q.get("page", "1"), 1)), pages)
        ordered = sort_entries(kids, sort, order == "desc")
        shown = ordered[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        rows = [Row(e, file_url([*segs, e.name]), path_of([*segs, e.name])) for e in shown]
        here = file_url(segs)

        def sort_url(column: str) -> str:
            flip = "desc" if column == sort and order == "asc" else "asc"
            return file_url(segs, sort=column, order=flip)

        def page_url(n: int) -> str:
            return file_url(segs, sort=sort, order=order, page=str(n))

        title = segs[-1] if segs else self.ui.tr(who, "My files")
        return self.ui.render(
            request,
            who,
            "files_list.html",
            status=status,
            title=title,
            heading=title,
            crumbs=self.crumbs(who, segs),
            rows=rows,
            here=here,
            path=path_of(segs),
            folder_arg="/".join(segs),
            sort=sort,
            order=order,
            sort_url=sort_url,
            page_url=page_url,
            paging=Paging(page, pages, total),
            can_create=Perm.CREATE in loc.perms and Perm.READ in loc.perms,
            can_delete=Perm.DELETE in loc.perms or loc.is_user_root,
            is_root=loc.is_user_root,
            error=error,
            notice=self.notices(who, q.get("done", ""), int_param(q.get("count", "0"), 0)),
            form=values or {},
        )

    async def fail(
        self,
        request: Request,
        who: WebUser,
        segs: Sequence[str],
        exc: ThvcError,
        values: dict[str, str] | None = None,
    ) -> Response:
        """The folder again, with what went wrong at the top (role=alert)."""
        status, title = self.ui.explain(who, exc)
        loc = await self.locate(who, segs)
        me, kids = await run(self.files.listing, loc)
        return self.listing_page(
            request, who, segs, loc, me, kids, error=f"{title}: {exc}", status=status, values=values
        )

    # -- POST /files/{path} ------------------------------------------------------------

    async def act(self, request: Request, who: WebUser, segs: list[str]) -> Response:
        fields = await read_fields(request, self.ui, who)
        action = first(fields, "action")
        items = [paths.check_name(n) for n in dict.fromkeys(fields.get("item", [])) if n]
        htmx = bool(request.headers.get("hx-request"))
        folder = await self.locate(who, segs)
        me = who.principal
        client = client_of(request)
        try:
            if action == "mkdir":
                name = paths.check_name(first(fields, "name").strip())
                await run(
                    self.files.mkcol, await self.child(who, folder, name), actor=me, client=client
                )
                return self.ui.redirect(file_url(segs, done="mkdir"), htmx=htmx)
            if action == "mkdirs":
                return await self.mkdirs(who, segs, first(fields, "path"), client)
            if not items:
                raise BadRequest(self.ui.tr(who, "Select at least one item first."))
            if action == "zip":
                members = await run(downloads.plan, self.files, folder, items, "")

                async def nothing() -> None:
                    return None

                name = segs[-1] if segs else who.principal.login.partition("@")[0]
                response = await downloads.zip_response(request, self.files, members, name, nothing)
                response.headers.update(DOWNLOAD_HEADERS)
                return response
            if action == "delete":
                for name in items:
                    loc = await self.child(who, folder, name)
                    await run(self.files.delete, loc, actor=me, client=client)
                return self.ui.redirect(
                    file_url(segs, done="deleted", count=str(len(items))), htmx=htmx
                )
            if action in ("move", "copy"):
                target_segs = segments_of(first(fields, "target"))
                target = await self.locate(who, target_segs)
                verb = self.files.move if action == "move" else self.files.copy
                for name in items:
                    src = await self.child(who, folder, name)
                    dst = await self.child(who, target, name)
                    await run(verb, src, dst, actor=me, overwrite=False, client=client)
                done = "moved" if action == "move" else "copied"
                return self.ui.redirect(
                    file_url(target_segs, done=done, count=str(len(items))), htmx=htmx
                )
            raise BadRequest(f"no action {action[:40]!r}")
        except ThvcError as exc:
            values = {"name": first(fields, "name"), "target": first(fields, "target")}
            return await self.fail(request, who, segs, exc, values)

    async def mkdirs(
        self, who: WebUser, segs: list[str], relative: str, client: str | None
    ) -> Response:
        """Every folder of ``relative`` below ``segs`` that is missing (``mkdir -p``): the
        uploader sends this before the files of a dropped folder, which tus puts into
        folders that must exist."""
        me = who.principal
        below = segments_of(relative)
        for i in range(1, len(below) + 1):
            loc = await self.locate(who, [*segs, *below[:i]])
            try:
                await run(self.files.stat, loc)
            except ThvcError:
                await run(self.files.mkcol, loc, actor=me, client=client)
        return Response(status_code=204, headers={"Cache-Control": "no-store"})

    # -- rename ---------------------------------------------------------------------

    async def rename(self, request: Request, ui: Ui, who: WebUser) -> Response:
        if request.method == "GET":
            segs = segments_of(request.query_params.get("path", ""))
            return await self.rename_form(request, who, segs)
        fields = await ui.form(request, who)
        segs = segments_of(fields.get("path", ""))
        if not segs:
            raise BadRequest("the root cannot be renamed")
        new = fields.get("name", "").strip()
        try:
            new = paths.check_name(new)
            src = await self.locate(who, segs)
            dst = await self.locate(who, [*segs[:-1], new])
            await run(
                self.files.move,
                src,
                dst,
                actor=who.principal,
                overwrite=False,
                client=client_of(request),
            )
        except ThvcError as exc:
            status, title = ui.explain(who, exc)
            return await self.rename_form(
                request, who, segs, error=f"{title}: {exc}", status=status, name=new
            )
        return ui.redirect(file_url(segs[:-1], done="renamed"))

    async def rename_form(
        self,
        request: Request,
        who: WebUser,
        segs: list[str],
        *,
        error: str = "",
        status: int = 200,
        name: str | None = None,
    ) -> Response:
        if not segs:
            raise BadRequest("the root cannot be renamed")
        entry = await run(self.files.stat, await self.locate(who, segs))
        return self.ui.render(
            request,
            who,
            "files_rename.html",
            status=status,
            title=self.ui.tr(who, "Rename “%(name)s”", name=segs[-1]),
            entry=entry,
            old=segs[-1],
            name=segs[-1] if name is None else name,
            path=path_of(segs),
            back=file_url(segs[:-1]),
            crumbs=self.crumbs(who, segs),
            error=error,
        )

    # -- versions -------------------------------------------------------------------

    async def versions(self, request: Request, ui: Ui, who: WebUser) -> Response:
        segs = segments_of(request.query_params.get("path", ""))
        loc = await self.locate(who, segs)
        entry = await run(self.files.stat, loc)
        found = await run(self.files.list_versions, loc)
        done = request.query_params.get("done", "")
        return ui.render(
            request,
            who,
            "files_versions.html",
            title=ui.tr(who, "Versions of “%(name)s”", name=entry.name),
            entry=entry,
            versions=found,
            path=path_of(segs),
            download=file_url(segs),
            back=file_url(segs[:-1]),
            crumbs=self.crumbs(who, segs),
            can_restore=Perm.UPDATE in entry.perms,
            notice=self.notices(who, done, 0),
        )

    async def version_restore(self, request: Request, ui: Ui, who: WebUser) -> Response:
        fields = await ui.form(request, who)
        segs = segments_of(fields.get("path", ""))
        version = fields.get("version", "")
        if not version.isdigit():
            raise BadRequest("no version given")
        loc = await self.locate(who, segs)
        await run(
            self.files.restore_version,
            loc,
            int(version),
            actor=who.principal,
            client=client_of(request),
        )
        return ui.redirect("/versions?" + urlencode({"path": path_of(segs), "done": "version"}))

    # -- trash ----------------------------------------------------------------------

    async def trash(self, request: Request, ui: Ui, who: WebUser) -> Response:
        items = await run(self.files.list_trash, who.principal)
        done = request.query_params.get("done", "")
        return ui.render(
            request,
            who,
            "files_trash.html",
            title=ui.tr(who, "Trash"),
            items=items,
            days=self.files.trash_days,
            notice=self.notices(who, done, 0),
            restored=request.query_params.get("to", ""),
        )

    async def trash_restore(self, request: Request, ui: Ui, who: WebUser) -> Response:
        fields = await ui.form(request, who)
        item = fields.get("item", "")
        if not item.isdigit():
            raise BadRequest("no item given")
        target = await run(
            self.files.restore_trash, who.principal, int(item), client=client_of(request)
        )
        return ui.redirect("/trash?" + urlencode({"done": "restored", "to": target or "/"}))

    async def trash_purge(self, request: Request, ui: Ui, who: WebUser) -> Response:
        fields = await ui.form(request, who)
        item = fields.get("item", "")
        if not item.isdigit():
            raise BadRequest("no item given")
        await run(self.files.purge_trash_item, who.principal, int(item), client=client_of(request))
        return ui.redirect("/trash?" + urlencode({"done": "purged"}))

    # -- team spaces ----------------------------------------------------------------

    async def spaces(self, request: Request, ui: Ui, who: WebUser) -> Response:
        me = who.principal
        may_create = authz.is_tenant_admin(me, me.tenant_id)
        error, status, name = "", 200, ""
        if request.method == "POST":
            fields = await ui.form(request, who)
            name = fields.get("name", "").strip()
            try:
                authz.require_tenant_admin(me, me.tenant_id)
                name = paths.check_name(name)
                slug = authz.tenant_slug_of(me)
                await run(self.files.create_team_space, slug, name, actor=me.login)
                await run(
                    self.files.set_space_member,
                    slug,
                    name,
                    role=SpaceRole.MANAGER,
                    user_login=me.login,
                    actor=me.login,
                )
            except ThvcError as exc:
                status, title = ui.explain(who, exc)
                error = f"{title}: {exc}"
            else:
                return ui.redirect("/spaces?done=space")
        root = await self.locate(who, [])
        spaces = [m for m in root.mounts if m.kind is MountKind.GROUP]
        roles = {
            int(Perm.all()): ui.tr(who, "can manage"),
            int(Perm.READ | Perm.write() | Perm.SHARE): ui.tr(who, "can edit"),
        }
        return ui.render(
            request,
            who,
            "files_spaces.html",
            status=status,
            title=ui.tr(who, "Team spaces"),
            spaces=[
                {
                    "name": m.name,
                    "url": file_url([m.name]),
                    "role": roles.get(int(m.perms), ui.tr(who, "can view")),
                }
                for m in spaces
            ],
            may_create=may_create,
            error=error,
            name=name,
            notice=self.notices(who, request.query_params.get("done", ""), 0),
        )
