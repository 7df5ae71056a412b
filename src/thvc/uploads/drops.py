"""tus uploads through a public link: a file drop, or a read-write link.

The link token is the Basic user name and the link's password the password, as
for public WebDAV. Uploads land in the link's folder, never overwrite (a taken
name gets `` (2)``…, chosen when the upload is created), and count against the
owner's quota; the file service audits each in the owner's tenant.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from thvc.errors import BadRequest, Forbidden
from thvc.files.perms import Perm
from thvc.files.services import FileService, Location
from thvc.sharing.services import SharingService
from thvc.uploads.tus import DropOpener, Uploader
from thvc.uploads.tus_headers import text


def drop_opener(sharing: SharingService, files: FileService) -> DropOpener:
    def open_drop(token: str, password: str | None, client: str | None) -> Uploader:
        access = sharing.open_link(token, password, client=client)
        if Perm.CREATE not in access.loc.perms or not access.is_dir:
            raise Forbidden("this link does not take uploads")

        def locate(target: Sequence[str], new: bool) -> Location:
            if len(target) != 1:
                raise BadRequest("uploads through a link go straight into its folder")
            name = files.unused_name(access.loc, target[0]) if new else target[0]
            return access.loc.child(name)

        def landed(name: str, size: int, metadata: Mapping[str, bytes], client: str | None) -> None:
            # Who (the name the visitor gave, if any) dropped what: for the owner's audit log.
            uploader = text(metadata, "uploader", "uploaderName")
            sharing.record_drop(access, name, size, uploader=uploader, client=client)

        return Uploader(access.actor, overwrite=False, locate=locate, landed=landed)

    return open_drop
