"""Rules on what a command may ask of a process, checked before the engine runs.

- `require_manual_start`: `/start` only for a process with a plain start event; one that starts by a message or
  a timer is refused with a problem naming how it starts (else it would run with no task and no wait, stuck).
- `require_owned_fields`: a user task writes only the fields its form declares, or the outputs the designer
  declares on it (`camunda:properties` `outputs`, comma-separated); a task with neither writes nothing.
- `SHADOWING` (checked by `forms.check_names`): a variable may not shadow a built-in or a name the engine gives
  expressions (`len`, `sum`, `task`…), or every condition using that name would read the variable instead.
- `too_frequent_timers`: a timer cycle shorter than the minimum interval is refused at deployment (`R/PT0S`
  would fire without end).
- `changed_names`: which variable names a completion changed, for the audit (names, not values).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from mso_flow.engine import schedule
from mso_flow.engine.model import Problem, ProcessDef
from mso_flow.engine.parsing import ParsedProcess, timer_cycles
from mso_flow.engine.process_errors import SHADOWING
from mso_flow.engine.runtime import ProcessRuntime
from mso_flow.services.platform.failures import Conflict, Invalid

__all__ = ["SHADOWING", "changed_names", "require_manual_start", "require_owned_fields", "too_frequent_timers"]
HOW_IT_STARTS = {"message": "เริ่มเมื่อได้รับข้อความ (message)", "timer": "เริ่มตามเวลาที่กำหนด (timer)"}


def require_manual_start(process: ParsedProcess) -> None:
    """409 `not_manually_startable` unless a person or system may start the process with `/start`."""
    kinds = ProcessRuntime.start_events(process)
    if "none" in kinds or not kinds:
        return
    how = ", ".join(HOW_IT_STARTS.get(k, k) for k in sorted(kinds))
    raise Conflict(
        "not_manually_startable",
        f"กระบวนการนี้เริ่มด้วยการเรียก /start ไม่ได้ {how}; ใช้ POST /api/v1/messages สำหรับข้อความ "
        f"(this process starts only by {' or '.join(sorted(kinds))}; send its message instead)",
        starts_by=sorted(kinds),
        messages=list(process.definition.start_messages),
    )


def outputs_of(model: ProcessDef, element_id: str) -> tuple[str, ...]:
    """The variables a user task may write: its form's fields, else its declared `outputs`."""
    task = model.user_task(element_id)
    if task is None:
        return ()
    return tuple(f.id for f in task.form) or task.outputs


def require_owned_fields(model: ProcessDef, element_id: str, variables: dict[str, Any]) -> None:
    """422 naming the submitted variables this task does not own.

    One exception keeps Camunda 7 models working unchanged: a Camunda-style task (no lane; worked by its
    `candidateGroups`, `candidateUsers` or `assignee`) that declares neither a form nor `outputs` writes what its
    worker sends, as in Camunda. Its designer narrows it by declaring either (README, "Moving from Camunda 7")."""
    task = model.user_task(element_id)
    if task is not None and task.lane is None and not task.form and not task.outputs:
        return
    owned = set(outputs_of(model, element_id))
    foreign = [name for name in variables if name not in owned]
    if not foreign:
        return
    message = (
        "งานนี้ไม่มีแบบฟอร์ม จึงบันทึกข้อมูลใด ๆ ไม่ได้ (this task has no form or declared outputs: it writes nothing)"
        if not owned
        else f"งานนี้บันทึกได้เฉพาะ {', '.join(sorted(owned))} (this task writes only its own fields)"
    )
    raise Invalid(
        "variables_not_owned",
        f"{message}: {', '.join(foreign)}",
        [{"field": name, "message": "งานนี้ไม่มีสิทธิ์เขียนตัวแปรนี้ (not a field of this task)"} for name in foreign],
    )


def changed_names(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Variable names added, removed or given another value."""
    return sorted(k for k in before.keys() | after.keys() if before.get(k, ...) != after.get(k, ...))


def too_frequent_timers(files: list[tuple[str, bytes]], minimum_seconds: float) -> list[Problem]:
    """Deployment problems of the timer cycles of `files` that repeat more often than the minimum."""
    minimum = timedelta(seconds=minimum_seconds)
    return [
        Problem(file, None, element_id, message)
        for name, xml in files
        for file, element_id, message in schedule.cycle_problems(timer_cycles(xml), name, minimum)
    ]
