"""Reading documents: lists and single documents as frozen views (never ORM rows), their contents as a stream of
chunks read one row at a time, and the first page of a PDF rendered as an image.

Who reads: a document is the instance's data (`policy.may_read_instance_data`; 404 unknown, 403
`instance_forbidden` / `instance_data_forbidden`). A sealed document's names and contents are opened for
`policy.may_open_sealed_document` (for personal data and classified letters: the people of the instance and a
privacy officer) and masked for other readers (names null, listed in `masked`; contents 403
`document_sealed`); each opening of those is logged in `personal_data_read`.
"""

from __future__ import annotations

import contextlib
import functools
import io
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from mso_flow.domain import ReadPurpose
from mso_flow.services import policy
from mso_flow.services.documents import rules
from mso_flow.services.documents.reader import ChunkReader
from mso_flow.services.documents.sealed import open_chunk, open_text
from mso_flow.services.platform.context import Caller, Definition, Services
from mso_flow.services.platform.failures import Conflict, Forbidden, Invalid, NotFound
from mso_flow.services.privacy import need_to_know, personal_data
from mso_flow.services.privacy.sealing import InstanceCipher
from mso_flow.services.tasks.records import TaskRecord
from mso_flow.store import documents as store
from mso_flow.store import instances as instances_store
from mso_flow.store import tasks as tasks_store
from mso_flow.store.documents import Document, StoredVersion
from mso_flow.store.models import HumanTask, ProcessInstance

SEALED_TEXT = ("title", "description", "filename", "withdraw_reason")
PREVIEW_WIDTH = 800  # pixels of a PDF's first page as shown on the case page
MAX_PREVIEW_PIXELS = 4_000_000
_PDFIUM = threading.Lock()  # PDFium is not thread-safe: one rendering at a time per process


@dataclass(frozen=True)
class VersionView:
    version: int
    filename: str | None
    media_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime
    erased: bool


@dataclass(frozen=True)
class DocumentView:
    """A document as a caller is shown it: the latest version's file facts, and every version."""

    id: str
    instance_id: str
    task_id: str | None
    field: str | None
    title: str | None
    description: str | None
    created_by: str
    created_at: datetime
    withdrawn: bool
    withdrawn_at: datetime | None
    withdrawn_by: str | None
    withdraw_reason: str | None
    sealed: bool
    masked: tuple[str, ...]
    versions: tuple[VersionView, ...]

    @property
    def latest(self) -> VersionView:
        return self.versions[-1]

    @property
    def version(self) -> int:
        return self.latest.version

    @property
    def filename(self) -> str | None:
        return self.latest.filename

    @property
    def media_type(self) -> str:
        return self.latest.media_type

    @property
    def size(self) -> int:
        return self.latest.size

    @property
    def sha256(self) -> str:
        return self.latest.sha256

    @property
    def uploaded_by(self) -> str:
        return self.latest.uploaded_by

    @property
    def uploaded_at(self) -> datetime:
        return self.latest.uploaded_at

    @property
    def erased(self) -> bool:
        return self.latest.erased

    def version_view(self, number: int | None) -> VersionView:
        """The N-th version (None: the latest); 404 `version_not_found`."""
        if number is None:
            return self.latest
        for found in self.versions:
            if found.version == number:
                return found
        raise NotFound("version_not_found", f"ไม่พบฉบับที่ {number} ของเอกสาร {self.id} (version not found)")


def document_not_found(document_id: str) -> NotFound:
    return NotFound("document_not_found", f"ไม่พบเอกสาร {document_id} (document not found)")


def instance_not_found(instance_id: str) -> NotFound:
    return NotFound("instance_not_found", f"ไม่พบกระบวนการที่ดำเนินการ {instance_id} (instance not found)")


