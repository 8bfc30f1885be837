"""Run process instances with SpiffWorkflow: start, complete a user task, fire timers, cancel.

Every call restores the workflow from its stored state and the cached spec of its definition version, changes
it in memory and returns a `Step`: the new state and what the service must write (ready user tasks, waiting
timers, variables, whether the instance ended). Nothing is written here, so a failing expression leaves the
stored instance exactly as it was.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.exceptions import SpiffWorkflowException, WorkflowException
from SpiffWorkflow.util.task import TaskState

from mso_flow.engine import budgets as limits
from mso_flow.engine import process_errors as errors
from mso_flow.engine import spiff_internals
from mso_flow.engine.dialect import SPEC_CONVERTERS
from mso_flow.engine.external import ExternalServiceTask
from mso_flow.engine.parsing import ParsedProcess
from mso_flow.engine.sandbox import create_script_engine


class EngineError(Exception):
    """An engine failure caused by the process or its data (a failing condition, a script error, a limit).

    `kind` is one of `errors.KINDS`; `names` are the variables the failing expression or script reads; `values`
    the failing task's data when it failed (in memory only: what the message may quote, to scrub it)."""

    def __init__(
        self,
        message: str,
        element_id: str | None = None,
        element_name: str | None = None,
        kind: str = "expression",
        names: tuple[str, ...] = (),
        values: dict[str, Any] | None = None,
    ):
        super().__init__(message)
        self.element_id = element_id
        self.element_name = element_name
        self.kind = kind
        self.names = names
        self.values = values or {}


class MigrationImpossible(Exception):
    """Elements an instance has run or waits in are missing from the target version."""

    def __init__(self, element_ids: list[str]):
        super().__init__(", ".join(element_ids))
        self.element_ids = element_ids


class TaskNotReady(Exception):
    """The task is not a ready user task of this instance."""


@dataclass(frozen=True)
class ReadyTask:
    id: str
    element_id: str
    name: str
    lane: str | None


@dataclass(frozen=True)
class WaitingTimer:
    task_id: str
    element_id: str
    due_at: datetime | None


@dataclass(frozen=True)
class ReadyExternal:
    task_id: str
    element_id: str
    topic: str


@dataclass
class Step:
    """The outcome of one engine call, for the service to persist."""

    state: str
    completed: bool
    ready_tasks: list[ReadyTask]
    timers: list[WaitingTimer]
    variables: dict[str, Any]
    waiting_messages: list[str] = field(default_factory=list)
    external_tasks: list[ReadyExternal] = field(default_factory=list)
    was_ready: list[ReadyTask] = field(default_factory=list)  # ready user tasks before this call


