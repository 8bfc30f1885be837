"""Users, their tokens and the known roles."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from mso_flow.schemas.common import Request


class Me(BaseModel):
    username: str
    roles: list[str]


class UserCreate(Request):
    username: str = Field(max_length=100, examples=["somchai.j"])
    roles: list[str] = Field(min_length=1, max_length=50, examples=[["เจ้าหน้าที่งานสารบรรณ"]])
    force: bool = Field(default=False, description="create the user even if a role is not a known role")
    password: str | None = Field(
        default=None, max_length=1000, description="for the web app at /app (at least 10 characters); optional"
    )
    email: EmailStr | None = Field(default=None, description="where notifications are mailed; optional")


class UserUpdate(Request):
    """PATCH: the fields given are changed; PUT sends both."""

    roles: list[str] | None = Field(default=None, min_length=1, max_length=50, description="replaces the roles")
    active: bool | None = Field(default=None, description="false: the user's token is refused from now on")
    force: bool = Field(default=False, description="accept roles that are not known roles")
    email: EmailStr | None = Field(default=None, description="a new address for notifications; null removes it")


class UserPut(UserUpdate):
    roles: list[str] = Field(min_length=1, max_length=50)  # type: ignore[assignment]
    active: bool = True  # type: ignore[assignment]


class PasswordChange(Request):
    current: str = Field(max_length=1000)
    new: str = Field(max_length=1000, description="at least 10 characters")


class PasswordSet(Request):
    """An admin sets another person's web-app password; without `password` the service makes a one-time one."""

    password: str | None = Field(default=None, max_length=1000, description="at least 10 characters; omit for one")


class PasswordSetOut(BaseModel):
    username: str
    one_time_password: str | None = Field(description="shown once; null when the admin chose the password")
    must_change: bool = Field(description="the person chooses their own password at their next login")


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    username: str
    roles: list[str]
    active: bool = True
    created_at: datetime | None = None
    token_created_at: datetime | None = Field(default=None, description="null: no valid token (revoked)")
    email: str | None = Field(default=None, description="where notifications are mailed")


class UserCreated(UserOut):
    token: str = Field(description="bearer token, shown this once; only its hash is stored")


class TokenOut(BaseModel):
    username: str
    token: str = Field(description="the new bearer token, shown this once; the previous one no longer works")


class RoleSourceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    process_key: str
    process_name: str
    lane: str | None


class RoleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    role: str
    built_in: bool
    description: str | None = None
    sources: list[RoleSourceOut] = Field(description="the processes and lanes whose tasks this role works")
