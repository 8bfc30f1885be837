"""Anchoring of the audit trail: the head of every instance's hash chain, and of the admin chain of user
administration, is signed with an Ed25519 key that lives in a file on the service's host
(`MSO_FLOW_AUDIT_SIGNING_KEY_FILE`), never in the database.

The hash chain shows an event edited, removed or inserted unless the whole rest of the chain and the head are
recomputed; whoever can write the database can do that, but cannot sign the new head. The signed message binds
the instance id (`chain:admin` for the admin chain), the number of events and the head hash. The key file is
created on first use (mode 0600, atomically, so worker processes starting together agree on one key) if it does
not exist.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from mso_flow.services.platform import secret_files
from mso_flow.settings import Settings
from mso_flow.store import audit as audit_store
from mso_flow.store.audit import ChainCheck, NewEvent

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from mso_flow.services.platform.context import Services

SCHEME = "ed25519"
ADMIN_SUBJECT = f"chain:{audit_store.ADMIN_CHAIN}"  # never an instance id (those are UUIDs)
log = logging.getLogger(__name__)


def _message(instance_id: str, seq: int, head: str) -> bytes:
    return f"mso-flow/audit-head/v1\n{instance_id}\n{seq}\n{head}".encode()


class AuditSigner:
    """Signs and checks audit heads with one Ed25519 key pair."""

    def __init__(self, key: Ed25519PrivateKey):
        self._key = key
        self.public_key: Ed25519PublicKey = key.public_key()
        raw = self.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.key_id = hashlib.sha256(raw).hexdigest()[:16]

    def sign(self, instance_id: str, seq: int, head: str) -> str:
        """`ed25519:<key id>:<base64 signature>`."""
        signature = base64.b64encode(self._key.sign(_message(instance_id, seq, head))).decode()
        return f"{SCHEME}:{self.key_id}:{signature}"

    def problem(self, instance_id: str, seq: int, head: str, signature: str | None) -> str | None:
        """None when `signature` is this key's signature of the head, else why not."""
        if not signature:
            return "unsigned_head"
        scheme, _, rest = signature.partition(":")
        key_id, _, encoded = rest.partition(":")
        if scheme != SCHEME or key_id != self.key_id:
            return "unknown_signing_key"
        try:
            self.public_key.verify(base64.b64decode(encoded, validate=True), _message(instance_id, seq, head))
        except (InvalidSignature, ValueError):
            return "signature_invalid"
        return None


def load_or_create(path: Path) -> AuditSigner:
    """The key in `path` (PEM, PKCS#8), created with mode 0600 if absent."""
    if not path.exists():
        _create(path)
    secret_files.warn_if_shared(path, "audit signing key")
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return AuditSigner(key)


def _create(path: Path) -> None:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    secret_files.create(path, pem, "audit signing key")


@functools.lru_cache(maxsize=8)
def _signer_at(path: Path) -> AuditSigner:
    return load_or_create(path)


@functools.lru_cache(maxsize=8)
def _resolved(path: Path) -> Path:
    return path.resolve()


def signer(settings: Settings) -> AuditSigner:
    """The signer of this service process (the key file is read once per process, its path resolved once)."""
    return _signer_at(_resolved(settings.audit_signing_key_file))


def with_signature(check: ChainCheck, problem: str | None) -> ChainCheck:
    """A chain's hash check, failed with the head's signature `problem` when the hashes agree: a chain rewritten
    consistently, head included, re-hashes fine but its head is not this key's signature."""
    if check.ok and problem:
        return ChainCheck(False, check.events, None, problem)
    return check


def append_admin(services: Services, session: Session, events: list[NewEvent]) -> None:
    """Append user-administration events to the admin chain and sign its new head, in the caller's transaction."""
    key = signer(services.settings)
    audit_store.append_admin(session, events, services.clock(), lambda seq, head: key.sign(ADMIN_SUBJECT, seq, head))


def verify_admin(services: Services, session: Session) -> ChainCheck:
    """Re-hash the admin chain and check its head's signature."""
    check = audit_store.verify_admin(session)
    chain = audit_store.admin_chain(session)
    if chain is None or chain.seq == 0:
        return check
    problem = signer(services.settings).problem(ADMIN_SUBJECT, chain.seq, chain.head, chain.signature)
    return with_signature(check, problem)


def sign_unsigned_heads(services: Services) -> int:
    """Sign every head that has no signature (chains recorded before anchoring existed): run once, right after
    upgrading, since it vouches for those chains as they stand at that moment. Returns how many."""
    key = signer(services.settings)
    with services.db.write() as session:
        instances = audit_store.unsigned_heads(session)
        for instance in instances:
            instance.audit_signature = key.sign(instance.id, instance.audit_seq, instance.audit_head)
        admin = audit_store.admin_chain(session, lock=True)
        unsigned_admin = admin is not None and admin.seq > 0 and not admin.signature
        if admin is not None and unsigned_admin:
            admin.signature = key.sign(ADMIN_SUBJECT, admin.seq, admin.head)
        return len(instances) + unsigned_admin
