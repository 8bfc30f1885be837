"""Documents over the v1 API (`../shared/design/documents.md`), on both databases: a clerk attaches the scanned
letter at step ๓ of สารบรรณ, the head of section reads it at step ๕, a new version is added and the old one stays
readable, it is withdrawn with a reason; outsiders get 403/404; the audit chain holds each version's SHA-256."""

from __future__ import annotations

import hashlib
from urllib.parse import quote

from tests.documents import files
from tests.documents.conftest import THAI_NAME, at_register, only_task, upload, work


def test_the_scanned_letter_of_step_3_goes_with_the_case_to_the_head_of_section(client, staff, letter):
    iid, task = at_register(client, staff)
    form = {f["id"]: f for f in task["form"]}
    assert form["letter_file"]["type"] == "file"
    assert form["letter_file"]["required"] is True
    assert form["letter_file"]["accept"] == ["application/pdf", "image/*"]

    missing = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=staff["clerk"], json={"variables": {}})
    assert missing.status_code == 422, missing.text
    assert [e["field"] for e in missing.json()["errors"]] == ["letter_file"]

    added = upload(client, staff["clerk"], iid, letter, task_id=task["id"], field="letter_file", title="หนังสือเข้า")
    assert added.status_code == 201, added.text
    document = added.json()
    assert document["filename"] == THAI_NAME
    assert document["media_type"] == "application/pdf"
    assert document["size"] == len(letter)
    assert document["sha256"] == hashlib.sha256(letter).hexdigest()
    assert (document["version"], document["uploaded_by"], document["withdrawn"]) == (1, "clerk1", False)
    assert (document["task_id"], document["field"], document["instance_id"]) == (task["id"], "letter_file", iid)

    done = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=staff["clerk"], json={"variables": {}})
    assert done.status_code == 200, done.text
    assert done.json()["instance"]["variables"]["letter_file"] == [document["id"]]
    work(client, staff["clerk"], iid, {"importance": "important"})

    review = only_task(client, staff["head"], iid)
    assert review["element_id"] == "Task_review"
    listed = client.get(f"/api/v1/process-instances/{iid}/documents", headers=staff["head"]).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == document["id"]
    got = client.get(f"/api/v1/documents/{document['id']}/content", headers=staff["head"])
    assert got.status_code == 200
    assert got.content == letter
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"].startswith("attachment;")
    assert f"filename*=UTF-8''{quote(THAI_NAME, safe='')}" in got.headers["content-disposition"]
    assert "sandbox" in got.headers["content-security-policy"]

    signed = files.scanned_letter("MSO 0201/123 signed", pages=2)
    version = client.post(
        f"/api/v1/documents/{document['id']}/versions",
        headers=staff["head"],
        files={"file": ("หนังสือ ลงนามแล้ว.pdf", signed, "application/pdf")},
    )
    assert version.status_code == 201, version.text
    body = version.json()
    assert (body["version"], body["uploaded_by"], body["created_by"]) == (2, "head1", "clerk1")
    assert [v["sha256"] for v in body["versions"]] == [document["sha256"], hashlib.sha256(signed).hexdigest()]
    assert client.get(f"/api/v1/documents/{document['id']}/content", headers=staff["head"]).content == signed
    old = client.get(f"/api/v1/documents/{document['id']}/content?version=1", headers=staff["head"])
    assert old.content == letter
    assert client.get(f"/api/v1/documents/{document['id']}/content?version=3", headers=staff["head"]).status_code == 404

    audit = client.get(f"/api/v1/process-instances/{iid}/audit", headers=staff["head"], params={"limit": 500}).json()
    kinds = {e["type"]: e for e in audit["items"] if e["type"].startswith("document_")}
    assert kinds["document_added"]["data"]["sha256"] == document["sha256"]
    assert kinds["document_version_added"]["data"]["sha256"] == hashlib.sha256(signed).hexdigest()
    assert kinds["document_version_added"]["data"]["version"] == 2
    verify = client.get(f"/api/v1/process-instances/{iid}/audit/verify", headers=staff["head"]).json()
    assert verify["ok"] is True


