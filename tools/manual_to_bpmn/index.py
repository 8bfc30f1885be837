"""The index of the manual's processes (`docs/processes.md`), generated from the BPMN files themselves."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from lxml import etree

from mso_flow.engine.parsing import BPMN_NS, FIELD_MARKS, NS, parse_document, read_xml
from mso_flow.rendering.svg import inferred_reason

READINGS_MARKER = "การตีความ (readings):"
COUNTED = {"userTask", "exclusiveGateway", "startEvent", "endEvent", "boundaryEvent", "sequenceFlow", "lane"}


def provenance_counts(process: etree._Element) -> tuple[int, int]:
    """(elements the manual draws, elements added by reading) among a process's tasks, gateways, events, flows
    and lanes."""
    counted = [e for e in process.iter() if isinstance(e.tag, str) and etree.QName(e).localname in COUNTED]
    inferred = sum(1 for e in counted if inferred_reason(e) is not None)
    return len(counted) - inferred, inferred


@dataclass(frozen=True)
class IndexEntry:
    """What the index says of one process."""

    path: str
    key: str
    name: str
    unit: str
    manual_lines: str
    basis: str
    user_tasks: int
    lanes: int
    decisions: int
    timers: int
    message_start: bool
    readings: tuple[str, ...]
    from_manual: int
    inferred: int
    personal: tuple[str, ...] = ()  # variables holding personal data (sensitive ones included)
    sensitive: tuple[str, ...] = ()
    secrecy_variable: str | None = None
    retention_days: int | None = None
    marked_fields: tuple[tuple[str, str, str], ...] = ()  # (field id, label, why it is marked)


def marked_fields(process: etree._Element) -> tuple[tuple[str, str, str], ...]:
    """(id, label, marking reason) of every form field of a process marked personal or sensitive, once each."""
    found: dict[str, tuple[str, str, str]] = {}
    for field in process.iterfind(".//camunda:formData/camunda:formField", NS):
        props = {
            (p.get("id") or p.get("name") or ""): p.get("value") or ""
            for p in field.iterfind("camunda:properties/camunda:property", NS)
        }
        if any(props.get(mark, "").strip().lower() == "true" for mark in FIELD_MARKS):
            field_id = field.get("id") or ""
            found.setdefault(field_id, (field_id, field.get("label") or "", props.get("marking_reason", "")))
    return tuple(found.values())


def _readings(documentation: str | None) -> tuple[str, ...]:
    if not documentation or READINGS_MARKER not in documentation:
        return ()
    tail = documentation.split(READINGS_MARKER, 1)[1]
    return tuple(line.removeprefix("- ").strip() for line in tail.splitlines() if line.strip())


def entries(bpmn_dir: Path) -> list[IndexEntry]:
    """One entry per executable process of every `.bpmn` file under `bpmn_dir`, in path order."""
    found = []
    for path in sorted(bpmn_dir.rglob("*.bpmn")):
        xml = path.read_bytes()
        root = read_xml(xml, str(path))
        relative = path.relative_to(bpmn_dir.parent).as_posix()
        for process in parse_document(xml, str(path)):
            definition = process.definition
            element = next(p for p in root.iter(f"{{{BPMN_NS}}}process") if p.get("id") == definition.key)
            gateways = element.iter(f"{{{BPMN_NS}}}exclusiveGateway")
            flows = list(element.iter(f"{{{BPMN_NS}}}sequenceFlow"))
            decisions = sum(1 for g in gateways if sum(f.get("sourceRef") == g.get("id") for f in flows) > 1)
            found.append(
                IndexEntry(
                    path=relative,
                    key=definition.key,
                    name=definition.name,
                    unit=definition.unit or "",
                    manual_lines=definition.properties.get("manual_lines", ""),
                    basis=definition.properties.get("manual_basis", ""),
                    user_tasks=len(definition.user_tasks),
                    lanes=len(definition.lanes),
                    decisions=decisions,
                    timers=sum(1 for _ in element.iter(f"{{{BPMN_NS}}}timerEventDefinition")),
                    message_start=bool(definition.start_messages),
                    readings=_readings(definition.documentation),
                    from_manual=provenance_counts(element)[0],
                    inferred=provenance_counts(element)[1],
                    personal=tuple(sorted(definition.personal_variables)),
                    sensitive=tuple(sorted(definition.sensitive_variables)),
                    secrecy_variable=definition.secrecy_variable,
                    retention_days=definition.retention_days,
                    marked_fields=marked_fields(element),
                )
            )
    return found


def _not_encoded(path: Path) -> list[str]:
    if not path.is_file():
        return []
    lines = ["", "## Headings without a BPMN file", ""]
    for item in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
        first, last = item["lines"]
        lines.append(f"- {item['unit']}: {item['heading']} (lines {first}-{last}). {item['reason']}")
    return lines


def _units(items: list[IndexEntry]) -> list[str]:
    lines = [
        "",
        "## What the manual draws and what reading added, per unit",
        "",
        "Elements are user tasks, gateways, events, sequence flows and lanes; *inferred* ones carry",
        "`source=inferred` and an `inferred_reason`, and the service draws them dashed.",
        "",
        "| unit | processes | from the manual | inferred |",
        "|---|---:|---:|---:|",
    ]
    units: dict[str, list[IndexEntry]] = {}
    for item in items:
        units.setdefault(item.unit, []).append(item)
    for unit, group in units.items():
        manual, inferred = sum(i.from_manual for i in group), sum(i.inferred for i in group)
        lines.append(f"| {unit} | {len(group)} | {manual} | {inferred} |")
    return lines


def _names(names: tuple[str, ...]) -> str:
    return ", ".join(f"`{name}`" for name in names)


def _privacy(items: list[IndexEntry]) -> list[str]:
    """The processes that hold personal data or classified letters, their variables and why each is marked."""
    marked = [i for i in items if i.personal or i.secrecy_variable or i.retention_days]
    lines = [
        "",
        "## Personal data and secrecy classes",
        "",
        "Variables the service keeps encrypted and shows only to those who need to know (rule 10): form fields",
        "marked `personal_data` or `sensitive` (the Act's section 26 data), the process's `personal_data` and",
        "`sensitive_data` lists, and the `secrecy_variable` of letters (a class other than `normal` protects every",
        "variable). Retention is the service's default unless the process sets `retention_days`.",
        "",
        f"{len(marked)} of {len(items)} processes: {sum(len(i.personal) for i in marked)} personal variables, "
        f"{sum(len(i.sensitive) for i in marked)} of them sensitive.",
        "",
        "| process | personal data | sensitive (section 26) | secrecy class | retention (days) |",
        "|---|---|---|---|---:|",
    ]
    for item in marked:
        lines.append(
            f"| [`{item.key}`](../{item.path}) | {_names(item.personal)} | {_names(item.sensitive)} "
            f"| {f'`{item.secrecy_variable}`' if item.secrecy_variable else ''} | {item.retention_days or ''} |"
        )
    reasons = [(item.key, field) for item in marked for field in item.marked_fields]
    if reasons:
        lines += ["", "Why each field is marked:", ""]
        lines += [f"- `{key}` `{f_id}` ({label}): {why or '—'}" for key, (f_id, label, why) in reasons]
    return lines


def _rules(path: Path) -> list[str]:
    return ["", path.read_text(encoding="utf-8").strip()] if path.is_file() else []


def render_index(bpmn_dir: Path, not_encoded: Path | None = None) -> str:
    """`docs/processes.md`: a table of every process, the headings left out and why, and the readings chosen
    where the manual is unclear (`not_encoded`: docs/manual-extraction/not-encoded.yaml by default)."""
    items = entries(bpmn_dir)
    lines = [
        "# Processes of the Work Manual FY2567",
        "",
        "Generated by `python -m tools.manual_to_bpmn index` from the BPMN files of `bpmn/` (do not edit by hand).",
        "Lines are those of `../shared/manual/work-manual-2567.txt`; basis `flowchart` means the flowchart table,",
        "`steps` the step table where the flowchart was an image. Decisions count diverging exclusive gateways;",
        "timers count deadline (boundary) timers that escalate to a supervisor.",
        "",
        f"**{len(items)} processes** in {len({i.path for i in items})} files, "
        f"{sum(i.user_tasks for i in items)} user tasks, {sum(i.decisions for i in items)} decisions, "
        f"{sum(i.timers for i in items)} deadline timers.",
        "",
        f"{sum(i.from_manual for i in items)} elements drawn by the manual, {sum(i.inferred for i in items)} added by "
        "reading (inferred).",
        "",
        "| unit | process (Thai title) | key / file | manual lines | basis | tasks | lanes | decisions | timers "
        "| manual | inferred |",
        "|---|---|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for item in items:
        start = " (message start)" if item.message_start else ""
        lines.append(
            f"| {item.unit} | {item.name}{start} | [`{item.key}`](../{item.path}) | {item.manual_lines} | "
            f"{item.basis} | {item.user_tasks} | {item.lanes} | {item.decisions} | {item.timers} "
            f"| {item.from_manual} | {item.inferred} |"
        )
    extraction = bpmn_dir.parent / "docs" / "manual-extraction"
    lines += _units(items)
    lines += _rules(extraction / "RULES.md")
    lines += _privacy(items)
    lines += _not_encoded(not_encoded or extraction / "not-encoded.yaml")
    lines += ["", "## Readings", "", "Where the manual is damaged or ambiguous, the reading chosen for each file.", ""]
    for item in items:
        if item.readings:
            lines.append(f"### `{item.key}` — {item.name}")
            lines.append("")
            lines += [f"- {reading}" for reading in item.readings]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"
