"""The one write path of a process instance: every use case that changes an instance goes through here.

An instance command runs in one write transaction:

1. `instance_command` (`task_commands` for several tasks at once) locks the instance row (`SELECT … FOR
   UPDATE`; its `lock_version` column catches a writer outside our locks) together with the row the command is
   about (a human task, an external task), and gets the instance's definition from the definitions repository
   through the same session;
2. the use case checks and changes its own rows (the task's assignee, the form) on the `InstanceCommand`;
3. `InstanceCommand.advance` checks the instance's state, runs one engine step on the definition's parsed spec,
   persists it (closes vanished task rows, inserts newly ready ones with their candidates and due dates, syncs
   timers, message waits and external tasks, writes the engine state, variables and end of the instance),
   records the events (audit chain, webhook and notification outboxes, `services/platform/events.py`) and returns an
   `Outcome`;
   `InstanceCommand.record` records events of a change that runs no engine step (a claim, a comment).

New instances go the same way without a lock: `start_instance` (one write transaction once the definition is
cached, engine run before it, duplicate business keys refused race-free, optionally the version checked to be
still the latest) and `insert_started` (an engine step already run, inside the caller's transaction: the timer
scheduler's write of a leased start).

Failures map to problems here and nowhere else:
- `on_process_error` is THE hook where a process failure (a condition or script that fails or breaks a limit,
  no flow to take: `engine.runtime.EngineError`) becomes a service error: `defects.ProcessDefect`, a Thai 422
  `process_error` naming the element; the transaction rolls back so nothing is written, and the command executor
  (`services/platform/executor.py`) then commits the incident in a transaction of its own.
- a task the engine no longer has ready → 409 (`task_not_ready`, or the code the use case passes);
- an instance not in a state the command allows → 409 `instance_not_running`;
- a row changed by a writer outside our row locks, or a lock conflict the database broke → 409
  `concurrent_change` (`concurrent_changes_conflict`).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from mso_flow.domain import InstanceState, TaskState
from mso_flow.engine.model import ProcessDef
from mso_flow.engine.parsing import ParsedProcess
from mso_flow.engine.runtime import EngineError, ProcessRuntime, Step, TaskNotReady
from mso_flow.services.instances import guards
from mso_flow.services.integrations import wakeups
from mso_flow.services.platform import events as events_service
from mso_flow.services.platform.context import Definition, Services
from mso_flow.services.platform.defects import engine_failure
from mso_flow.services.platform.failures import Conflict, ServiceError
from mso_flow.services.policy import candidate_roles
from mso_flow.services.privacy import personal_data
from mso_flow.services.tasks import candidates
from mso_flow.store import definitions as definitions_store
from mso_flow.store import external_tasks as external_store
from mso_flow.store import instances as instances_store
from mso_flow.store import tasks as tasks_store
from mso_flow.store import waits as waits_store
from mso_flow.store.audit import NewEvent
from mso_flow.store.db import is_lock_conflict
from mso_flow.store.models import HumanTask, ProcessInstance
from mso_flow.store.rows import write_back

EngineCall = Callable[[ProcessRuntime, ParsedProcess, str], Step]  # (runtime, spec, stored state) -> step
StartCall = Callable[[ProcessRuntime, ParsedProcess], Step]
RUNNING_ONLY = (InstanceState.RUNNING,)
T = TypeVar("T")


def on_process_error(
    instance: ProcessInstance | None, definition: Definition, err: EngineError, actor: str
) -> ServiceError:
    """THE hook where a process failure becomes a service error (see the module docstring): a Thai 422
    `process_error` saying the process has a defect (`defects.ProcessDefect`), which the command executor commits
    as an incident once the command's transaction has rolled back.

    `instance` is the locked instance (None while starting one), `definition` its version, `actor` who ran it.
    """
    return engine_failure(err, instance, definition, actor)


@dataclass
class Outcome:
    """What an instance command did: the instance as now stored and its open tasks after the step."""

    instance: ProcessInstance
    definition: Definition
    open_tasks: list[HumanTask] = field(default_factory=list)


@contextlib.contextmanager
def concurrent_changes_conflict() -> Iterator[None]:
    """A writer outside our row locks, or a deadlock the database broke, becomes a 409 to retry."""
    try:
        yield
    except (StaleDataError, OperationalError) as err:
        if isinstance(err, OperationalError) and not is_lock_conflict(err):
            raise
        raise Conflict(
            "concurrent_change", "งานนี้ถูกเปลี่ยนพร้อมกันจากที่อื่น โปรดลองใหม่ (changed concurrently; retry)"
        ) from None


def not_running(instance: ProcessInstance) -> Conflict:
    return Conflict("instance_not_running", f"กระบวนการอยู่ในสถานะ {instance.state} (instance not running)")


class InstanceCommand:
    """One change of one locked instance, inside its write transaction."""

    def __init__(self, services: Services, session: Session, instance: ProcessInstance, actor: str, now: datetime):
        self.services = services
        self.session = session
        self.instance = instance
        self.actor = actor
        self.now = now
        self.definition = services.definitions.definition(session, instance.definition_id)

    def process(self, definition: Definition | None = None) -> ParsedProcess:
        """The parsed spec of the instance's definition (or of `definition`), through this transaction."""
        return self.services.definitions.process(self.session, (definition or self.definition).id)

    def state(self) -> str:
        """The instance's engine state in plain text (opened if sealed: `services/privacy/personal_data.py`)."""
        return personal_data.open_state(self.services, self.session, self.instance)

    def variables(self) -> dict[str, Any]:
        """The instance's variables in plain text, for the service's own checks (never shown as such)."""
        return personal_data.open_variables(self.services, self.session, self.instance)

    def require_state(self, allowed: Sequence[str] = RUNNING_ONLY) -> None:
        if self.instance.state not in allowed:
            raise not_running(self.instance)

    def advance(
        self,
        call: EngineCall,
        events: Sequence[NewEvent] = (),
        *,
        after: Sequence[NewEvent] = (),
        closed_task: str | None = None,
        allowed: Sequence[str] = RUNNING_ONLY,
        not_ready: Callable[[], ServiceError] | None = None,
    ) -> Outcome:
        """Run one engine step and apply it: `run`, then `apply`."""
        return self.apply(self.run(call, allowed, not_ready), events, after=after, closed_task=closed_task)

    def run(
        self,
        call: EngineCall,
        allowed: Sequence[str] = RUNNING_ONLY,
        not_ready: Callable[[], ServiceError] | None = None,
    ) -> Step:
        """Check the instance's state and run one engine step on its stored state (nothing written yet).

        `not_ready` is the error when the engine has no such ready task (default 409 `task_not_ready`).
        """
        self.require_state(allowed)
        try:
            return call(self.services.runtime, self.process(), self.state())
        except EngineError as err:
            raise on_process_error(self.instance, self.definition, err, self.actor) from None
        except TaskNotReady:
            raise (not_ready or _task_not_ready)() from None

    def apply(
        self,
        step: Step,
        events: Sequence[NewEvent] = (),
        *,
        after: Sequence[NewEvent] = (),
        closed_task: str | None = None,
        target: Definition | None = None,
    ) -> Outcome:
        """Persist an engine step and record `events` (before the step's own) and `after` (after them, e.g. the
        cancellation). `closed_task` is the human task the command closed itself; `target` the definition the
        instance moved to (migration)."""
        return _persist(
            self.services,
            self.session,
            self.instance,
            target or self.definition,
            step,
            self.actor,
            self.now,
            [*events],
            [*after],
            closed_task,
        )

    def write_back(self) -> None:
        """Write the changed instance and task rows now (the executor does, before a command's `result` reads);
        the transaction's end writes whatever changed since."""
        write_back(self.session)

    def record(self, events: Sequence[NewEvent]) -> None:
        """Record the events of a change that runs no engine step (claim, assignment, comment, failure)."""
        if events:
            events_service.record(self.services, self.session, self.instance, list(events), self.now)


