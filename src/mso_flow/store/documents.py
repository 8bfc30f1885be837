"""Documents of instances (letters, scans, reports) in the database: one row per document, one per version, and
the version's bytes in chunk rows (`CHUNK_BYTES` each, `bytea`/`BLOB`) written and read one at a time, so that a
large file never sits whole in a worker's memory and one backup holds cases and their documents.

A version's rows are written once and never changed; only erasure deletes the chunks of sealed versions
(`erase_sealed_content`). Free text of a sealed document (title, description, file names, withdrawal reason) is
stored as the sealing envelope's text; `Document.sealed` says which.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from mso_flow.store.models import Base

CHUNK_BYTES = 256 * 1024  # one chunk row: small enough to stream, large enough that a 25 MB file is 100 rows


class Document(Base):
    """A document attached to an instance (optionally to one of its tasks and one form field of it)."""

    __tablename__ = "document"
    __table_args__ = (
        Index("ix_document_instance_id_created_at", "instance_id", "created_at"),
        Index("ix_document_task_id_field", "task_id", "field"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id"))
    task_id: Mapped[str | None] = mapped_column(ForeignKey("human_task.id"))
    field: Mapped[str | None] = mapped_column(String(100))
    title: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)  # the latest version's number
    sealed: Mapped[bool] = mapped_column()  # contents and free text sealed with the instance's data key
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by: Mapped[str | None] = mapped_column(String(100))
    withdraw_reason: Mapped[str | None] = mapped_column(Text)


class DocumentVersion(Base):
    """One version of a document: its file's name, sniffed media type, size and SHA-256 (in the audit chain)."""

    __tablename__ = "document_version"
    __table_args__ = (UniqueConstraint("document_id", "version"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # bound into each sealed chunk
    document_id: Mapped[str] = mapped_column(ForeignKey("document.id"))
    version: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(Text)
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    chunks: Mapped[int] = mapped_column(Integer)
    uploaded_at: Mapped[datetime]
    uploaded_by: Mapped[str] = mapped_column(String(100))
    erased_at: Mapped[datetime | None]  # the contents were destroyed with the instance's data key


class DocumentChunk(Base):
    """`CHUNK_BYTES` of a version (the last one shorter), sealed when the document is."""

    __tablename__ = "document_chunk"

    version_id: Mapped[str] = mapped_column(ForeignKey("document_version.id"), primary_key=True)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


@dataclass(frozen=True)
class StoredVersion:
    """A version row as read (plain data, detached from any session)."""

    id: str
    document_id: str
    version: int
    filename: str
    media_type: str
    size: int
    sha256: str
    chunks: int
    uploaded_at: datetime
    uploaded_by: str
    erased_at: datetime | None


def _version(row: DocumentVersion) -> StoredVersion:
    return StoredVersion(
        row.id,
        row.document_id,
        row.version,
        row.filename,
        row.media_type,
        row.size,
        row.sha256,
        row.chunks,
        row.uploaded_at,
        row.uploaded_by,
        row.erased_at,
    )


def get(session: Session, document_id: str) -> Document | None:
    return session.get(Document, document_id)


def lock(session: Session, document_id: str) -> Document | None:
    """The document row, locked for a change (the caller holds its instance's lock already)."""
    return session.execute(select(Document).where(Document.id == document_id).with_for_update()).scalar_one_or_none()


def of_instance(session: Session, instance_id: str) -> list[Document]:
    """The instance's documents, oldest first."""
    query = select(Document).where(Document.instance_id == instance_id).order_by(Document.created_at, Document.id)
    return list(session.execute(query).scalars())


def attached(session: Session, task_id: str, field: str) -> list[Document]:
    """The documents attached to a task's form field that are not withdrawn, oldest first."""
    query = (
        select(Document)
        .where(Document.task_id == task_id, Document.field == field, Document.withdrawn_at.is_(None))
        .order_by(Document.created_at, Document.id)
    )
    return list(session.execute(query).scalars())


def of_task(session: Session, task_id: str) -> list[Document]:
    query = select(Document).where(Document.task_id == task_id).order_by(Document.created_at, Document.id)
    return list(session.execute(query).scalars())


def versions(session: Session, document_ids: Iterable[str]) -> dict[str, list[StoredVersion]]:
    """Document id -> its versions, oldest first."""
    ids = list(document_ids)
    found: dict[str, list[StoredVersion]] = {i: [] for i in ids}
    if not ids:
        return found
    query = (
        select(DocumentVersion)
        .where(DocumentVersion.document_id.in_(ids))
        .order_by(DocumentVersion.document_id, DocumentVersion.version)
    )
    for row in session.execute(query).scalars():
        found[row.document_id].append(_version(row))
    return found


def add(session: Session, document: Document) -> None:
    session.add(document)
    session.flush()


def add_version(session: Session, row: DocumentVersion, chunks: Iterable[bytes]) -> None:
    """Insert a version and its chunks, one chunk row per statement (never the whole file in one)."""
    session.execute(
        insert(DocumentVersion).values(
            id=row.id,
            document_id=row.document_id,
            version=row.version,
            filename=row.filename,
            media_type=row.media_type,
            size=row.size,
            sha256=row.sha256,
            chunks=row.chunks,
            uploaded_at=row.uploaded_at,
            uploaded_by=row.uploaded_by,
            erased_at=None,
        )
    )
    statement = insert(DocumentChunk)
    for index, data in enumerate(chunks):
        session.execute(statement, {"version_id": row.id, "idx": index, "data": data})


def read_chunk(session: Session, version_id: str, index: int) -> bytes | None:
    """One chunk's bytes (None: missing, e.g. erased)."""
    query = select(DocumentChunk.data).where(DocumentChunk.version_id == version_id, DocumentChunk.idx == index)
    return session.execute(query).scalar_one_or_none()


def erase_sealed_content(session: Session, instance_id: str, at: datetime) -> list[str]:
    """Delete the chunks of the instance's sealed documents (their key is being destroyed) and mark their versions
    erased; returns the ids of the documents concerned. Metadata stays."""
    sealed = select(Document.id).where(Document.instance_id == instance_id, Document.sealed.is_(True))
    ids = list(session.execute(sealed).scalars())
    if not ids:
        return []
    version_ids = select(DocumentVersion.id).where(DocumentVersion.document_id.in_(ids))
    session.execute(delete(DocumentChunk).where(DocumentChunk.version_id.in_(version_ids)))
    session.execute(
        update(DocumentVersion)
        .where(DocumentVersion.document_id.in_(ids), DocumentVersion.erased_at.is_(None))
        .values(erased_at=at)
    )
    return ids