def test_withdrawn_documents_stay_readable_and_only_their_uploader_or_an_admin_withdraws(client, staff, letter):
    iid, task = at_register(client, staff)
    document = upload(client, staff["clerk"], iid, letter, task_id=task["id"], field="letter_file").json()
    path = f"/api/v1/documents/{document['id']}/withdraw"
    refused = client.post(path, headers=staff["clerk2"], json={"reason": "ผิดฉบับ"})
    assert refused.status_code == 403, refused.text
    assert client.post(path, headers=staff["clerk"], json={"reason": ""}).status_code == 422
    withdrawn = client.post(path, headers=staff["clerk"], json={"reason": "สแกนผิดฉบับ"})
    assert withdrawn.status_code == 200, withdrawn.text
    body = withdrawn.json()
    assert (body["withdrawn"], body["withdrawn_by"], body["withdraw_reason"]) == (True, "clerk1", "สแกนผิดฉบับ")
    assert client.post(path, headers=staff["clerk"], json={"reason": "อีกครั้ง"}).status_code == 409
    listed = client.get(f"/api/v1/process-instances/{iid}/documents", headers=staff["clerk"]).json()
    assert listed["items"][0]["withdrawn"] is True
    still = client.get(f"/api/v1/documents/{document['id']}/content", headers=staff["clerk"])
    assert still.content == letter and still.headers["x-mso-document-withdrawn"] == "true"
    versions = f"/api/v1/documents/{document['id']}/versions"
    again = client.post(versions, headers=staff["clerk"], files={"file": ("x.pdf", letter, "application/pdf")})
    assert again.status_code == 409

    # a withdrawn document does not answer the required field
    missing = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=staff["clerk"], json={"variables": {}})
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "letter_file"
    audit = client.get(f"/api/v1/process-instances/{iid}/audit", headers=staff["clerk"], params={"limit": 500}).json()
    event = next(e for e in audit["items"] if e["type"] == "document_withdrawn")
    assert event["data"]["sha256"] == document["sha256"]
    assert document["sealed"] is True and "reason" not in event["data"]  # a letter's texts are sealed, not in the chain


def test_outsiders_get_403_or_404_everywhere(client, staff, letter):
    iid, task = at_register(client, staff)
    document = upload(client, staff["clerk"], iid, letter, task_id=task["id"], field="letter_file").json()
    doc = document["id"]
    for who in ("outsider", "stranger"):
        headers = staff[who]
        assert upload(client, headers, iid, letter).status_code == 403
        assert client.get(f"/api/v1/process-instances/{iid}/documents", headers=headers).status_code == 403
        assert client.get(f"/api/v1/documents/{doc}", headers=headers).status_code == 403
        assert client.get(f"/api/v1/documents/{doc}/content", headers=headers).status_code == 403
        assert client.get(f"/api/v1/documents/{doc}/preview.png", headers=headers).status_code == 403
        new = client.post(f"/api/v1/documents/{doc}/versions", headers=headers, files={"file": ("a.pdf", letter)})
        assert new.status_code == 403
        assert (
            client.post(f"/api/v1/documents/{doc}/withdraw", headers=headers, json={"reason": "x"}).status_code == 403
        )
    for path in (
        "/api/v1/documents/nope",
        "/api/v1/documents/nope/content",
        "/api/v1/process-instances/nope/documents",
    ):
        assert client.get(path, headers=staff["clerk"]).status_code == 404
    assert upload(client, staff["clerk"], "nope", letter).status_code == 404
    assert client.get(f"/api/v1/documents/{doc}").status_code == 401
    # another clerk (a candidate of an open task) may attach; the auditor reads but attaches nothing
    assert client.get(f"/api/v1/documents/{doc}/content", headers=staff["auditor"]).content == letter
    assert upload(client, staff["auditor"], iid, letter).status_code == 403


