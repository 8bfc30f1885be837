"""One verdict on a BPMN document, for designers: `mso-flow validate`, the deployment API and CI all ask here.

`check_document` runs, in order, and stops at the first stage that finds problems:
1. validation (`parsing.parse_document`): XML, the BPMN 2.0 schema, SpiffWorkflow's parser, MSO Flow's rules;
2. the conditions of every process, statically:
   - every variable a condition names must be one the process can be given: a field of a user task's or start
     event's `camunda:formData`, a variable a script task assigns, or a name listed in a `variables`
     `camunda:property` (comma-separated) of the process or of the element that receives it (a message event,
     a receive task, an external service task), since a start, a message or a worker may carry any variables;
   - a value compared with an enum field (`secrecy == 'top_secret'`, `secrecy in ('a', 'b')`) must be one of
     the field's `camunda:value` ids;
3. the simulation (`simulation.simulate`, the costly stage, skipped with `simulate=False`): every gateway
   branch is taken, every user task is reached, no execution stops without reaching an end (a dead end) and
   no loop lacks an exit.

Every problem is a `Problem` (`FILE:LINE: ELEMENT_ID: message`), its message in Thai with the English gist.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

from mso_flow.engine import expressions
from mso_flow.engine.model import BpmnInvalid, Problem
from mso_flow.engine.parsing import BPMN_NS, NS, ParsedProcess, parse_document, read_xml
from mso_flow.engine.simulation import simulate

_BUILTINS = frozenset(dir(builtins))
_RECEIVERS = ("startEvent", "intermediateCatchEvent", "boundaryEvent", "receiveTask", "serviceTask", "process")


@dataclass
class Verdict:
    """The executable processes of a document (when it parses) and every problem found."""

    processes: list[ParsedProcess]
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems


def check_document(xml: bytes, file: str, simulate_runs: bool = True) -> Verdict:
    """Validate a document, check its conditions and (unless `simulate_runs` is False) simulate it."""
    try:
        processes = parse_document(xml, file)
    except BpmnInvalid as err:
        return Verdict([], err.problems)
    root = read_xml(xml, file)
    expressions.normalize_document(root, file)  # conditions as the engine runs them (JUEL translated)
    problems: list[Problem] = []
    for process in processes:
        node = _process_node(root, process.definition.key)
        problems += check_conditions(node, file)
    if problems or not simulate_runs:
        return Verdict(processes, problems)
    for process in processes:
        problems += simulation_problems(process, root, file)
    return Verdict(processes, problems)


@dataclass
class CheckedFile:
    name: str
    xml: bytes
    processes: list[ParsedProcess]


def check_files(files: list[tuple[str, bytes]], simulate_runs: bool = True) -> tuple[list[CheckedFile], list[Problem]]:
    """`check_document` for each (name, content), and that no process id is defined by two files; returns the
    files without problems and every problem."""
    checked: list[CheckedFile] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for name, xml in files:
        verdict = check_document(xml, name, simulate_runs)
        problems += verdict.problems
        for process in verdict.processes:
            key = process.definition.key
            if key in seen:
                problems.append(
                    Problem(
                        name,
                        None,
                        key,
                        f"กระบวนการ {key} มีอยู่แล้วในไฟล์ {seen[key]} (process id {key} is also defined in {seen[key]})",
                    )
                )
            seen[key] = name
        if verdict.ok:
            checked.append(CheckedFile(name, xml, verdict.processes))
    return checked, problems


def _process_node(root: etree._Element, key: str) -> etree._Element:
    return next(node for node in root.iterfind(f"{{{BPMN_NS}}}process") if node.get("id") == key)


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def _fields(process: etree._Element) -> dict[str, set[str] | None]:
    """Form field id -> its enum ids (None when some field of that id is not an enum)."""
    fields: dict[str, set[str] | None] = {}
    for field in process.iterfind(".//camunda:formData/camunda:formField", NS):
        field_id = field.get("id") or ""
        values = {v.get("id") or "" for v in field.iterfind("camunda:value", NS)}
        if field.get("type") == "enum" and field_id not in fields:
            fields[field_id] = values
        elif field.get("type") == "enum" and fields[field_id] is not None:
            fields[field_id] = fields[field_id] | values  # type: ignore[operator]
        else:
            fields[field_id] = None
    return fields


def _declared(process: etree._Element) -> set[str]:
    """Variables the process can be given besides its forms: `variables` properties and script assignments."""
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
    return names


def check_conditions(process: etree._Element, file: str) -> list[Problem]:
    """The static checks of the conditions of one process element (stage 2 of `check_document`)."""
    fields = _fields(process)
    known = set(fields) | _declared(process)
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
                Problem(
                    *where,
                    f"เงื่อนไขอ้างถึงตัวแปร {name} ซึ่งไม่มีแบบฟอร์ม ข้อความ หรือการเริ่มกระบวนการใดให้ค่า "
                    f"(condition names variable {name!r}, which no form field, message or start supplies; "
                    f"known: {', '.join(sorted(known)) or 'none'})",
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
    return problems


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
    """What the simulation of one process found (stage 3 of `check_document`)."""
    lines = {el.get("id"): el.sourceline for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
    key = process.definition.key
    try:
        report = simulate(process, root)
    except Exception as err:  # a designer's file must never fail the deployment with a 500
        return [Problem(file, lines.get(key), key, f"จำลองกระบวนการไม่ได้ (the simulation failed: {err!r})")]
    problems = [
        Problem(
            file,
            lines.get(flow),
            flow,
            "ไม่มีทางเลือกใดผ่านเส้นทางนี้ได้ ไม่ว่าจะกรอกแบบฟอร์มอย่างไร (this flow is never taken, whatever the forms say)",
        )
        for flow in report.untaken_flows
    ]
    problems += [
        Problem(
            file,
            lines.get(task),
            task,
            "ไม่มีทางไปถึงงานนี้ได้ (this task is never reached)",
        )
        for task in report.unreached_tasks
    ]
    problems += [
        Problem(
            file,
            lines.get(key),
            key,
            f"กระบวนการค้างโดยไม่ถึงจุดสิ้นสุด (an execution stops without reaching an end: {detail})",
        )
        for detail in report.dead_ends[:5]
    ]
    problems += [
        Problem(file, lines.get(key), key, f"กระบวนการทำงานผิดพลาดระหว่างจำลอง (the simulation failed: {error})")
        for error in report.errors[:5]
    ]
    if report.truncated:
        problems.append(
            Problem(
                file,
                lines.get(key),
                key,
                f"ทางเลือกมากเกินกว่าจะจำลองได้ครบ (too many paths to explore: {report.runs} runs)",
            )
        )
    return problems
