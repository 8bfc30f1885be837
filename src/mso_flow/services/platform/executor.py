"""The command executor: every instance-changing use case ported to it is an `InstanceChange` run by `execute`,
whose chain does, in this order and for every command (Camunda's command executor, issue 28 item 1):

1. authorize: the policy predicate the command declares (`services/policy.py`), before any transaction; then the
   command's own input checks (`check`: names of variables, nothing read);
2. transaction and row locks: `unit_of_work.instance_command` locks the instance and the command's own row;
3. the command's `run`: its checks on the locked rows, the engine step and its application (`InstanceCommand.run`
   / `apply`), which record the audit events and the outboxes in the same transaction;
4. write-back of the changed instance and task rows (`store.rows.write_back`), then the command's optional
   `result` (what it answers, read in the same transaction), then commit;
5. a process error (`defects.ProcessDefect`): the transaction rolled back, the incident is committed in a
   transaction of its own and its id added to the 422 (`incidents.record_defect`);
6. a row changed outside our locks, or a lock conflict: 409 `concurrent_change` (`concurrent_changes_conflict`);
7. the metric `mso_flow_instance_commands{command, outcome}` and one debug log line.

A use case builds its command and calls `execute`; none of the chain is written in a use case. A start has no
instance to lock yet and runs the engine before its one transaction (`unit_of_work.start_instance`): it runs
through `execute_start`, the chain's steps 5 to 7.

Ported: `task.complete`, `task.claim`, `task.unclaim`, `task.assign`, `task.delegate`, `task.resolve`,
`task.comment`, `instance.start`, `instance.cancel`, `instance.set_variables`, `instance.migrate`,
`message.start`, `message.correlate`, `external_task.complete`, `external_task.bpmn_error`,
`external_task.failure`, `external_task.extend_lock`, `document.attach`, `document.add_version`,
`document.withdraw`, `personal_data.erase`.

Apart (`tests/api/test_command_chain.py` lists them and fails on any other use case that opens an instance's
transaction, writes back or starts an instance by itself):
- the timer scheduler (`integrations/timers.py`): a failing timer is marked failed and its incident opened in the
  command's own transaction, so that it does not fire again next round (step 5 rolls back first);
- the leased timer start (`integrations/timer_starts.py`): `insert_started` inside the lease's transaction;
- `assignment.claim_all`: several instances locked in one transaction (`unit_of_work.task_commands`);
- `external_tasks.unlock` and `fetch_and_lock`: they neither lock nor change an instance.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy.orm import Session

from mso_flow.services.instances import incidents
from mso_flow.services.platform.context import Caller, Services
from mso_flow.services.platform.defects import ProcessDefect
from mso_flow.services.platform.failures import ServiceError
from mso_flow.services.platform.unit_of_work import InstanceCommand, instance_command
from mso_flow.store.models import ProcessInstance
from mso_flow.telemetry import metrics

log = logging.getLogger(__name__)

Row = TypeVar("Row")  # the row locked with the instance (a human task, an external task, or None)
Done = TypeVar("Done")  # what `run` did
Result = TypeVar("Result")  # what the command answers


@dataclass(frozen=True)
class InstanceChange(Generic[Row, Done, Result]):
    """One instance-changing use case as data: who, what it locks, the policy it declares, what it does."""

    name: str  # the command's name in metrics and logs, e.g. "task.complete"
    caller: Caller
    lock: Callable[[Session], tuple[ProcessInstance, Row] | None]
    missing: Callable[[], ServiceError]  # nothing to lock: 404
    run: Callable[[InstanceCommand, Row], Done]  # checks on the locked rows, the engine step, its application
    result: Callable[[InstanceCommand, Row, Done], Result] | None = None  # after write-back; default: `Done`
    authorize: Callable[[Caller], bool] | None = None  # the policy predicate the command declares
    forbidden: Callable[[], ServiceError] | None = None  # the refusal when `authorize` says no
    check: Callable[[], None] | None = None  # input checks before the transaction (raise a ServiceError)


def execute(services: Services, command: InstanceChange[Row, Done, Result]) -> Result:
    """Run `command` through the chain described in the module docstring; its result, or its `ServiceError`."""
    outcome = "ok"
    started = time.perf_counter() if log.isEnabledFor(logging.DEBUG) else 0.0
    try:
        if command.authorize is not None and not command.authorize(command.caller):
            assert command.forbidden is not None, f"{command.name} declares a policy without its refusal"
            raise command.forbidden()
        if command.check is not None:
            command.check()
        with instance_command(services, command.caller.username, command.lock, command.missing) as (change, row):
            done = command.run(change, row)
            if command.result is None:
                return done  # type: ignore[return-value]  # Result is Done when the command has no `result`
            change.write_back()
            return command.result(change, row, done)
    except ProcessDefect as defect:
        outcome = "process_error"
        incidents.record_defect(services, defect)
        raise
    except ServiceError:
        outcome = "refused"
        raise
    finally:
        _observed(command.name, outcome, started)


def execute_start(services: Services, name: str, start: Callable[[], Result]) -> Result:
    """Run a start (`unit_of_work.start_instance`: its own transaction, no instance to lock yet, the engine run
    before it opens) through the chain's steps 5 to 7: incident on a process error, metric, log line."""
    outcome = "ok"
    started = time.perf_counter() if log.isEnabledFor(logging.DEBUG) else 0.0
    try:
        return start()
    except ProcessDefect as defect:
        outcome = "process_error"
        incidents.record_defect(services, defect)
        raise
    except ServiceError:
        outcome = "refused"
        raise
    finally:
        _observed(name, outcome, started)


def _observed(name: str, outcome: str, started: float) -> None:
    metrics.COMMANDS.labels(name, outcome).inc()
    if started:
        log.debug("command %s %s in %.1f ms", name, outcome, (time.perf_counter() - started) * 1000)
