"""Drive a process through every outgoing flow of every gateway with the real engine.

The simulator replays executions: at each user task it fills the form with candidate values for the fields that
conditions read (both booleans, every enum value, a few numbers), and at each task with a boundary timer it
may also let the timer fire. Every distinct choice is explored depth-first, with each decision taken at most
`max_visits` times on one path, so loops are entered and left. It reports the flows never taken, the user tasks
never reached, executions that stop without reaching an end (dead ends) and choices from which no end can be
reached (loops without an exit). External service tasks are completed as their workers would, with no data.
"""

from __future__ import annotations

import ast
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent, ExclusiveGateway, InclusiveGateway, UserTask
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from mso_flow.engine.external import ExternalServiceTask
from mso_flow.engine.parsing import BPMN_NS, ParsedProcess
from mso_flow.engine.sandbox import create_script_engine

MAX_STEPS = 400
MAX_RUNS = 3000
FIRE_TIMER = "__fire_timer__"


@dataclass
class SimulationReport:
    """What exploring every choice of one process found."""

    key: str
    runs: int = 0
    completed_runs: int = 0
    flows_taken: set[str] = field(default_factory=set)
    tasks_reached: set[str] = field(default_factory=set)
    untaken_flows: list[str] = field(default_factory=list)
    unreached_tasks: list[str] = field(default_factory=list)
    dead_ends: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return not (self.untaken_flows or self.unreached_tasks or self.dead_ends or self.errors)


