"""What a document may be: the allowed media types, sniffed from the bytes, and the file's name.

The type is decided by the bytes, never by the client: `filetype` reads the file's signature (PDF, PNG, JPEG,
TIFF, and OOXML/ODF by their first zip entries); a zip is then read by its central directory (`zipfile`) to tell
DOCX, XLSX, PPTX, ODT and ODS apart, and bytes with no signature are plain text when the whole file is UTF-8
without control characters (CSV when its name or declared type says so). The declared type and the name's
extension must agree with the sniffed type (an EXE named `.pdf` or a PDF declared `image/png` → 415); anything
else is 415 `type_not_allowed`.
"""

from __future__ import annotations

import codecs
import mimetypes
import re
import unicodedata
import zipfile
from collections.abc import Iterable
from typing import BinaryIO

import filetype

from mso_flow.services.platform.failures import UnsupportedType

PDF, PNG, JPEG, TIFF = "application/pdf", "image/png", "image/jpeg", "image/tiff"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ODT, ODS = "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet"
TEXT, CSV, ZIP = "text/plain", "text/csv", "application/zip"

# media type -> the file extensions it goes by (the first is the one a name without extension gets)
ALLOWED: dict[str, tuple[str, ...]] = {
    PDF: ("pdf",),
    PNG: ("png",),
    JPEG: ("jpg", "jpeg", "jpe", "jfif"),
    TIFF: ("tif", "tiff"),
    DOCX: ("docx",),
    XLSX: ("xlsx",),
    PPTX: ("pptx",),
    ODT: ("odt",),
    ODS: ("ods",),
    TEXT: ("txt", "text", "log"),
    CSV: ("csv",),
}
NAMES = {
    PDF: "PDF",
    PNG: "PNG",
    JPEG: "JPEG",
    TIFF: "TIFF",
    DOCX: "Word (DOCX)",
    XLSX: "Excel (XLSX)",
    PPTX: "PowerPoint (PPTX)",
    ODT: "ODT",
    ODS: "ODS",
    TEXT: "ข้อความ (TXT)",
    CSV: "CSV",
}
INLINE = frozenset({PDF, PNG, JPEG})  # shown in the browser (a sandboxed frame, a thumbnail), never other types
IMAGES = frozenset({PNG, JPEG})
GENERIC = frozenset({"", "application/octet-stream", "binary/octet-stream", "application/x-download"})
# declared types browsers and clients send for an allowed type under another name
ALIASES = {
    "image/jpg": JPEG,
    "image/pjpeg": JPEG,
    "image/x-png": PNG,
    "image/tif": TIFF,
    "application/x-pdf": PDF,
    "application/csv": CSV,
    "text/comma-separated-values": CSV,
    "text/x-csv": CSV,
    "application/vnd.ms-excel": CSV,  # what Windows browsers declare for a .csv
}
TEXTUAL = frozenset({TEXT, CSV})
HEAD_BYTES = 8192  # what the signature sniffer reads
MAX_NAME = 255
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


