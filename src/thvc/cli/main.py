"""``thvc``: set up, run and administer ThVC.

Exit codes: 0 success, 1 the operation failed (the message says why),
2 wrong usage, 3 a check found problems (``audit verify``, ``fsck``).
"""

from __future__ import annotations

import atexit
import functools
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from thvc.accounts.models import Role, UserState
from thvc.accounts.services import principal_of
from thvc.blobs import BlobError
from thvc.db.migrate import NotMigrated
from thvc.errors import ThvcError
from thvc.files.models import SpaceRole
from thvc.services import Services, build_services
from thvc.settings import Settings, SettingsError, load_settings
from thvc.tenants.models import TenantKind

app = typer.Typer(
    help="ThVC: the sovereign administration cloud.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
tenant_app = typer.Typer(
    help="Tenants: agencies, municipalities, external organisations.", no_args_is_help=True
)
user_app = typer.Typer(help="User accounts.", no_args_is_help=True)
app_password_app = typer.Typer(
    help="App passwords for sync clients and scripts.", no_args_is_help=True
)
group_app = typer.Typer(help="Groups inside a tenant.", no_args_is_help=True)
space_app = typer.Typer(help="Team spaces of a tenant.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
trash_app = typer.Typer(help="The trash.", no_args_is_help=True)
app.add_typer(tenant_app, name="tenant")
app.add_typer(user_app, name="user")
user_app.add_typer(app_password_app, name="app-password")
app.add_typer(group_app, name="group")
app.add_typer(space_app, name="space")
app.add_typer(audit_app, name="audit")
app.add_typer(trash_app, name="trash")

# soft_wrap: an error is one line even when piped (Rich would wrap at 80 columns).
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
P = ParamSpec("P")
T = TypeVar("T")
SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGTP]?)(?:i?B)?\s*$", re.IGNORECASE)


def parse_size(text: str | None) -> int | None:
    """``50G`` -> bytes (binary units); ``none`` or ``unlimited`` -> None."""
    if text is None or text.lower() in ("none", "unlimited"):
        return None
    m = SIZE.fullmatch(text)
    if not m:
        raise typer.BadParameter(f"{text!r} is not a size like 500M, 50G or 2T")
    factor = 1024 ** " KMGTP".index(m.group(2).upper() or " ")
    return int(float(m.group(1)) * factor)


def human(n: int | None) -> str:
    if n is None:
        return "unlimited"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(n)


def fail(message: str, code: int = 1) -> None:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(code)