def test_bad_uploads_are_refused_and_leave_nothing_behind(client, staff, letter, services):
    iid, task = at_register(client, staff)
    clerk = staff["clerk"]
    exe = upload(client, clerk, iid, files.windows_exe(), "หนังสือ.pdf", "application/pdf")
    assert exe.status_code == 415, exe.text
    assert exe.json()["type"] == "urn:mso-flow:problem:type_not_allowed"
    declared = upload(client, clerk, iid, letter, "scan.png", "image/png")
    assert declared.status_code == 415 and declared.json()["type"].endswith("type_mismatch")
    lying = upload(client, clerk, iid, letter, "scan.pdf", "image/png")
    assert lying.status_code == 415
    zip_file = upload(client, clerk, iid, files.plain_zip(), "a.zip", "application/zip")
    assert zip_file.status_code == 415
    empty = upload(client, clerk, iid, b"", "empty.pdf")
    assert empty.status_code == 422 and empty.json()["type"].endswith("empty_file")
    no_file = client.post(f"/api/v1/process-instances/{iid}/documents", headers=clerk, data={"title": "x"})
    assert no_file.status_code in (400, 422)
    unknown_task = upload(client, clerk, iid, letter, task_id="no-such-task")
    assert unknown_task.status_code == 422 and unknown_task.json()["type"].endswith("unknown_task")
    unknown_field = upload(client, clerk, iid, letter, task_id=task["id"], field="no_such_field")
    assert unknown_field.status_code == 422 and unknown_field.json()["type"].endswith("unknown_field")
    not_a_file_field = upload(client, clerk, iid, letter, task_id=task["id"], field="subject")
    assert not_a_file_field.status_code == 422
    field_only = upload(client, clerk, iid, letter, field="letter_file")
    assert field_only.status_code == 422
    docx = upload(
        client,
        clerk,
        iid,
        files.docx(),
        "หนังสือ.docx",
        "application/octet-stream",
        task_id=task["id"],
        field="letter_file",
    )
    assert docx.status_code == 415 and docx.json()["type"].endswith("type_not_accepted")

    assert client.get(f"/api/v1/process-instances/{iid}/documents", headers=clerk).json()["total"] == 0
    audit = client.get(f"/api/v1/process-instances/{iid}/audit", headers=clerk, params={"limit": 500}).json()
    assert not [e for e in audit["items"] if e["type"].startswith("document")]
    with services.db.engine.connect() as connection:
        from sqlalchemy import text

        counts = [
            connection.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("document", "document_version", "document_chunk")
        ]
    assert counts == [0, 0, 0]


