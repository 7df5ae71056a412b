"""Live properties: a table of getters from an Entry to XML text.

Each getter returns the property's inner XML (already escaped) or None when
the property does not apply to that resource (then it is reported 404).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from thvc.dav.lock import SUPPORTED_LOCK, lockdiscovery
from thvc.dav.xml import DAV, NC, OC, escape, http_date, iso_date
from thvc.files.locks import LockInfo
from thvc.files.perms import Perm
from thvc.files.services import Entry


@dataclass(frozen=True)
class Quota:
    used: int
    available: int | None


@dataclass(frozen=True)
class Extra:
    """What a getter may need beyond the entry, fetched once per listing."""

    quota: Quota | None = None
    locks: tuple[LockInfo, ...] = ()


Getter = Callable[[Entry, Extra], str | None]


def _permissions(e: Entry, x: Extra) -> str:
    """Nextcloud's letters, as its clients read them.

    S shared with me, R may re-share, M mounted, G readable, D delete, N rename,
    V move, W write, C create file, K create folder.
    """
    p = e.perms
    out = ("S" if e.shared_with_me else "") + ("R" if Perm.SHARE in p else "")
    out += ("M" if e.is_mount else "") + ("G" if Perm.READ in p else "")
    if not e.is_root:
        out += ("D" if Perm.DELETE in p else "") + ("NV" if Perm.UPDATE in p else "")
    if e.is_dir:
        out += "CK" if Perm.CREATE in p else ""
    elif Perm.UPDATE in p:
        out += "W"
    return out


def _share_types(e: Entry, x: Extra) -> str:
    return "".join(f"<oc:share-type>{t}</oc:share-type>" for t in e.share_types)


LIVE: dict[tuple[str, str], Getter] = {
    (DAV, "resourcetype"): lambda e, x: "<d:collection/>" if e.is_dir else "",
    (DAV, "getcontentlength"): lambda e, x: None if e.is_dir else str(e.size),
    (DAV, "getcontenttype"): lambda e, x: (
        None if e.is_dir else escape(e.content_type or "application/octet-stream")
    ),
    (DAV, "getetag"): lambda e, x: escape(f'"{e.etag}"'),
    (DAV, "getlastmodified"): lambda e, x: http_date(e.mtime),
    (DAV, "creationdate"): lambda e, x: iso_date(e.created_at),
    (DAV, "displayname"): lambda e, x: escape(e.name),
    # RFC 4331; only for collections, and never in allprop.
    (DAV, "quota-used-bytes"): lambda e, x: str(x.quota.used) if e.is_dir and x.quota else None,
    # -3 is SabreDAV's "unlimited", which the Nextcloud clients understand.
    (DAV, "quota-available-bytes"): lambda e, x: (
        None
        if not e.is_dir or x.quota is None
        else str(x.quota.available if x.quota.available is not None else -3)
    ),
    (DAV, "supportedlock"): lambda e, x: SUPPORTED_LOCK,
    (DAV, "lockdiscovery"): lambda e, x: lockdiscovery(list(x.locks)),
    (OC, "fileid"): lambda e, x: str(e.id),
    (OC, "id"): lambda e, x: f"{e.id:08d}thvc",
    (OC, "size"): lambda e, x: str(e.size),
    (OC, "permissions"): _permissions,
    (OC, "checksums"): lambda e, x: (
        None if e.is_dir or not e.sha256 else f"<oc:checksum>SHA256:{e.sha256}</oc:checksum>"
    ),
    (OC, "owner-id"): lambda e, x: escape(e.owner),
    (OC, "owner-display-name"): lambda e, x: escape(e.owner),
    (OC, "share-types"): _share_types,
    # Changes only when a backup is restored; none has been.
    (OC, "data-fingerprint"): lambda e, x: "",
    (NC, "mount-type"): lambda e, x: e.mount_type.value,
    (NC, "has-preview"): lambda e, x: "false",
    (NC, "is-encrypted"): lambda e, x: "0",
}

# RFC 4918 §9.1: allprop returns the properties this specification defines
# (and the dead ones), not expensive or foreign extensions.
ALLPROP = [k for k in LIVE if k[0] == DAV and not k[1].startswith("quota")]
NEEDS_QUOTA = {(DAV, "quota-used-bytes"), (DAV, "quota-available-bytes")}
# Computed by the server: a PROPPATCH may not change them.
PROTECTED = set(LIVE)
NEEDS_LOCKS = {(DAV, "lockdiscovery")}
