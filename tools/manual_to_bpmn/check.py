"""Check BPMN files on their own (no reading needed): validation as deployed, then the simulation of each process."""

from __future__ import annotations

import sys
from pathlib import Path

from lxml import etree

from mso_flow.engine.lane_roles import RoleMap, load_role_map
from mso_flow.engine.verdict import check_document

ROLES_FILE = Path(__file__).resolve().parents[2] / "bpmn" / "roles.yaml"  # the service's default roles file


def check_file(path: Path, roles: RoleMap | None = None) -> list[str]:
    """Every finding of one BPMN file, errors and warnings: validation, condition checks, then the simulation of
    each process (the manual's files carry none). Lanes get their roles from `roles` (default: bpmn/roles.yaml)."""
    roles = roles if roles is not None else load_role_map(ROLES_FILE)
    return [str(p) for p in check_document(path.read_bytes(), str(path), roles=roles).problems]


def check(paths: list[str]) -> int:
    """Check BPMN files or directories; print problems; return how many files failed."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        files += sorted(path.rglob("*.bpmn")) if path.is_dir() else [path]
    failed = 0
    for path in files:
        try:
            problems = check_file(path)
        except (OSError, etree.LxmlError) as err:
            problems = [f"{path}: {err}"]
        if problems:
            failed += 1
            print("\n".join(problems))
        else:
            print(f"ok {path}")
    print(f"{len(files) - failed} of {len(files)} files pass", file=sys.stderr)
    return failed
