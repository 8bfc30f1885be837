"""Helpers of the document tests: the สารบรรณ process worked to its step ๓ (ลงรับและสแกนหรือแนบไฟล์หนังสือ),
uploads as a client sends them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.documents import files

CLERK = "เจ้าหน้าที่งานสารบรรณ"
HEAD = "หัวหน้าฝ่ายสารบรรณ"
OWNER = "เจ้าของเรื่อง"
THAI_NAME = "หนังสือ พม 0201-123 ขอความอนุเคราะห์.pdf"


@pytest.fixture
def staff(make_user: Callable[..., dict[str, str]], saraban: str) -> dict[str, dict[str, str]]:
    return {
        "clerk": make_user("clerk1", CLERK),
        "clerk2": make_user("clerk2", CLERK),
        "head": make_user("head1", HEAD),
        "outsider": make_user("owner1", OWNER),
        "stranger": make_user("designer1", "designer"),
        "integrator": make_user("esaraban", "integrator"),
        "admin": make_user("admin1", "admin"),
        "auditor": make_user("auditor1", "auditor"),
    }


def only_task(client: TestClient, headers: dict[str, str], instance_id: str) -> dict[str, Any]:
    body = client.get("/api/v1/tasks", headers=headers, params={"process_instance_id": instance_id}).json()
    assert body["total"] == 1, body
    return body["items"][0]


def work(client: TestClient, headers: dict[str, str], instance_id: str, variables: dict[str, Any]) -> dict[str, Any]:
    task = only_task(client, headers, instance_id)
    done = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=headers, json={"variables": variables})
    assert done.status_code == 200, done.text
    return done.json()


def at_register(
    client: TestClient, staff: dict[str, dict[str, str]], secrecy: str = "normal", business_key: str | None = None
) -> tuple[str, dict[str, Any]]:
    """A สารบรรณ case started by the clerk and worked to step ๓; returns its id and the step's task (claimed)."""
    started = client.post(
        "/api/v1/process-definitions/central_saraban/start", headers=staff["clerk"], json={"business_key": business_key}
    )
    assert started.status_code == 201, started.text
    iid = started.json()["id"]
    work(client, staff["clerk"], iid, {"subject": "ขอความอนุเคราะห์ข้อมูล", "secrecy": secrecy, "speed": "urgent"})
    work(client, staff["clerk"], iid, {"documents_complete": True})
    task = only_task(client, staff["clerk"], iid)
    assert task["element_id"] == "Task_register"
    claimed = client.post(f"/api/v1/tasks/{task['id']}/claim", headers=staff["clerk"])
    assert claimed.status_code == 200, claimed.text
    return iid, claimed.json()


def upload(
    client: TestClient,
    headers: dict[str, str],
    instance_id: str,
    content: bytes,
    filename: str = THAI_NAME,
    content_type: str = "application/pdf",
    **fields: str,
) -> Any:
    return client.post(
        f"/api/v1/process-instances/{instance_id}/documents",
        headers=headers,
        files={"file": (filename, content, content_type)},
        data=fields,
    )


@pytest.fixture
def letter() -> bytes:
    return files.scanned_letter()
