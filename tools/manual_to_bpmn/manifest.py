"""What the generator last wrote: the sha256 of each BPMN file, so it never overwrites a designer's edit.

The manifest is a `sha256sum`-style text file (`<hex>  <path relative to the repository>`), one line per file,
sorted by path. A file may be (re)written only when it does not exist, or when its current bytes are exactly
those the generator last wrote; anything else was edited after generation (in Camunda Modeler or by hand).
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Manifest:
    """The hashes of the files the generator wrote, keyed by path relative to `root`."""

    def __init__(self, path: Path, root: Path) -> None:
        self.path = path
        self.root = root
        self.hashes: dict[str, str] = {}
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    digest, name = line.split(maxsplit=1)
                    self.hashes[name.strip()] = digest

    def _name(self, target: Path) -> str:
        return target.resolve().relative_to(self.root.resolve()).as_posix()

    def refusal(self, target: Path) -> str | None:
        """Why `target` must not be overwritten, or None when it is safe to write."""
        if not target.exists():
            return None
        name = self._name(target)
        written = self.hashes.get(name)
        if written is None:
            return f"{name}: not written by the generator (no entry in {self.path.name}); edit the BPMN instead"
        if sha256(target.read_bytes()) != written:
            return f"{name}: changed since the generator wrote it (edited in a modeler?); edit the BPMN instead"
        return None

    def record(self, target: Path, data: bytes) -> None:
        self.hashes[self._name(target)] = sha256(data)

    def save(self) -> None:
        lines = [f"{digest}  {name}" for name, digest in sorted(self.hashes.items())]
        self.path.write_text("\n".join(lines) + "\n", encoding="utf-8")
