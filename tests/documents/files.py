"""Real small files of each kind for the document tests: a scanned letter as a PDF (an image page, as a scanner
makes it), images, office files, text, and what must be refused (an executable, HTML)."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from PIL import Image, ImageDraw

from mso_flow.services.documents import commands
from mso_flow.services.documents.staging import Staging
from mso_flow.services.platform.context import Caller, Services


def scanned_letter(text: str = "MSO 0201/123", pages: int = 1, size: tuple[int, int] = (620, 877)) -> bytes:
    """A PDF of `pages` A4-shaped scanned pages (Pillow writes the PDF)."""
    images = []
    for number in range(pages):
        image = Image.new("RGB", size, "white")
        draw = ImageDraw.Draw(image)
        draw.rectangle((40, 40, size[0] - 40, 120), outline="black", width=3)
        draw.text((60, 70), f"{text} p.{number + 1}", fill="black")
        for line in range(14):
            draw.line((60, 170 + line * 40, size[0] - 60, 170 + line * 40), fill="gray", width=2)
        images.append(image)
    out = io.BytesIO()
    images[0].save(out, format="PDF", save_all=True, append_images=images[1:], resolution=72.0)
    return out.getvalue()


def picture(kind: str = "PNG", size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format=kind)
    return out.getvalue()


def _zip(entries: dict[str, str], stored_first: str | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        if stored_first:
            archive.writestr(zipfile.ZipInfo(stored_first), entries.pop(stored_first), zipfile.ZIP_STORED)
        for name, text in entries.items():
            archive.writestr(name, text)
    return out.getvalue()


def docx() -> bytes:
    return _zip(
        {
            "[Content_Types].xml": '<?xml version="1.0"?><Types/>',
            "_rels/.rels": '<?xml version="1.0"?><Relationships/>',
            "docProps/app.xml": "<Properties/>" * 400,  # pushes word/ beyond the first entries
            "docProps/core.xml": "<coreProperties/>" * 400,
            "customXml/item1.xml": "<x/>" * 400,
            "word/document.xml": '<?xml version="1.0"?><w:document/>',
        }
    )


def xlsx() -> bytes:
    return _zip({"[Content_Types].xml": "<Types/>", "_rels/.rels": "<R/>", "xl/workbook.xml": "<workbook/>"})


def odt() -> bytes:
    return _zip(
        {"mimetype": "application/vnd.oasis.opendocument.text", "content.xml": "<office:document-content/>"},
        stored_first="mimetype",
    )


def plain_zip() -> bytes:
    return _zip({"readme.txt": "hello"})


def windows_exe() -> bytes:
    """The start of a PE executable (MZ header, PE signature)."""
    header = bytearray(b"MZ" + b"\x90\x00" * 29 + b"\x00" * 2)
    header += b"\x00" * (0x3C - len(header)) + (0x80).to_bytes(4, "little")
    header += b"\x00" * (0x80 - len(header)) + b"PE\x00\x00" + b"\x4c\x01" + b"\x00" * 200
    return bytes(header)


THAI_TEXT = "เรื่อง ขอความอนุเคราะห์ข้อมูล\nเรียน ผู้อำนวยการ\n".encode()
CSV_TEXT = "ชื่อ,จำนวน\nกองกลาง,3\n".encode()


def attach_letter(client: Any, headers: dict[str, str], task_id: str, instance_id: str) -> str:
    """Attach a scanned letter to step ๓ of สารบรรณ (its required field `letter_file`) over the v1 API; its id."""
    response = client.post(
        f"/api/v1/process-instances/{instance_id}/documents",
        headers=headers,
        files={"file": ("หนังสือเข้า.pdf", scanned_letter(), "application/pdf")},
        data={"task_id": task_id, "field": "letter_file"},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def attach_letter_as(services: Services, caller: Caller, task_id: str, instance_id: str) -> str:
    """The same as `attach_letter`, through the services in-process (as the v1 route runs them); its id."""
    target = commands.prepare_attach(services, caller, instance_id)
    with Staging(target, "หนังสือเข้า.pdf", "application/pdf") as staging:
        staging.write(scanned_letter())
        return commands.attach(services, caller, target, staging, task_id, "letter_file").id