def _condition_names(root: etree._Element) -> set[str]:
    names: set[str] = set()
    for element in root.iter(f"{{{BPMN_NS}}}conditionExpression"):
        try:
            tree = ast.parse((element.text or "").strip(), mode="eval")
        except SyntaxError:
            continue
        names |= {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    return names


def _candidates(field_: Any) -> list[Any]:
    if field_.type == "boolean":
        return [True, False]
    if field_.type == "enum":
        return [value for value, _ in field_.enum]
    if field_.type == "long":
        return [0, 1, 100_000, 10_000_000]
    if field_.type == "date":
        return ["2026-01-15"]
    return ["ทดสอบ"]


def _filler(field_: Any) -> Any:
    return _candidates(field_)[0]


class _Explorer:
    def __init__(self, process: ParsedProcess, root: etree._Element, max_visits: int):
        self.process = process
        self.max_visits = max_visits
        self.definition = process.definition
        self.condition_names = _condition_names(root)
        self.flow_ids = {
            (flow.get("sourceRef"), flow.get("targetRef")): flow.get("id")
            for flow in root.iter(f"{{{BPMN_NS}}}sequenceFlow")
        }
        self.report = SimulationReport(process.definition.key)

    def options(self, task: Any) -> list[Any]:
        """Distinct ways to finish a ready user task: form assignments, and firing its timers."""
        task_def = self.definition.user_task(task.task_spec.bpmn_id)
        form = task_def.form if task_def else ()
        deciding = [f for f in form if f.id in self.condition_names]
        base = {f.id: _filler(f) for f in form if f.id not in self.condition_names}
        choices: list[Any] = []
        for values in itertools.islice(itertools.product(*(_candidates(f) for f in deciding)), 64):
            choices.append({**base, **dict(zip([f.id for f in deciding], values, strict=True))})
        if self._boundary_timers(task):
            choices.append(FIRE_TIMER)
        return choices

    def _boundary_timers(self, task: Any) -> list[Any]:
        parent = task.parent
        if parent is None:
            return []
        return [
            t
            for t in parent.children
            if isinstance(t.task_spec, BoundaryEvent)
            and isinstance(t.task_spec.event_definition, TimerEventDefinition)
            and t.state == TaskState.WAITING
        ]

    def replay(self, script: list[tuple[str, Any]]) -> tuple[str, Any]:
        """Run the process following `script`; stop at the first choice beyond it."""
        workflow = BpmnWorkflow(self.process.spec, self.process.subprocess_specs, script_engine=create_script_engine())
        workflow.do_engine_steps()
        position = 0
        for _ in range(MAX_STEPS):
            self._record(workflow)
            if workflow.is_completed():
                return "completed", None
            ready = [t for t in workflow.get_tasks(state=TaskState.READY) if isinstance(t.task_spec, UserTask)]
            if not ready:
                if (
                    self._complete_external(workflow)
                    or self._fire_due_timers(workflow)
                    or self._deliver_messages(workflow)
                ):
                    continue
                waiting = [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.WAITING)]
                return "dead_end", f"no ready user task; waiting: {waiting or 'nothing'}"
            task = ready[0]
            options = self.options(task)
            if len(options) == 1:  # no choice, so the script holds no entry for it
                choice = options[0]
            elif position < len(script):
                choice = script[position][1]
                position += 1
            else:
                return "choice", (task.task_spec.bpmn_id, options)
            if choice == FIRE_TIMER:
                for timer in self._boundary_timers(task):
                    _make_due(timer)
                workflow.refresh_timers()
                workflow.do_engine_steps()
                continue
            task.set_data(**choice)
            task.run()
            workflow.do_engine_steps()
        return "dead_end", f"more than {MAX_STEPS} steps: a loop without an exit"

    def _complete_external(self, workflow: BpmnWorkflow) -> bool:
        """Complete the ready external service tasks, as their workers would."""
        ready = [t for t in workflow.get_tasks(state=TaskState.READY) if isinstance(t.task_spec, ExternalServiceTask)]
        for task in ready:
            task.run()
        if ready:
            workflow.do_engine_steps()
        return bool(ready)

    def _fire_due_timers(self, workflow: BpmnWorkflow) -> bool:
        timers = [
            t
            for t in workflow.get_tasks(state=TaskState.WAITING)
            if isinstance(getattr(t.task_spec, "event_definition", None), TimerEventDefinition)
        ]
        for timer in timers:
            _make_due(timer)
        if timers:
            workflow.refresh_timers()
            workflow.do_engine_steps()
        return bool(timers)

    def _deliver_messages(self, workflow: BpmnWorkflow) -> bool:
        """Send the message the first waiting message event (a message start, catch or receive task) expects."""
        for task in workflow.get_tasks(state=TaskState.WAITING):
            definition = getattr(task.task_spec, "event_definition", None)
            if isinstance(definition, MessageEventDefinition):
                event = BpmnEvent(type(definition)(definition.name), {"payload": {}, "result_var": "_message"})
                workflow.send_event(event)
                workflow.do_engine_steps()
                return True
        return False

    def _record(self, workflow: BpmnWorkflow) -> None:
        for task in workflow.get_tasks():
            spec = task.task_spec
            if isinstance(spec, UserTask) and task.state in (TaskState.READY, TaskState.COMPLETED):
                self.report.tasks_reached.add(spec.bpmn_id)
            if task.state != TaskState.COMPLETED or spec.bpmn_id is None:
                continue
            for child in task.children:
                target = child.task_spec.bpmn_id
                if target is None:  # SpiffWorkflow's own control tasks (boundary splits)
                    for grandchild in child.children:
                        self._take(spec.bpmn_id, grandchild)
                elif child.state in (
                    TaskState.READY,
                    TaskState.COMPLETED,
                    TaskState.STARTED,
                    TaskState.WAITING,
                ):
                    self._take(spec.bpmn_id, child)

    def _take(self, source: str, child: Any) -> None:
        target = child.task_spec.bpmn_id
        if child.state in (TaskState.READY, TaskState.COMPLETED, TaskState.STARTED, TaskState.WAITING):
            flow = self.flow_ids.get((source, target))
            if flow:
                self.report.flows_taken.add(flow)

    def explore(self) -> SimulationReport:
        stack: list[list[tuple[str, Any]]] = [[]]
        while stack:
            if self.report.runs >= MAX_RUNS:
                self.report.truncated = True
                break
            script = stack.pop()
            self.report.runs += 1
            try:
                status, detail = self.replay(script)
            except SpiffWorkflowException as err:
                self.report.errors.append(f"{err} after choices {[c for c, _ in script]}")
                continue
            if status == "completed":
                self.report.completed_runs += 1
            elif status == "dead_end":
                self.report.dead_ends.append(f"{detail} after choices {[c for c, _ in script]}")
            else:
                element, options = detail
                if sum(1 for e, _ in script if e == element) >= self.max_visits:
                    options = (
                        options[:1]
                        if not self._exits(script, element, options)
                        else self._exits(script, element, options)
                    )
                for option in reversed(options):
                    stack.append([*script, (element, option)])
        return self.report

    def _exits(self, script: list, element: str, options: list) -> list:
        """Past the visit budget, keep only choices not yet taken at this element on this path."""
        taken = [c for e, c in script if e == element]
        return [o for o in options if o not in taken][:1]


def _make_due(timer: Any) -> None:
    """Make a waiting timer due now (a cycle fires once: that is enough to explore where it leads)."""
    value = timer.internal_data.get("event_value")
    past = _past()
    timer._set_internal_data(event_value=dict(value, cycles=1, next=past) if isinstance(value, dict) else past)


def _past() -> str:
    return (datetime.now(UTC) - timedelta(seconds=1)).isoformat()


def simulate(process: ParsedProcess, root: etree._Element, max_visits: int = 2) -> SimulationReport:
    """Explore every choice of `process` (parsed from the document `root`) and report coverage."""
    explorer = _Explorer(process, root, max_visits)
    report = explorer.explore()
    gateway_flows = {
        flow.get("id")
        for flow in root.iter(f"{{{BPMN_NS}}}sequenceFlow")
        if _is_gateway(process, flow.get("sourceRef"))
    }
    report.untaken_flows = sorted(gateway_flows - report.flows_taken)
    report.unreached_tasks = sorted({t.element_id for t in process.definition.user_tasks} - report.tasks_reached)
    return report


def _is_gateway(process: ParsedProcess, element_id: str | None) -> bool:
    spec = process.spec.task_specs.get(element_id or "")
    return isinstance(spec, ExclusiveGateway | InclusiveGateway)
