"""``/me``: the caller's account, password and app passwords."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from thvc.accounts.authz import tenant_slug_of
from thvc.accounts.models import Role
from thvc.accounts.services import LANGUAGES, Principal
from thvc.api.auth import CurrentCaller, Me
from thvc.api.deps import Client, Svc
from thvc.api.etags import json_response
from thvc.api.fields import Line, Text
from thvc.api.pagination import Cursor, Limit, Page, paginate
from thvc.api.problems import COMMON, responses
from thvc.errors import Forbidden, NotAuthenticated
from thvc.services import Services

router = APIRouter(tags=["me"], responses=COMMON)

Language = Annotated[str, Field(pattern="^(" + "|".join(LANGUAGES) + ")$")]
Password = Annotated[Text, Field(min_length=1, max_length=1024)]
AppPasswordName = Annotated[Line, Field(min_length=1, max_length=100)]


class WrongPassword(Forbidden):
    """The current password is wrong."""

    problem_type = "wrong-password"


class Account(BaseModel):
    """The caller's account."""

    login: str
    display_name: str
    email: str | None
    tenant: str
    role: Role
    language: str | None = Field(description="The web interface's language; null: the browser's")
    quota_bytes: int | None = Field(description="The account's own quota; null: none")
    used_bytes: int
    available_bytes: int | None = Field(
        description="What may still be stored (account and tenant quota); null: unlimited"
    )


class AccountChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: Language | None = Field(
        default=None, description="de or en; null follows the browser"
    )
    display_name: Annotated[Line, Field(max_length=200)] | None = Field(
        default=None, description="The name others see; empty shows the login"
    )


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current: Password
    new: Password


class AppPasswordInfo(BaseModel):
    name: str
    hint: str = Field(description="The last four characters, to tell app passwords apart")
    created_at: datetime
    last_used_at: datetime | None


class AppPasswordRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: AppPasswordName


class AppPasswordCreated(BaseModel):
    name: str
    token: str = Field(description="The app password; shown this once, only its hash is kept")
    hint: str


def account(svc: Services, me: Principal) -> Account:
    with svc.db.read() as s:
        user = svc.accounts.get_user(s, me.login)
        quota, email, language = user.quota_bytes, user.email, user.language
        display_name = user.display_name or user.login
    used, available = svc.files.quota(svc.files.locate(me, me.login, []))
    return Account(
        login=me.login,
        display_name=display_name,
        email=email,
        tenant=tenant_slug_of(me),
        role=me.role,
        language=language,
        quota_bytes=quota,
        used_bytes=used,
        available_bytes=available,
    )


@router.get("/me", response_model=Account, responses=responses(304))
def get_me(request: Request, svc: Svc, me: Me) -> Response:
    """Who you are, your role and your storage."""
    return json_response(request, account(svc, me))


@router.patch("/me", response_model=Account)
def change_me(svc: Svc, me: Me, change: AccountChange) -> Account:
    """Change your language or display name."""
    if change.display_name is not None:
        svc.accounts.set_display_name(me.login, change.display_name, actor=me.login)
    if "language" in change.model_fields_set:
        svc.accounts.set_language(me.login, change.language, actor=me.login)
    return account(svc, me)


@router.post("/me/password", status_code=204, response_class=Response)
def change_password(svc: Svc, caller: CurrentCaller, client: Client, body: PasswordChange) -> None:
    """Change your password; the current one is checked (and wrong tries throttled)."""
    me = caller.principal
    try:
        # Ends the user's web sessions (but the one asking, if it is one).
        svc.sessions.change_own_password(
            me,
            body.current,
            body.new,
            client=client,
            keep=caller.session.id if caller.session is not None else None,
        )
    except NotAuthenticated:
        # Not a 401: the credentials of this request are good, only the field is wrong.
        raise WrongPassword("the current password is wrong") from None


@router.get("/me/app-passwords", response_model=Page[AppPasswordInfo])
def list_app_passwords(
    svc: Svc, me: Me, limit: Limit = 100, cursor: Cursor = None
) -> Page[AppPasswordInfo]:
    """Your app passwords (for sync clients and scripts); never the secrets."""
    rows = svc.accounts.list_app_passwords(me.login)
    page, nxt = paginate(
        rows,
        lambda a: (a.name,),
        scope="app-passwords",
        kinds=(str,),
        limit=limit,
        cursor=cursor,
    )
    return Page(
        items=[
            AppPasswordInfo(
                name=a.name, hint=a.hint, created_at=a.created_at, last_used_at=a.last_used_at
            )
            for a in page
        ],
        next_cursor=nxt,
    )


@router.post(
    "/me/app-passwords",
    status_code=201,
    response_model=AppPasswordCreated,
    responses=responses(409),
)
def create_app_password(svc: Svc, me: Me, body: AppPasswordRequest) -> AppPasswordCreated:
    """A new app password. It is in this answer only: store it now."""
    token = svc.accounts.create_app_password(me.login, body.name, actor=me.login)
    return AppPasswordCreated(name=body.name, token=token, hint=token[-4:])


@router.delete("/me/app-passwords/{name}", status_code=204, response_class=Response)
def revoke_app_password(
    svc: Svc,
    me: Me,
    name: Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$")],
) -> None:
    """Revoke an app password: clients using it are logged out."""
    svc.accounts.revoke_app_password(me.login, name, actor=me.login)
