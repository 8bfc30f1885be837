"""What changed between two versions of a process: tasks, lanes and flows added, removed or renamed."""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from mso_flow.engine.parsing import BPMN_NS, read_xml
from mso_flow.engine.structure import FLOW_NODES


@dataclass
class Changes:
    """Added and removed items of one kind, and renamed ones as (id, old name, new name)."""

    added: list[dict[str, str]] = field(default_factory=list)
    removed: list[dict[str, str]] = field(default_factory=list)
    renamed: list[dict[str, str]] = field(default_factory=list)


@dataclass
class VersionDiff:
    tasks: Changes
    lanes: Changes
    flows: Changes

    @property
    def unchanged(self) -> bool:
        return not any(c.added or c.removed or c.renamed for c in (self.tasks, self.lanes, self.flows))


def _process(xml: bytes, key: str) -> etree._Element:
    root = read_xml(xml, key)
    node = next((p for p in root.iterfind(f"{{{BPMN_NS}}}process") if p.get("id") == key), None)
    if node is None:
        raise KeyError(key)
    return node


def _items(process: etree._Element, kind: str) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for element in process.iter():
        if not isinstance(element.tag, str) or not element.tag.startswith(f"{{{BPMN_NS}}}"):
            continue
        local = etree.QName(element).localname
        if kind == "tasks" and local in FLOW_NODES and local.endswith(("Task", "task", "Activity", "Process")):
            found[element.get("id")] = {"id": element.get("id"), "name": element.get("name") or "", "type": local}
        elif kind == "lanes" and local == "lane":
            found[element.get("name") or element.get("id")] = {"id": element.get("id"), "name": element.get("name")}
        elif kind == "flows" and local == "sequenceFlow":
            pair = f"{element.get('sourceRef')}->{element.get('targetRef')}"
            found[pair] = {
                "id": element.get("id"),
                "name": element.get("name") or "",
                "source": element.get("sourceRef"),
                "target": element.get("targetRef"),
            }
    return found


def _changes(old: dict[str, dict[str, str]], new: dict[str, dict[str, str]]) -> Changes:
    changes = Changes(
        added=[new[k] for k in new if k not in old],
        removed=[old[k] for k in old if k not in new],
    )
    for k in old.keys() & new.keys():
        if old[k].get("name") != new[k].get("name"):
            changes.renamed.append({"id": k, "old_name": old[k]["name"] or "", "new_name": new[k]["name"] or ""})
    changes.renamed.sort(key=lambda c: c["id"])
    return changes


def compare(old_xml: bytes, new_xml: bytes, key: str) -> VersionDiff:
    """Tasks (by element id), lanes (by name) and flows (by source and target) of `key` in two documents."""
    old, new = _process(old_xml, key), _process(new_xml, key)
    return VersionDiff(
        tasks=_changes(_items(old, "tasks"), _items(new, "tasks")),
        lanes=_changes(_items(old, "lanes"), _items(new, "lanes")),
        flows=_changes(_items(old, "flows"), _items(new, "flows")),
    )
