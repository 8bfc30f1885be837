"""The operator's master keys, which wrap (encrypt) the per-instance data keys of personal data.

Master keys are AES-256 keys the database never holds: `MSO_FLOW_MASTER_KEY` (base64 keys, comma-separated) or
the file `MSO_FLOW_MASTER_KEY_FILE` (one base64 key a line, `#` comments), the first key the current one. The file
is created with mode 0600 and one fresh key when neither exists (the embedded default; production supplies its own).

A data key is wrapped with AES-GCM under the current master key, bound to its instance id (a wrapped key copied to
another instance does not open); the row records the master key's id (a hash of the key, not the key). Rotation:
put a new key first, keep the old ones after it, run `mso-flow rotate-master-key` (every data key is rewrapped
under the new key), then remove the old keys.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import logging
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mso_flow.services.platform import secret_files
from mso_flow.settings import Settings

log = logging.getLogger(__name__)
KEY_BYTES = 32
NONCE_BYTES = 12


class MasterKeyMissing(Exception):
    """A data key was wrapped by a master key this service process does not have."""


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"mso-flow/master-key-id\n" + key).hexdigest()[:16]


def _aad(instance_id: str) -> bytes:
    return f"mso-flow/data-key/v1\n{instance_id}".encode()


class Keyring:
    """The master keys of a service process; the first wraps new data keys, any of them unwraps."""

    def __init__(self, keys: list[bytes]):
        if not keys:
            raise ValueError("no master key")
        for key in keys:
            if len(key) != KEY_BYTES:
                raise ValueError(f"a master key must be {KEY_BYTES} bytes (base64 of 32 random bytes)")
        self._keys = {key_id(key): AESGCM(key) for key in keys}
        self.current_id = key_id(keys[0])

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self._keys)

    def wrap(self, instance_id: str, data_key: bytes) -> tuple[str, bytes]:
        """(master key id, nonce + AES-GCM ciphertext of the data key) under the current master key."""
        nonce = os.urandom(NONCE_BYTES)
        return self.current_id, nonce + self._keys[self.current_id].encrypt(nonce, data_key, _aad(instance_id))

    def unwrap(self, instance_id: str, master_id: str, wrapped: bytes) -> bytes:
        cipher = self._keys.get(master_id)
        if cipher is None:
            raise MasterKeyMissing(master_id)
        try:
            return cipher.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _aad(instance_id))
        except InvalidTag:
            raise MasterKeyMissing(master_id) from None


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def _decode(text: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except binascii.Error:
        raise ValueError("a master key is not base64") from None


def read_file(path: Path) -> list[bytes]:
    lines = [line.strip() for line in path.read_text().splitlines()]
    return [_decode(line) for line in lines if line and not line.startswith("#")]


def create_file(path: Path) -> None:
    """Write a file with one fresh master key (mode 0600; workers starting together agree on one)."""
    text = "# MSO Flow master keys: the first is current; back this file up apart from the database\n"
    text += base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode() + "\n"
    secret_files.create(path, text.encode(), "master key file")


@functools.lru_cache(maxsize=8)
def _from_file(path: Path) -> Keyring:
    if not path.exists():
        create_file(path)
    secret_files.warn_if_shared(path, "master key file")
    return Keyring(read_file(path))


@functools.lru_cache(maxsize=8)
def _from_value(value: str) -> Keyring:
    return Keyring([_decode(part) for part in value.split(",") if part.strip()])


def keyring(settings: Settings) -> Keyring:
    """The keyring of this service process (read once)."""
    if settings.master_key is not None:
        return _from_value(settings.master_key.get_secret_value())
    return _from_file(settings.master_key_file.resolve())


def forget() -> None:
    """Read the keys again on next use (after a rotation in this process)."""
    _from_file.cache_clear()
    _from_value.cache_clear()
