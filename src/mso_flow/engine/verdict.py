"""One verdict on the files of a deployment, for designers: `mso-flow validate`, the deployment API and CI all ask
here. Errors refuse, warnings inform (docs/architecture.md, "The verdict on BPMN").

`check_document` runs, in order, and stops after the first stage that finds errors:
1. validation (`parsing.read_document`): XML, the BPMN 2.0 schema, SpiffWorkflow's parser, MSO Flow's rules.
   Errors: what SpiffWorkflow cannot parse, expressions that do not compile, call cycles, references to processes
   or decisions that do not exist, MSO Flow's rules on forms, durations and privacy marks. Warnings: bpmnlint's
   style rules, ids modelers reject, a user task nobody is offered (an admin works it);
2. the conditions of every process, statically:
   - a variable a condition reads that no form field, script, decision or `variables` property supplies is a
     warning: the API start, a message, an external task's worker or a call activity may supply it;
   - a value compared with an enum field (`secrecy == 'top_secret'`) must be one of the field's `camunda:value`
     ids (an error: it names a value that does not exist);
   - a loop whose exit compares a free-text field with a text is a warning (only that exact text leaves it);
3. the simulation (`simulation.simulate`, the costly stage, skipped with `simulate_runs=False`). An error only
   when a defect is proven on every path (no execution reaches an end, whatever was tried); otherwise flows no
   value tried takes, user tasks never reached and failures on some paths are warnings.

`check_files` checks the files of one deployment together: `.dmn` files (`decisions.check_decision`) and BPMN
files, whose call activities and business rule tasks find processes and decisions in the other files, then
through the caller's `Resolver` (the deployed versions). Every finding is a `Problem`
(`FILE:LINE: ELEMENT_ID: SEVERITY: message`), its message in Thai with the English gist.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Iterator
from dataclasses import dataclass, field

from lxml import etree

from mso_flow.domain import ResourceKind, Severity
from mso_flow.engine import expressions, xmlsafe
from mso_flow.engine.decisions import DecisionInfo, DecisionTask, check_decision
from mso_flow.engine.lane_roles import RoleMap
from mso_flow.engine.model import BpmnInvalid, Problem, warning
from mso_flow.engine.parsing import (
    BPMN_NS,
    CAMUNDA_NS,
    NS,
    ParsedProcess,
    Resolver,
    Resource,
    read_document,
    read_xml,
)
from mso_flow.engine.simulation import simulate

_BUILTINS = frozenset(dir(builtins))
_RECEIVERS = ("startEvent", "intermediateCatchEvent", "boundaryEvent", "receiveTask", "serviceTask", "process")
_GATEWAYS = ("exclusiveGateway", "inclusiveGateway")


@dataclass
class Verdict:
    """The executable processes of a document (when it has no errors) and every finding."""

    processes: list[ParsedProcess]
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        """No errors (warnings deploy)."""
        return not any(p.is_error for p in self.problems)


def check_document(
    xml: bytes,
    file: str,
    simulate_runs: bool = True,
    resolver: Resolver | None = None,
    roles: RoleMap | None = None,
) -> Verdict:
    """Validate a document, check its conditions and (unless `simulate_runs` is False) simulate it; lanes get
    their roles from `roles` (`engine/lane_roles.py`)."""
    try:
        document = read_document(xml, file, roles, resolver)
    except BpmnInvalid as err:
        return Verdict([], err.problems)
    root = read_xml(xml, file)
    expressions.normalize_document(root, file)  # conditions as the engine runs them (JUEL translated)
    problems = list(document.warnings)
    for process in document.processes:
        problems += check_conditions(_process_node(root, process.definition.key), file, process)
    if any(p.is_error for p in problems):
        return Verdict([], problems)
    if simulate_runs:
        for process in document.processes:
            problems += simulation_problems(process, root, file)
    if any(p.is_error for p in problems):
        return Verdict([], problems)
    return Verdict(document.processes, problems)


@dataclass
class CheckedFile:
    name: str
    xml: bytes
    processes: list[ParsedProcess]
    warnings: list[Problem] = field(default_factory=list)


@dataclass
class CheckedDecision:
    name: str
    xml: bytes
    decision: DecisionInfo


@dataclass
class Checked:
    """The verdict on the files of one deployment: what may deploy, and every finding."""

    files: list[CheckedFile]
    decisions: list[CheckedDecision]
    problems: list[Problem]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]


def kind_of(file_name: str) -> ResourceKind:
    """A deployment's file is a DMN file by its name, as Camunda decides (`.dmn`); every other file is BPMN."""
    return ResourceKind.DMN if file_name.lower().endswith(".dmn") else ResourceKind.BPMN