def handled(fn: Callable[P, T]) -> Callable[P, T]:
    """Turn the core's errors into one clear line and exit code 1."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return fn(*args, **kwargs)
        except (ThvcError, SettingsError, NotMigrated, BlobError) as exc:
            fail(str(exc))
            raise AssertionError from exc  # fail() raises; this keeps mypy content

    return wrapper


def settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        fail(str(exc))
        raise


def services(*, check: bool = True) -> Services:
    svc = build_services(settings())
    # One command, one process: close the pool when it ends (PostgreSQL notices otherwise).
    atexit.register(svc.close)
    if check:
        from thvc.db.migrate import check_current

        check_current(svc.db)
    return svc


def read_password(stdin: bool) -> str:
    if stdin:
        pw = sys.stdin.readline().rstrip("\r\n")
    else:
        pw = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not pw:
        fail("no password given")
    return pw


# -- init and serve ----------------------------------------------------------


@app.command()
@handled
def init() -> None:
    """Prepare the data directory, database, master key and first operator (idempotent)."""
    from thvc.setup import initialise

    result = initialise(settings())
    if result.operator_password:
        out.print("ThVC is initialised. The platform operator's login (shown only this once):")
        out.print(f"  login:    [bold]{result.operator_login}[/bold]", highlight=False)
        out.print(f"  password: [bold]{result.operator_password}[/bold]", highlight=False)
    else:
        out.print(
            f"ThVC was initialised already; operator login {result.operator_login}.",
            highlight=False,
        )


@app.command()
@handled
def serve() -> None:
    """Serve ThVC on THVC_BIND (default 127.0.0.1:8080)."""
    import uvicorn

    from thvc.web.logredact import uvicorn_log_config

    cfg = settings()
    services(check=True).close()  # fail before binding if not initialised
    out.print(f"ThVC serving on {cfg.base_url} (data in {cfg.data_dir})", highlight=False)
    uvicorn.run(
        "thvc.app:create_app",
        factory=True,
        host=cfg.host,
        port=cfg.port,
        workers=cfg.workers,
        log_level=cfg.log_level,
        http="httptools",
        loop="uvloop",
        server_header=False,
        timeout_keep_alive=cfg.keep_alive_seconds,
        # Link tokens in access lines are cut to their first characters.
        log_config=uvicorn_log_config(),
    )


# -- tenants -----------------------------------------------------------------


@tenant_app.command("create")
@handled
def tenant_create(
    slug: str,
    name: Annotated[str, typer.Option("--name", help="Display name")],
    kind: Annotated[TenantKind, typer.Option(help="municipality, agency or external")] = (
        TenantKind.MUNICIPALITY
    ),
    quota: Annotated[str | None, typer.Option(help="e.g. 50G")] = None,
) -> None:
    """Create a tenant."""
    if kind is TenantKind.PLATFORM:
        fail("the platform tenant is created by `thvc init`")
    t = services().tenants.create(slug, name, kind=kind, quota_bytes=parse_size(quota))
    out.print(
        f"created tenant {t.slug} ({t.name}, {t.kind.value}, quota {human(t.quota_bytes)})",
        highlight=False,
    )


@tenant_app.command("list")
@handled
def tenant_list() -> None:
    """List tenants with state, quota and usage."""
    table = Table("slug", "name", "kind", "state", "used", "quota")
    for t in services().tenants.all():
        table.add_row(
            t.slug, t.name, t.kind.value, t.state.value, human(t.used_bytes), human(t.quota_bytes)
        )
    out.print(table)


@tenant_app.command("usage")
@handled
def tenant_usage(
    days: Annotated[int, typer.Option(help="the recent period, in days")] = 30,
    tsv: Annotated[
        bool, typer.Option("--tsv", help="tab-separated, exact bytes (for spreadsheets)")
    ] = False,
) -> None:
    """Storage, accounts and bytes moved per tenant: the basis for allocating costs."""
    svc = services()
    users = svc.accounts.user_counts()
    ids = {t.slug: t.id for t in svc.tenants.all()}
    report = svc.tenants.usage(days=days)
    if tsv:
        print(f"slug\tstate\tused\tquota\taccounts\tin\tout\tin_{days}d\tout_{days}d")
        for u in report:
            quota = "" if u.quota_bytes is None else str(u.quota_bytes)
            print(
                f"{u.slug}\t{u.state.value}\t{u.used_bytes}\t{quota}\t{users.get(ids[u.slug], 0)}"
                f"\t{u.bytes_in}\t{u.bytes_out}\t{u.bytes_in_recent}\t{u.bytes_out_recent}"
            )
        return
    table = Table(
        "slug", "state", "used", "quota", "accounts", "in", "out", f"in {days}d", f"out {days}d"
    )
    for u in report:
        table.add_row(
            u.slug,
            u.state.value,
            human(u.used_bytes),
            human(u.quota_bytes),
            str(users.get(ids[u.slug], 0)),
            human(u.bytes_in),
            human(u.bytes_out),
            human(u.bytes_in_recent),
            human(u.bytes_out_recent),
        )
    out.print(table)


@tenant_app.command("suspend")
@handled
def tenant_suspend(slug: str) -> None:
    """Block every login of a tenant (data stays)."""
    services().tenants.suspend(slug)
    out.print(f"suspended {slug}")


@tenant_app.command("resume")
@handled
def tenant_resume(slug: str) -> None:
    """Allow a suspended tenant's logins again."""
    services().tenants.resume(slug)
    out.print(f"resumed {slug}")


@tenant_app.command("delete")
@handled
def tenant_delete(slug: str) -> None:
    """Block a tenant now; its data key is destroyed after the grace period."""
    t = services().tenants.delete(slug)
    out.print(
        f"deleted {slug}; its data becomes unrecoverable after {t.delete_after:%Y-%m-%d}"
        " (`thvc tenant shred`)",
        highlight=False,
    )


