"""Roles people can hold, from the lanes of the processes and the ministry's roles file.

The roles file (`bpmn/roles.yaml`, setting `MSO_FLOW_ROLES_FILE`) maps a lane name, exactly as a process names it,
to the role names of the ministry whose holders work that lane:

    lanes:
      "พมจ./กองทุน": [พมจ., กองทุน]

The rule when a process is parsed (`lane_roles`):
- a lane the file names gets the file's roles;
- a lane the file does not name stays its own role (a designer's new lane deploys without touching the file);
- a composite lane the file does not name is offered to each of its parts, and the deployment is warned that the
  lane was split (`ProcessDef.split_lanes`). Parts are separated by "/" or by the word "และ" (and) or "หรือ" (or)
  standing apart ("กยผ. และหน่วยงานต่างๆ"); spaces and dots never separate ("ผอ. กอง", "กรมฯ ศทส." is one name
  to the engine), so a list of units written with spaces only must be named in the roles file.
A lane's own `camunda:property name="roles"` in the BPMN wins over all of these.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from mso_flow.engine.model import ProcessDef

# "/" between parts, or "และ"/"หรือ" as a word of its own (a space on at least one side): "ศูนย์เทคโนโลยีสารสนเทศและ
# การสื่อสาร" is one name, "ศูนย์เทคโนโลยีสารสนเทศและการสื่อสาร และหน่วยงานที่เกี่ยวข้อง" two.
COMPOSITE_SEPARATOR = re.compile(r"\s*/\s*|\s+(?:และ|หรือ)\s*|\s*(?:และ|หรือ)\s+")


class RolesFileError(ValueError):
    """The roles file cannot be read."""


@dataclass(frozen=True)
class RoleMap:
    """Lane name → the ministry's role names for it; and a head's role → the staff roles of the section he heads
    (`heads:`; with `supervisor` he assigns their tasks: `policy.supervises`)."""

    lanes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    heads: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def headed_by(self, roles: Iterable[str]) -> frozenset[str]:
        """The staff roles of the sections these roles head."""
        return frozenset(r for role in roles for r in self.heads.get(role, ()))

    def roles_for(self, lane: str) -> tuple[tuple[str, ...] | None, bool]:
        """(roles, split): the roles of a lane (None: the lane is its own role) and whether it was split."""
        if lane in self.lanes:
            return self.lanes[lane], False
        parts = split_composite(lane)
        if len(parts) > 1:
            return parts, True
        return None, False


def split_composite(lane: str) -> tuple[str, ...]:
    """The parts of a composite lane "A/B/C" or "A และ B" (one part for an ordinary lane)."""
    parts = [part.strip() for part in COMPOSITE_SEPARATOR.split(lane)]
    return tuple(dict.fromkeys(part for part in parts if part))


def load_role_map(path: Path | None) -> RoleMap:
    """Read a roles file; a missing file (or None) is an empty map."""
    if path is None or not path.is_file():
        return RoleMap()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        raise RolesFileError(f"{path}: {err}") from err
    lanes = data.get("lanes", {}) if isinstance(data, dict) else None
    if not isinstance(lanes, dict):
        raise RolesFileError(f"{path}: expected a mapping `lanes: {{lane name: [role, ...]}}`")
    heads = data.get("heads", {}) or {}
    if not isinstance(heads, dict):
        raise RolesFileError(f"{path}: expected a mapping `heads: {{head's role: [staff role, ...]}}`")
    return RoleMap(_role_lists(path, "lane", lanes), _role_lists(path, "head", heads))


def _role_lists(path: Path, what: str, entries: dict[object, object]) -> dict[str, tuple[str, ...]]:
    mapped: dict[str, tuple[str, ...]] = {}
    for name, roles in entries.items():
        values = [roles] if isinstance(roles, str) else roles
        if not isinstance(values, list) or not values or not all(isinstance(r, str) and r.strip() for r in values):
            raise RolesFileError(f"{path}: {what} {name!r}: give a role name or a non-empty list of role names")
        mapped[str(name)] = tuple(dict.fromkeys(r.strip() for r in values))
    return mapped


def known_roles(processes: Iterable[ProcessDef]) -> list[str]:
    """Every role that may work a task of these processes: the mapped roles of their lanes, lanes that are their
    own role, and candidate groups; sorted, without duplicates."""
    roles: set[str] = set()
    for process in processes:
        for lane in process.lanes:
            roles.update(process.lane_roles.get(lane) or (lane,))
        for task in process.user_tasks:
            roles.update(task.candidate_groups)
    return sorted(role for role in roles if role)