class _SpeclessWorkflowConverter(BpmnWorkflowConverter):
    """Serialises a workflow without its spec; the spec is re-attached from the cache on load."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any], spec: Any = None, subprocess_specs: Any = None) -> BpmnWorkflow:
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _serializer() -> BpmnWorkflowSerializer:
    config = dict(CAMUNDA_CONFIG)
    config[BpmnWorkflow] = _SpeclessWorkflowConverter
    config.update(SPEC_CONVERTERS)
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))


def _element(task: Any) -> tuple[str | None, str | None]:
    spec = getattr(task, "task_spec", None)
    return getattr(spec, "bpmn_id", None), getattr(spec, "bpmn_name", None)


def _data(task: Any) -> dict[str, Any]:
    data = getattr(task, "data", None)
    return dict(data) if isinstance(data, dict) else {}


def _engine_error(err: SpiffWorkflowException) -> EngineError:
    task = getattr(err, "task", None)
    element_id, element_name = _element(task)
    if element_id is None and getattr(err, "task_spec", None) is not None:
        element_id = getattr(err.task_spec, "bpmn_id", None)
        element_name = getattr(err.task_spec, "bpmn_name", None)
    cause = getattr(err, "exception", None) or err.__context__
    while isinstance(cause, SpiffWorkflowException):  # a task's error wrapping its expression's error
        cause = getattr(cause, "exception", None) or cause.__context__
    detail = f"{err}" + (f": {type(cause).__name__}: {cause}" if cause is not None else "")
    spec = getattr(task, "task_spec", None) or getattr(err, "task_spec", None)
    kind, names = errors.classify(err, cause, spec)
    return EngineError(detail, element_id, element_name, kind, names, _data(task))


@contextlib.contextmanager
def _engine_errors(workflow: BpmnWorkflow | None = None) -> Iterator[None]:
    """Every failure of engine code running a process becomes an `EngineError`: a BPMN file nobody here wrote
    can make SpiffWorkflow raise anything (a multi-instance over a missing collection, a call activity that
    calls itself), and each must reach the caller as a process error, never as a 500."""
    try:
        with limits.engine_command():
            yield
    except SpiffWorkflowException as err:
        raise _engine_error(err) from None
    except Exception as err:
        if type(err) is LookupError or isinstance(err, TaskNotReady | MigrationImpossible | EngineError):
            raise  # our own answers: no such message wait, task not ready, migration impossible
        last = workflow.last_task if workflow is not None else None
        element_id, element_name = _element(last)
        raise EngineError(
            f"{type(err).__name__}: {err}", element_id, element_name, errors.kind_of(err), values=_data(last)
        ) from None


def _check_end(workflow: BpmnWorkflow) -> bool:
    """Whether the workflow is completed; a completion without an end event reached is a `LimitExceeded`."""
    if not workflow.is_completed():
        return False
    if any(isinstance(t.task_spec, EndEvent) and t.state == TaskState.COMPLETED for t in workflow.tasks.values()):
        return True
    raise limits.LimitExceeded(
        "กระบวนการหยุดโดยไม่ถึงเหตุการณ์สิ้นสุด (the process stopped without reaching an end event: the engine "
        "follows one path at most 1000 steps deep)"
    )


class ProcessRuntime:
    """Stateless engine operations over stored instance state and a parsed spec; holds only the serializers.

    Each thread has a serializer of its own: `dump` switches its registry into encoder mode for the length of
    the call, which a serializer shared by the threads of a worker would switch under another thread's dump
    or migration's diff (a lock around `dump` would not cover the diff; either costs nothing measurable per
    dump: bench/results-serializer-threads.txt)."""

    def __init__(self) -> None:
        self._local = threading.local()

    @property
    def _serializer(self) -> BpmnWorkflowSerializer:
        serializer: BpmnWorkflowSerializer | None = getattr(self._local, "serializer", None)
        if serializer is None:
            serializer = self._local.serializer = _serializer()
        return serializer

    def start(self, process: ParsedProcess, variables: dict[str, Any]) -> Step:
        """Create an instance with `variables` and run it to its first wait state."""
        workflow = BpmnWorkflow(process.spec, process.subprocess_specs, script_engine=create_script_engine())
        workflow.get_tasks(state=TaskState.READY)[0].data.update(variables)
        return self._advance(workflow)

    @staticmethod
    def start_events(process: ParsedProcess) -> set[str]:
        """How the process starts: "none" (by a person or a call), "message", "timer", "signal"…"""
        return errors.start_kinds(process.spec)

    def start_by_message(self, process: ParsedProcess, message: str, payload: dict[str, Any]) -> Step:
        """Create an instance through its message start event `message` carrying `payload`."""
        workflow = BpmnWorkflow(process.spec, process.subprocess_specs, script_engine=create_script_engine())
        with _engine_errors(workflow):
            workflow.do_engine_steps(will_complete_task=limits.engine_step)
            self._send(workflow, message, payload)
        return self._advance(workflow)

    def start_by_timer(self, process: ParsedProcess, element_id: str) -> Step:
        """Create an instance through its timer start event `element_id`, which the scheduler found due."""
        workflow = BpmnWorkflow(process.spec, process.subprocess_specs, script_engine=create_script_engine())
        past = (utcnow() - timedelta(seconds=1)).isoformat()
        # Before the engine evaluates the timer: a cycle (or a date) in the past would otherwise fire every missed
        # repetition at once. Each firing is one instance: the scheduler starts a new instance for the next.
        for task in workflow.get_tasks():
            if task.task_spec.bpmn_id == element_id:
                cycle = isinstance(task.task_spec.event_definition, CycleTimerEventDefinition)
                spiff_internals.set_timer_value(task, {"cycles": 1, "next": past, "duration": 0} if cycle else past)
        workflow.refresh_timers()
        return self._advance(workflow)

    def complete(
        self, process: ParsedProcess, state: str, task_id: str, data: dict[str, Any], external: bool = False
    ) -> Step:
        """Complete the ready user task (or, with `external`, external service task) `task_id` with `data` and
        run to the next wait state."""
        workflow = self.load(process, state)
        before = _ready(workflow)
        task = workflow.get_task_from_id(UUID(task_id))
        kind = ExternalServiceTask if external else UserTask
        if task is None or task.state != TaskState.READY or not isinstance(task.task_spec, kind):
            raise TaskNotReady(task_id)
        task.set_data(**data)
        with _engine_errors(workflow):
            task.run()
        return self._advance(workflow, before)

    def fire_timers(self, process: ParsedProcess, state: str) -> Step:
        """Fire every timer of the instance that is due and run to the next wait state."""
        workflow = self.load(process, state)
        before = _ready(workflow)
        with _engine_errors(workflow):
            workflow.refresh_timers()
            workflow.do_engine_steps(will_complete_task=limits.engine_step)  # runs what the fired timers made ready
        return self._advance(workflow, before)

    def send_message(self, process: ParsedProcess, state: str, message: str, payload: dict[str, Any]) -> Step:
        """Deliver `message` to a waiting catch event or receive task of the instance."""
        workflow = self.load(process, state)
        before = _ready(workflow)
        with _engine_errors(workflow):
            self._send(workflow, message, payload)
        return self._advance(workflow, before)

    def cancel(self, process: ParsedProcess, state: str) -> Step:
        """Cancel every unfinished task of the instance."""
        workflow = self.load(process, state)
        before = _ready(workflow)
        workflow.cancel()
        return self._describe(workflow, completed=False, before=before)

    def migrate(self, old: ParsedProcess, new: ParsedProcess, state: str) -> Step:
        """Move an instance onto another version of its process. Every task that ran or is waiting must exist
        in `new` (matched by element id), else `MigrationImpossible` names the missing elements."""
        workflow = self.load(old, state)
        before = _ready(workflow)
        diff, _ = diff_workflow(self._serializer.registry, workflow, new.spec, new.subprocess_specs)
        missing = [t.task_spec for t in diff.removed if not _predicted(t)]
        if missing:  # report BPMN elements, not the engine's helper specs (`X.BoundaryEventSplit`)
            named = sorted({spec.bpmn_id for spec in missing if spec.bpmn_id})
            raise MigrationImpossible(named or sorted({spec.name for spec in missing}))
        migrate_workflow(diff, workflow, new.spec)
        workflow.subprocess_specs = new.subprocess_specs
        step = self._advance(workflow, before)
        self.load(new, step.state)  # the migrated state must load against the new version alone
        return step

    def throw_error(
        self, process: ParsedProcess, state: str, task_id: str, code: str, variables: dict[str, Any]
    ) -> Step:
        """A BPMN error `code` reported for the ready external task `task_id`: the error boundary event attached
        to it that catches `code` (or any code) fires with `variables`; LookupError when none does."""
        workflow = self.load(process, state)
        before = _ready(workflow)
        task = workflow.get_task_from_id(UUID(task_id))
        if task is None or task.state != TaskState.READY or not isinstance(task.task_spec, ExternalServiceTask):
            raise TaskNotReady(task_id)
        catching = [
            sibling
            for sibling in (task.parent.children if task.parent is not None else [])
            if sibling is not task
            and sibling.state == TaskState.WAITING
            and isinstance(getattr(sibling.task_spec, "event_definition", None), ErrorEventDefinition)
            and sibling.task_spec.event_definition.code in (None, "", code)
        ]
        if not catching:
            raise LookupError(code)
        boundary = catching[0]
        event = BpmnEvent(boundary.task_spec.event_definition, payload=dict(variables))
        boundary.task_spec.catch(boundary, event)
        spiff_internals.update_after_catch(boundary)
        return self._advance(workflow, before)

    def set_variables(self, process: ParsedProcess, state: str, variables: dict[str, Any]) -> Step:
        """Set process variables on a waiting instance: the data its active tasks carry on from."""
        workflow = self.load(process, state)
        before = _ready(workflow)
        active = workflow.get_tasks(state=TaskState.READY | TaskState.WAITING)
        for task in active or [workflow.last_task]:
            if task is not None:
                task.data.update(variables)
        return self._describe(workflow, completed=workflow.is_completed(), before=before)

    def load(self, process: ParsedProcess, state: str) -> BpmnWorkflow:
        dct = json.loads(state)
        self._serializer.migrate(dct)
        workflow = self._serializer.from_dict(dct, spec=process.spec, subprocess_specs=process.subprocess_specs)
        workflow.script_engine = create_script_engine()
        return workflow

    def dump(self, workflow: BpmnWorkflow) -> str:
        """Compact JSON of the workflow without its spec; Thai stays UTF-8 instead of \\u escapes."""
        return spiff_internals.dump_compact(self._serializer, workflow)

    def _send(self, workflow: BpmnWorkflow, message: str, payload: dict[str, Any]) -> None:
        """Deliver a message: its variables become data of the catching tasks, so they flow on from there."""
        waiting = workflow.get_tasks(state=TaskState.WAITING)
        catching = [
            t for t in _catching(waiting, MessageEventDefinition) if t.task_spec.event_definition.name == message
        ]
        if not catching:
            raise LookupError(f"the instance is not waiting for message {message!r}")
        for task in catching:
            task.data.update(payload)
        definition = type(catching[0].task_spec.event_definition)(message)
        event = BpmnEvent(definition, {"payload": payload, "result_var": "_message"})
        try:
            workflow.send_event(event)
        except WorkflowException as err:
            raise LookupError(str(err)) from None

    def _advance(self, workflow: BpmnWorkflow, before: list[ReadyTask] | None = None) -> Step:
        with _engine_errors(workflow):
            # ends by refreshing timers, so a timer already due is WAITING no longer
            workflow.do_engine_steps(will_complete_task=limits.engine_step)
            step = self._describe(workflow, completed=_check_end(workflow), before=before)
            errors.check_variables(step.variables)
        return step

    def _describe(self, workflow: BpmnWorkflow, completed: bool, before: list[ReadyTask] | None = None) -> Step:
        active = _in_state(workflow, TaskState.READY | TaskState.WAITING)
        ready = [t for t in active if t.state == TaskState.READY and isinstance(t.task_spec, UserTask)]
        waiting = [t for t in active if t.state == TaskState.WAITING]
        return Step(
            state=self.dump(workflow),
            completed=completed,
            ready_tasks=[_ready_task(t) for t in ready],
            timers=_timers(waiting),
            variables=_variables(workflow, ready + waiting),
            waiting_messages=sorted(
                {t.task_spec.event_definition.name for t in _catching(waiting, MessageEventDefinition)}
            ),
            external_tasks=[
                ReadyExternal(str(t.id), t.task_spec.bpmn_id, t.task_spec.topic)
                for t in active
                if t.state == TaskState.READY and isinstance(t.task_spec, ExternalServiceTask)
            ],
            was_ready=before or [],
        )


def _predicted(task: Any) -> bool:
    return bool(task.state & TaskState.PREDICTED_MASK)


def _ready_task(task: Any) -> ReadyTask:
    spec = task.task_spec
    return ReadyTask(str(task.id), spec.bpmn_id, spec.bpmn_name or spec.bpmn_id, spec.lane)


def _ready(workflow: BpmnWorkflow) -> list[ReadyTask]:
    return [_ready_task(t) for t in _in_state(workflow, TaskState.READY) if isinstance(t.task_spec, UserTask)]


def _in_state(workflow: BpmnWorkflow, state: int) -> list[Any]:
    """The workflow's tasks in one of `state`'s states, in the order of the task tree (as `get_tasks` gives them).

    A workflow without subprocesses holds all its tasks in `workflow.tasks`: scanning that mapping costs about a
    tenth of `get_tasks`' walk of the tree (issue 31), and one task found at most (a wait at one user task) needs
    no order. Several found, or subprocesses (their tasks are in mappings of their own), and the walk answers."""
    if not workflow.subprocesses:
        found = [task for task in workflow.tasks.values() if task.state & state]
        if len(found) <= 1:
            return found
    return workflow.get_tasks(state=state)


def _catching(waiting: list[Any], kind: type) -> list[Any]:
    return [t for t in waiting if isinstance(getattr(t.task_spec, "event_definition", None), kind)]


def _timers(waiting: list[Any]) -> list[WaitingTimer]:
    timers = []
    for task in _catching(waiting, TimerEventDefinition):
        due = task.task_spec.event_definition.details(task).value
        due_at = None
        if isinstance(due, str):
            try:
                due_at = TimerEventDefinition.get_datetime(due)
            except ValueError:
                due_at = None
        timers.append(WaitingTimer(str(task.id), task.task_spec.bpmn_id, due_at))
    return timers


def _variables(workflow: BpmnWorkflow, active: list[Any]) -> dict[str, Any]:
    """The instance's variables: the workflow's data, then the data of its last and active tasks."""
    variables = dict(workflow.data)
    variables.pop("data_objects", None)
    if workflow.last_task is not None:
        variables.update(workflow.last_task.data)
    for task in active:
        variables.update(task.data)
    return {k: v for k, v in variables.items() if not k.startswith("_")}


def utcnow() -> datetime:
    return datetime.now(UTC)
