"""Write locks: which locks cover a path, and whether a request may write there.

Every writing method of the file service calls :func:`require` inside its
transaction, whatever protocol the request came by, so a lock taken over
WebDAV also holds against the Nextcloud API, tus and the web interface, and
against every server process.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, or_, select
from sqlalchemy.orm import Session

from thvc.accounts.services import Principal
from thvc.db.hot import Batch, Later, Reader, Row, marks
from thvc.db.types import utcnow
from thvc.errors import ThvcError
from thvc.files import paths
from thvc.files.models import Lock, LockScope


class Locked(ThvcError):
    """The resource is locked and the request did not submit a lock token it owns."""

    def __init__(self, path: str, root_href: str) -> None:
        super().__init__("the resource is locked")
        self.path = path
        self.root_href = root_href


class LockConflict(Locked):
    """A lock cannot be granted because a conflicting lock exists."""


class LockTokenMismatch(ThvcError):
    """The lock token does not belong to a lock on this resource."""


class NotLockOwner(ThvcError):
    """Only the user who took a lock may release or refresh it."""


@dataclass(frozen=True)
class LockInfo:
    token: str
    path: str
    infinite: bool
    exclusive: bool
    owner: str
    timeout: int
    expires_at: datetime
    root_href: str


def info(lock: Lock) -> LockInfo:
    return LockInfo(
        lock.token,
        lock.path,
        lock.infinite,
        lock.scope is LockScope.EXCLUSIVE,
        lock.owner,
        lock.timeout,
        lock.expires_at,
        lock.root_href,
    )


def _covering_clause(path: str) -> ColumnElement[bool]:
    """Locks on ``path`` itself, or with depth infinity on a folder above it."""
    above = paths.ancestors(path)
    clause = Lock.path == path
    if above:
        clause = or_(clause, and_(Lock.infinite.is_(True), Lock.path.in_(above)))
    return clause


def covering(s: Session, space_id: int, path: str, *, below: bool = False) -> list[Lock]:
    """Live locks that cover ``path`` (and, with ``below``, any lock inside it)."""
    clause = _covering_clause(path)
    if below:
        lo, hi = paths.descendant_bounds(path)
        clause = or_(clause, and_(Lock.path > lo, Lock.path < hi))
    return list(
        s.scalars(select(Lock).where(Lock.space_id == space_id, Lock.expires_at > utcnow(), clause))
    )


def require(
    r: Reader,
    actor: Principal,
    space_id: int,
    targets: Iterable[tuple[str, bool]],
    tokens: Collection[str],
) -> None:
    """Raise Locked unless the request may write every target.

    ``targets`` are (path, whole subtree?) pairs. A lock is satisfied when the
    request submitted its token and the actor owns it (a token of another user
    is refused). An exclusive lock must be satisfied; of shared locks on the
    same resource, one satisfied lock is enough (RFC 4918 §6.1).

    Every write asks this, mostly of a space without a single lock: one query for
    all targets, in plain SQL (:mod:`thvc.db.hot`).
    """
    wanted = list(targets)
    with r.batch() as b:
        found = held_on(b, space_id, wanted)
    check(found.get(), actor, wanted, tokens)


def held_on(b: Batch, space_id: int, targets: Iterable[tuple[str, bool]]) -> Later[list[_Held]]:
    """The live locks that may bear on writing ``targets`` (see :func:`check`).

    A resource's folder is among its ancestors: the locks read for writing a file
    also decide adding it to its folder.
    """
    wanted = list(targets)
    exact = sorted({p for path, _ in wanted for p in (path, *paths.ancestors(path))})
    below = [paths.descendant_bounds(path) for path, subtree in wanted if subtree]
    return b.all(
        "SELECT token, path, infinite, scope, user_id, root_href FROM locks"
        f" WHERE space_id = ? AND expires_at > ? AND (path IN ({marks(len(exact))})"
        + " OR (path > ? AND path < ?)" * len(below)
        + ")",
        space_id,
        b.reader.bind_ts(utcnow()),
        *exact,
        *(bound for pair in below for bound in pair),
    ).then(_held)


def _held(rows: list[Row]) -> list[_Held]:
    return [_Held(t, p, bool(i), s == LockScope.SHARED.value, u, h) for t, p, i, s, u, h in rows]


def check(
    found: list[_Held],
    actor: Principal,
    targets: Iterable[tuple[str, bool]],
    tokens: Collection[str],
) -> None:
    """:func:`require` on locks already read with :func:`held_on` (for the same targets,
    or their resource's folder)."""
    if not found:
        return
    for path, subtree in targets:
        held = [lk for lk in found if lk.covers(path, subtree)]
        mine = {lk.token for lk in held if lk.token in tokens and lk.user_id == actor.user_id}
        for lk in held:
            if lk.token in mine:
                continue
            if lk.shared and any(o.token in mine and o.path == lk.path for o in held):
                continue
            raise Locked(lk.path, lk.root_href)


@dataclass(frozen=True, slots=True)
class _Held:
    """A live lock as :func:`require` weighs it."""

    token: str
    path: str
    infinite: bool
    shared: bool
    user_id: int
    root_href: str

    def covers(self, path: str, subtree: bool) -> bool:
        """On ``path``, on a folder above it with depth infinity, or (``subtree``) below it."""
        if self.path == path:
            return True
        if self.infinite and path.startswith(self.path + "/" if self.path else "/"):
            return True
        return subtree and self.path.startswith(path + "/")


def drop_below(s: Session, space_id: int, path: str) -> None:
    """A resource that is deleted or moved away loses the locks on it and below it."""
    lo, hi = paths.descendant_bounds(path)
    s.execute(
        delete(Lock).where(
            Lock.space_id == space_id, or_(Lock.path == path, and_(Lock.path > lo, Lock.path < hi))
        )
    )


def tokens_on(s: Session, space_id: int, path: str) -> set[str]:
    return {lk.token for lk in covering(s, space_id, path)}


def for_listing(
    b: Batch, space_id: int, folder: str, names: Sequence[str]
) -> Later[dict[str, list[LockInfo]]]:
    """Locks covering a folder and each of its children, in one query, by path; a path
    nothing covers is left out (most listings: the answer is empty)."""
    wanted = [*paths.ancestors(folder), folder] if folder else [""]
    lo, hi = paths.descendant_bounds(folder)
    r = b.reader
    return b.all(
        "SELECT token, path, infinite, scope, owner, timeout, expires_at, root_href FROM locks"
        f" WHERE space_id = ? AND expires_at > ? AND (path IN ({marks(len(wanted))})"
        " OR (path > ? AND path < ?))",
        space_id,
        r.bind_ts(utcnow()),
        *wanted,
        lo,
        hi,
    ).then(lambda rows: _by_path(r, rows, folder, names, set(wanted)))


def _by_path(
    r: Reader, rows: list[Row], folder: str, names: Sequence[str], above: set[str]
) -> dict[str, list[LockInfo]]:
    if not rows:
        return {}  # nothing locked here: no path of a 1,000-file listing built for nothing
    out: dict[str, list[LockInfo]] = {p: [] for p in [folder, *(f"{folder}/{n}" for n in names)]}
    for token, path, infinite, scope, owner, timeout, expires_at, root_href in rows:
        if path not in above and path not in out:
            continue  # deeper down: covers none of these
        lk = LockInfo(
            token,
            path,
            bool(infinite),
            scope == LockScope.EXCLUSIVE.value,
            owner,
            timeout,
            r.ts(expires_at),  # type: ignore[arg-type]
            root_href,
        )
        for p in out:
            if lk.path == p or (lk.infinite and p.startswith(lk.path + "/")):
                out[p].append(lk)
    return {p: held for p, held in out.items() if held}
