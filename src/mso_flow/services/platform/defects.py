"""The error a person gets when their command hits a defect of the process (a failing condition or script, a
limit, a result that cannot be stored): a Thai 422 `process_error` naming the element; the command executor
(`executor.execute`, `execute_start`) commits it as an incident (`incidents.record_defect`) and adds `incident_id`."""

from __future__ import annotations

from mso_flow.engine.runtime import EngineError
from mso_flow.services.platform.context import Definition
from mso_flow.services.platform.failures import Invalid
from mso_flow.store.models import ProcessInstance


def where(err: EngineError) -> str:
    return f"{err.element_name} ({err.element_id})" if err.element_name else (err.element_id or "-")


class ProcessDefect(Invalid):
    """A 422 `process_error` for the person whose command hit a defect of the process; the executor commits the
    incident and adds its id."""

    def __init__(
        self, err: EngineError, instance_id: str | None, definition: Definition | None, actor: str | None
    ) -> None:
        super().__init__(
            "process_error",
            f"กระบวนการนี้มีข้อบกพร่องที่ขั้นตอน {where(err)} ระบบแจ้งผู้ดูแลระบบแล้ว ไม่มีการเปลี่ยนแปลงใด ๆ "
            f"โปรดลองใหม่ภายหลัง: {err} (the process has a defect at this element; the administrators were told; "
            "nothing was changed)",
            element_id=err.element_id,
        )
        self.error = err
        self.instance_id = instance_id
        self.definition = definition
        self.actor = actor


def engine_failure(
    err: EngineError,
    instance: ProcessInstance | None = None,
    definition: Definition | None = None,
    actor: str | None = None,
) -> ProcessDefect:
    """The error a command raises for a process error; with `definition` it becomes an incident."""
    return ProcessDefect(err, instance.id if instance is not None else None, definition, actor)
