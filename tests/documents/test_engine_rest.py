"""Camunda 7's task attachments at `/engine-rest` (HTTP Basic): the same documents as the v1 API, Camunda's
AttachmentDto shape, 401/403/404 as the façade answers, the bytes as `application/octet-stream`."""

from __future__ import annotations

import base64
import hashlib

from tests.documents import files
from tests.documents.conftest import at_register

BASE = "/engine-rest"


def basic(headers: dict[str, str], username: str) -> dict[str, str]:
    token = headers["Authorization"].removeprefix("Bearer ")
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{token}".encode()).decode()}


def test_a_task_attachment_is_a_document_of_the_case(client, staff, letter):
    iid, task = at_register(client, staff)
    clerk = basic(staff["clerk"], "clerk1")
    created = client.post(
        f"{BASE}/task/{task['id']}/attachment/create",
        headers=clerk,
        data={
            "attachment-name": "หนังสือเข้า พม 0201",
            "attachment-description": "สแกนจากต้นฉบับ",
            "attachment-type": "application/pdf",
        },
        files={"content": ("หนังสือเข้า.pdf", letter, "application/octet-stream")},
    )
    assert created.status_code == 200, created.text
    dto = created.json()
    assert set(dto) == {
        "links",
        "id",
        "name",
        "description",
        "taskId",
        "type",
        "url",
        "createTime",
        "removalTime",
        "rootProcessInstanceId",
    }
    assert (dto["name"], dto["description"], dto["taskId"], dto["type"]) == (
        "หนังสือเข้า พม 0201",
        "สแกนจากต้นฉบับ",
        task["id"],
        "application/pdf",
    )
    assert dto["url"] is None and dto["removalTime"] is None and dto["rootProcessInstanceId"] == iid
    assert dto["links"][0]["rel"] == "self" and dto["links"][0]["href"].endswith(f"/attachment/{dto['id']}")
    assert dto["createTime"][-5] in "+-"  # Camunda's date format with its offset

    listed = client.get(f"{BASE}/task/{task['id']}/attachment", headers=clerk).json()
    assert [a["id"] for a in listed] == [dto["id"]]
    assert client.get(f"{BASE}/task/{task['id']}/attachment/{dto['id']}", headers=clerk).json()["id"] == dto["id"]
    data = client.get(f"{BASE}/task/{task['id']}/attachment/{dto['id']}/data", headers=clerk)
    assert data.status_code == 200 and data.content == letter
    assert data.headers["content-type"] == "application/octet-stream"
    assert data.headers["x-content-type-options"] == "nosniff"

    v1 = client.get(f"/api/v1/process-instances/{iid}/documents", headers=staff["clerk"]).json()
    assert v1["items"][0]["id"] == dto["id"]
    assert v1["items"][0]["sha256"] == hashlib.sha256(letter).hexdigest()


def test_refusals_in_camundas_shape(client, staff, letter):
    _, task = at_register(client, staff)
    outsider = basic(staff["outsider"], "owner1")
    clerk = basic(staff["clerk"], "clerk1")
    url = f"{BASE}/task/{task['id']}/attachment"
    assert client.get(url).status_code == 401
    assert client.get(url).headers["www-authenticate"].startswith("Basic")
    for response in (
        client.get(url, headers=outsider),
        client.post(f"{url}/create", headers=outsider, files={"content": ("a.pdf", letter)}),
    ):
        assert response.status_code == 403, response.text
        assert response.json()["type"] == "AuthorizationException"
    missing = client.get(f"{BASE}/task/nope/attachment", headers=clerk)
    assert missing.status_code == 404 and missing.json()["type"] == "InvalidRequestException"
    assert (
        client.post(
            f"{BASE}/task/nope/attachment/create", headers=clerk, files={"content": ("a.pdf", letter)}
        ).status_code
        == 400
    )
    assert client.get(f"{url}/nope", headers=clerk).status_code == 404
    assert client.get(f"{url}/nope/data", headers=clerk).status_code == 404
    no_content = client.post(f"{url}/create", headers=clerk, data={"url": "https://example.org/a.pdf"})
    assert no_content.status_code == 400
    exe = client.post(f"{url}/create", headers=clerk, files={"content": ("a.pdf", files.windows_exe())})
    assert exe.status_code == 415 and exe.json()["type"] == "InvalidRequestException"
    empty = client.post(f"{url}/create", headers=clerk, files={"content": ("a.pdf", b"")})
    assert empty.status_code == 400
    assert client.delete(f"{url}/whatever", headers=clerk).status_code == 405
