"""The structural rules of `bpmnlint:recommended` that matter for execution, checked in Python at deployment.

Each rule names the bpmnlint rule it mirrors, so a designer who sees the same finding in Camunda Modeler's
linter recognises it. Like bpmnlint's, every finding is a warning (what cannot run is refused by SpiffWorkflow's
parser or proven by the simulation, not by a style rule), except a flow that refers to nothing, an error. Rules
about labels and layout only (label-required, no-overlapping-elements) stay with bpmnlint in CI.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from lxml import etree

from mso_flow.domain import BPMN_NS
from mso_flow.engine.model import Problem, warning

FLOW_NODES = {
    "task",
    "userTask",
    "serviceTask",
    "scriptTask",
    "manualTask",
    "sendTask",
    "receiveTask",
    "businessRuleTask",
    "callActivity",
    "subProcess",
    "startEvent",
    "endEvent",
    "intermediateCatchEvent",
    "intermediateThrowEvent",
    "boundaryEvent",
    "exclusiveGateway",
    "parallelGateway",
    "inclusiveGateway",
    "eventBasedGateway",
    "complexGateway",
}
GATEWAYS = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway"}


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


class _Scope:
    """The flow nodes and sequence flows directly inside one process or sub-process."""

    def __init__(self, container: etree._Element):
        children = [c for c in container if isinstance(c.tag, str)]
        self.nodes = {c.get("id"): c for c in children if _local(c) in FLOW_NODES}
        self.flows = [c for c in children if _local(c) == "sequenceFlow"]
        self.incoming: Counter[str] = Counter(f.get("targetRef") for f in self.flows)
        self.outgoing: dict[str, list[etree._Element]] = {}
        for flow in self.flows:
            self.outgoing.setdefault(flow.get("sourceRef") or "", []).append(flow)
        self.in_event_subprocess = container.get("triggeredByEvent") == "true"


def check_structure(process: etree._Element, file: str) -> list[Problem]:
    """Every structural problem of a process and its sub-processes."""
    problems: list[Problem] = []
    containers = [process, *(s for s in process.iter(f"{{{BPMN_NS}}}subProcess"))]
    for container in containers:
        scope = _Scope(container)
        for rule in RULES:
            problems += rule(scope, container, file)
    return problems


def _problem(file: str, element: etree._Element, rule: str, message: str) -> Problem:
    return warning(file, element.sourceline, element.get("id"), f"{message} ({rule})")


def _dangling_flows(scope: _Scope, container: etree._Element, file: str) -> list[Problem]:
    """A flow to an element of another (sub)process is a warning; a flow to nothing is an error (it refers to
    something that does not exist)."""
    problems = []
    document = {el.get("id") for el in container.getroottree().iter() if isinstance(el.tag, str)}
    for flow in scope.flows:
        for ref in (flow.get("sourceRef"), flow.get("targetRef")):
            if ref in scope.nodes:
                continue
            if ref in document:
                message = f"sequence flow refers to {ref!r}, which is not in the same (sub)process"
                problems.append(_problem(file, flow, "no-dangling-flow", message))
            else:
                problems.append(
                    Problem(
                        file,
                        flow.sourceline,
                        flow.get("id"),
                        f"เส้นทางอ้างถึง {ref!r} ซึ่งไม่มีในไฟล์ (sequence flow refers to {ref!r}, which does not exist)",
                    )
                )
    return problems


def _start_and_end(scope: _Scope, container: etree._Element, file: str) -> list[Problem]:
    kinds = Counter(_local(n) for n in scope.nodes.values())
    problems = []
    if not kinds["startEvent"]:
        problems.append(_problem(file, container, "start-event-required", "no start event"))
    if not kinds["endEvent"] and not scope.in_event_subprocess:
        problems.append(_problem(file, container, "end-event-required", "no end event"))
    blank_starts = [
        n
        for n in scope.nodes.values()
        if _local(n) == "startEvent" and not any("EventDefinition" in _local(c) for c in n if isinstance(c.tag, str))
    ]
    if len(blank_starts) > 1:
        problems.append(_problem(file, blank_starts[1], "single-blank-start-event", "more than one blank start event"))
    return problems


def _connections(scope: _Scope, container: etree._Element, file: str) -> list[Problem]:
    problems = []
    for node_id, node in scope.nodes.items():
        kind = _local(node)
        has_in, has_out = scope.incoming[node_id] > 0, bool(scope.outgoing.get(node_id))
        if not has_in and not has_out and kind != "boundaryEvent":
            problems.append(_problem(file, node, "no-disconnected", "element is not connected to any flow"))
            continue
        if not has_in and kind not in ("startEvent", "boundaryEvent"):
            problems.append(_problem(file, node, "no-implicit-start", "element has no incoming flow: never reached"))
        if not has_out and kind != "endEvent":
            problems.append(
                _problem(file, node, "no-implicit-end", "element has no outgoing flow: the path stops here")
            )
    return problems


def _splits_and_joins(scope: _Scope, container: etree._Element, file: str) -> list[Problem]:
    problems = []
    for node_id, node in scope.nodes.items():
        outgoing = scope.outgoing.get(node_id, [])
        kind = _local(node)
        unconditioned = [f for f in outgoing if f.find(f"{{{BPMN_NS}}}conditionExpression") is None]
        if kind not in GATEWAYS and len(unconditioned) > 1:
            problems.append(
                _problem(file, node, "no-implicit-split", "several outgoing flows without a gateway: use a gateway")
            )
        if kind in GATEWAYS and len(outgoing) > 1 and scope.incoming[node_id] > 1:
            problems.append(
                _problem(file, node, "no-gateway-join-fork", "a gateway both joins and forks: split it in two")
            )
        if kind == "complexGateway":
            problems.append(_problem(file, node, "no-complex-gateway", "complex gateways are not supported"))
    pairs = Counter((f.get("sourceRef"), f.get("targetRef")) for f in scope.flows)
    for flow in scope.flows:
        if pairs[(flow.get("sourceRef"), flow.get("targetRef"))] > 1:
            problems.append(
                _problem(file, flow, "no-duplicate-sequence-flows", "another flow connects the same two elements")
            )
    return problems


def _conditional_flows(scope: _Scope, container: etree._Element, file: str) -> list[Problem]:
    problems = []
    for node_id, node in scope.nodes.items():
        outgoing = scope.outgoing.get(node_id, [])
        if _local(node) not in ("exclusiveGateway", "inclusiveGateway") or len(outgoing) < 2:
            continue
        for flow in outgoing:
            conditioned = flow.find(f"{{{BPMN_NS}}}conditionExpression") is not None
            if not conditioned and flow.get("id") != node.get("default"):
                problems.append(
                    _problem(
                        file,
                        flow,
                        "conditional-flows",
                        f"flow leaving gateway {node_id} has neither a condition nor is the gateway's default flow",
                    )
                )
    return problems


RULES: list[Callable[[_Scope, etree._Element, str], list[Problem]]] = [
    _dangling_flows,
    _start_and_end,
    _connections,
    _splits_and_joins,
    _conditional_flows,
]
