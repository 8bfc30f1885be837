"""Drive a process through its choices with the real engine, so the verdict speaks only after trying hard.

Values. For every variable an expression reads (conditions, scripts, decision tables), the simulator knows
candidate values from the expressions themselves: the string and number literals compared with it (numbers with a
neighbour on each side), both booleans where it is tested for truth, and one text no condition names; an enum
field adds its values. A user task's form gets these values. Whatever else may bring variables (the API start, a
message, an external task's worker, a call activity) is treated as able to supply any variable: when an
expression reads a variable nobody has set, the run is replayed with each candidate value given at the start
(a few generic values when no expression says more). A name that is called as a function, names a module, or
starts with `_` cannot be supplied that way.

Choices. Each wait is a choice: the candidate forms of a ready user task, and each timer or message that may
fire there (a task's boundary events, the events after an event-based gateway, a message or timer start).
External tasks are completed as their workers would, with no data. Every distinct choice is explored depth-first,
each at most `max_visits` times on one path (loops are entered and left), within a budget of runs and of CPU time.

Report. Flows never taken, user tasks never reached, and executions that stop without reaching an end (dead
ends) or fail, each at the element where it happened. A failure is *definite* when its run assumed nothing (no value
given at the start) or when it reads what no value could be (a function, a module); a failure with values the
expressions name is reported, but not definite; a run that needed generic guesses, or waited for an event the
simulator cannot trigger, is *inconclusive*. `SimulationReport.proven` says whether every path certainly fails: no
run reached an end, every failure definite, nothing inconclusive and the exploration complete.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import itertools
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.exceptions import WorkflowDataException
from SpiffWorkflow.bpmn.specs.defaults import ExclusiveGateway, InclusiveGateway, UserTask
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from mso_flow.domain import ResourceKind
from mso_flow.engine import budgets as limits
from mso_flow.engine import expressions, spiff_internals
from mso_flow.engine.decisions import DecisionTask
from mso_flow.engine.external import ExternalServiceTask
from mso_flow.engine.parsing import BPMN_NS, CAMUNDA_NS, ParsedProcess, read_xml
from mso_flow.engine.process_errors import SHADOWING
from mso_flow.engine.sandbox import create_script_engine

MAX_WAITS = 400  # waits passed on one run
MAX_ENGINE_STEPS = 5000  # automatic steps of one run: a loop of automatic tasks never reaches a wait
MAX_RUNS = 3000
MAX_CPU_SECONDS = 120.0  # of exploration per process (CPU, not wall-clock: the verdict must not depend on load)
MAX_FORMS = 64  # candidate forms of one user task
OTHER_TEXT = "ทดสอบ"  # a text no condition names
GENERIC = (True, 1, OTHER_TEXT, [1, 2])  # tried for a variable nothing says more about
_EXPRESSION_TAGS = ("conditionExpression", "script", "completionCondition", "loopCardinality")


@dataclass(frozen=True)
class Failure:
    """Where and how an execution stopped without reaching an end."""

    element: str | None
    detail: str
    definite: bool


@dataclass
class SimulationReport:
    """What exploring the choices of one process found."""

    key: str
    runs: int = 0
    completed_runs: int = 0
    flows_taken: set[str] = field(default_factory=set)
    tasks_reached: set[str] = field(default_factory=set)
    untaken_flows: list[str] = field(default_factory=list)
    unreached_tasks: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    inconclusive: list[Failure] = field(default_factory=list)
    truncated: bool = False

    @property
    def proven(self) -> bool:
        """Every path certainly fails: no run reached an end, each failure is certain (nothing assumed, or what no
        value could change) and the exploration left nothing open."""
        certain = bool(self.failures) and all(f.definite for f in self.failures)
        return certain and not (self.completed_runs or self.inconclusive or self.truncated)

    @property
    def ok(self) -> bool:
        return not (self.untaken_flows or self.unreached_tasks or self.failures or self.inconclusive)


@dataclass(frozen=True)
class _Field:
    """A form field as the simulator fills it (from `camunda:formData` or a task spec's form)."""

    type: str
    options: list[Any]


@dataclass(frozen=True)
class _Plan:
    given: tuple[tuple[str, Any], ...] = ()  # variables supplied at the start, in the order they were needed
    script: tuple[tuple[str, Any], ...] = ()  # (element id, option key) of each choice made
    guessed: bool = False  # some given value is a generic guess, not one an expression or a form names


class _Runaway(Exception):
    """More automatic steps than any real run takes: a loop that never waits."""

    def __init__(self, element: str | None):
        super().__init__(element)
        self.element = element


def _key(value: Any) -> tuple[str, str]:
    return type(value).__name__, repr(value)


def _add(found: dict[str, list[Any]], name: str, *values: Any) -> None:
    known = found.setdefault(name, [])
    for value in values:
        if _key(value) not in {_key(v) for v in known}:
            known.append(value)


def _both_ways(value: Any) -> tuple[Any, ...]:
    """A literal a variable is compared with, and values on its other side: both booleans, a number's neighbours
    (a text gets one no condition names, in `_Vocabulary.values`)."""
    if isinstance(value, bool):
        return (True, False)
    if isinstance(value, int | float):
        return (value - 1, value, value + 1)
    return (value,)


def _collect(tree: ast.AST, found: dict[str, list[Any]]) -> None:
    """Candidate values of the variables an expression compares with literals or tests for truth."""
    if isinstance(tree, ast.Expression) and isinstance(tree.body, ast.Name):
        _add(found, tree.body.id, True, False)
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for op, left, right in zip(node.ops, operands, operands[1:], strict=False):
                name, other = (left, right) if isinstance(left, ast.Name) else (right, left)
                if not isinstance(name, ast.Name):
                    continue
                if isinstance(other, ast.Constant) and other.value is not None:
                    _add(found, name.id, *_both_ways(other.value))
                elif isinstance(other, ast.Tuple | ast.List | ast.Set) and isinstance(op, ast.In | ast.NotIn):
                    _add(found, name.id, *(e.value for e in other.elts if isinstance(e, ast.Constant)))
        elif isinstance(node, ast.BoolOp):
            for value in node.values:
                if isinstance(value, ast.Name):
                    _add(found, value.id, True, False)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not) and isinstance(node.operand, ast.Name):
            _add(found, node.operand.id, True, False)