class _Deployment:
    """Resolves what a file refers to among the files deployed with it, then through `fallback`."""

    def __init__(self, files: list[tuple[str, bytes]], fallback: Resolver | None):
        self.fallback = fallback
        self.defined: dict[tuple[ResourceKind, str], tuple[str, bytes]] = {}
        for name, xml in files:
            try:
                root = xmlsafe.read_root(xml, name)
            except BpmnInvalid:
                continue
            if kind_of(name) == ResourceKind.DMN:
                tag, kind = f"{{{etree.QName(root).namespace}}}decision", ResourceKind.DMN
            else:
                tag, kind = f"{{{BPMN_NS}}}process", ResourceKind.BPMN
            for element in root.iter(tag):
                self.defined.setdefault((kind, element.get("id") or ""), (name, xml))

    def resolve(self, kind: ResourceKind, key: str) -> Resource | None:
        found = self.defined.get((kind, key))
        if found is not None:
            return Resource(kind, key, found[0], found[1])
        return self.fallback.resolve(kind, key) if self.fallback is not None else None


def check_files(
    files: list[tuple[str, bytes]],
    simulate_runs: bool = True,
    resolver: Resolver | None = None,
    roles: RoleMap | None = None,
) -> Checked:
    """The verdict on the files of one deployment (name, content): each BPMN file with `check_document`, each
    DMN file with `check_decision`, no process or decision id defined by two files."""
    checked = Checked([], [], [])
    deployment = _Deployment(files, resolver)
    seen: dict[tuple[ResourceKind, str], str] = {}
    for name, xml in files:
        if kind_of(name) == ResourceKind.DMN:
            info, problems = check_decision(xml, name)
            keys = [info.key] if info is not None else []
            if info is not None and not any(p.is_error for p in problems):
                checked.decisions.append(CheckedDecision(name, xml, info))
            kind = ResourceKind.DMN
        else:
            verdict = check_document(xml, name, simulate_runs, deployment, roles)
            problems = verdict.problems
            keys = [p.definition.key for p in verdict.processes]
            if verdict.ok:
                checked.files.append(CheckedFile(name, xml, verdict.processes, [p for p in problems if not p.is_error]))
            kind = ResourceKind.BPMN
        checked.problems += problems
        for key in keys:
            if (kind, key) in seen:
                other = seen[(kind, key)]
                checked.problems.append(
                    Problem(name, None, key, f"{key} มีอยู่แล้วในไฟล์ {other} (id {key} is also defined in {other})")
                )
            seen[(kind, key)] = name
    return checked


def _process_node(root: etree._Element, key: str) -> etree._Element:
    return next(node for node in root.iterfind(f"{{{BPMN_NS}}}process") if node.get("id") == key)


def _fields(process: etree._Element) -> dict[str, set[str] | None]:
    """Form field id -> its enum ids (None when some field of that id is not an enum)."""
    fields: dict[str, set[str] | None] = {}
    for field_ in process.iterfind(".//camunda:formData/camunda:formField", NS):
        field_id = field_.get("id") or ""
        values = {v.get("id") or "" for v in field_.iterfind("camunda:value", NS)}
        if field_.get("type") == "enum" and field_id not in fields:
            fields[field_id] = values
        elif field_.get("type") == "enum" and fields[field_id] is not None:
            fields[field_id] = fields[field_id] | values  # type: ignore[operator]
        else:
            fields[field_id] = None
    return fields


def _free_text_fields(process: etree._Element) -> set[str]:
    """Form fields a person types freely (a string field of that id, and no enum field of it)."""
    kinds: dict[str, set[str]] = {}
    for field_ in process.iterfind(".//camunda:formData/camunda:formField", NS):
        kinds.setdefault(field_.get("id") or "", set()).add(field_.get("type") or "string")
    return {name for name, types in kinds.items() if types == {"string"}}