def _asgi_upload(
    app, path: str, token: str, chunks: list[bytes], content_length: int | None, disconnect: bool = False
) -> tuple[int, dict, int]:
    """POST a multipart body to the ASGI app chunk by chunk as a server would; returns (status, problem, how many
    body messages the app asked for)."""
    import anyio

    boundary = "----mso-test-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    messages = [head, *chunks] if disconnect else [head, *chunks, f"\r\n--{boundary}--\r\n".encode()]
    headers = [
        (b"authorization", token.encode()),
        (b"content-type", f"multipart/form-data; boundary={boundary}".encode()),
    ]
    if content_length is not None:
        headers.append((b"content-length", str(content_length).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
    }
    asked = 0
    sent: list[dict] = []

    async def receive() -> dict:
        nonlocal asked
        asked += 1
        if asked > len(messages):
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": messages[asked - 1], "more_body": disconnect or asked < len(messages)}

    async def send(message: dict) -> None:
        sent.append(message)

    anyio.run(app, scope, receive, send)
    if disconnect:
        return 0, {}, asked
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    import json

    return status, json.loads(body), asked


def test_a_file_over_the_limit_is_413_before_its_body_is_read_whole(client, staff, services):
    iid, _ = at_register(client, staff)
    path, token = f"/api/v1/process-instances/{iid}/documents", staff["clerk"]["Authorization"]
    chunk = b"%PDF-1.4\n" + b"0" * (64 * 1024 - 9)
    total = 26_214_400 + 64 * 1024 + 1  # over the limit with the form's slack
    status, problem, asked = _asgi_upload(client.app, path, token, [chunk], content_length=total)
    assert (status, problem["type"], asked) == (413, "urn:mso-flow:problem:payload_too_large", 0)  # not one byte read

    services.settings.document_max_bytes = 300_000  # the staging counts the file itself as it arrives
    status, problem, asked = _asgi_upload(client.app, path, token, [chunk] * 40, content_length=None)
    assert (status, problem["type"]) == (413, "urn:mso-flow:problem:document_too_large")
    assert asked < 20  # refused once past 300 000 bytes, long before the 2.6 MB were all read
    assert client.get(path, headers=staff["clerk"]).json()["total"] == 0


def test_a_client_gone_mid_upload_leaves_nothing_behind(client, staff, services):
    iid, _ = at_register(client, staff)
    path, token = f"/api/v1/process-instances/{iid}/documents", staff["clerk"]["Authorization"]
    chunk = b"%PDF-1.4\n" + b"0" * (64 * 1024 - 9)
    _, _, asked = _asgi_upload(client.app, path, token, [chunk] * 6, content_length=None, disconnect=True)
    assert asked == 8  # every part it sent was read, then the disconnect
    assert client.get(path, headers=staff["clerk"]).json()["total"] == 0
    audit = client.get(f"/api/v1/process-instances/{iid}/audit", headers=staff["clerk"], params={"limit": 500}).json()
    assert not [e for e in audit["items"] if e["type"].startswith("document")]


def test_the_types_are_sniffed_and_named(client, staff):
    iid, _ = at_register(client, staff)
    cases = [
        ("รูป.png", files.picture("PNG"), "image/png", "image/png"),
        ("รูป.jpg", files.picture("JPEG"), "image/jpeg", "image/jpeg"),
        ("สแกน.tif", files.picture("TIFF"), "image/tiff", "image/tiff"),
        ("บันทึก.docx", files.docx(), "application/octet-stream", files_types("docx")),
        (
            "ตาราง.xlsx",
            files.xlsx(),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            files_types("xlsx"),
        ),
        ("หนังสือ.odt", files.odt(), "", "application/vnd.oasis.opendocument.text"),
        ("บันทึก.txt", files.THAI_TEXT, "text/plain", "text/plain"),
        ("สรุป.csv", files.CSV_TEXT, "application/vnd.ms-excel", "text/csv"),
    ]
    for name, data, declared, expected in cases:
        added = upload(client, staff["clerk"], iid, data, name, declared)
        assert added.status_code == 201, (name, added.text)
        assert added.json()["media_type"] == expected
        got = client.get(f"/api/v1/documents/{added.json()['id']}/content", headers=staff["clerk"])
        assert got.content == data


def files_types(ext: str) -> str:
    from mso_flow.services.documents import rules

    return {"docx": rules.DOCX, "xlsx": rules.XLSX}[ext]


def test_a_pdfs_first_page_is_rendered_for_its_readers(client, staff, letter):
    iid, task = at_register(client, staff)
    document = upload(client, staff["clerk"], iid, letter, task_id=task["id"], field="letter_file").json()
    preview = client.get(f"/api/v1/documents/{document['id']}/preview.png", headers=staff["clerk"])
    assert preview.status_code == 200
    assert preview.content.startswith(b"\x89PNG")
    assert preview.headers["x-content-type-options"] == "nosniff"
    two = upload(client, staff["clerk"], iid, files.scanned_letter(pages=2), "สองหน้า.pdf").json()
    second = client.get(f"/api/v1/documents/{two['id']}/preview.png?page=2", headers=staff["clerk"])
    assert second.status_code == 200 and second.content != preview.content
    assert client.get(f"/api/v1/documents/{two['id']}/preview.png?page=3", headers=staff["clerk"]).status_code == 404
    png = upload(client, staff["clerk"], iid, files.picture("PNG"), "a.png", "image/png").json()
    assert client.get(f"/api/v1/documents/{png['id']}/preview.png", headers=staff["clerk"]).status_code == 422


def test_the_variable_holds_document_ids_and_never_another_instances(client, staff, letter):
    iid, task = at_register(client, staff)
    other_iid, other_task = at_register(client, staff)
    mine = upload(client, staff["clerk"], iid, letter, task_id=task["id"], field="letter_file").json()
    theirs = upload(client, staff["clerk"], other_iid, letter, task_id=other_task["id"], field="letter_file").json()
    single = upload(client, staff["clerk"], iid, letter, task_id=task["id"], field="letter_file")
    assert single.status_code == 409  # the field takes one file
    path = f"/api/v1/tasks/{task['id']}/complete"
    for bad in ([theirs["id"]], ["made-up"], "not-a-list", [mine["id"], theirs["id"]]):
        refused = client.post(path, headers=staff["clerk"], json={"variables": {"letter_file": bad}})
        assert refused.status_code == 422, bad
        assert refused.json()["errors"][0]["field"] == "letter_file"
    done = client.post(path, headers=staff["clerk"], json={"variables": {"letter_file": [mine["id"]]}})
    assert done.status_code == 200, done.text
    assert done.json()["instance"]["variables"]["letter_file"] == [mine["id"]]