def _parse(text: str) -> ast.AST | None:
    for mode in ("eval", "exec"):
        try:
            return ast.parse(text.strip(), mode=mode)
        except SyntaxError:
            continue
    return None


@dataclass
class _Vocabulary:
    """What the expressions of a process say about its variables."""

    candidates: dict[str, list[Any]] = field(default_factory=dict)
    read: set[str] = field(default_factory=set)  # every name an expression reads
    unsuppliable: set[str] = field(default_factory=set)  # functions and modules: no start or worker gives them

    def values(self, name: str) -> list[Any]:
        """The candidate values of `name`, with a text no condition names when it is compared with texts."""
        known = list(self.candidates.get(name, ()))
        if any(isinstance(v, str) for v in known) and _key(OTHER_TEXT) not in {_key(v) for v in known}:
            known.append(OTHER_TEXT)
        return known

    def suppliable(self, name: str) -> bool:
        return (
            name.isidentifier() and not name.startswith("_") and name not in SHADOWING and name not in self.unsuppliable
        )


def _documents(root: etree._Element, process: ParsedProcess) -> list[etree._Element]:
    """The document of the process and those of the processes it calls in other files."""
    others = [read_xml(r.xml, r.name) for r in process.resources if r.kind == ResourceKind.BPMN]
    for other in others:
        expressions.normalize_document(other, "")  # their conditions as the engine runs them
    return [root, *others]