class Readers:
    """What one caller is shown of one instance's documents (decided once per instance and request)."""

    def __init__(self, services: Services, session: Session, caller: Caller, instance: ProcessInstance):
        self.services, self.session, self.caller, self.instance = services, session, caller, instance
        self.definition: Definition = services.definitions.definition(session, instance.definition_id)
        self._tasks: list[HumanTask] | None = None
        self._opener: InstanceCipher | None = None
        self._opens: bool | None = None
        self.opened: list[str] = []  # sealed documents whose names were opened for a personal reader

    def require_view(self) -> None:
        """403 unless the caller reads the instance's data (its documents are its data)."""
        if not policy.may_view_instance(self.caller, self.definition.model):
            raise Forbidden("instance_forbidden", "ไม่มีสิทธิ์ดูกระบวนการนี้ (no role in this process)")
        need_to_know.require_data(self.session, self.caller, self.instance, self.tasks)

    @property
    def tasks(self) -> list[HumanTask]:
        if self._tasks is None:
            self._tasks = tasks_store.of_instance(self.session, self.instance.id)
        return self._tasks

    @functools.cached_property
    def personal(self) -> bool:
        """Whether the instance's sealed documents go with personal data: a process with personal data, or a
        letter classed ลับ or above."""
        model = self.definition.model
        if model.personal_variables:
            return True
        return personal_data.classified(model, personal_data.open_variables(self.services, self.session, self.instance))

    @property
    def opens_sealed(self) -> bool:
        if self._opens is None:
            self._opens = policy.may_open_sealed_document(self.caller, self.tasks, self.personal)
        return self._opens

    @property
    def opener(self) -> InstanceCipher:
        if self._opener is None:
            self._opener = personal_data.reading_cipher(self.services, self.session, self.instance.id)
        return self._opener

    def view(self, document: Document, versions: list[StoredVersion]) -> DocumentView:
        shown = not document.sealed or self.opens_sealed
        texts: dict[str, str | None] = {name: getattr(document, name) for name in SEALED_TEXT if name != "filename"}
        names: dict[int, str | None] = {v.version: v.filename for v in versions}
        masked: list[str] = []
        if document.sealed and shown:
            texts = {name: open_text(self.opener, document.id, name, value) for name, value in texts.items()}
            names = {n: open_text(self.opener, document.id, f"filename:{n}", value) for n, value in names.items()}
            if self.personal:
                self.opened.append(document.id)
        elif document.sealed:
            masked = [name for name, value in texts.items() if value is not None] + ["filename"]
            texts = dict.fromkeys(texts)
            names = dict.fromkeys(names)
        return DocumentView(
            id=document.id,
            instance_id=document.instance_id,
            task_id=document.task_id,
            field=document.field,
            title=texts["title"],
            description=texts["description"],
            created_by=document.created_by,
            created_at=document.created_at,
            withdrawn=document.withdrawn_at is not None,
            withdrawn_at=document.withdrawn_at,
            withdrawn_by=document.withdrawn_by,
            withdraw_reason=texts["withdraw_reason"],
            sealed=document.sealed,
            masked=tuple(sorted(masked)),
            versions=tuple(
                VersionView(
                    v.version,
                    names[v.version],
                    v.media_type,
                    v.size,
                    v.sha256,
                    v.uploaded_by,
                    v.uploaded_at,
                    v.erased_at is not None,
                )
                for v in versions
            ),
        )

    def views(self, documents: list[Document]) -> list[DocumentView]:
        versions = store.versions(self.session, [d.id for d in documents])
        return [self.view(d, versions[d.id]) for d in documents]

    def log(self, purpose: ReadPurpose, document_ids: list[str] | None = None) -> None:
        """Log the sealed documents opened for this personal reader (their names, or contents)."""
        ids = self.opened if document_ids is None else document_ids
        if ids:
            fields = [f"document:{i}" for i in dict.fromkeys(ids)]
            personal_data.log_read(self.services, self.session, self.caller.username, self.instance.id, fields, purpose)


def _instance(session: Session, instance_id: str) -> ProcessInstance:
    instance = instances_store.get(session, instance_id)
    if instance is None:
        raise instance_not_found(instance_id)
    return instance


def _document(session: Session, document_id: str) -> tuple[Document, ProcessInstance]:
    document = store.get(session, document_id)
    if document is None:
        raise document_not_found(document_id)
    return document, _instance(session, document.instance_id)


def listing(services: Services, caller: Caller, instance_id: str) -> list[DocumentView]:
    """The instance's documents, oldest first (withdrawn ones included, marked)."""
    with services.db.read() as session:
        readers = Readers(services, session, caller, _instance(session, instance_id))
        readers.require_view()
        found = readers.views(store.of_instance(session, instance_id))
        readers.log(ReadPurpose.VIEW)
        return found


def of_task(services: Services, caller: Caller, task: TaskRecord) -> list[DocumentView]:
    """The documents attached to a task (the task already read and its view allowed by the caller)."""
    with services.db.read() as session:
        readers = Readers(services, session, caller, _instance(session, task.instance_id))
        readers.require_view()
        found = readers.views(store.of_task(session, task.id))
        readers.log(ReadPurpose.TASK)
        return found


def get(services: Services, caller: Caller, document_id: str) -> DocumentView:
    with services.db.read() as session:
        document, instance = _document(session, document_id)
        readers = Readers(services, session, caller, instance)
        readers.require_view()
        found = readers.views([document])[0]
        readers.log(ReadPurpose.VIEW)
        return found


@dataclass(frozen=True)
class Download:
    """A version's bytes to send: its document as the caller sees it, the version, and its chunks (read one row at
    a time as the iterator is consumed, each opened when sealed)."""

    document: DocumentView
    version: VersionView
    chunks: Iterator[bytes]


@dataclass(frozen=True)
class _Readable:
    view: DocumentView
    version: VersionView
    row: StoredVersion
    opener: InstanceCipher | None

    def fetch(self, services: Services) -> Callable[[int], bytes]:
        """Chunk index -> its plain bytes, each read in a short transaction of its own (no connection is held while
        the bytes go out)."""

        def chunk(index: int) -> bytes:
            with services.db.read() as session:
                return _plain(self.opener, self.row, index, store.read_chunk(session, self.row.id, index))

        return chunk