def _task_not_ready() -> Conflict:
    return Conflict("task_not_ready", "งานนี้ไม่อยู่ในสถานะพร้อมทำในกระบวนการ (task is not ready in the engine)")


def lock_instance(instance_id: str) -> Callable[[Session], tuple[ProcessInstance, None] | None]:
    """Lock an instance by id."""

    def lock(session: Session) -> tuple[ProcessInstance, None] | None:
        instance = instances_store.lock(session, instance_id)
        return (instance, None) if instance is not None else None

    return lock


def lock_task(task_id: str) -> Callable[[Session], tuple[ProcessInstance, HumanTask] | None]:
    """Lock a human task and its instance (one statement)."""
    return lambda session: instances_store.lock_with_task(session, task_id)


@contextlib.contextmanager
def instance_command(
    services: Services,
    actor: str,
    lock: Callable[[Session], tuple[ProcessInstance, T] | None],
    missing: Callable[[], ServiceError],
) -> Iterator[tuple[InstanceCommand, T]]:
    """Open a write transaction, lock the instance (and the row `lock` locks with it, e.g. its task) and yield
    the command and that row; `missing()` is raised when there is none. Commits when the block ends."""
    with concurrent_changes_conflict(), services.db.write() as session:
        found = lock(session)
        if found is None:
            raise missing()
        instance, row = found
        yield InstanceCommand(services, session, instance, actor, services.clock()), row
        write_back(session)


