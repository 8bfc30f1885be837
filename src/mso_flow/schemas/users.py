"""Users and the caller."""

from __future__ import annotations

from pydantic import BaseModel, Field

from mso_flow.schemas.common import Request


class Me(BaseModel):
    username: str
    roles: list[str]


class UserCreate(Request):
    username: str = Field(max_length=100, examples=["somchai.j"])
    roles: list[str] = Field(min_length=1, max_length=50, examples=[["เจ้าหน้าที่งานสารบรรณ"]])
    password: str | None = Field(
        default=None, max_length=1000, description="for the web app at /app (at least 10 characters); optional"
    )


class PasswordChange(Request):
    current: str = Field(max_length=1000)
    new: str = Field(max_length=1000, description="at least 10 characters")


class UserOut(BaseModel):
    username: str
    roles: list[str]


class UserCreated(UserOut):
    token: str = Field(description="bearer token, shown this once; only its hash is stored")