def _readable(services: Services, caller: Caller, document_id: str, number: int | None) -> _Readable:
    """A version the caller may open (403 `document_sealed` for a sealed one they may not; 409 `document_erased`);
    the opening of a sealed one that goes with personal data is logged."""
    with services.db.read() as session:
        document, instance = _document(session, document_id)
        readers = Readers(services, session, caller, instance)
        readers.require_view()
        stored = store.versions(session, [document.id])[document.id]
        view = readers.view(document, stored)
        version = view.version_view(number)
        if document.sealed and not readers.opens_sealed:
            raise Forbidden(
                "document_sealed",
                "เอกสารนี้เป็นข้อมูลส่วนบุคคลหรือหนังสือลับ เปิดได้เฉพาะผู้ปฏิบัติงานของเรื่องและเจ้าหน้าที่คุ้มครองข้อมูล "
                "(a sealed document: only the people of the instance and a privacy officer open it)",
            )
        if version.erased:
            raise Conflict("document_erased", "เนื้อหาของเอกสารนี้ถูกทำลายพร้อมข้อมูลส่วนบุคคลแล้ว (the contents were erased)")
        if document.sealed and readers.personal:
            readers.log(ReadPurpose.DOCUMENT, [document.id])
        row = next(v for v in stored if v.version == version.version)
        return _Readable(view, version, row, readers.opener if document.sealed else None)


def content(services: Services, caller: Caller, document_id: str, number: int | None = None) -> Download:
    """A version's contents (the latest when `number` is None), its chunks read one row at a time."""
    found = _readable(services, caller, document_id, number)
    fetch = found.fetch(services)
    return Download(found.view, found.version, (fetch(i) for i in range(found.row.chunks)))


class ChunkMissing(Exception):
    """A chunk that should be there is not, or does not open: the stored version was damaged (or erased while it
    was being read). Raised mid-stream, it ends the response short of its Content-Length."""


def _plain(opener: InstanceCipher | None, row: StoredVersion, index: int, stored: bytes | None) -> bytes:
    if stored is None:
        raise ChunkMissing(f"chunk {index} of version {row.id} is missing")
    if opener is None:
        return stored
    plain = open_chunk(opener, row.document_id, row.id, index, index == row.chunks - 1, stored)
    if plain is None:
        raise ChunkMissing(f"chunk {index} of version {row.id} does not open")
    return plain


def preview_png(services: Services, caller: Caller, document_id: str, page: int = 1) -> bytes:
    """Page `page` (from 1) of a PDF document's latest version as a PNG (rendered on each request, never cached:
    nothing of a sealed document is written in plain anywhere)."""
    found = _pdf(services, caller, document_id)
    return render_page(ChunkReader(found.fetch(services), found.row.size), page)


def pdf_pages(services: Services, caller: Caller, document_id: str) -> tuple[DocumentView, int]:
    """A PDF document as the caller sees it and how many pages it has."""
    found = _pdf(services, caller, document_id)
    return found.view, page_count(ChunkReader(found.fetch(services), found.row.size))


def _pdf(services: Services, caller: Caller, document_id: str) -> _Readable:
    found = _readable(services, caller, document_id, None)
    if found.version.media_type != rules.PDF:
        raise Invalid("not_a_pdf", "ภาพตัวอย่างมีเฉพาะไฟล์ PDF (only a PDF has page previews)")
    return found


@contextlib.contextmanager
def _opened_pdf(source: io.RawIOBase) -> Iterator[Any]:
    """The PDF read from a seekable file, under the process's PDFium lock; 422 `pdf_unreadable`."""
    import pypdfium2 as pdfium  # a native library: loaded when the first preview is asked for

    with _PDFIUM:
        try:
            pdf = pdfium.PdfDocument(source)
        except pdfium.PdfiumError:
            raise Invalid("pdf_unreadable", "เปิดไฟล์ PDF นี้เพื่อแสดงตัวอย่างไม่ได้ (PDFium cannot open this PDF)") from None
        try:
            yield pdf
        finally:
            pdf.close()


def page_count(source: io.RawIOBase) -> int:
    with _opened_pdf(source) as pdf:
        return len(pdf)


def render_page(source: io.RawIOBase, number: int = 1) -> bytes:
    """Page `number` (from 1) of a PDF read from a seekable file, `PREVIEW_WIDTH` pixels wide, as PNG; 404
    `page_not_found` past its last page."""
    with _opened_pdf(source) as pdf:
        if not 1 <= number <= len(pdf):
            raise NotFound("page_not_found", f"ไฟล์ PDF นี้ไม่มีหน้า {number} (no such page)")
        page = pdf[number - 1]
        width, height = page.get_size()
        scale = min(PREVIEW_WIDTH / max(width, 1.0), (MAX_PREVIEW_PIXELS / max(width * height, 1.0)) ** 0.5)
        image = page.render(scale=scale).to_pil()
        out = io.BytesIO()
        image.save(out, format="PNG")
        return out.getvalue()
