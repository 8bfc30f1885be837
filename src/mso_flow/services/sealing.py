"""Sealed values: AES-256-GCM under an instance's data key, in a form the store keeps as ordinary JSON or text.

- a variable value becomes `{"$sealed": "v1.<base64(nonce + ciphertext)>"}`, its JSON encrypted with the instance
  id and the variable's name as associated data (a sealed value moved to another name or instance does not open);
- the engine state becomes `sealed:v1:<base64(nonce + ciphertext)>`.
Without the data key (erased) nothing here opens: `open_value` then answers `ERASED`.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MARK: Final = "$sealed"
STATE_PREFIX: Final = "sealed:v1:"
VALUE_PREFIX: Final = "v1."
NONCE_BYTES: Final = 12


class _Erased:
    """What a sealed value opens to once its key is destroyed."""

    def __repr__(self) -> str:
        return "ERASED"


ERASED: Final = _Erased()


def is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get(MARK), str)


def is_sealed_state(text: str) -> bool:
    return text.startswith(STATE_PREFIX)


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


class InstanceCipher:
    """Seals and opens one instance's values with its data key (None: the key was erased)."""

    def __init__(self, instance_id: str, data_key: bytes | None):
        self.instance_id = instance_id
        self._aead = AESGCM(data_key) if data_key is not None else None
        self._known: dict[str, bytes] = {}  # envelope text -> plain JSON of the values sealed or opened here

    @property
    def erased(self) -> bool:
        return self._aead is None

    def _aad(self, name: str) -> bytes:
        return f"{self.instance_id}\n{name}".encode()

    def _seal(self, plain: bytes, name: str) -> bytes:
        if self._aead is None:
            raise ValueError("the data of this instance was erased")
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plain, self._aad(name))

    def _open(self, sealed: bytes, name: str) -> bytes | None:
        if self._aead is None:
            return None
        try:
            return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], self._aad(name))
        except InvalidTag:
            return None

    def seal_bytes(self, plain: bytes, name: str) -> bytes:
        """`plain` sealed (nonce + ciphertext + tag) with `name` as associated data: it opens under that name only."""
        return self._seal(plain, name)

    def open_bytes(self, sealed: bytes, name: str) -> bytes | None:
        """What `seal_bytes` sealed under `name`; None when the key is gone or the name or bytes differ."""
        return self._open(sealed, name)

    def seal_value(self, name: str, value: Any, previous: Any = None) -> dict[str, str]:
        """`value` sealed; `previous` (the variable's stored envelope) is kept when it holds the same value and was
        sealed or opened through this cipher, so an unchanged variable is neither encrypted nor written again."""
        plain = _json(value)
        if is_sealed(previous) and self._known.get(previous[MARK]) == plain:
            return previous  # type: ignore[no-any-return]
        text = VALUE_PREFIX + base64.b64encode(self._seal(plain, name)).decode()
        self._known[text] = plain
        return {MARK: text}

    def open_value(self, name: str, envelope: dict[str, str]) -> Any:
        """The value, or `ERASED` when the key is gone (or the envelope is not this instance's)."""
        text = envelope[MARK]
        plain = self._known.get(text)
        if plain is None and self._aead is not None and text.startswith(VALUE_PREFIX):
            plain = self._open(base64.b64decode(text[len(VALUE_PREFIX) :]), name)
            if plain is not None:
                self._known[text] = plain
        return ERASED if plain is None else json.loads(plain)

    def seal_state(self, state: str) -> str:
        return STATE_PREFIX + base64.b64encode(self._seal(state.encode(), "$engine_state")).decode()

    def open_state(self, text: str) -> str | None:
        """The engine state (None: erased); a state that is not sealed is returned as it is."""
        if not is_sealed_state(text):
            return text
        plain = self._open(base64.b64decode(text[len(STATE_PREFIX) :]), "$engine_state")
        return None if plain is None else plain.decode()