@contextlib.contextmanager
def task_commands(
    services: Services, actor: str, task_ids: list[str]
) -> Iterator[dict[str, tuple[InstanceCommand, HumanTask]]]:
    """Lock several human tasks and their instances in one write transaction (instances first, then tasks, each
    in id order, so two bulk commands never deadlock); yield task id -> (its instance's command, the task) for
    the tasks that exist. Commits when the block ends."""
    with concurrent_changes_conflict(), services.db.write() as session:
        locked = instances_store.lock_many(session, sorted(set(task_ids)))
        now = services.clock()
        commands: dict[str, InstanceCommand] = {}
        found: dict[str, tuple[InstanceCommand, HumanTask]] = {}
        for task_id, (instance, task) in locked.items():
            if instance.id not in commands:
                commands[instance.id] = InstanceCommand(services, session, instance, actor, now)
            found[task_id] = (commands[instance.id], task)
        yield found
        write_back(session)


class NotLatest(Exception):
    """The version a start ran on is no longer its key's latest (a newer one was deployed meanwhile)."""


def start_instance(
    services: Services,
    definition_id: str,
    business_key: str | None,
    actor: str,
    run: StartCall,
    started: dict[str, Any],
    manual: bool = False,
    *,
    latest_of: str | None = None,
) -> Outcome:
    """Start an instance of a definition version: the engine runs before the write transaction opens (a
    database writer is never held up by it); a running instance with the same business key makes it a 409
    naming that instance (race-free: a unique index backs the check). `manual`: a person's or system's `/start`,
    refused (409) for a process that starts only by message or timer. With `latest_of` (a key), the version must
    still be that key's latest when the write transaction runs, else `NotLatest` (nothing written).

    A cached definition and spec cost no transaction: the write transaction is then the only one."""
    definition, process = _definition_and_spec(services, definition_id)
    if manual:
        guards.require_manual_start(process)
    step = _first_step(services, definition, process, run, actor)
    try:
        with services.db.write() as session:
            if latest_of is not None and definitions_store.latest_id(session, latest_of) != definition_id:
                raise NotLatest(latest_of)
            if business_key:
                _refuse_duplicate(instances_store.active_by_business_key(session, definition.key, business_key))
            return insert_started(services, session, definition, business_key, step, actor, started)
    except IntegrityError:
        if business_key:
            with services.db.read() as session:
                _refuse_duplicate(instances_store.active_by_business_key(session, definition.key, business_key))
        raise Conflict(
            "concurrent_start", "มีการเริ่มกระบวนการพร้อมกันจากที่อื่น โปรดลองใหม่ (a concurrent start won; retry)"
        ) from None


def _definition_and_spec(services: Services, definition_id: str) -> tuple[Definition, ParsedProcess]:
    with services.db.read() as session:  # no statement, so no transaction, when both are cached
        return services.definitions.definition(session, definition_id), services.definitions.process(
            session, definition_id
        )


def _first_step(services: Services, definition: Definition, process: ParsedProcess, run: StartCall, actor: str) -> Step:
    try:
        return run(services.runtime, process)
    except EngineError as err:
        raise on_process_error(None, definition, err, actor) from None


def _refuse_duplicate(existing: ProcessInstance | None) -> None:
    if existing is not None:
        raise Conflict(
            "duplicate_business_key",
            f"มีกระบวนการที่ใช้เลขอ้างอิง {existing.business_key} กำลังดำเนินการอยู่ "
            "(an instance with this business key is running)",
            instance_id=existing.id,
        )


def insert_started(
    services: Services,
    session: Session,
    definition: Definition,
    business_key: str | None,
    step: Step,
    actor: str,
    started: dict[str, Any],
) -> Outcome:
    now = services.clock()
    instance = ProcessInstance(
        id=str(uuid.uuid4()),
        definition_id=definition.id,
        definition_key=definition.key,
        definition_version=definition.version,
        business_key=business_key,
        state=InstanceState.RUNNING,
        started_at=now,
        started_by=actor,
        audit_seq=0,
        audit_head="",
    )
    model = definition.model
    if model.confidential:  # sealed before the row is first written; its key's row follows it (foreign key)
        sealer, store_key = personal_data.fresh_cipher(services, session, instance.id)
        instance.engine_state = sealer.seal_state(step.state)
        instance.variables = personal_data.seal_variables(sealer, model, step.variables)
        instances_store.add(session, instance)
        store_key()
    else:
        instance.engine_state, instance.variables = step.state, step.variables
        instances_store.add(session, instance)
    event = NewEvent("instance_started", actor, data=started)
    return _persist(services, session, instance, definition, step, actor, now, [event], [], None, stored=True)


