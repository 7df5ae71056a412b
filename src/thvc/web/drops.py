"""File drop uploads from the page: ``multipart/form-data``, parsed as it streams.

python-multipart's parser is fed the body chunk by chunk as the server delivers
it; each file part goes straight into ``files.begin_put`` / ``finish_put``,
regrouped into ~1 MiB pieces for the thread pool (where the core hashes and
encrypts). Nothing is spooled to a temporary file and no part is held whole in
memory. A file never replaces another: a name that is taken gets a suffix
(``files.unused_name``), and ``If-None-Match: *`` semantics guard the race.

The form's fields come in document order: the CSRF token first (a file part
before a valid token is refused before a byte is stored), then the optional
uploader name, then the files. Each stored file is recorded for the owner with
``record_drop``. Whatever goes wrong mid-way (quota, a bad name, a cut-off
body) leaves the files completed before it stored and recorded, the one in
progress discarded, and the visitor told.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from dataclasses import dataclass, field

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header
from starlette.requests import Request

from thvc.errors import BadRequest, QuotaExceeded
from thvc.files import paths
from thvc.files.services import FileService, Upload
from thvc.sharing.services import LinkAccess, SharingService
from thvc.web.http import run
from thvc.web.session import Dropped

PIECE = 1 << 20
MAX_FIELD = 1024
MAX_UPLOADER = 200


class BadForm(BadRequest):
    """The upload form is malformed."""


class BadToken(BadRequest):
    """The form's CSRF token is missing, expired or not this session's."""


@dataclass
class _Part:
    headers: dict[str, str] = field(default_factory=dict)
    field_name: str = ""
    filename: str | None = None
    # A small field's value, or a file's pending bytes.
    buf: bytearray = field(default_factory=bytearray)
    upload: Upload | None = None
    name: str = ""  # the name the file is stored under
    size: int = 0


@dataclass
class DropResult:
    stored: list[Dropped] = field(default_factory=list)
    uploader: str = ""


class DropUpload:
    """One POST of the drop form, from the first byte of the body to the last file."""

    def __init__(
        self,
        request: Request,
        *,
        files: FileService,
        sharing: SharingService,
        access: LinkAccess,
        check_csrf: Callable[[str], bool],
    ) -> None:
        self.request = request
        self.files = files
        self.sharing = sharing
        self.access = access
        self.check_csrf = check_csrf
        self.result = DropResult()
        self.client = request.client.host if request.client else None
        self._events: list[tuple[str, bytes]] = []
        self._part: _Part | None = None
        self._hname = bytearray()
        self._hvalue = bytearray()
        self._csrf_ok = False

    def _parser(self) -> MultipartParser:
        kind, params = parse_options_header(self.request.headers.get("content-type", ""))
        boundary = params.get(b"boundary")
        if kind != b"multipart/form-data" or not boundary:
            raise BadForm("the upload is not multipart/form-data with a boundary")
        ev = self._events

        def add(kind: str) -> Callable[[], None]:
            return lambda: ev.append((kind, b""))

        def add_data(kind: str) -> Callable[[bytes, int, int], None]:
            return lambda data, start, end: ev.append((kind, bytes(data[start:end])))

        try:
            return MultipartParser(
                boundary,
                {
                    "on_part_begin": add("begin"),
                    "on_header_field": add_data("hfield"),
                    "on_header_value": add_data("hvalue"),
                    "on_header_end": add("hend"),
                    "on_headers_finished": add("headers"),
                    "on_part_data": add_data("data"),
                    "on_part_end": add("end"),
                },
                max_header_count=16,
            )
        except FormParserError as exc:
            raise BadForm(f"the upload is malformed: {exc}") from None

    async def run(self) -> DropResult:
        """Read the whole body; raises BadForm, BadToken, InvalidName, QuotaExceeded...
        with ``self.result`` telling what was stored until then."""
        parser = self._parser()
        try:
            async for chunk in self.request.stream():
                if not chunk:
                    continue
                try:
                    parser.write(chunk)
                except FormParserError as exc:
                    raise BadForm(f"the upload is malformed: {exc}") from None
                await self._handle_events()
            if parser.state != MultipartState.END:
                raise BadForm("the upload ended before its last boundary")
        except BaseException:
            part = self._part
            if part is not None and part.upload is not None:
                await run(self.files.abort_put, part.upload)
            raise
        return self.result

    async def _handle_events(self) -> None:
        events = list(self._events)
        self._events.clear()
        for kind, data in events:
            if kind == "begin":
                self._part = _Part()
            elif kind == "hfield":
                self._hname += data
            elif kind == "hvalue":
                self._hvalue += data
            elif kind == "hend":
                self._header_done()
            elif kind == "headers":
                await self._headers_done()
            elif kind == "data":
                await self._data(data)
            elif kind == "end":
                await self._part_done()

    def _header_done(self) -> None:
        assert self._part is not None
        try:
            name = self._hname.decode("latin-1").strip().lower()
            # Browsers send file names as raw UTF-8 in the header.
            value = self._hvalue.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise BadForm("a part header is not UTF-8") from None
        self._part.headers[name] = value
        self._hname.clear()
        self._hvalue.clear()

    async def _headers_done(self) -> None:
        part = self._part
        assert part is not None
        disposition, params = parse_options_header(part.headers.get("content-disposition", ""))
        if disposition != b"form-data" or b"name" not in params:
            raise BadForm("a part has no Content-Disposition: form-data; name=…")
        try:
            part.field_name = params[b"name"].decode("utf-8")
            raw = params.get(b"filename")
            part.filename = raw.decode("utf-8") if raw is not None else None
        except UnicodeDecodeError:
            raise BadForm("a field name is not UTF-8") from None
        if part.filename is None:
            return
        if not self._csrf_ok:
            raise BadToken("the form has expired; load the page again")
        if part.filename == "":
            return  # the file input was left empty: browsers send an empty part
        name = paths.check_name(part.filename)
        free = await run(self.files.unused_name, self.access.loc, name)
        part.name = free
        part.upload = await run(
            self.files.begin_put,
            self.access.loc.child(free),
            length=None,
            if_none_match=True,
            actor=self.access.actor,
        )

    async def _data(self, data: bytes) -> None:
        part = self._part
        assert part is not None
        if part.filename is None:
            if len(part.buf) + len(data) > MAX_FIELD:
                raise BadForm(f"the field {part.field_name!r} is too long")
            part.buf += data
            return
        if part.upload is None:
            if data:
                raise BadForm("a file part without a file name carries data")
            return
        part.buf += data
        part.size += len(data)
        if len(part.buf) >= PIECE:
            piece, part.buf = bytes(part.buf), bytearray()
            await run(part.upload.write, piece)

    async def _part_done(self) -> None:
        part = self._part
        assert part is not None
        self._part = None
        if part.filename is None:
            self._field(part.field_name, part.buf)
            return
        if part.upload is None:
            return
        upload = part.upload
        try:
            if part.buf:
                await run(upload.write, bytes(part.buf))
            await run(
                self.files.finish_put,
                upload,
                actor=self.access.actor,
                content_type=_media_type(part.headers.get("content-type"), part.name),
                client=self.client,
            )
        except BaseException:
            await run(self.files.abort_put, upload)
            raise
        await run(
            self.sharing.record_drop,
            self.access,
            part.name,
            part.size,
            uploader=self.result.uploader or None,
            client=self.client,
        )
        self.result.stored.append(Dropped(part.name, part.size))

    def _field(self, name: str, raw: bytearray) -> None:
        try:
            value = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BadForm(f"the field {name!r} is not UTF-8") from None
        if name == "csrf":
            if not self.check_csrf(value):
                raise BadToken("the form has expired; load the page again")
            self._csrf_ok = True
        elif name == "uploader":
            value = " ".join(value.split())  # no line breaks or control characters
            if len(value) > MAX_UPLOADER or any(not c.isprintable() for c in value):
                raise BadForm("the name is too long or holds control characters")
            self.result.uploader = value


def _media_type(given: str | None, name: str) -> str | None:
    """The browser's type, or one guessed from the name."""
    if given and len(given) <= 255 and given != "application/octet-stream":
        return given
    guessed, _ = mimetypes.guess_type(name)
    return guessed or given


__all__ = ["BadForm", "BadToken", "DropResult", "DropUpload", "QuotaExceeded"]