@tenant_app.command("quota")
@handled
def tenant_quota(slug: str, quota: str) -> None:
    """Set a tenant's quota (e.g. 50G, or none)."""
    services().tenants.set_quota(slug, parse_size(quota))
    out.print(f"quota of {slug} is {human(parse_size(quota))}")


def _yes_no(value: str, option: str, yes: str = "yes", no: str = "no") -> bool:
    v = value.strip().lower()
    if v not in (yes, no):
        raise typer.BadParameter(f"{option} takes {yes} or {no}, not {value!r}")
    return v == yes


@tenant_app.command("policy")
@handled
def tenant_policy(
    slug: str,
    share_with: Annotated[
        str | None,
        typer.Option(help="all, none, or tenant slugs separated by commas"),
    ] = None,
    links: Annotated[str | None, typer.Option(help="yes or no: public links and drops")] = None,
    link_password: Annotated[str | None, typer.Option(help="required or optional")] = None,
    link_max_days: Annotated[
        str | None, typer.Option(help="longest link lifetime in days, or none")
    ] = None,
    accept: Annotated[
        str | None, typer.Option(help="auto or manual: how received shares are accepted")
    ] = None,
    members_invite: Annotated[
        str | None, typer.Option(help="yes or no: members (not only admins) invite guests")
    ] = None,
) -> None:
    """Show a tenant's sharing policy, or change it. The stricter of two tenants' wins."""
    svc = services()
    changes: dict[str, Any] = {}
    if share_with is not None:
        changes["share_with"] = share_with
    if links is not None:
        changes["links"] = _yes_no(links, "--links")
    if link_password is not None:
        changes["link_password_required"] = _yes_no(
            link_password, "--link-password", "required", "optional"
        )
    if link_max_days is not None:
        if link_max_days.strip().lower() == "none":
            changes["link_max_days"] = None
        elif link_max_days.strip().isdigit():
            changes["link_max_days"] = int(link_max_days)
        else:
            raise typer.BadParameter("--link-max-days takes a number of days or none")
    if accept is not None:
        changes["auto_accept"] = _yes_no(accept, "--accept", "auto", "manual")
    if members_invite is not None:
        changes["members_invite"] = _yes_no(members_invite, "--members-invite")
    policy = (
        svc.tenants.set_policy(slug, actor="cli", **changes)
        if changes
        else svc.tenants.policy(slug)
    )
    scope = policy.share_scope.value
    if policy.share_with:
        scope = ", ".join(policy.share_with)
    out.print(f"policy of {slug}", highlight=False)
    out.print(f"  share with:     {scope}", highlight=False)
    out.print(f"  links & drops:  {'yes' if policy.links else 'no'}", highlight=False)
    out.print(
        f"  link password:  {'required' if policy.link_password_required else 'optional'}",
        highlight=False,
    )
    days = "none" if policy.link_max_days is None else f"{policy.link_max_days} days"
    out.print(f"  link max days:  {days}", highlight=False)
    out.print(f"  accept shares:  {'auto' if policy.auto_accept else 'manual'}", highlight=False)
    out.print(f"  members invite: {'yes' if policy.members_invite else 'no'}", highlight=False)


@tenant_app.command("shred")
@handled
def tenant_shred() -> None:
    """Destroy the data keys and blobs of tenants whose grace period has ended."""
    svc = services()
    ids = svc.tenants.shred_due()
    for tid in ids:
        svc.blobs.delete_tenant(tid)
    out.print(f"shredded {len(ids)} tenant(s)")


# -- users -------------------------------------------------------------------


@user_app.command("create")
@handled
def user_create(
    login: Annotated[str, typer.Argument(help="NAME@TENANT, e.g. anna@lauscha")],
    role: Annotated[str, typer.Option(help="member, tenant-admin or guest")] = "member",
    quota: Annotated[str | None, typer.Option(help="e.g. 10G")] = None,
    display_name: Annotated[str, typer.Option("--display-name")] = "",
    email: Annotated[str | None, typer.Option()] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin")
    ] = False,
) -> None:
    """Create a user account."""
    roles = {r.value: r for r in Role if r is not Role.OPERATOR}
    if role not in roles:
        fail(f"unknown role {role!r}: use {', '.join(roles)}", 2)
    pw = read_password(password_stdin)
    u = services().accounts.create_user(
        login,
        pw,
        role=roles[role],
        quota_bytes=parse_size(quota),
        display_name=display_name,
        email=email,
    )
    out.print(f"created {u.login} ({u.role.value})", highlight=False)