def _vocabulary(documents: list[etree._Element], process: ParsedProcess) -> _Vocabulary:
    vocabulary = _Vocabulary()
    texts = [el.text or "" for root in documents for tag in _EXPRESSION_TAGS for el in root.iter(f"{{{BPMN_NS}}}{tag}")]
    for spec in [process.spec, *process.subprocess_specs.values()]:
        for task_spec in spec.task_specs.values():
            if isinstance(task_spec, DecisionTask):
                texts += _decision_tests(task_spec.dmnEngine.decision_table, vocabulary)
    for text in texts:
        tree = _parse(text)
        if tree is None:
            continue
        _collect(tree, vocabulary.candidates)
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                vocabulary.read.add(node.id)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                vocabulary.unsuppliable.add(node.func.id)
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in sys.stdlib_module_names
            ):
                vocabulary.unsuppliable.add(node.value.id)
    return vocabulary


def _decision_tests(table: Any, vocabulary: _Vocabulary) -> list[str]:
    """The tests a decision table makes, as expressions over its inputs (`x == "ลับ"`, `x > 5`)."""
    tests = []
    for rule in table.rules:
        for entry in rule.inputEntries:
            column = (entry.input.expression or "").strip()
            tree = _parse(column)
            vocabulary.read |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} if tree else set()
            for text in entry.lhs:
                if text and text.strip() != "-" and column.isidentifier():
                    tests.append(f"{column} == ({text})" if _parse(text) else f"{column} {text}")
    return tests


