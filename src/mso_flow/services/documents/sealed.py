"""How a sealed document is sealed with its instance's data key (`services/privacy/sealing.py`, AES-256-GCM).

Each chunk is sealed on its own with a fresh nonce, its associated data binding it to the instance (the cipher's),
the document, the version and its index, and saying whether it is the last one: chunks cannot be reordered, moved
to another version or document, nor the file cut short, without failing to open. The free text of a sealed
document (title, description, file names, withdrawal reason) is sealed as values named after the document.
"""

from __future__ import annotations

from mso_flow.services.privacy.sealing import ERASED, MARK, InstanceCipher


def chunk_name(document_id: str, version_id: str, index: int, last: bool) -> str:
    return f"$document\n{document_id}\n{version_id}\n{index}\n{'last' if last else 'more'}"


def seal_chunk(sealer: InstanceCipher, document_id: str, version_id: str, index: int, last: bool, data: bytes) -> bytes:
    return sealer.seal_bytes(data, chunk_name(document_id, version_id, index, last))


def open_chunk(
    opener: InstanceCipher, document_id: str, version_id: str, index: int, last: bool, data: bytes
) -> bytes | None:
    """The plain chunk, or None (key erased, or the chunk is not this one)."""
    return opener.open_bytes(data, chunk_name(document_id, version_id, index, last))


def _text_name(document_id: str, what: str) -> str:
    return f"$document\n{document_id}\n{what}"


def seal_text(sealer: InstanceCipher | None, document_id: str, what: str, value: str | None) -> str | None:
    """`value` as stored: sealed for a sealed document (`sealer`), else as it is."""
    if value is None or sealer is None:
        return value
    return sealer.seal_value(_text_name(document_id, what), value)[MARK]


def open_text(opener: InstanceCipher, document_id: str, what: str, stored: str | None) -> str | None:
    """A sealed document's stored text opened (None once erased)."""
    if stored is None:
        return None
    value = opener.open_value(_text_name(document_id, what), {MARK: stored})
    return None if value is ERASED else str(value)
