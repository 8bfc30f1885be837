"""Sealed values: AES-256-GCM under an instance's data key, in a form the store keeps as ordinary JSON or text.

- a variable value becomes `{"$sealed": "v1.<base64(nonce + ciphertext)>"}`, its JSON encrypted with the instance
  id and the variable's name as associated data (a sealed value moved to another name or instance does not open);
- the engine state becomes `sealed:v1:<base64(nonce + ciphertext)>`.
Without the data key (erased) nothing here opens: `open_value` then answers `ERASED`. An envelope that does not open
under the instance's key — corrupt, forged, moved from another variable or instance, or in an instance that never
had a key — answers `UNREADABLE`, never an exception.

The key `MARK` is reserved: `reserved_paths` finds it at any depth of a value, so that no value from outside (a
request's variables) is ever stored in the shape `is_sealed` takes for an envelope.
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


class _Unopened:
    """What a sealed value opens to when it cannot be opened."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


ERASED: Final = _Unopened("ERASED")  # the instance's data key was destroyed
UNREADABLE: Final = _Unopened("UNREADABLE")  # the envelope does not open under the instance's key


def _claims_mark(value: Any) -> bool:
    return isinstance(value, dict) and MARK in value


def is_sealed(value: Any) -> bool:
    """Whether a stored value is an envelope: a mapping whose only key is `MARK`, holding text."""
    return _claims_mark(value) and len(value) == 1 and isinstance(value[MARK], str)


def reserved_paths(value: Any, path: str) -> list[str]:
    """Where `value` (named `path`) holds a mapping with the key `MARK`, at any depth (`contact.phones[1]`): a
    superset of what `is_sealed` recognises, refused in input because a script may lift a nested part into a
    variable of its own."""
    if not isinstance(value, dict | list) or not _holds_mark(value):  # the common cases: no path built
        return []
    found: list[str] = []
    stack = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, dict):
            if _claims_mark(item):
                found.append(where)
            stack.extend((f"{where}.{key}", child) for key, child in item.items())
        elif isinstance(item, list):
            stack.extend((f"{where}[{index}]", child) for index, child in enumerate(item))
    return sorted(found)


def _holds_mark(value: Any) -> bool:
    stack = [value]  # a loop, not recursion: no depth limit to reach
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if MARK in item:
                return True
            stack.extend(child for child in item.values() if isinstance(child, dict | list))
        elif isinstance(item, list):
            stack.extend(child for child in item if isinstance(child, dict | list))
    return False


def is_sealed_state(text: str) -> bool:
    return text.startswith(STATE_PREFIX)


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


class InstanceCipher:
    """Seals and opens one instance's values with its data key (None: the key was erased, or, with `keyed`
    false, the instance never had one)."""

    def __init__(self, instance_id: str, data_key: bytes | None, keyed: bool = True):
        self.instance_id = instance_id
        self._aead = AESGCM(data_key) if data_key is not None else None
        self._keyed = keyed
        self._known: dict[str, bytes] = {}  # envelope text -> plain JSON of the values sealed or opened here

    @property
    def erased(self) -> bool:
        return self._aead is None and self._keyed

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
        """The value; `ERASED` when the key is gone; `UNREADABLE` when the envelope does not open under this
        instance's key (corrupt, forged, sealed for another variable or instance, or no key was ever made)."""
        text = envelope[MARK]
        plain = self._known.get(text)
        if plain is None:
            if self.erased:
                return ERASED
            plain = self._open_envelope(text, name)
            if plain is None:
                return UNREADABLE
            self._known[text] = plain
        return json.loads(plain)

    def _open_envelope(self, text: str, name: str) -> bytes | None:
        if self._aead is None or not text.startswith(VALUE_PREFIX):
            return None
        try:
            sealed = base64.b64decode(text[len(VALUE_PREFIX) :], validate=True)
        except ValueError:  # binascii.Error: not base64
            return None
        if len(sealed) < NONCE_BYTES:  # AES-GCM refuses a shorter nonce with a ValueError
            return None
        return self._open(sealed, name)

    def seal_state(self, state: str) -> str:
        return STATE_PREFIX + base64.b64encode(self._seal(state.encode(), "$engine_state")).decode()

    def open_state(self, text: str) -> str | None:
        """The engine state (None: erased); a state that is not sealed is returned as it is."""
        if not is_sealed_state(text):
            return text
        plain = self._open(base64.b64decode(text[len(STATE_PREFIX) :]), "$engine_state")
        return None if plain is None else plain.decode()
