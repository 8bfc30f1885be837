"""What a process's readings claim, checked against its diagram, and where its tasks are in the manual.

The readings (the lines after "การตีความ (readings):" in the process documentation) are shown to staff beside the
diagram, so they must not describe a decision, a timer, a lane, a duration or a form field the BPMN lacks:
- a sentence that calls a step a decision (or a loop back) names a step that has a diverging gateway after it, or
  that such a gateway's branch returns to; one that says a step is a task without a gateway names a step with a
  task not followed by one; "no decision" without a step means every diverging gateway is inferred;
- a sentence about a timer, an escalation or an alerted supervisor needs a boundary timer, unless it says none;
- a quoted name in a sentence about a lane is a lane of the diagram (or part of one);
- an ISO-8601 period it names is a task's duration, deadline or timer ("standard duration", "duration (P3D)": a
  task's standard duration);
- a `field` in back quotes is a form field, process variable or element of the diagram, or a property name.

`manual_line_problems` checks the other way round: each task's `manual_lines` hold its step number at the start
of a table row (a sub-step's number anywhere in them), or its text (its name, or the first and last words of a
passage of its documentation). Tasks added by reading (inferred) and processes not read from the manual are
left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from mso_flow.engine.parsing import BPMN_NS, CAMUNDA_NS

READINGS_MARKER = "การตีความ (readings):"
PROPERTY = f"{{{BPMN_NS}}}extensionElements/{{{CAMUNDA_NS}}}properties/{{{CAMUNDA_NS}}}property"
THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
NUMBER = r"[๐-๙0-9]+(?:\.[๐-๙0-9]+)*"
STEP_REF = re.compile(
    rf"(?:\b(?:[Ss]teps?|[Rr]ows?|[Bb]ox(?:es)?|[Ss]ub-steps?)|ลำดับ(?:ที่)?|\b(?:after|on))\s+"
    rf"({NUMBER}(?:(?:\s*,\s*|\s+and\s+|\s+or\s+|\s*[–-]\s*){NUMBER})*)"
)
DECISION = re.compile(
    r"\bdecisions?\b|\bgateway\b|\bloops? back\b|\bgo(?:es)? back to\b|\breturn(?:s|ing)? to\b"
    r"|(อนุมัติ|เห็นชอบ|ลงนาม)/ไม่\1|\bnot approved\b|ไม่(?:อนุมัติ|เห็นชอบ|ลงนาม|ผ่าน) (?:ends|continues|returns|goes|loops)"
)
# a decision, not only a loop's target
DECIDES = re.compile(
    r"\bdecisions?\b|\bgateway\b|(อนุมัติ|เห็นชอบ|ลงนาม)/ไม่\1|\bnot approved\b|ไม่(?:อนุมัติ|เห็นชอบ|ลงนาม|ผ่าน) "
)
NOT_DECISION = re.compile(
    r"\bno (?:decisions?|gateway|loop)\b|\bnot (?:as |read as |modelled as )?(?:an? )?(?:decisions?|gateway)\b"
    r"|\bneither is an? (?:decision|gateway)"
    r"|\bwithout (?:a )?gateway|replaces the decision|\bread as linear|\bno\b[^,;]* decisions? (?:is|was|were) "
    r"(?:modelled|drawn|stated)",
    re.IGNORECASE,
)
TIMER = re.compile(r"\btimers?\b|\bescalat|\balerts? (?:the |a )?supervisor")
NOT_TIMER = re.compile(
    r"\bno (?:deadline |boundary )?timers?|\bno escalation|\bnot (?:a |modelled as a )?(?:deadline|timer)"
    r"|\bwithout (?:a )?timer|\bno supervisor to alert|\bnot modelled as deadlines?",
    re.IGNORECASE,
)
QUOTE = r"(?<!\w)'([^']+)'(?!\w)"
# a quoted name right after "lane(s)" (lane 'X', lane named 'X', lanes 'X' and 'Y') or right before "lane"
LANE_NAMES = re.compile(
    rf"\blanes? (?:(?:is |named |called |for |of |uses |keeps )?(?:the )?){QUOTE}(?:(?:,| and| or) {QUOTE})*"
)
NAMED_LANE = re.compile(rf"{QUOTE} lanes?\b")
ISO = re.compile(r"\bP(?=T?\d)(?:\d+[YMWD])*(?:T(?:\d+[HMS])+)?\b")
BACKTICKED = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*)`")
# names of the reading format and of BPMN properties that readings may quote without them being in the diagram
FORMAT_NAMES = {
    "pages", "lines", "basis", "readings", "start", "lanes", "steps", "ends", "detail", "form", "next", "decision",
    "deadline", "duration", "duration_text", "duration_basis", "standard_duration", "manual_duration", "manual_step",
    "manual_lines", "deadline_from", "deadline_text", "counted_from", "escalate_lane", "escalation", "receipt", "task",
    "working", "calendar", "source", "inferred", "inferred_reason", "personal", "sensitive", "personal_data",
    "sensitive_data", "retention_days", "secrecy_variable", "marking_source", "marking_reason", "message", "no",
    "end", "flowchart", "true", "false", "default", "condition", "required", "values", "owner", "kpi", "category",
    "key", "unit", "name", "id", "normal",
}  # fmt: skip


@dataclass
class Diagram:
    """The facts of one process that readings talk about."""

    lanes: set[str] = field(default_factory=set)
    steps: dict[str, list[str]] = field(default_factory=dict)  # step number → task ids
    decided: set[str] = field(default_factory=set)  # task ids followed by a diverging gateway
    branch_targets: set[str] = field(default_factory=set)  # task ids a diverging gateway's branch leads to
    drawn_gateways: int = 0  # diverging gateways the manual draws (not inferred)
    timers: int = 0
    durations: set[str] = field(default_factory=set)
    deadlines: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)  # element ids, form fields, process variables
    readings: list[str] = field(default_factory=list)


def _props(element: etree._Element) -> dict[str, str]:
    return {p.get("name") or "": p.get("value") or "" for p in element.iterfind(PROPERTY)}


def _number(text: str) -> str:
    return text.translate(THAI_DIGITS).strip().rstrip(".")


def read_diagram(path: Path) -> Diagram:
    root = etree.parse(str(path)).getroot()
    [process] = root.iter(f"{{{BPMN_NS}}}process")
    diagram = Diagram()
    elements = {el.get("id"): el for el in process.iter() if isinstance(el.tag, str) and el.get("id")}
    flows = [el for el in elements.values() if etree.QName(el).localname == "sequenceFlow"]
    outgoing: dict[str, list[str]] = {}
    for flow in flows:
        outgoing.setdefault(flow.get("sourceRef") or "", []).append(flow.get("targetRef") or "")

    def through_joins(target: str) -> str:
        while etree.QName(elements[target]).localname == "exclusiveGateway" and len(outgoing.get(target, [])) == 1:
            target = outgoing[target][0]
        return target

    for element_id, element in elements.items():
        kind = etree.QName(element).localname
        props = _props(element)
        diagram.names.add(element_id)
        if kind == "lane":
            diagram.lanes.add(element.get("name") or "")
        elif kind == "userTask":
            diagram.steps.setdefault(_number(props.get("manual_step", "")), []).append(element_id)
            diagram.durations |= {props["standard_duration"]} if props.get("standard_duration") else set()
            diagram.deadlines |= {props["deadline"]} if props.get("deadline") else set()
            targets = outgoing.get(element_id, [])
            if len(targets) == 1 and len(outgoing.get(targets[0], [])) > 1:
                diagram.decided.add(element_id)
        elif kind == "exclusiveGateway" and len(outgoing.get(element_id, [])) > 1:
            diagram.branch_targets |= {through_joins(t) for t in outgoing[element_id]}
            diagram.drawn_gateways += props.get("source") != "inferred"
        elif kind == "boundaryEvent":
            diagram.timers += 1
            diagram.deadlines |= {(element.findtext(f".//{{{BPMN_NS}}}timeDuration") or "").strip()}
    diagram.names |= {f.get("id") or "" for f in process.iter(f"{{{CAMUNDA_NS}}}formField")}
    process_props = _props(process)
    for variables in (process_props.get("personal_data", ""), process_props.get("sensitive_data", "")):
        diagram.names |= {v.strip() for v in variables.split(",") if v.strip()}
    diagram.names.add(process.get("id") or "")
    diagram.names |= {m.get("name") or "" for m in root.iter(f"{{{BPMN_NS}}}message")}
    documentation = process.findtext(f"{{{BPMN_NS}}}documentation") or ""
    if READINGS_MARKER in documentation:
        tail = documentation.split(READINGS_MARKER, 1)[1]
        diagram.readings = [line.removeprefix("- ").strip() for line in tail.splitlines() if line.strip()]
    return diagram


def clauses(reading: str) -> list[str]:
    """A reading cut at semicolons and at sentence ends (a period before a capital or a quote)."""
    return [c for c in re.split(r";\s+|(?<=[.!?])\s+(?=[A-Z\"'(])", reading) if c.strip()]


def step_refs(text: str) -> set[str]:
    refs = set()
    for match in STEP_REF.finditer(text):
        refs |= {_number(n) for n in re.findall(NUMBER, match.group(1))}
    return refs


def _decision_problems(diagram: Diagram, reading: str) -> list[str]:
    problems = []
    reading_refs = step_refs(reading)
    for clause in clauses(reading):
        if not DECISION.search(clause):
            continue
        refs = step_refs(clause) or reading_refs
        tasks = {task for ref in refs for task in diagram.steps.get(ref, [])}
        if NOT_DECISION.search(clause):
            everywhere = {task for ref in refs | reading_refs for task in diagram.steps.get(ref, [])}
            if refs and everywhere and all(t in diagram.decided for t in everywhere):
                problems.append(f"says step {', '.join(sorted(refs))} has no decision, but it has: {clause!r}")
            elif not refs and diagram.drawn_gateways:
                problems.append(f"says there is no decision, but the manual's gateways are drawn: {clause!r}")
        elif refs and not tasks & (
            diagram.decided if DECIDES.search(clause) else diagram.decided | diagram.branch_targets
        ):
            problems.append(f"names a decision at step {', '.join(sorted(refs))} that the diagram lacks: {clause!r}")
        elif not refs and not diagram.decided:
            problems.append(f"names a decision the diagram lacks: {clause!r}")
    return problems


def reading_problems(path: Path) -> list[str]:
    """Every claim of the readings of `path` that its diagram contradicts."""
    diagram = read_diagram(path)
    problems = []
    for reading in diagram.readings:
        problems += _decision_problems(diagram, reading)
        for clause in clauses(reading):
            if TIMER.search(clause) and not NOT_TIMER.search(clause) and not diagram.timers:
                problems.append(f"names a timer or an escalation the diagram lacks: {clause!r}")
            named = [g for m in LANE_NAMES.finditer(clause) for g in m.groups() if g]
            named += [m.group(1) for m in NAMED_LANE.finditer(clause)]
            for quoted in named:
                if not any(quoted in lane or lane in quoted for lane in diagram.lanes):
                    problems.append(f"names a lane {quoted!r} the diagram lacks: {clause!r}")
            for period in ISO.findall(clause):
                if period not in diagram.durations | diagram.deadlines:
                    problems.append(f"names a period {period} that no task has: {clause!r}")
                elif period not in diagram.durations and (
                    re.search(rf"duration\s*\(\s*{period}\b", clause)
                    or ("standard duration" in clause and len(ISO.findall(clause)) == 1)
                ):
                    problems.append(f"calls {period} a duration, but no task has it as one: {clause!r}")
        for name in BACKTICKED.findall(reading):
            if name not in diagram.names and name not in FORMAT_NAMES:
                problems.append(f"names `{name}`, which is not in the diagram: {reading!r}")
    return [f"{path.name}: {problem}" for problem in problems]


# --- manual lines ------------------------------------------------------------------------------------------------

FRONT_MATTER = re.compile(
    r"^\s*(?:<p>)?\s*(?:กระบวนการ\s*:|ชื่อกระบวนการ|ตัวชี้วัด|เจ้าภาพ|อย่างไร|ประโยชน์|เริ่มใช้|ผังขั้นตอน|Digital|นวัตกรรม)"
)


def _plain(text: str) -> str:
    """Text without tags, spaces, punctuation that OCR scatters, with Arabic digits."""
    return re.sub(r"<[^>]+>|[\s\-–…•●\"'()“”‘’]", "", text).translate(THAI_DIGITS)


def manual_line_problems(path: Path, manual: list[str]) -> list[str]:
    """Tasks whose `manual_lines` hold neither their step number (starting a row) nor their text."""
    root = etree.parse(str(path)).getroot()
    if not all(_props(process).get("manual_lines") for process in root.iter(f"{{{BPMN_NS}}}process")):
        return []  # not read from the manual (drawn in a modeler)
    problems = []
    for task in root.iter(f"{{{BPMN_NS}}}userTask"):
        props = _props(task)
        step, lines = _number(props.get("manual_step", "")), props.get("manual_lines")
        where = f"{path.name}: {task.get('id')} (step {props.get('manual_step', '')!r})"
        if not lines:
            if step or props.get("source") != "inferred":
                problems.append(f"{where}: no manual_lines")
            continue
        if props.get("source") == "inferred":  # its text is the reading's; its lines say where the manual implies it
            continue
        first, last = (int(n) for n in lines.split("-"))
        rows = [line for line in manual[first - 1 : last] if not FRONT_MATTER.match(line)]
        text = _plain("".join(rows))
        numbered = bool(step) and any(
            re.match(rf"^\s*(?:ลำดับ(?:ที่)?\s*)?{re.escape(step)}(?:[\s.)]|$)", row.translate(THAI_DIGITS))
            for row in rows
        )
        if "." in step:  # a sub-step ("๕.๓") is listed inside its step's row
            numbered = numbered or re.search(rf"(?<![\d.]){re.escape(step)}(?![\d])", text) is not None
        name = _plain(task.get("name") or "")
        documentation = re.sub(
            r"^ลำดับ [^:]*: |\s*\(ลำดับ [^)]*\)$", "", task.findtext(f"{{{BPMN_NS}}}documentation") or ""
        )
        # a passage is there when its first and its last words are (OCR breaks the middle); a short text whole
        passages = [(_plain(p)[:60], _plain(p)[-60:]) for p in re.split(r" - |…|;", documentation)]
        passages = [(head, tail) for head, tail in passages if len(head) == 60]
        if 20 <= len(_plain(documentation)) < 60:
            passages.append((_plain(documentation), ""))
        found = any(head in text and tail in text for head, tail in passages)
        if not (numbered or (len(name) >= 8 and name in text) or found):
            problems.append(f"{where}: lines {lines} hold neither its step number nor its text")
    return problems
