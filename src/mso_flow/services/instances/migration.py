"""Move running instances to another version of their process (admin), where their work still exists there."""

from __future__ import annotations

from mso_flow.engine.parsing import ParsedProcess
from mso_flow.engine.runtime import MigrationImpossible, ProcessRuntime, Step
from mso_flow.services import policy
from mso_flow.services.definitions import deployment as definitions
from mso_flow.services.instances.lifecycle import InstanceChanged
from mso_flow.services.platform.context import Caller, Services
from mso_flow.services.platform.executor import InstanceChange, execute
from mso_flow.services.platform.failures import Conflict, Forbidden, NotFound
from mso_flow.services.platform.unit_of_work import InstanceCommand, Outcome, lock_instance
from mso_flow.store import tasks as tasks_store
from mso_flow.store.audit import NewEvent


def _not_found(instance_id: str) -> NotFound:
    return NotFound("instance_not_found", f"ไม่พบกระบวนการ {instance_id} (instance not found)")


def migrate(services: Services, caller: Caller, instance_id: str, version: int | None) -> InstanceChanged:
    """Move a running instance to `version` (the latest by default); open tasks keep their ids, claims and
    comments; tasks of elements that are gone make the migration fail with 409 and change nothing."""

    def run(command: InstanceCommand, _: None) -> Outcome:
        command.require_state()
        instance, source = command.instance, command.definition
        row = definitions.version_in(command.session, instance.definition_key, version)
        target = services.definitions.of_row(command.session, row)
        if target.id == source.id:
            raise Conflict("same_version", f"กระบวนการนี้อยู่ในรุ่น {source.version} แล้ว (already on this version)")
        target_process = command.process(target)

        def move(runtime: ProcessRuntime, process: ParsedProcess, state: str) -> Step:
            try:
                return runtime.migrate(process, target_process, state)
            except MigrationImpossible as err:
                raise Conflict(
                    "migration_impossible",
                    f"ย้ายไปรุ่น {target.version} ไม่ได้: ขั้นตอน {', '.join(err.element_ids)} ไม่มีในรุ่นใหม่ "
                    "(elements the instance ran or waits in are missing from the target version)",
                    element_ids=err.element_ids,
                ) from None

        step = command.run(move)
        tasks_store.retarget_open(command.session, instance.id, target.id)
        instance.definition_id, instance.definition_version = target.id, target.version
        migrated = NewEvent(
            "instance_migrated",
            caller.username,
            data={"from_version": source.version, "to_version": target.version},
        )
        return command.apply(step, [migrated], target=target)

    def result(command: InstanceCommand, _: None, outcome: Outcome) -> InstanceChanged:
        return InstanceChanged(outcome.instance.id, outcome.instance.state)

    return execute(
        services,
        InstanceChange(
            "instance.migrate",
            caller,
            lock_instance(instance_id),
            lambda: _not_found(instance_id),
            run,
            result,
            authorize=policy.may_migrate,
            forbidden=lambda: Forbidden("admin_only", "ย้ายรุ่นกระบวนการได้เฉพาะผู้ดูแลระบบ (admin only)"),
        ),
    )
