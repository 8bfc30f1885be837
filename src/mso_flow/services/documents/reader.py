"""A version's bytes as a seekable, read-only file that holds one chunk at a time: for readers that need to seek
(a zip's directory at the end, a PDF's cross-reference table) without the whole file in memory."""

from __future__ import annotations

import io
from collections.abc import Callable

from mso_flow.store.documents import CHUNK_BYTES


class ChunkReader(io.RawIOBase):
    """`fetch(index)` gives the plain bytes of chunk `index` (every chunk `chunk_bytes` long but the last)."""

    def __init__(self, fetch: Callable[[int], bytes], size: int, chunk_bytes: int = CHUNK_BYTES):
        super().__init__()
        self._fetch = fetch
        self._size = size
        self._chunk_bytes = chunk_bytes
        self._position = 0
        self._cached: tuple[int, bytes] | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def _chunk(self, index: int) -> bytes:
        if self._cached is None or self._cached[0] != index:
            self._cached = (index, self._fetch(index))
        return self._cached[1]

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        done = 0
        while done < len(view) and self._position < self._size:
            index, offset = divmod(self._position, self._chunk_bytes)
            data = self._chunk(index)[offset : offset + len(view) - done]
            if not data:
                break
            view[done : done + len(data)] = data
            done += len(data)
            self._position += len(data)
        return done