def _declared(process: etree._Element, parsed: ParsedProcess) -> set[str]:
    """Variables the process sets or can be given besides its forms: `variables` properties, script assignments,
    decision results, call activities' and multi-instance outputs."""
    names: set[str] = set()
    elements = [process, *(el for tag in _RECEIVERS for el in process.iter(f"{{{BPMN_NS}}}{tag}"))]
    for element in elements:
        for prop in element.iterfind("bpmn:extensionElements/camunda:properties/camunda:property", NS):
            if prop.get("name") == "variables":
                names |= {n.strip() for n in (prop.get("value") or "").split(",") if n.strip()}
    for script in process.iter(f"{{{BPMN_NS}}}script"):
        try:
            tree = ast.parse(script.text or "")
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
            for target in targets:
                names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)} if target is not None else set()
    for element in process.iter():
        if not isinstance(element.tag, str):
            continue
        names |= {
            value
            for attribute in ("resultVariable", "elementVariable", "collection")
            if (value := element.get(f"{{{CAMUNDA_NS}}}{attribute}"))
        }
        if etree.QName(element).localname in ("out", "outputParameter"):
            names.add(element.get("target") or element.get("name") or "")
    for spec in [parsed.spec, *parsed.subprocess_specs.values()]:
        for task_spec in spec.task_specs.values():
            if isinstance(task_spec, DecisionTask):
                names |= {o.name or o.label for o in task_spec.dmnEngine.decision_table.outputs}
    return names


def check_conditions(process: etree._Element, file: str, parsed: ParsedProcess) -> list[Problem]:
    """The static checks of the conditions of one process element (stage 2 of `check_document`)."""
    fields = _fields(process)
    known = set(fields) | _declared(process, parsed)
    free_text = _free_text_fields(process)
    looping = _gateways_in_loops(process)
    problems: list[Problem] = []
    for element in process.iter(f"{{{BPMN_NS}}}conditionExpression"):
        flow = element.getparent()
        where = (file, element.sourceline, flow.get("id") if flow is not None else None)
        try:
            tree = ast.parse((element.text or "").strip(), mode="eval")
        except SyntaxError:
            continue  # validation reported it
        for name in sorted(_free_names(tree) - known - _BUILTINS):
            problems.append(
                warning(
                    *where,
                    f"เงื่อนไขอ้างถึงตัวแปร {name} ซึ่งไม่มีแบบฟอร์มใดในกระบวนการให้ค่า ต้องมาจากการเริ่มกระบวนการผ่าน API "
                    f"งานภายนอก (external task) ข้อความ หรือกระบวนการย่อย (condition names variable {name!r}, which no "
                    "form field, script or decision of the process supplies: the API start, an external task's worker, "
                    f"a message or a call activity must; known: {', '.join(sorted(known)) or 'none'})",
                )
            )
        for name, value in _compared_literals(tree):
            allowed = fields.get(name)
            if allowed is not None and value not in allowed:
                problems.append(
                    Problem(
                        *where,
                        f"เงื่อนไขเทียบ {name} กับ {value!r} ซึ่งไม่อยู่ในตัวเลือกของช่องนี้ ({', '.join(sorted(allowed))}) "
                        f"จึงไม่มีทางเป็นจริง (condition compares enum field {name!r} with {value!r}, "
                        "which is not one of its values: the branch can never be taken)",
                    )
                )
            elif name in free_text and flow is not None and flow.get("sourceRef") in looping:
                problems.append(
                    warning(
                        *where,
                        f"ทางออกจากวงวนขึ้นกับข้อความที่พิมพ์ในช่อง {name}: ต้องพิมพ์ {value!r} ตรงทุกตัวอักษรจึงออกได้ "
                        f"ควรใช้ช่องแบบตัวเลือก (enum) (the loop's exit depends on free text: only the exact text "
                        f"{value!r} in field {name!r} takes this flow; use an enum field)",
                    )
                )
    return problems


