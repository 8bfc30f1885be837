"""Parse and validate BPMN documents: XML, the BPMN 2.0 schema, SpiffWorkflow, and MSO Flow's own rules.

`read_document` is the single entry point used at deployment, at start-up and by `mso-flow validate`; it returns
every executable process with its SpiffWorkflow spec and the facts the service stores, with the warnings found
(style rules, ids modelers reject, user tasks nobody is offered), or raises `BpmnInvalid` with every error found
(file, line, element id, message) and the warnings found before it. `parse_document` is the same without the
warnings, for the service that parses a version again.

A call activity may call a process of another file and a business rule task evaluate a decision of a DMN file: a
`Resolver` finds them (in the files of the same deployment, then among the deployed versions); the resources a
document was parsed with are kept with each of its processes, so its version is parsed again with the same ones.
"""

from __future__ import annotations

import ast
import functools
import logging
import os
import re
from dataclasses import dataclass
from typing import Any, Protocol

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import XSD_PATH
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException

from mso_flow.domain import BPMN_NS, ResourceKind
from mso_flow.engine import expressions, xmlsafe
from mso_flow.engine.decisions import read_dmn
from mso_flow.engine.dialect import MsoParser
from mso_flow.engine.external import ExternalServiceTask
from mso_flow.engine.lane_roles import RoleMap
from mso_flow.engine.model import BpmnInvalid, FormField, Problem, ProcessDef, UserTaskDef, warning
from mso_flow.engine.process_errors import SHADOWING, call_cycles
from mso_flow.engine.structure import FLOW_NODES, check_structure

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
NS = {"bpmn": BPMN_NS, "camunda": CAMUNDA_NS}
FORM_TYPES = {"string", "long", "boolean", "date", "enum", "file"}
_ASCII_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
MAX_DOCUMENT_BYTES = xmlsafe.MAX_DOCUMENT_BYTES
DURATION_BASES = ("working", "calendar")
DEADLINE_FROM = ("receipt", "task")
SOURCES = ("manual", "inferred")
FIELD_MARKS = ("personal_data", "sensitive")  # form-field properties that say a field holds personal data
VARIABLE_LISTS = ("personal_data", "sensitive_data")  # process properties naming variables a start or message brings
RESERVED_IDS = ("Start", "End")  # SpiffWorkflow's own task specs of every process
MAX_RETENTION_DAYS = 36500  # a hundred years; more is a typing error (and overflows a date)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Resource:
    """A file a document is parsed with: the BPMN file of a process a call activity calls, or the DMN file of a
    decision a business rule task evaluates."""

    kind: ResourceKind
    key: str  # the process id or decision id asked for
    name: str  # its file name
    xml: bytes
    origin: str | None = None  # the deployed version it was read from; None: a file of the same deployment


class Resolver(Protocol):
    """Finds the file that defines a process or a decision a document refers to."""

    def resolve(self, kind: ResourceKind, key: str) -> Resource | None: ...


@dataclass
class ParsedProcess:
    """An executable process: the facts to store and the SpiffWorkflow specs to run it."""

    definition: ProcessDef
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, BpmnProcessSpec]
    resources: tuple[Resource, ...] = ()  # the other files its document was parsed with

    @functools.cached_property
    def waits_for(self) -> frozenset[str]:
        """What an instance of this process can wait for besides user tasks: "timer", "message", "external"."""
        kinds = set()
        for spec in [self.spec, *self.subprocess_specs.values()]:
            for task_spec in spec.task_specs.values():
                definition = getattr(task_spec, "event_definition", None)
                if isinstance(definition, TimerEventDefinition):
                    kinds.add("timer")
                elif isinstance(definition, MessageEventDefinition):
                    kinds.add("message")
                elif isinstance(task_spec, ExternalServiceTask):
                    kinds.add("external")
        return frozenset(kinds)


@dataclass
class ParsedDocument:
    """The executable processes of a document that parses, and the warnings found on the way."""

    processes: list[ParsedProcess]
    warnings: list[Problem]


@functools.lru_cache(maxsize=1)
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(XSD_PATH))


def _tag(element: etree._Element) -> str:
    return etree.QName(element).localname


def _problem(file: str, element: etree._Element | None, message: str) -> Problem:
    if element is None:
        return Problem(file, None, None, message)
    return Problem(file, element.sourceline, element.get("id"), message)