class TextCheck:
    """Whether a stream of bytes is plain text: UTF-8 (a BOM allowed) without NUL or other control characters
    besides tab, line breaks and form feed. Fed chunk by chunk, so the whole file is checked, not its head."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self.ok = True

    def feed(self, data: bytes, final: bool = False) -> None:
        if not self.ok:
            return
        try:
            text = self._decoder.decode(data, final)
        except UnicodeDecodeError:
            self.ok = False
            return
        if _CONTROL.search(text):
            self.ok = False


def _office(archive: zipfile.ZipFile) -> str:
    """The OOXML or ODF type of a zip by its entries (ODF: its `mimetype` entry), else plain zip."""
    names = set(archive.namelist())
    if "mimetype" in names:
        with archive.open("mimetype") as entry:
            declared = entry.read(100).decode("ascii", "replace").strip()
        if declared in (ODT, ODS):
            return declared
    if "[Content_Types].xml" in names:
        prefixes = {name.split("/", 1)[0] for name in names}
        for prefix, media_type in (("word", DOCX), ("xl", XLSX), ("ppt", PPTX)):
            if prefix in prefixes:
                return media_type
    return ZIP


def sniff(head: bytes, text: bool, whole: BinaryIO) -> str | None:
    """The media type of a file from its first bytes `head`, whether the whole file is plain text, and the whole
    file (seekable, read only for a zip's directory); None when nothing is recognised."""
    kind = filetype.guess(head[:HEAD_BYTES])
    if kind is None:
        return TEXT if text else None
    if kind.mime in (ZIP, DOCX, XLSX, PPTX, ODT, ODS):
        try:
            with zipfile.ZipFile(whole) as archive:
                return _office(archive)
        except (zipfile.BadZipFile, OSError, ValueError, KeyError):
            return ZIP
    return str(kind.mime)


def _declared(content_type: str | None) -> str:
    value = (content_type or "").split(";", 1)[0].strip().lower()
    return ALIASES.get(value, value)


def extension(filename: str) -> str:
    return filename.rsplit(".", 1)[1].lower() if "." in filename.strip(".") else ""


def _known_extension(ext: str) -> bool:
    """An extension that names a type (`.exe`, `.html`, `.pdf`), not the tail of a name such as `พม.0201`."""
    return bool(ext) and (any(ext in exts for exts in ALLOWED.values()) or f".{ext}" in mimetypes.types_map)


def decide(sniffed: str | None, filename: str, content_type: str | None) -> str:
    """The document's media type: the sniffed one, once allowed and agreeing with the name and declared type."""
    ext = extension(filename)
    declared = _declared(content_type)
    media_type = sniffed
    if sniffed == TEXT and (ext == "csv" or (declared == CSV and ext != "txt")):
        media_type = CSV
    if media_type not in ALLOWED:
        shown = sniffed or "ไม่ทราบชนิด (unknown)"
        raise UnsupportedType(
            "type_not_allowed",
            f"ไม่รับไฟล์ชนิด {shown}: รับได้เฉพาะ PDF, PNG, JPEG, TIFF, DOCX, XLSX, PPTX, ODT, ODS, TXT และ CSV "
            f"(media type {shown} is not allowed)",
            media_type=sniffed,
        )
    if _known_extension(ext) and ext not in ALLOWED[media_type]:
        raise _mismatch(f"นามสกุล .{ext}", media_type)
    compatible = TEXTUAL if media_type in TEXTUAL else {media_type}
    if declared not in GENERIC and declared not in compatible:
        raise _mismatch(f"ชนิดที่แจ้ง {declared}", media_type)
    return media_type


def _mismatch(claimed: str, media_type: str) -> UnsupportedType:
    return UnsupportedType(
        "type_mismatch",
        f"{claimed} ไม่ตรงกับเนื้อไฟล์ซึ่งเป็น {NAMES[media_type]} (the name or declared type does not match the "
        f"content, which is {media_type})",
        media_type=media_type,
    )


def accepted(media_type: str, accept: Iterable[str]) -> bool:
    """Whether a media type matches a form field's `accept` list (`application/pdf`, `image/*`, `.pdf`)."""
    patterns = [p.strip().lower() for p in accept if p.strip()]
    if not patterns:
        return True
    major = media_type.split("/", 1)[0]
    for pattern in patterns:
        if pattern in (media_type, "*/*", f"{major}/*") or (
            pattern.startswith(".") and pattern[1:] in ALLOWED.get(media_type, ())
        ):
            return True
    return False


def clean_filename(raw: str | None, fallback: str = "เอกสาร") -> str:
    """The file's own name as uploaded (Thai kept, NFC), without a client's directory, control characters or more
    than `MAX_NAME` characters (the extension kept)."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(c for c in name if unicodedata.category(c) not in ("Cc", "Cf", "Cs")).strip(" .")
    if len(name) > MAX_NAME:
        ext = extension(name)
        keep = MAX_NAME - (len(ext) + 1 if ext else 0)
        name = name[:keep] + (f".{ext}" if ext else "")
    return name or fallback
