"""An upload on its way in: written chunk by chunk as it arrives into an unnamed temporary file (sealed already
for a sealed document, so no plain copy of it touches the disk), counted against the size limit, hashed and its
type sniffed, before any database transaction opens. Only a complete, accepted upload is then copied into the
database, in the one write transaction that records it (`commands.py`); anything that fails on the way (too large,
a type discovered wrong at the end, the client gone) leaves nothing behind: the file has no name on disk and is
closed with the request.
"""

from __future__ import annotations

import hashlib
import io
import struct
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

from mso_flow.services.documents import rules
from mso_flow.services.documents.reader import ChunkReader
from mso_flow.services.documents.sealed import open_chunk, seal_chunk
from mso_flow.services.platform.failures import Invalid, TooLarge
from mso_flow.services.privacy.sealing import InstanceCipher
from mso_flow.store.documents import CHUNK_BYTES

_LENGTH = struct.Struct(">I")


@dataclass(frozen=True)
class Target:
    """Where an upload goes, decided (and the caller's right checked) before its body is read: the instance, the
    document and version ids its chunks are bound to, the instance's cipher for a sealed document."""

    instance_id: str
    document_id: str
    version_id: str
    sealer: InstanceCipher | None
    max_bytes: int


@dataclass(frozen=True)
class Staged:
    """A complete upload, accepted: its name, sniffed type, size, SHA-256 and how many chunks it holds."""

    filename: str
    media_type: str
    size: int
    sha256: str
    chunks: int


class Staging:
    """Receives an upload's bytes (`write`), then `finish` decides its type; `records` yields the chunks as they
    are to be stored. Close it (or use it as a context manager) when the request ends."""

    def __init__(self, target: Target, filename: str | None, content_type: str | None):
        self.target = target
        self.filename = rules.clean_filename(filename)
        self.content_type = content_type
        self.size = 0
        self._file = tempfile.TemporaryFile(prefix="mso-upload-")  # noqa: SIM115  (closed by `close`)
        self._offsets: list[int] = []
        self._buffer = bytearray()
        self._hash = hashlib.sha256()
        self._head = b""
        self._text = rules.TextCheck()

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()

    def write(self, data: bytes) -> None:
        """Add bytes of the file; 413 `document_too_large` as soon as they pass the limit."""
        self.size += len(data)
        if self.size > self.target.max_bytes:
            raise too_large(self.target.max_bytes)
        self._hash.update(data)
        self._text.feed(data)
        if len(self._head) < rules.HEAD_BYTES:
            self._head += data[: rules.HEAD_BYTES - len(self._head)]
        self._buffer += data
        while len(self._buffer) > CHUNK_BYTES:  # a full chunk with more after it: not the last one
            self._emit(bytes(self._buffer[:CHUNK_BYTES]), last=False)
            del self._buffer[:CHUNK_BYTES]

    def finish(self) -> Staged:
        """The accepted upload: 422 `empty_file`, 415 when its type is not allowed or not what it claims."""
        if self.size == 0:
            raise Invalid("empty_file", "ไฟล์ว่าง ไม่มีข้อมูล (the file is empty)", [{"field": "file", "message": "ไฟล์ว่าง"}])
        self._text.feed(b"", final=True)
        self._emit(bytes(self._buffer), last=True)
        self._buffer.clear()
        whole = io.BufferedReader(ChunkReader(self._plain_chunk, self.size), CHUNK_BYTES)
        media_type = rules.decide(rules.sniff(self._head, self._text.ok, whole), self.filename, self.content_type)
        return Staged(self.filename, media_type, self.size, self._hash.hexdigest(), len(self._offsets))

    def _emit(self, chunk: bytes, last: bool) -> None:
        sealer, target = self.target.sealer, self.target
        index = len(self._offsets)
        stored = seal_chunk(sealer, target.document_id, target.version_id, index, last, chunk) if sealer else chunk
        self._offsets.append(self._file.tell())
        self._file.write(_LENGTH.pack(len(stored)))
        self._file.write(stored)

    def _record(self, index: int) -> bytes:
        self._file.seek(self._offsets[index])
        (length,) = _LENGTH.unpack(self._file.read(_LENGTH.size))
        return self._file.read(length)

    def _plain_chunk(self, index: int) -> bytes:
        stored = self._record(index)
        sealer, target = self.target.sealer, self.target
        if sealer is None:
            return stored
        last = index == len(self._offsets) - 1
        opened = open_chunk(sealer, target.document_id, target.version_id, index, last, stored)
        assert opened is not None  # sealed here with the same key a moment ago
        return opened

    def records(self) -> Iterator[bytes]:
        """The chunks as stored (sealed for a sealed document), one at a time."""
        for index in range(len(self._offsets)):
            yield self._record(index)


def too_large(limit: int) -> TooLarge:
    return TooLarge(
        "document_too_large",
        f"ไฟล์ใหญ่เกิน {limit:,} ไบต์ (MSO_FLOW_DOCUMENT_MAX_BYTES) (the document exceeds {limit} bytes)",
        limit=limit,
    )
