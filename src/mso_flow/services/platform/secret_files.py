"""Key files on the service's host (the audit signing key, the master keys): created once, mode 0600, atomically
(worker processes and threads asking together agree on one file), and checked for readability by others."""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

log = logging.getLogger(__name__)


def create(path: Path, content: bytes, what: str) -> None:
    """Write `content` to `path` unless the file exists (another process's file is kept)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # a new key folder is the service's alone
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(8)}.tmp")  # one per caller
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(temporary, path)  # fails if another process made it first
            log.warning("created the %s %s: back it up, apart from the database", what, path)
        except FileExistsError:
            pass
    finally:
        temporary.unlink(missing_ok=True)


def warn_if_shared(path: Path, what: str) -> None:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("%s %s is readable by others (mode %o): chmod 600 it", what, path, mode & 0o777)