class _Explorer:
    def __init__(self, process: ParsedProcess, root: etree._Element, max_visits: int):
        self.process = process
        self.max_visits = max_visits
        documents = _documents(root, process)
        self.vocabulary = _vocabulary(documents, process)
        self.flow_ids = {
            (flow.get("sourceRef"), flow.get("targetRef")): flow.get("id")
            for flow in root.iter(f"{{{BPMN_NS}}}sequenceFlow")
        }
        self.report = SimulationReport(process.definition.key)
        self.supplied = _can_be_given_variables(process)
        self.fields = {
            field_.get("id"): _Field(
                field_.get("type") or "string", [v.get("id") for v in field_.iterfind(f"{{{CAMUNDA_NS}}}value")]
            )
            for document in documents
            for field_ in document.iter(f"{{{CAMUNDA_NS}}}formField")
        }

    # --- one run ---------------------------------------------------------------------------------------------

    def replay(self, plan: _Plan) -> tuple[str, Any]:
        """Run the process with `plan`; stop at the first choice beyond it, at the end, or where it fails. The flows
        a failing run took count as taken."""
        workflow = BpmnWorkflow(self.process.spec, self.process.subprocess_specs, script_engine=create_script_engine())
        status, detail = self._run(workflow, plan)
        if status != "completed":
            with contextlib.suppress(Exception):  # a workflow the engine broke on may not even be walkable
                self._record(workflow)
        if status == "dead_end" and plan.given:  # stuck with values assumed: other values might not be
            detail = dataclasses.replace(detail, definite=False)
        return status, detail

    def _run(self, workflow: BpmnWorkflow, plan: _Plan) -> tuple[str, Any]:
        steps = [0]

        def count(task: Any) -> None:
            steps[0] += 1
            if steps[0] > MAX_ENGINE_STEPS or limits.too_deep(task):
                raise _Runaway(task.task_spec.bpmn_id)

        def advance() -> None:
            workflow.do_engine_steps(will_complete_task=count)

        ready = workflow.get_tasks(state=TaskState.READY)
        if ready and plan.given:
            ready[0].data.update(dict(plan.given))
        try:
            advance()
            position = 0
            for _ in range(MAX_WAITS):
                self._record(workflow)
                if workflow.is_completed():
                    return "completed", None
                group = self._choice_point(workflow)
                if not group:
                    return "dead_end", self._stuck(workflow)
                element = group[0].task_spec.bpmn_id
                options = [option for task in group for option in self._options(task)]
                planned = plan.script[position] if position < len(plan.script) else None
                choice = options[0] if len(options) == 1 else None
                if choice is None and planned is not None and planned[0] == element:
                    choice = next((o for o in options if o[0] == planned[1]), None)
                    position += 1
                if choice is None:  # beyond the plan, or the run went elsewhere than the plan's: choose here
                    return "choice", (element, [o[0] for o in options])
                before = _fingerprint(workflow)
                self._apply(workflow, choice)
                advance()
                if _fingerprint(workflow) == before:  # a message nobody here catches, say
                    return "stalled", Failure(element, f"{choice[0][0]} {element} had no effect", definite=False)
            return "dead_end", Failure(None, f"more than {MAX_WAITS} waits: a loop without an exit", definite=True)
        except _Runaway as runaway:
            loop = "a loop of automatic steps that never waits nor ends"
            return "dead_end", Failure(runaway.element, loop, definite=True)
        except (SpiffWorkflowException, limits.LimitExceeded, RecursionError) as err:
            name = _missing_name(err)
            suppliable = name is not None and self.vocabulary.suppliable(name)
            if name is not None and suppliable and self.supplied and name not in dict(plan.given):
                return "missing", name
            # certain when nothing was assumed, or when it reads what no value can be (a function, a module)
            certain = not plan.given or (name is not None and not suppliable)
            return "error", Failure(_element_of(err), _describe(err), definite=certain)
        except Exception as err:  # the engine's own failure on an odd model: nothing is proven by it
            return "error", Failure(_element_of(err), f"{type(err).__name__}: {err}", definite=False)

    def _choice_point(self, workflow: BpmnWorkflow) -> list[Any]:
        """The first thing that waits for the outside world, and what may happen instead of it: the events that
        wait beside it (a task's boundary events, an event-based gateway's events) and the boundary events of the
        sub-processes and call activities it runs in."""
        active = workflow.get_tasks(state=TaskState.READY | TaskState.WAITING)
        actionable = [t for t in active if _actionable(t)]
        if not actionable:
            return []
        first = actionable[0]
        outer = [activity.parent for activity in _enclosing(workflow, first)]

        def alternative(task: Any) -> bool:
            if task.parent is first.parent:
                return _is_event(task) or _is_event(first)
            return _is_event(task) and any(task.parent is parent for parent in outer)

        return [first] + [t for t in actionable[1:] if alternative(t)]

    def _options(self, task: Any) -> list[tuple[Any, Any]]:
        """(key, payload) of each way `task` may go on."""
        spec = task.task_spec
        if task.state == TaskState.WAITING:
            return [(("fire", spec.bpmn_id), task)]
        if isinstance(spec, ExternalServiceTask):
            return [(("complete", spec.bpmn_id), (task, {}))]
        fields = list(getattr(getattr(spec, "form", None), "fields", ()) or ())
        deciding = [f for f in fields if f.id in self.vocabulary.read]
        base = {f.id: self._field_values(f.id, f)[0] for f in fields if f not in deciding}
        forms = []
        for values in itertools.islice(itertools.product(*(self._field_values(f.id, f) for f in deciding)), MAX_FORMS):
            data = {**base, **dict(zip([f.id for f in deciding], values, strict=True))}
            forms.append((("form", spec.bpmn_id, repr(sorted(data.items()))), (task, data)))
        return forms or [(("form", spec.bpmn_id, "{}"), (task, {}))]

    def _variable_values(self, name: str) -> tuple[list[Any], bool]:
        """What to try for a variable read before anything set it: a form field's values, else the literals, else
        generic guesses (and whether they are)."""
        if name in self.fields:
            return self._field_values(name, self.fields[name]), False
        known = self.vocabulary.values(name)
        return (known, False) if known else (list(GENERIC), True)

    def _field_values(self, name: str, form_field: Any) -> list[Any]:
        """The candidate values of a form field (a task spec's or a `_Field`) named `name`."""
        literals = self.vocabulary.values(name)
        kind = form_field.type
        if kind == "boolean":
            return [True, False]
        if kind == "enum":
            return [getattr(option, "id", option) for option in form_field.options] or [None]
        if kind == "long":
            numbers = [v for v in literals if isinstance(v, int) and not isinstance(v, bool)]
            return numbers or [0, 1, 100_000, 10_000_000]
        if kind == "date":
            return [v for v in literals if isinstance(v, str) and v != OTHER_TEXT] or ["2026-01-15"]
        texts = [v for v in literals if isinstance(v, str)]
        return texts or [OTHER_TEXT]

    def _apply(self, workflow: BpmnWorkflow, choice: tuple[Any, Any]) -> None:
        """Make the choice: fire an event, or complete a task with data."""
        (kind, *_), payload = choice
        if kind == "fire":
            definition = payload.task_spec.event_definition
            if isinstance(definition, TimerEventDefinition):
                _make_due(payload)
                workflow.refresh_timers()
            else:
                workflow.send_event(BpmnEvent(type(definition)(definition.name), {"payload": {}, "result_var": "_m"}))
            return
        task, data = payload
        task.set_data(**data)
        task.run()

    def _stuck(self, workflow: BpmnWorkflow) -> Failure:
        """Where an execution stopped: what it waits at, or the last thing it did."""
        waiting = [t for t in workflow.get_tasks(state=TaskState.WAITING) if t.task_spec.bpmn_id]
        if waiting:
            ids = sorted({t.task_spec.bpmn_id for t in waiting})
            untriggerable = any(getattr(t.task_spec, "event_definition", None) is not None for t in waiting)
            return Failure(ids[0], f"waits at {', '.join(ids)}, which nothing here can move on", not untriggerable)
        done = [t for t in workflow.get_tasks(state=TaskState.COMPLETED) if t.task_spec.bpmn_id]
        last = max(done, key=lambda t: t.last_state_change).task_spec.bpmn_id if done else None
        return Failure(last, f"stops after {last or 'the start'} without reaching an end event", definite=True)

    def _record(self, workflow: BpmnWorkflow) -> None:
        for task in workflow.get_tasks():
            spec = task.task_spec
            if isinstance(spec, UserTask) and task.state in (TaskState.READY, TaskState.COMPLETED):
                self.report.tasks_reached.add(spec.bpmn_id)
            if task.state != TaskState.COMPLETED or spec.bpmn_id is None:
                continue
            for child in task.children:
                if child.task_spec.bpmn_id is None:  # SpiffWorkflow's own control tasks (boundary splits)
                    for grandchild in child.children:
                        self._take(spec.bpmn_id, grandchild)
                else:
                    self._take(spec.bpmn_id, child)

    def _take(self, source: str, child: Any) -> None:
        if child.state in (TaskState.READY, TaskState.COMPLETED, TaskState.STARTED, TaskState.WAITING):
            flow = self.flow_ids.get((source, child.task_spec.bpmn_id))
            if flow:
                self.report.flows_taken.add(flow)

    # --- every run -------------------------------------------------------------------------------------------

    def explore(self) -> SimulationReport:
        stack = [_Plan()]
        deadline = time.thread_time() + MAX_CPU_SECONDS
        while stack:
            if self.report.runs >= MAX_RUNS or time.thread_time() > deadline:
                self.report.truncated = True
                break
            plan = stack.pop()
            self.report.runs += 1
            status, detail = self.replay(plan)
            if status == "completed":
                self.report.completed_runs += 1
            elif status == "missing":
                values, guessed = self._variable_values(detail)
                given = [(*plan.given, (detail, value)) for value in reversed(values)]
                stack += [_Plan(g, plan.script, plan.guessed or guessed) for g in given]
            elif status == "choice":
                element, options = detail
                taken = [c for e, c in plan.script if e == element]
                if len(taken) >= self.max_visits:
                    options = [o for o in options if o not in taken][:1] or options[:1]
                stack += [_Plan(plan.given, (*plan.script, (element, o)), plan.guessed) for o in reversed(options)]
            elif status == "stalled" or (plan.guessed and not detail.definite):
                self.report.inconclusive.append(detail)  # what a guess or an untriggerable event made
            else:
                self.report.failures.append(detail)  # with values the conditions name, or nothing assumed
        return self.report