def _gateways_in_loops(process: etree._Element) -> set[str]:
    """The exclusive and inclusive gateways a path of sequence flows leads back to."""
    successors: dict[str, set[str]] = {}
    for flow in process.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        successors.setdefault(flow.get("sourceRef") or "", set()).add(flow.get("targetRef") or "")
    gateways = {g.get("id") or "" for tag in _GATEWAYS for g in process.iter(f"{{{BPMN_NS}}}{tag}")}
    looping = set()
    for gateway in gateways:
        seen: set[str] = set()
        pending = list(successors.get(gateway, ()))
        while pending:
            node = pending.pop()
            if node == gateway:
                looping.add(gateway)
                break
            if node not in seen:
                seen.add(node)
                pending += successors.get(node, ())
    return looping


def _free_names(tree: ast.AST) -> set[str]:
    """Names an expression reads that it does not bind itself (comprehension variables, lambda arguments)."""
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.comprehension):
            bound |= {n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.arguments):
            bound |= {a.arg for a in [*node.posonlyargs, *node.args, *node.kwonlyargs]}
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
    return used - bound


def _compared_literals(tree: ast.AST) -> Iterator[tuple[str, str]]:
    """(variable, string) of every `variable == 'x'`, `'x' != variable`, `variable in ('x', …)` comparison."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        for op, left, right in zip(node.ops, operands, operands[1:], strict=False):
            if isinstance(op, ast.Eq | ast.NotEq):
                name, value = (left, right) if isinstance(left, ast.Name) else (right, left)
                if isinstance(name, ast.Name) and isinstance(value, ast.Constant) and isinstance(value.value, str):
                    yield name.id, value.value
            elif (
                isinstance(op, ast.In | ast.NotIn)
                and isinstance(left, ast.Name)
                and isinstance(right, ast.Tuple | ast.List | ast.Set)
            ):
                for item in right.elts:
                    if isinstance(item, ast.Constant) and isinstance(item.value, str):
                        yield left.id, item.value


def simulation_problems(process: ParsedProcess, root: etree._Element, file: str) -> list[Problem]:
    """What the simulation of one process found (stage 3 of `check_document`): errors only when every path
    certainly fails, warnings otherwise."""
    lines = {el.get("id"): el.sourceline for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
    key = process.definition.key

    def at(element: str | None, message: str, severity: Severity = Severity.WARNING) -> Problem:
        return Problem(file, lines.get(element or key), element or key, message, severity)

    try:
        report = simulate(process, root)
    except Exception as err:  # a designer's file must never fail the deployment with a 500
        return [at(key, f"จำลองกระบวนการไม่ได้ (the simulation could not run the process: {err!r})")]
    problems = [
        at(
            flow,
            "ไม่มีค่าใดที่ลองแล้วผ่านเส้นทางนี้ (no value the simulation tried takes this flow: check its condition "
            "and the conditions before it)",
        )
        for flow in report.untaken_flows
    ]
    unreached = "ไม่มีทางไปถึงงานนี้ในการจำลอง (the simulation never reached this task)"
    problems += [at(task, unreached) for task in report.unreached_tasks]
    failures = list({(f.element, f.detail): f for f in report.failures}.values())[:5]
    if report.proven:
        problems += [
            at(
                f.element,
                f"ทุกเส้นทางของกระบวนการหยุดก่อนถึงจุดสิ้นสุด (every path stops before an end: {f.detail})",
                Severity.ERROR,
            )
            for f in failures
        ]
    else:
        problems += [
            at(f.element, f"บางเส้นทางหยุดก่อนถึงจุดสิ้นสุด (on some path the process stops before an end: {f.detail})")
            for f in failures
        ]
    if report.inconclusive and not report.completed_runs:
        first = report.inconclusive[0]
        problems.append(
            at(
                first.element,
                "จำลองให้ถึงจุดสิ้นสุดไม่ได้ด้วยค่าที่ลอง (the simulation reached no end with the values and events it "
                f"could try: {first.detail})",
            )
        )
    if report.truncated:
        problems.append(
            at(key, f"ทางเลือกมากเกินกว่าจะจำลองได้ครบ (too many paths to explore fully: {report.runs} runs tried)")
        )
    return problems
