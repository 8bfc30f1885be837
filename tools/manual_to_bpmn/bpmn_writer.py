"""Write a `ProcessReading` as a BPMN 2.0 document with Camunda 7 extensions and a swimlane diagram (DI)."""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from mso_flow import __version__
from mso_flow.domain import BPMN_NS
from tools.manual_to_bpmn.layout import SIZES, Diagram, Node, layout
from tools.manual_to_bpmn.model import FormField, ProcessReading, Step, is_long_text

NS = {
    "bpmn": BPMN_NS,
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "camunda": "http://camunda.org/schema/1.0/bpmn",
    "modeler": "http://camunda.org/schema/modeler/1.0",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
TARGET_NAMESPACE = "https://mso-flow.m-society.go.th/bpmn"
MANUAL_TITLE = "คู่มือกระบวนการหลักและกระบวนการสนับสนุน (Work Manual) ประจำปีงบประมาณ พ.ศ. ๒๕๖๗"
START_ID = "StartEvent_1"


def _q(name: str) -> str:
    prefix, local = name.split(":")
    return f"{{{NS[prefix]}}}{local}"


def _el(parent: etree._Element, qname: str, text: str | None = None, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, _q(qname))
    for key, value in attrs.items():
        element.set(_q(key.replace("__", ":")) if "__" in key else key, value)
    if text is not None:
        element.text = text
    return element


def task_id(step_id: str) -> str:
    return f"Task_{step_id}"


def gateway_id(step_id: str) -> str:
    return f"Gateway_{step_id}"


def end_id(end: str) -> str:
    return f"EndEvent_{end}"


@dataclass
class _Graph:
    """Flow nodes and sequence flows of the process before they are written."""

    kinds: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # id -> (bpmn tag, name, lane id)
    flows: list[tuple[str, str, str, str | None, str | None]] = field(default_factory=list)
    defaults: dict[str, str] = field(default_factory=dict)  # gateway id -> default flow id
    boundaries: dict[str, tuple[str, Step]] = field(default_factory=dict)  # timer id -> (task id, step)
    inferred: dict[str, str] = field(default_factory=dict)  # node or flow id -> why it was added by reading

    def flow(
        self,
        source: str,
        target: str,
        name: str | None = None,
        condition: str | None = None,
        inferred: str | None = None,
        inherit: bool = True,
    ) -> str:
        """Add a flow; it is inferred when said so or (with `inherit`) when its source or target is."""
        flow_id = f"Flow_{len(self.flows) + 1}"
        self.flows.append((flow_id, source, target, name, condition))
        reason = inferred or (self.inferred.get(source) or self.inferred.get(target) if inherit else None)
        if reason:
            self.inferred[flow_id] = reason
        return flow_id


ESCALATION_REASON = "คู่มือกำหนดเวลาแต่ไม่ได้วาดการติดตามเมื่อเกินกำหนด (the manual states the time limit, not the follow-up)"
JOIN_REASON = "รวมเส้นทางที่เพิ่มจากการตีความ (merges a path added by reading)"


def _target(reading: ProcessReading, target: str) -> str:
    return end_id(target) if target in {e.id for e in reading.ends} else task_id(target)


def build_graph(reading: ProcessReading) -> _Graph:
    """Translate the reading into flow nodes and sequence flows."""
    graph = _Graph()
    first_lane = reading.steps[0].lane
    graph.kinds[START_ID] = ("startEvent", reading.start.name, first_lane)
    graph.flow(START_ID, task_id(reading.steps[0].id))
    if reading.start.inferred:  # the start is read (its trigger), the flow to the first step is the manual's
        graph.inferred[START_ID] = reading.start.inferred
    end_lanes: dict[str, str] = {}
    for step in reading.steps:
        if step.inferred:
            graph.inferred[task_id(step.id)] = step.inferred
        if step.decision is not None and step.decision.inferred:
            graph.inferred[gateway_id(step.id)] = step.decision.inferred
    for index, step in enumerate(reading.steps):
        graph.kinds[task_id(step.id)] = ("userTask", step.name, step.lane)
        source = task_id(step.id)
        if step.decision is not None:
            source = gateway_id(step.id)
            graph.kinds[source] = ("exclusiveGateway", step.decision.name, step.lane)
            graph.flow(task_id(step.id), source)
        for target, branch in reading.successors(index):
            if target in {e.id for e in reading.ends}:
                end_lanes.setdefault(target, step.lane)
            if branch is None:
                graph.flow(source, _target(reading, target))
                continue
            flow_id = graph.flow(source, _target(reading, target), branch.name, branch.condition, branch.inferred)
            if branch.default:
                graph.defaults[source] = flow_id
        deadline = step.deadline
        if deadline is not None and deadline.counted_from == "task":
            assert deadline.escalation is not None and deadline.escalate_lane is not None
            timer = f"Timer_{step.id}"
            escalation = f"Task_{step.id}_escalation"
            escalated = f"EndEvent_{step.id}_escalated"
            graph.kinds[timer] = ("boundaryEvent", f"เกินกำหนด: {deadline.text}", step.lane)
            graph.kinds[escalation] = ("userTask", deadline.escalation, deadline.escalate_lane)
            graph.kinds[escalated] = ("endEvent", "ติดตามเรื่องแล้ว", deadline.escalate_lane)
            graph.inferred[escalation] = graph.inferred[escalated] = ESCALATION_REASON
            graph.boundaries[timer] = (task_id(step.id), step)
            graph.flow(timer, escalation)
            graph.flow(escalation, escalated)
    for end in reading.ends:
        if end.id in end_lanes:
            graph.kinds[end_id(end.id)] = ("endEvent", end.name, end_lanes[end.id])
    _mark_ends(graph)
    _merge_joins(graph)
    return graph


def _mark_ends(graph: _Graph) -> None:
    """An end event reached only by flows added by reading was added by reading too."""
    for node_id, (tag, _, _) in graph.kinds.items():
        incoming = [flow_id for flow_id, _, target, _, _ in graph.flows if target == node_id]
        if tag == "endEvent" and node_id not in graph.inferred and incoming:
            reasons = [graph.inferred.get(flow_id) for flow_id in incoming]
            if all(reasons):
                graph.inferred[node_id] = reasons[0] or ""


def join_id(node_id: str) -> str:
    return f"Gateway_join_{node_id}"


def _merge_joins(graph: _Graph) -> None:
    """Route the flows converging on a task or event through a merging exclusive gateway (no fake joins)."""
    incoming: dict[str, list[int]] = {}
    for index, (_, _, target, _, _) in enumerate(graph.flows):
        incoming.setdefault(target, []).append(index)
    for target, indexes in incoming.items():
        tag, _, lane = graph.kinds[target]
        if len(indexes) < 2 or tag not in ("userTask", "endEvent"):
            continue
        join = join_id(target)
        graph.kinds[join] = ("exclusiveGateway", "", lane)
        for index in indexes:
            flow_id, source, _, name, condition = graph.flows[index]
            graph.flows[index] = (flow_id, source, join, name, condition)
        merged = [graph.inferred.get(graph.flows[index][0]) for index in indexes]
        if any(merged):
            graph.inferred[join] = JOIN_REASON
        graph.flow(join, target, inferred=merged[0] if all(merged) else None, inherit=False)


def _columns(reading: ProcessReading, graph: _Graph) -> dict[str, int]:
    """Longest forward path from the start; loops (flows to an earlier step) do not count."""
    order = {task_id(s.id): i for i, s in enumerate(reading.steps)}
    for i, step in enumerate(reading.steps):
        order[gateway_id(step.id)] = i + 0.5  # type: ignore[assignment]
        order[join_id(task_id(step.id))] = i - 0.25  # type: ignore[assignment]
    columns = {START_ID: 0}
    pending = [f for f in graph.flows]
    changed = True
    while changed:
        changed = False
        for _, source, target, _, _ in pending:
            if source in graph.boundaries:
                source = graph.boundaries[source][0]
            if source not in columns:
                continue
            backward = target in order and source in order and order[target] <= order[source]
            if backward:
                continue
            wanted = columns[source] + 1
            if columns.get(target, -1) < wanted:
                columns[target] = wanted
                changed = True
    for node in graph.kinds:
        columns.setdefault(node, 1)
    return columns


def _diagram(reading: ProcessReading, graph: _Graph) -> Diagram:
    columns = _columns(reading, graph)
    kinds = {"userTask": "task", "exclusiveGateway": "gateway"}
    nodes = [
        Node(node_id, kinds.get(tag, "event"), lane, column=columns[node_id])
        for node_id, (tag, _, lane) in graph.kinds.items()
        if tag != "boundaryEvent"
    ]
    lane_order = [lane.id for lane in reading.lanes]
    sides = {}
    for timer, (task, step) in graph.boundaries.items():
        assert step.deadline is not None
        above = lane_order.index(step.deadline.escalate_lane) < lane_order.index(step.lane)
        sides[timer] = (task, "top" if above else "bottom")
    edges = [(flow_id, source, target) for flow_id, source, target, _, _ in graph.flows]
    return layout(lane_order, nodes, edges, sides)


def _properties(parent: etree._Element, values: dict[str, str]) -> None:
    extensions = parent.find(_q("bpmn:extensionElements"))
    if extensions is None:
        extensions = _el(parent, "bpmn:extensionElements")
    props = _el(extensions, "camunda:properties")
    for name, value in values.items():
        _el(props, "camunda:property", name=name, value=value)


def provenance(reason: str | None) -> dict[str, str]:
    """The properties that mark an element the manual does not draw (none for an element it draws)."""
    return {"source": "inferred", "inferred_reason": reason} if reason else {}


def _process_documentation(reading: ProcessReading) -> str:
    source = reading.source
    basis = "ผังขั้นตอนกระบวนการ (flowchart)" if source.basis == "flowchart" else "ตารางขั้นตอนการดำเนินการ"
    lines = [
        reading.name,
        f"หน่วยงาน: {reading.unit_name}",
        f"เจ้าภาพ: {reading.owner}" if reading.owner else "",
        f"ประเภท: {reading.category}" if reading.category else "",
        f"ตัวชี้วัด: {reading.kpi}" if reading.kpi else "",
        f"ที่มา: {MANUAL_TITLE}, {source.section}"
        + (f", หน้า {source.pages}" if source.pages else "")
        + f", บรรทัด {source.lines[0]}-{source.lines[1]} ของ work-manual-2567.txt; อ่านจาก{basis}",
    ]
    if reading.readings:
        lines.append("การตีความ (readings):")
        lines += [f"- {r}" for r in reading.readings]
    return "\n".join(line for line in lines if line)


def _step_properties(reading: ProcessReading, step: Step, inferred: str | None) -> dict[str, str]:
    """The manual's facts of a step: number, durations and how they count, deadline, line references."""
    props = {"manual_step": step.no}
    if step.duration:
        props["standard_duration"] = step.duration
    if step.duration_text:
        props["manual_duration"] = step.duration_text
    deadline = step.deadline
    basis = deadline.basis if deadline else step.duration_basis
    if basis:
        props["duration_basis"] = basis
    if deadline:
        props["deadline"] = deadline.duration
        props["deadline_from"] = deadline.counted_from
        props["deadline_text"] = deadline.text
    if step.lines:
        props["manual_lines"] = f"{step.lines[0]}-{step.lines[1]}"
    return {**props, **provenance(inferred)}


def field_marks(field_: FormField) -> dict[str, str]:
    """The personal-data marks of a form field as Camunda Modeler writes them (`camunda:property id=… value=…`
    inside the `camunda:formField`); a sensitive field is personal too. A marking with a reason is an inference
    of the reading (`marking_source=inferred`, `marking_reason`)."""
    marks = {}
    if field_.personal or field_.sensitive:
        marks["personal_data"] = "true"
    if field_.sensitive:
        marks["sensitive"] = "true"
    if marks and field_.marking_reason:
        marks |= {"marking_source": "inferred", "marking_reason": field_.marking_reason}
    return marks


def field_properties(field_: FormField) -> dict[str, str]:
    """A form field's `camunda:property` entries: its personal-data marks, `multiline` for long free text (rule 13),
    and for a file field (rule 12) what it accepts, whether it takes several documents, and `source=inferred` where
    the manual implies the document."""
    props = field_marks(field_)
    if is_long_text(field_.type, field_.label):
        props["multiline"] = "true"
    if field_.type == "file":
        if field_.accept:
            props["accept"] = ",".join(field_.accept)
        if field_.multiple:
            props["multiple"] = "true"
        props |= provenance(field_.inferred)
    return props


def process_marks(reading: ProcessReading) -> dict[str, str]:
    """The process-level properties of personal data and secrecy (only those the reading sets)."""
    marks = {
        "personal_data": ", ".join(reading.personal_data),
        "sensitive_data": ", ".join(reading.sensitive_data),
        "retention_days": str(reading.retention_days) if reading.retention_days is not None else "",
        "secrecy_variable": reading.secrecy_variable or "",
    }
    return {name: value for name, value in marks.items() if value}


def _form(task: etree._Element, step: Step) -> None:
    extensions = _el(task, "bpmn:extensionElements")
    form = _el(extensions, "camunda:formData")
    for field_ in step.form:
        element = _el(form, "camunda:formField", id=field_.id, label=field_.label, type=field_.type)
        marks = field_properties(field_)
        if marks:
            properties = _el(element, "camunda:properties")
            for name, value in marks.items():
                _el(properties, "camunda:property", id=name, value=value)
        if field_.required:
            validation = _el(element, "camunda:validation")
            _el(validation, "camunda:constraint", name="required")
        for value, label in (field_.values or {}).items():
            _el(element, "camunda:value", id=value, name=label)


def write_bpmn(reading: ProcessReading) -> bytes:
    """The BPMN XML of a reading: one pool, a lane per responsible, user tasks, gateways, timers, DI."""
    graph = build_graph(reading)
    diagram = _diagram(reading, graph)
    steps = {task_id(s.id): s for s in reading.steps}
    incoming: dict[str, list[str]] = {n: [] for n in graph.kinds}
    outgoing: dict[str, list[str]] = {n: [] for n in graph.kinds}
    for flow_id, source, target, _, _ in graph.flows:
        outgoing[source].append(flow_id)
        incoming[target].append(flow_id)

    root = etree.Element(_q("bpmn:definitions"), nsmap=NS)
    root.set("id", f"Definitions_{reading.key}")
    root.set("targetNamespace", TARGET_NAMESPACE)
    root.set("exporter", "MSO Flow authoring")
    root.set("exporterVersion", __version__)
    root.set(_q("modeler:executionPlatform"), "Camunda Platform")
    root.set(_q("modeler:executionPlatformVersion"), "7.21.0")
    if reading.start.message:
        _el(root, "bpmn:message", id=f"Message_{reading.start.message}", name=reading.start.message)
    collaboration = _el(root, "bpmn:collaboration", id=f"Collaboration_{reading.key}")
    _el(
        collaboration,
        "bpmn:participant",
        id=f"Participant_{reading.key}",
        name=reading.name,
        processRef=reading.key,
    )
    process = _el(root, "bpmn:process", id=reading.key, name=reading.name, isExecutable="true")
    _el(process, "bpmn:documentation", _process_documentation(reading))
    _properties(
        process,
        {
            "unit": reading.unit,
            "unit_name": reading.unit_name,
            "owner": reading.owner,
            "category": reading.category,
            "kpi": reading.kpi,
            "manual_section": reading.source.section,
            "manual_pages": reading.source.pages,
            "manual_lines": f"{reading.source.lines[0]}-{reading.source.lines[1]}",
            "manual_basis": reading.source.basis,
            **process_marks(reading),
        },
    )
    lane_set = _el(process, "bpmn:laneSet", id=f"LaneSet_{reading.key}")
    for lane in reading.lanes:
        lane_el = _el(lane_set, "bpmn:lane", id=f"Lane_{lane.id}", name=lane.name)
        if lane.inferred:
            _properties(lane_el, provenance(lane.inferred))
        for node_id, (_, _, node_lane) in graph.kinds.items():
            if node_lane == lane.id:
                _el(lane_el, "bpmn:flowNodeRef", node_id)

    for node_id, (tag, name, _) in graph.kinds.items():
        attrs: dict[str, str] = {"id": node_id, "name": name} if name else {"id": node_id}
        if tag == "exclusiveGateway" and node_id in graph.defaults:
            attrs["default"] = graph.defaults[node_id]
        if tag == "boundaryEvent":
            attrs["attachedToRef"] = graph.boundaries[node_id][0]
            attrs["cancelActivity"] = "false"
        element = _el(process, f"bpmn:{tag}", **attrs)
        step = steps.get(node_id)
        if step is not None:
            _el(element, "bpmn:documentation", (f"ลำดับ {step.no}: " if step.no else "") + step.detail)
            if step.form:
                _form(element, step)
            _properties(element, _step_properties(reading, step, graph.inferred.get(node_id)))
        elif node_id.endswith("_escalation"):
            deadline_step = graph.boundaries[node_id.replace("Task_", "Timer_").removesuffix("_escalation")][1]
            assert deadline_step.deadline is not None
            _el(
                element,
                "bpmn:documentation",
                f"งานติดตามเมื่อลำดับ {deadline_step.no} เกินกำหนด ({deadline_step.deadline.text})",
            )
            _properties(element, provenance(graph.inferred.get(node_id)))
        elif node_id in graph.inferred:
            _properties(element, provenance(graph.inferred[node_id]))
        for flow_id in incoming[node_id]:
            _el(element, "bpmn:incoming", flow_id)
        for flow_id in outgoing[node_id]:
            _el(element, "bpmn:outgoing", flow_id)
        if tag == "startEvent" and reading.start.message:
            _el(
                element,
                "bpmn:messageEventDefinition",
                id="MessageEventDefinition_1",
                messageRef=f"Message_{reading.start.message}",
            )
        if tag == "boundaryEvent":
            step_ = graph.boundaries[node_id][1]
            assert step_.deadline is not None
            definition = _el(element, "bpmn:timerEventDefinition", id=f"TimerEventDefinition_{node_id}")
            _el(definition, "bpmn:timeDuration", step_.deadline.duration, xsi__type="bpmn:tFormalExpression")

    for flow_id, source, target, flow_name, condition in graph.flows:
        attrs = {"id": flow_id, "sourceRef": source, "targetRef": target}
        if flow_name:
            attrs["name"] = flow_name
        flow = _el(process, "bpmn:sequenceFlow", **attrs)
        if flow_id in graph.inferred:
            _properties(flow, provenance(graph.inferred[flow_id]))
        if condition:
            _el(flow, "bpmn:conditionExpression", condition, xsi__type="bpmn:tFormalExpression")

    _write_di(root, reading, graph, diagram)
    etree.indent(root, space="  ")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _bounds(parent: etree._Element, x: float, y: float, w: float, h: float) -> None:
    _el(parent, "dc:Bounds", x=f"{x:g}", y=f"{y:g}", width=f"{w:g}", height=f"{h:g}")


def _write_di(root: etree._Element, reading: ProcessReading, graph: _Graph, diagram: Diagram) -> None:
    bpmn_diagram = _el(root, "bpmndi:BPMNDiagram", id="BPMNDiagram_1")
    plane = _el(bpmn_diagram, "bpmndi:BPMNPlane", id="BPMNPlane_1", bpmnElement=f"Collaboration_{reading.key}")
    pool = _el(
        plane,
        "bpmndi:BPMNShape",
        id=f"Participant_{reading.key}_di",
        bpmnElement=f"Participant_{reading.key}",
        isHorizontal="true",
    )
    _bounds(pool, *diagram.pool)
    px, _, pw, _ = diagram.pool
    for lane in diagram.lanes:
        shape = _el(
            plane,
            "bpmndi:BPMNShape",
            id=f"Lane_{lane.id}_di",
            bpmnElement=f"Lane_{lane.id}",
            isHorizontal="true",
        )
        _bounds(shape, px + 30, lane.y, pw - 30, lane.h)
    for node_id, (tag, _, _) in graph.kinds.items():
        attrs = {"id": f"{node_id}_di", "bpmnElement": node_id}
        if tag == "exclusiveGateway":
            attrs["isMarkerVisible"] = "true"
        shape = _el(plane, "bpmndi:BPMNShape", **attrs)
        if tag == "boundaryEvent":
            x, y, w, h = diagram.boundaries[node_id]
        else:
            node = diagram.nodes[node_id]
            x, y, w, h = node.x, node.y, node.w, node.h
        _bounds(shape, x, y, w, h)
        if tag != "userTask":
            label = _el(shape, "bpmndi:BPMNLabel")
            width = 100 if tag != "exclusiveGateway" else 120
            label_y = y + h + 4 if tag != "exclusiveGateway" else y - 34
            _bounds(label, x + w / 2 - width / 2, label_y, width, 27)
    for flow_id, _, _, name, _ in graph.flows:
        edge = _el(plane, "bpmndi:BPMNEdge", id=f"{flow_id}_di", bpmnElement=flow_id)
        for x, y in diagram.edges[flow_id]:
            _el(edge, "di:waypoint", x=f"{x:g}", y=f"{y:g}")
        if name and flow_id in diagram.labels:
            label = _el(edge, "bpmndi:BPMNLabel")
            _bounds(label, *diagram.labels[flow_id])


__all__ = ["SIZES", "build_graph", "field_marks", "process_marks", "write_bpmn"]