def _persist(
    services: Services,
    session: Session,
    instance: ProcessInstance,
    definition: Definition,
    step: Step,
    actor: str,
    now: datetime,
    events: list[NewEvent],
    after: list[NewEvent],
    closed_task: str | None,
    stored: bool = False,
) -> Outcome:
    """Write an engine step of a locked (or new) instance and record its events (`stored`: the step's state and
    variables are already on the instance, as a new instance's are).

    Task rows follow the engine: user tasks that were ready before the step and are no longer (other than
    `closed_task`, which the command closed itself) are cancelled, newly ready ones are created.
    """
    model = definition.model
    ready = {r.id for r in step.ready_tasks}
    before = {r.id for r in step.was_ready}
    vanished = [r for r in step.was_ready if r.id not in ready and r.id != closed_task]
    tasks_store.cancel(session, [r.id for r in vanished], now, actor)
    events = events + [NewEvent("task_cancelled", actor, r.id, r.element_id) for r in vanished]
    still_open = tasks_store.by_ids(session, [r.id for r in step.ready_tasks if r.id in before])
    created: list[HumanTask] = []
    for item in step.ready_tasks:
        if item.id in before:
            continue
        task_def = model.user_task(item.element_id)
        due_at = services.calendar.due_for(task_def, now, instance.started_at)
        roles = candidate_roles(model, task_def, item.lane)
        assignee = candidates.initial_assignee(task_def, step.variables)
        if assignee:
            roles = list(dict.fromkeys([*roles, candidates.personal_role(assignee)]))
        created.append(
            HumanTask(
                id=item.id,
                instance_id=instance.id,
                definition_id=definition.id,
                definition_key=definition.key,
                element_id=item.element_id,
                name=item.name,
                lane=item.lane,
                candidate_roles=roles,
                assignee=assignee,
                claimed_at=now if assignee else None,
                state=TaskState.OPEN,
                version=1,
                created_at=now,
                due_at=due_at,
            )
        )
        data = {"name": item.name, "lane": item.lane, "due_at": due_at.isoformat() if due_at else None}
        events.append(NewEvent("task_created", actor, item.id, item.element_id, data))
    tasks_store.add_many(session, created)
    events += _sync_waits(services.definitions.process(session, definition.id), session, instance, step, now)
    if not stored:
        _store_step(services, session, instance, model, step)
    if step.completed and instance.state == InstanceState.RUNNING:
        instance.state = InstanceState.COMPLETED
        instance.ended_at = now
        instance.ended_by = actor
        events.append(NewEvent("instance_completed", actor))
    events_service.record(services, session, instance, events + after, now, created)
    return Outcome(instance, definition, still_open + created)


def _store_step(services: Services, session: Session, instance: ProcessInstance, model: ProcessDef, step: Step) -> None:
    """Set the instance's engine state and variables from the step, protected values sealed."""
    sealer = personal_data.cipher(services, session, instance, model)
    instance.engine_state = sealer.seal_state(step.state) if sealer else step.state
    instance.variables = personal_data.seal_variables(sealer, model, step.variables, instance.variables)


def _sync_waits(
    process: ParsedProcess, session: Session, instance: ProcessInstance, step: Step, now: datetime
) -> list[NewEvent]:
    """Store what the instance now waits for: timers for the scheduler, messages, external tasks for workers
    (only the kinds its process has, so a process of user tasks alone costs no query here)."""
    kinds = process.waits_for
    events: list[NewEvent] = []
    if "timer" in kinds:
        timers = [(t.task_id, t.element_id, t.due_at) for t in step.timers if t.due_at]
        waits_store.sync_timers(session, instance, timers, now)
    if "message" in kinds:
        waits_store.sync_messages(session, instance, step.waiting_messages)
    if "external" in kinds:
        ready = {t.task_id: t for t in step.external_tasks}
        rows = [(t.task_id, t.element_id, t.topic) for t in step.external_tasks]
        new_ids = external_store.sync(session, instance, rows, now)
        wakeups.created(session, {ready[task_id].topic for task_id in new_ids})
        for task_id in new_ids:
            new = ready[task_id]
            events.append(NewEvent("external_task_created", "engine", task_id, new.element_id, {"topic": new.topic}))
    return events