def _fingerprint(workflow: BpmnWorkflow) -> list[tuple[Any, Any]]:
    return [(task.id, task.state) for task in workflow.get_tasks()]


def _enclosing(workflow: BpmnWorkflow, task: Any) -> list[Any]:
    """The sub-process and call activity tasks `task` runs inside, innermost first."""
    found: list[Any] = []
    current = task
    while current.workflow.parent_task_id is not None and len(found) < 50:
        current = workflow.get_task_from_id(current.workflow.parent_task_id)
        if current is None:
            break
        found.append(current)
    return found


def _actionable(task: Any) -> bool:
    spec = task.task_spec
    if task.state == TaskState.READY:
        return isinstance(spec, UserTask | ExternalServiceTask)
    return task.state == TaskState.WAITING and _is_event(task)


def _is_event(task: Any) -> bool:
    definition = getattr(task.task_spec, "event_definition", None)
    return isinstance(definition, TimerEventDefinition | MessageEventDefinition)


def _can_be_given_variables(process: ParsedProcess) -> bool:
    """Whether anything may bring variables from outside: a start by a person or system (plain or message start
    event), a worker, a message, a call activity."""
    for spec in [process.spec, *process.subprocess_specs.values()]:
        for task_spec in spec.task_specs.values():
            definition = getattr(task_spec, "event_definition", None)
            started_from_outside = isinstance(definition, NoneEventDefinition | MessageEventDefinition)
            if isinstance(task_spec, StartEvent) and started_from_outside:
                return True
            if isinstance(task_spec, ExternalServiceTask | SubWorkflowTask) or isinstance(
                definition, MessageEventDefinition
            ):
                return True
    return False