def read_xml(xml: bytes, file: str) -> etree._Element:
    """Parse bytes as a BPMN document root, or raise `BpmnInvalid` (not XML, not BPMN, schema errors)."""
    root = xmlsafe.read_root(xml, file)
    if root.tag != f"{{{BPMN_NS}}}definitions":
        raise BpmnInvalid([Problem(file, root.sourceline, None, "root element is not bpmn:definitions")])
    xmlsafe.validate(_schema(), root, file, "BPMN 2.0")
    return root


def parse_document(
    xml: bytes, file: str = "<upload>", roles: RoleMap | None = None, resolver: Resolver | None = None
) -> list[ParsedProcess]:
    """The executable processes of a BPMN document (`read_document` without its warnings), or `BpmnInvalid`."""
    return read_document(xml, file, roles, resolver).processes


def read_document(
    xml: bytes, file: str = "<upload>", roles: RoleMap | None = None, resolver: Resolver | None = None
) -> ParsedDocument:
    """Validate a BPMN document and return its executable processes with the warnings found, or raise
    `BpmnInvalid` with its errors (and those warnings).

    Lanes get their roles from `roles` (the caller's roles file; none: each lane is its own role, see
    `engine/lane_roles.py`); a
    composite lane it had to split is a warning and listed in `ProcessDef.split_lanes`. Processes called and
    decisions evaluated that the document does not define are asked of `resolver`.
    """
    root = read_xml(xml, file)
    problems = _check_ids(root, file)
    problems += expressions.normalize_document(root, file)
    for process in root.iterfind(f"{{{BPMN_NS}}}process"):
        problems += check_structure(process, file)
    _raise_on_errors(problems)
    parser = MsoParser()
    lines = {el.get("id"): el.sourceline for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
    try:
        parser.add_bpmn_xml(root, os.path.basename(file))
        resources = _add_resources(parser, root, resolver)
    except ValidationException as err:
        raise BpmnInvalid([*problems, _spiff_problem(err, root, file, lines)]) from None
    except BpmnInvalid as err:
        raise BpmnInvalid(problems + err.problems) from None
    except Exception as err:  # SpiffWorkflow's parser meets some malformed models with other exceptions
        unreadable = Problem(file, None, None, f"SpiffWorkflow cannot read the file: {err!r}")
        raise BpmnInvalid([*problems, unreadable]) from None
    process_nodes = {
        node.get("id"): node
        for node in root.iterfind(f"{{{BPMN_NS}}}process")
        if node.get("isExecutable", "true") == "true"
    }
    if not process_nodes:
        raise BpmnInvalid([*problems, Problem(file, root.sourceline, None, "the document has no executable process")])
    parsed = []
    for key, node in process_nodes.items():
        try:
            spec = parser.get_spec(key)
            subprocess_specs = parser.get_subprocess_specs(key)
        except ValidationException as err:
            problems.append(_spiff_problem(err, root, file, lines))
            continue
        except SpiffWorkflowException as err:
            problems.append(Problem(file, node.sourceline, key, str(err)))
            continue
        except Exception as err:  # as above: never a 500 for a designer's file
            problems.append(Problem(file, node.sourceline, key, f"SpiffWorkflow cannot read the process: {err!r}"))
            continue
        for cycle in call_cycles(spec, subprocess_specs):
            problems.append(
                Problem(file, node.sourceline, key, f"call activities call themselves: {' → '.join(cycle)}")
            )
        definition = describe_process(node, root, roles if roles is not None else RoleMap())
        problems += _check_process(node, definition, file)
        lanes = {lane.get("name") or lane.get("id"): lane for lane in node.iter(f"{{{BPMN_NS}}}lane")}
        for lane in definition.split_lanes:
            problems.append(
                warning(
                    file,
                    lanes[lane].sourceline if lane in lanes else node.sourceline,
                    lanes[lane].get("id") if lane in lanes else key,
                    f"ช่อง (lane) {lane!r} ไม่มีในไฟล์บทบาท จึงมอบให้แต่ละส่วน: {', '.join(definition.lane_roles[lane])} "
                    "(lane not in the roles file; offered to each part)",
                )
            )
        parsed.append(ParsedProcess(definition, spec, subprocess_specs, resources))
    _raise_on_errors(problems)
    return ParsedDocument(parsed, problems)


_MISSING_PROCESS = re.compile(r"The process '([^']*)' was not found")
_MISSING_DECISION = re.compile(r'No DMN Diagram available with id "([^"]*)"')


def _spiff_problem(
    err: ValidationException, root: etree._Element, file: str, lines: dict[str | None, int | None]
) -> Problem:
    """SpiffWorkflow's parse error, located; a process or decision that exists nowhere is said so, at the call
    activity or business rule task that names it."""
    process, decision = _MISSING_PROCESS.search(str(err)), _MISSING_DECISION.search(str(err))
    if process is not None:
        calls = root.iter(f"{{{BPMN_NS}}}callActivity")
        caller = next((node for node in calls if node.get("calledElement") == process.group(1)), None)
        return _problem(
            file,
            caller,
            f"กิจกรรมนี้เรียกกระบวนการ {process.group(1)!r} ซึ่งไม่มีในไฟล์ที่นำขึ้นพร้อมกันหรือที่อยู่ในระบบ (call activity "
            f"calls process {process.group(1)!r}, which no file of this deployment and no deployed process defines: "
            "deploy its file with this one)",
        )
    if decision is not None:
        return Problem(
            file,
            lines.get(err.id),
            err.id or None,
            f"งานนี้ใช้ตารางการตัดสินใจ {decision.group(1)!r} ซึ่งไม่มีในไฟล์ .dmn ที่นำขึ้นพร้อมกันหรือที่อยู่ในระบบ (business rule "
            f"task evaluates decision {decision.group(1)!r}, which no .dmn file of this deployment and no deployed "
            "decision defines: deploy its .dmn file with this one)",
        )
    return Problem(file, lines.get(err.id), err.id or None, str(err))


def _raise_on_errors(problems: list[Problem]) -> None:
    if any(p.is_error for p in problems):
        raise BpmnInvalid(problems)


def references(root: etree._Element) -> list[tuple[ResourceKind, str]]:
    """The processes a document's call activities call and the decisions its business rule tasks evaluate."""
    found = [(ResourceKind.BPMN, node.get("calledElement") or "") for node in root.iter(f"{{{BPMN_NS}}}callActivity")]
    found += [
        (ResourceKind.DMN, node.get(f"{{{CAMUNDA_NS}}}decisionRef") or "")
        for node in root.iter(f"{{{BPMN_NS}}}businessRuleTask")
        if node.get(f"{{{CAMUNDA_NS}}}type") != "external"
    ]
    return list(dict.fromkeys((kind, key) for kind, key in found if key))


def _add_resources(parser: MsoParser, root: etree._Element, resolver: Resolver | None) -> tuple[Resource, ...]:
    """Add to `parser` the files `resolver` gives for what `root` refers to and does not define, and what those
    refer to in turn; returns them. SpiffWorkflow reports what stays missing when the process is built."""
    if resolver is None:
        return ()
    used: dict[tuple[ResourceKind, str], Resource] = {}
    added: set[tuple[str, str | None]] = set()
    pending = references(root)
    while pending:
        kind, key = pending.pop(0)
        if (kind, key) in used or (kind == ResourceKind.BPMN and key in parser.process_parsers):
            continue
        resource = resolver.resolve(kind, key)
        if resource is None:
            continue
        used[(kind, key)] = resource
        if (resource.name, resource.origin) in added:
            continue
        added.add((resource.name, resource.origin))
        if kind == ResourceKind.DMN:
            parser.add_dmn_xml(read_dmn(resource.xml, resource.name), os.path.basename(resource.name))
            continue
        other = read_xml(resource.xml, resource.name)
        expressions.normalize_document(other, resource.name)
        for process in list(other.iterfind(f"{{{BPMN_NS}}}process")):
            if process.get("id") in parser.process_parsers:
                other.remove(process)
        parser.add_bpmn_xml(other, os.path.basename(resource.name))
        pending += references(other)
    return tuple(used.values())


def _check_ids(root: etree._Element, file: str) -> list[Problem]:
    """Ids SpiffWorkflow gives its own tasks are errors (the element would be lost); ids modelers reject warnings."""
    problems = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        element_id = element.get("id")
        if element_id in RESERVED_IDS and etree.QName(element).localname in FLOW_NODES:
            problems.append(
                _problem(
                    file,
                    element,
                    f"รหัส {element_id!r} เป็นชื่อที่ SpiffWorkflow ใช้เอง โปรดเปลี่ยน (id {element_id!r} is the name "
                    "SpiffWorkflow gives its own start or end task: the element would be lost; rename it, e.g. "
                    f"{element_id}Event_1)",
                )
            )
        elif element_id is not None and not _ASCII_ID.match(element_id):
            problems.append(
                warning(
                    file,
                    element.sourceline,
                    element_id,
                    "ids must be ASCII (letters, digits, _ . -): modelers such as bpmn.io reject others; "
                    "put Thai text in the name",
                )
            )
    return problems


def _lane_of(root: etree._Element) -> dict[str, etree._Element]:
    lanes = {}
    for lane in root.iter(f"{{{BPMN_NS}}}lane"):
        for ref in lane.iterfind(f"{{{BPMN_NS}}}flowNodeRef"):
            if ref.text:
                lanes[ref.text.strip()] = lane
    return lanes


def _properties(element: etree._Element) -> dict[str, str]:
    props = {}
    for prop in element.iterfind("bpmn:extensionElements/camunda:properties/camunda:property", NS):
        name = prop.get("name")
        if name:
            props[name] = prop.get("value") or ""
    return props


def _documentation(element: etree._Element) -> str | None:
    doc = element.find("bpmn:documentation", NS)
    return doc.text.strip() if doc is not None and doc.text else None


def _split_list(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


def _form(task: etree._Element) -> tuple[FormField, ...]:
    fields = []
    for field in task.iterfind("bpmn:extensionElements/camunda:formData/camunda:formField", NS):
        constraints = {
            c.get("name"): c.get("config") for c in field.iterfind("camunda:validation/camunda:constraint", NS)
        }
        marks = {
            (prop.get("id") or prop.get("name") or ""): (prop.get("value") or "").strip().lower()
            for prop in field.iterfind("camunda:properties/camunda:property", NS)
        }
        fields.append(
            FormField(
                id=field.get("id") or "",
                label=field.get("label") or field.get("id") or "",
                type=field.get("type") or "string",
                required="required" in constraints,
                enum=tuple(
                    (value.get("id") or "", value.get("name") or value.get("id") or "")
                    for value in field.iterfind("camunda:value", NS)
                ),
                default=field.get("defaultValue"),
                personal=marks.get("personal_data") == "true",
                sensitive=marks.get("sensitive") == "true",
                accept=tuple(a.strip() for a in marks.get("accept", "").split(",") if a.strip()),
                multiple=marks.get("multiple") == "true",
                multiline=marks.get("multiline") == "true",
            )
        )
    return tuple(fields)


def _lane_roles(node: etree._Element, roles: RoleMap) -> tuple[dict[str, tuple[str, ...]], tuple[str, ...]]:
    """Lane name → roles (only lanes that are not simply their own role), and the composite lanes split."""
    lane_roles: dict[str, tuple[str, ...]] = {}
    split: list[str] = []
    for lane in node.iter(f"{{{BPMN_NS}}}lane"):
        name = lane.get("name") or lane.get("id") or ""
        own = _split_list(_properties(lane).get("roles"))
        if own:
            lane_roles[name] = own
            continue
        mapped, was_split = roles.roles_for(name)
        if mapped is not None:
            lane_roles[name] = mapped
        if was_split:
            split.append(name)
    return lane_roles, tuple(dict.fromkeys(split))


def describe_process(node: etree._Element, root: etree._Element, roles: RoleMap | None = None) -> ProcessDef:
    """Read the deployable facts of a process element (name, lanes, user tasks, forms, properties)."""
    lane_of = _lane_of(node)
    lanes = tuple(lane.get("name") or lane.get("id") or "" for lane in node.iter(f"{{{BPMN_NS}}}lane"))
    lane_roles, split_lanes = _lane_roles(node, roles or RoleMap())
    process_props = _properties(node)
    user_tasks = []
    for task in node.iter(f"{{{BPMN_NS}}}userTask"):
        props = _properties(task)
        lane = lane_of.get(task.get("id") or "")
        user_tasks.append(
            UserTaskDef(
                element_id=task.get("id") or "",
                name=task.get("name") or task.get("id") or "",
                lane=lane.get("name") if lane is not None else None,
                standard_duration=props.get("standard_duration") or None,
                manual_duration=props.get("manual_duration") or None,
                documentation=_documentation(task),
                form=_form(task),
                candidate_groups=_split_list(task.get(f"{{{CAMUNDA_NS}}}candidateGroups")),
                assignee=task.get(f"{{{CAMUNDA_NS}}}assignee"),
                duration_basis=props.get("duration_basis") or None,
                deadline=props.get("deadline") or None,
                deadline_from=props.get("deadline_from") or None,
                manual_section=props.get("manual_section") or process_props.get("manual_section") or None,
                manual_lines=props.get("manual_lines") or process_props.get("manual_lines") or None,
                source=props.get("source") or None,
                inferred_reason=props.get("inferred_reason") or None,
                candidate_users=_split_list(task.get(f"{{{CAMUNDA_NS}}}candidateUsers")),
                outputs=_split_list(props.get("outputs")),
            )
        )
    messages = {m.get("id"): m.get("name") or m.get("id") for m in root.iter(f"{{{BPMN_NS}}}message")}
    start_messages = tuple(
        messages.get(definition.get("messageRef"), definition.get("messageRef"))
        for start in node.iterfind("bpmn:startEvent", NS)
        for definition in start.iterfind("bpmn:messageEventDefinition", NS)
    )
    start_timers = tuple(
        (start.get("id") or "", _tag(expression), _literal(expression.text))
        for start in node.iterfind("bpmn:startEvent", NS)
        for definition in start.iterfind("bpmn:timerEventDefinition", NS)
        for expression in definition
        if isinstance(expression.tag, str) and _tag(expression) in ("timeDate", "timeCycle", "timeDuration")
    )
    return ProcessDef(
        key=node.get("id") or "",
        name=node.get("name") or node.get("id") or "",
        documentation=_documentation(node),
        properties=process_props,
        lanes=lanes,
        user_tasks=tuple(user_tasks),
        start_messages=tuple(m for m in start_messages if m),
        lane_roles=lane_roles,
        start_timers=start_timers,
        split_lanes=split_lanes,
        starter_groups=_split_list(node.get(f"{{{CAMUNDA_NS}}}candidateStarterGroups")),
        starter_users=_split_list(node.get(f"{{{CAMUNDA_NS}}}candidateStarterUsers")),
    )


def _literal(text: str | None) -> str:
    """The timer text of a normalised timer expression (a Python string literal)."""
    try:
        value = ast.literal_eval((text or "").strip())
    except (ValueError, SyntaxError):
        return (text or "").strip()
    return str(value)


def _check_process(node: etree._Element, definition: ProcessDef, file: str) -> list[Problem]:
    problems = []
    key = definition.key
    if not _IDENTIFIER.match(key):
        problems.append(_problem(file, node, "process id must be ASCII letters, digits and _"))
    elements = {el.get("id"): el for el in node.iter() if isinstance(el.tag, str) and el.get("id")}
    for task in definition.user_tasks:
        element = elements.get(task.element_id)
        if task.lane is None and not (task.candidate_groups or task.candidate_users or task.assignee):
            problems.append(
                warning(
                    file,
                    element.sourceline if element is not None else None,
                    task.element_id,
                    "งานนี้ไม่อยู่ในช่อง (lane) ใดและไม่ระบุผู้ทำ: ผู้ดูแลระบบทำเองหรือมอบหมายให้ผู้ใดก็ได้ "
                    "(user task is in no lane and names no camunda:candidateGroups, camunda:candidateUsers or "
                    "camunda:assignee: only an admin works it, or whoever an admin assigns it to)",
                )
            )
        problems += _check_form(task, element, file)
        if task.standard_duration and not expressions.is_iso_duration(task.standard_duration):
            problems.append(_problem(file, element, f"standard_duration {task.standard_duration!r} is not ISO-8601"))
        if task.deadline and not expressions.is_iso_duration(task.deadline):
            problems.append(_problem(file, element, f"deadline {task.deadline!r} is not ISO-8601"))
        for name, value, allowed in (
            ("duration_basis", task.duration_basis, DURATION_BASES),
            ("deadline_from", task.deadline_from, DEADLINE_FROM),
            ("source", task.source, SOURCES),
        ):
            if value is not None and value not in allowed:
                problems.append(_problem(file, element, f"{name} {value!r} is not one of {', '.join(allowed)}"))
    for service in node.iter(f"{{{BPMN_NS}}}serviceTask"):
        if service.get(f"{{{CAMUNDA_NS}}}type") == "external" and not service.get(f"{{{CAMUNDA_NS}}}topic"):
            problems.append(_problem(file, service, "external service task needs camunda:topic"))
        elif service.get(f"{{{CAMUNDA_NS}}}type") != "external":
            problems.append(
                warning(
                    file,
                    service.sourceline,
                    service.get("id"),
                    "งานบริการนี้ไม่มีผู้ทำ (external task) จึงผ่านไปโดยไม่ทำอะไร (service task is not an external task: it "
                    "does nothing here, as Java delegates and expressions do not run in MSO Flow; set "
                    'camunda:type="external" and camunda:topic for a worker)',
                )
            )
    return problems + _check_privacy(node, file)


def _check_privacy(node: etree._Element, file: str) -> list[Problem]:
    """The marks of personal data and secrecy (`ProcessDef.personal_variables` and the rest): a form field's
    `personal_data`/`sensitive` property is true or false; the process's `retention_days` is a positive whole
    number of days; its `secrecy_variable` names an enum form field; its `personal_data`/`sensitive_data` list
    variable names."""
    problems = []
    key = node.get("id")
    for field in node.iterfind(".//camunda:formData/camunda:formField", NS):
        owner = next((a for a in field.iterancestors() if a.get("id") and a.tag.startswith(f"{{{BPMN_NS}}}")), node)
        for prop in field.iterfind("camunda:properties/camunda:property", NS):
            name, value = prop.get("id") or prop.get("name") or "", prop.get("value") or ""
            if name in FIELD_MARKS and value.strip().lower() not in ("true", "false"):
                problems.append(
                    Problem(
                        file,
                        prop.sourceline,
                        owner.get("id"),
                        f"ช่อง {field.get('id')} มีคุณสมบัติ {name} เป็น {value!r} ซึ่งต้องเป็น true หรือ false "
                        f"(form field {field.get('id')!r}: property {name} must be true or false, not {value!r})",
                    )
                )
    enums = sorted(
        {
            f.get("id") or ""
            for f in node.iterfind(".//camunda:formData/camunda:formField", NS)
            if f.get("type") == "enum"
        }
    )
    for prop in node.iterfind("bpmn:extensionElements/camunda:properties/camunda:property", NS):
        name, value = prop.get("name") or "", prop.get("value") or ""
        if name == "retention_days" and not (
            re.fullmatch(r"\s*[0-9]+\s*", value) and 0 < int(value) <= MAX_RETENTION_DAYS
        ):
            problems.append(
                Problem(
                    file,
                    prop.sourceline,
                    key,
                    f"retention_days {value!r} ต้องเป็นจำนวนวันเต็มบวก ไม่เกิน {MAX_RETENTION_DAYS} วัน "
                    f"(retention_days must be a positive whole number of days, at most {MAX_RETENTION_DAYS})",
                )
            )
        elif name == "secrecy_variable" and value not in enums:
            problems.append(
                Problem(
                    file,
                    prop.sourceline,
                    key,
                    f"secrecy_variable {value!r} ไม่ใช่ช่องแบบตัวเลือก (enum) ในแบบฟอร์มของกระบวนการนี้ "
                    f"จึงใช้บอกชั้นความลับไม่ได้ (secrecy_variable must name an enum form field of the process; "
                    f"its enum fields: {', '.join(enums) or 'none'})",
                )
            )
        elif name in VARIABLE_LISTS:
            for variable in value.replace(",", " ").split():
                if not _IDENTIFIER.match(variable):
                    problems.append(
                        Problem(
                            file,
                            prop.sourceline,
                            key,
                            f"{name} ระบุ {variable!r} ซึ่งไม่ใช่ชื่อตัวแปร (อักษรอังกฤษ ตัวเลข และ _) "
                            f"({name} lists {variable!r}, which is not a variable name: ASCII letters, digits, _)",
                        )
                    )
    return problems


def _check_form(task: UserTaskDef, element: Any, file: str) -> list[Problem]:
    problems = []
    seen: set[str] = set()
    for field in task.form:
        where = f"form field {field.id!r}"
        if not _IDENTIFIER.match(field.id):
            problems.append(_problem(file, element, f"{where}: id must be an ASCII identifier"))
        if field.id in SHADOWING:
            problems.append(_problem(file, element, f"{where}: id shadows a built-in or engine name; rename it"))
        if field.id in seen:
            problems.append(_problem(file, element, f"{where}: defined twice"))
        seen.add(field.id)
        if field.type not in FORM_TYPES:
            problems.append(_problem(file, element, f"{where}: type {field.type!r} is not one of {sorted(FORM_TYPES)}"))
        if field.type == "enum" and not field.enum:
            problems.append(_problem(file, element, f"{where}: an enum field needs camunda:value entries"))
    return problems


def timer_cycles(xml: bytes) -> list[tuple[str, str, str]]:
    """(element id, "timeCycle", text) of every timer cycle of a well-formed document (start, boundary,
    intermediate), for the deployment's minimum-interval rule."""
    try:
        root = etree.fromstring(xml, xmlsafe.xml_parser())
    except etree.XMLSyntaxError:
        return []
    return [
        (expressions.owner_id(element), "timeCycle", _literal(element.text))
        for element in root.iter(f"{{{BPMN_NS}}}timeCycle")
    ]