@user_app.command("invite")
@handled
def user_invite(
    email: Annotated[str, typer.Argument(help="the guest's e-mail address")],
    by: Annotated[str, typer.Option("--by", help="the inviting user, e.g. anna@lauscha")],
    days: Annotated[int | None, typer.Option(help="how long the guest account lives")] = None,
    display_name: Annotated[str, typer.Option("--display-name")] = "",
) -> None:
    """Invite an external person as a guest of the inviter's tenant."""
    svc = services()
    with svc.db.read() as s:
        inviter = principal_of(svc.accounts.get_user(s, by))
    invited = svc.invitations.invite(
        inviter, email, display_name=display_name, days=days, client="cli"
    )
    out.print(
        f"invited {invited.email} as {invited.login} "
        f"(account expires {invited.expires_at:%Y-%m-%d})",
        highlight=False,
    )
    if invited.mailed:
        out.print("the invitation was sent by e-mail", highlight=False)
    else:
        out.print("no SMTP server is configured: pass this link on:", highlight=False)
        out.print(invited.url, highlight=False, soft_wrap=True)


@user_app.command("list")
@handled
def user_list(tenant: Annotated[str | None, typer.Option(help="only this tenant")] = None) -> None:
    """List users."""
    table = Table("login", "name", "role", "state", "quota")
    for u, _ in services().accounts.list_users(tenant):
        table.add_row(u.login, u.display_name, u.role.value, u.state.value, human(u.quota_bytes))
    out.print(table)


@user_app.command("disable")
@handled
def user_disable(login: str) -> None:
    """Block a user's logins."""
    services().accounts.set_state(login, UserState.DISABLED)
    out.print(f"disabled {login}")


@user_app.command("enable")
@handled
def user_enable(login: str) -> None:
    """Allow a disabled user's logins again."""
    services().accounts.set_state(login, UserState.ACTIVE)
    out.print(f"enabled {login}")


@user_app.command("delete")
@handled
def user_delete(login: str) -> None:
    """Delete a user and their personal files."""
    services().accounts.delete_user(login)
    out.print(f"deleted {login}")


@user_app.command("password")
@handled
def user_password(
    login: str, password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False
) -> None:
    """Set a user's password."""
    services().accounts.set_password(login, read_password(password_stdin))
    out.print(f"password of {login} changed")


@app_password_app.command("create")
@handled
def app_password_create(login: str, name: str) -> None:
    """Create an app password; it is shown only once."""
    token = services().accounts.create_app_password(login, name)
    err.print(f"app password {name!r} for {login} (shown only once):", highlight=False)
    out.print(token, highlight=False)


@app_password_app.command("list")
@handled
def app_password_list(login: str) -> None:
    """List a user's app passwords (never the secrets)."""
    table = Table("name", "ends with", "created", "last used")
    for a in services().accounts.list_app_passwords(login):
        table.add_row(
            a.name,
            f"…{a.hint}",
            f"{a.created_at:%Y-%m-%d %H:%M}",
            f"{a.last_used_at:%Y-%m-%d %H:%M}" if a.last_used_at else "never",
        )
    out.print(table)


@app_password_app.command("revoke")
@handled
def app_password_revoke(login: str, name: str) -> None:
    """Revoke an app password; clients using it are logged out at once."""
    services().accounts.revoke_app_password(login, name)
    out.print(f"revoked {name!r} of {login}", highlight=False)


# -- groups and team spaces ---------------------------------------------------


@group_app.command("create")
@handled
def group_create(group: Annotated[str, typer.Argument(help="NAME@TENANT")]) -> None:
    """Create a group in a tenant."""
    name, _, slug = group.rpartition("@")
    if not name:
        fail("name the group as NAME@TENANT", 2)
    services().accounts.create_group(slug, name)
    out.print(f"created group {group}")