def _causes(err: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    pending: list[BaseException | None] = [err]
    while pending:
        current = pending.pop()
        if current is None or any(current is f for f in found):
            continue
        found.append(current)
        pending += [current.__cause__, current.__context__]
    return found


def _missing_name(err: BaseException) -> str | None:
    """The variable whose absence made `err`: a NameError's, or a data input or output the task lacked."""
    for cause in _causes(err):
        if isinstance(cause, NameError) and cause.name:
            return str(cause.name)
        if isinstance(cause, WorkflowDataException) and "could not be read" not in str(cause):
            spec = cause.data_input if "input" in str(cause) else cause.data_output
            name = getattr(spec, "bpmn_id", None)
            if name:
                return str(name)
    return None


def _element_of(err: BaseException) -> str | None:
    task = getattr(err, "task", None)
    spec = getattr(task, "task_spec", None) or getattr(err, "task_spec", None)
    return getattr(spec, "bpmn_id", None)


def _describe(err: BaseException) -> str:
    notes = " ".join(getattr(err, "__notes__", ()) or ())
    reasons = [f"{type(c).__name__}: {c}" for c in _causes(err)[1:] if not isinstance(c, SpiffWorkflowException)]
    return " ".join(filter(None, [str(err), notes, *reasons[:1]]))[:500]


def _make_due(timer: Any) -> None:
    """Make a waiting timer due now, as the scheduler finds it (a cycle fires once: that is enough to explore where
    it leads)."""
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    if isinstance(timer.task_spec.event_definition, CycleTimerEventDefinition):
        value = timer.internal_data.get("event_value")
        cycle = value if isinstance(value, dict) else {"duration": 0}
        spiff_internals.set_timer_value(timer, {**cycle, "cycles": 1, "next": past})
    else:
        spiff_internals.set_timer_value(timer, past)


def simulate(process: ParsedProcess, root: etree._Element, max_visits: int = 2) -> SimulationReport:
    """Explore the choices of `process` (parsed from the document `root`) and report what they reach."""
    report = _Explorer(process, root, max_visits).explore()
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
