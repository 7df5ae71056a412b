"""``/guests``: inviting external people as guests of the caller's tenant.

Who may invite (not guests; members only where the tenant's policy lets them)
is the invitation core's decision.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from thvc.api.auth import Me
from thvc.api.deps import Client, Svc
from thvc.api.fields import Line
from thvc.api.problems import COMMON

router = APIRouter(tags=["guests"], responses=COMMON)


class GuestInvitation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Annotated[Line, Field(min_length=3, max_length=320)]
    display_name: Annotated[Line, Field(max_length=200)] = ""
    days: Annotated[int, Field(ge=1, le=3650)] | None = Field(
        default=None, description="How long the guest account lives; default: the setting"
    )


class GuestInvited(BaseModel):
    login: str
    email: str
    expires_at: datetime
    url: str = Field(description="The one-time link to set a password")
    mailed: bool = Field(description="Sent by mail; if false, pass the link on yourself")


@router.post("/guests", status_code=201, response_model=GuestInvited)
def invite_guest(svc: Svc, me: Me, client: Client, body: GuestInvitation) -> GuestInvited:
    """Invite someone by e-mail: a guest account in your tenant that sees only what is
    shared with it."""
    invited = svc.invitations.invite(
        me, body.email, display_name=body.display_name, days=body.days, client=client
    )
    return GuestInvited(
        login=invited.login,
        email=invited.email,
        expires_at=invited.expires_at,
        url=invited.url,
        mailed=invited.mailed,
    )