@group_app.command("add")
@handled
def group_add(group: str, login: str) -> None:
    """Add a user to a group of their tenant (GROUP is the name without @tenant)."""
    services().accounts.add_to_group(group.partition("@")[0], login)
    out.print(f"added {login} to {group}")


@group_app.command("remove")
@handled
def group_remove(group: str, login: str) -> None:
    """Remove a user from a group."""
    services().accounts.remove_from_group(group.partition("@")[0], login)
    out.print(f"removed {login} from {group}")


@space_app.command("create")
@handled
def space_create(
    tenant: str, name: str, quota: Annotated[str | None, typer.Option()] = None
) -> None:
    """Create a team space in a tenant."""
    services().files.create_team_space(tenant, name, quota_bytes=parse_size(quota))
    out.print(f"created team space {name!r} in {tenant}", highlight=False)


@space_app.command("member")
@handled
def space_member(
    tenant: str,
    name: str,
    role: Annotated[SpaceRole, typer.Option()] = SpaceRole.EDITOR,
    user: Annotated[str | None, typer.Option(help="a login of the tenant")] = None,
    group: Annotated[str | None, typer.Option(help="a group of the tenant")] = None,
) -> None:
    """Give a user or a group a role in a team space."""
    services().files.set_space_member(tenant, name, role=role, user_login=user, group=group)
    out.print(f"{user or group} is {role.value} of {name!r}", highlight=False)


# -- audit, fsck, trash -------------------------------------------------------


@audit_app.command("verify")
@handled
def audit_verify() -> None:
    """Check the hash chain; exit 3 naming the first bad event."""
    from thvc.audit import verify

    svc = services()
    with svc.db.read() as s:
        result = verify(s)
    if result.ok:
        out.print(f"audit log intact: {result.checked} events verified")
        return
    err.print(f"audit log BROKEN at event {result.first_bad_seq}: {result.reason}", highlight=False)
    raise typer.Exit(3)


@audit_app.command("export")
@handled
def audit_export(
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
    tenant: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Write the audit log as JSON lines (to stdout or a file)."""
    from thvc.audit import export

    svc = services()
    with svc.db.read() as s:
        tenant_id = svc.tenants.get(s, tenant).id if tenant else None
        if output is None:
            n = export(s, sys.stdout, tenant_id=tenant_id)
        else:
            with output.open("w", encoding="utf-8") as fh:
                n = export(s, fh, tenant_id=tenant_id)
    err.print(f"exported {n} events")


@app.command()
@handled
def fsck(
    repair: Annotated[bool, typer.Option("--repair", help="fix what can be fixed")] = False,
    quick: Annotated[bool, typer.Option("--quick", help="skip reading every blob")] = False,
    temp_age: Annotated[
        float,
        typer.Option(help="age in seconds after which an unfinished upload counts as abandoned"),
    ] = 3600,
) -> None:
    """Check database and blob store against each other; exit 3 if not clean."""
    from thvc.files.fsck import fsck as run_fsck

    svc = services()
    report = run_fsck(
        svc.db,
        svc.blobs,
        svc.files.keys,
        repair=repair,
        checksums=not quick,
        temp_age_seconds=temp_age,
        extra_referenced=svc.uploads.referenced_blobs,
    )
    for p in report.problems:
        out.print(f"problem: {p}", highlight=False)
    for p in report.unrepairable:
        out.print(f"damaged: {p}", highlight=False)
    for r in report.repairs:
        out.print(f"repaired: {r}", highlight=False)
    if report.clean:
        out.print("fsck: clean")
    elif repair and not report.unrepairable:
        out.print("fsck: repaired; run again to confirm")
    else:
        raise typer.Exit(3)


@trash_app.command("purge")
@handled
def trash_purge(
    days: Annotated[
        int | None, typer.Option(help="purge items older than this (default THVC_TRASH_DAYS)")
    ] = None,
) -> None:
    """Delete trashed items past their retention for good."""
    n = services().files.purge_trash(older_than_days=days)
    out.print(f"purged {n} item(s) from the trash")


def main() -> None:
    app()
