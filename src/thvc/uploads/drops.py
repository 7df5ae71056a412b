"""tus uploads through a public link: a file drop, or a read-write link.

The link token is the Basic user name and the link's password the password, as
for public WebDAV. Uploads land in the link's folder, never overwrite (a taken
name gets `` (2)``…, chosen when the upload is created), and count against the
owner's quota; the file service audits each in the owner's tenant.
"""

from __future__ import annotations

from collections.abc import Sequence

from thvc.errors import BadRequest, Forbidden
from thvc.files.perms import Perm
from thvc.files.services import FileService, Location
from thvc.sharing.services import SharingService
from thvc.uploads.tus import DropOpener, Uploader


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

        return Uploader(access.actor, overwrite=False, locate=locate)

    return open_drop
