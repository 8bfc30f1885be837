"""Move running instances to another version of their process (admin), where their work still exists there."""

from __future__ import annotations

from mso_flow.engine.runtime import EngineError, MigrationImpossible
from mso_flow.services import definitions, incidents
from mso_flow.services.context import Caller, Services
from mso_flow.services.errors import Conflict, Forbidden, NotFound
from mso_flow.services.instances import InstanceView
from mso_flow.services.progress import apply_step, engine_failure
from mso_flow.store import instances as store
from mso_flow.store import tasks as tasks_store
from mso_flow.store.audit import NewEvent


@incidents.recorded
def migrate(services: Services, caller: Caller, instance_id: str, version: int | None) -> InstanceView:
    """Move a running instance to `version` (the latest by default); open tasks keep their ids, claims and
    comments; tasks of elements that are gone make the migration fail with 409 and change nothing."""
    if not caller.is_admin:
        raise Forbidden("admin_only", "ย้ายรุ่นกระบวนการได้เฉพาะผู้ดูแลระบบ (admin only)")
    with services.db.write() as session:
        instance = store.lock(session, instance_id)
        if instance is None:
            raise NotFound("instance_not_found", f"ไม่พบกระบวนการ {instance_id} (instance not found)")
        if instance.state != "running":
            raise Conflict("instance_not_running", f"กระบวนการนี้อยู่ในสถานะ {instance.state} (not running)")
        source = services.definition(instance.definition_id)
        target = services.remember(definitions.version(services, instance.definition_key, version))
        if target.id == source.id:
            raise Conflict("same_version", f"กระบวนการนี้อยู่ในรุ่น {source.version} แล้ว (already on this version)")
        try:
            step = services.runtime.migrate(
                services.process(source.id), services.process(target.id), instance.engine_state
            )
        except MigrationImpossible as err:
            raise Conflict(
                "migration_impossible",
                f"ย้ายไปรุ่น {target.version} ไม่ได้: ขั้นตอน {', '.join(err.element_ids)} ไม่มีในรุ่นใหม่ "
                "(elements the instance ran or waits in are missing from the target version)",
                element_ids=err.element_ids,
            ) from None
        except EngineError as err:
            raise engine_failure(err, instance, target, caller.username) from None
        now = services.clock()
        tasks_store.retarget_open(session, instance.id, target.id)
        instance.definition_id, instance.definition_version = target.id, target.version
        migrated = NewEvent(
            "instance_migrated",
            caller.username,
            data={"from_version": source.version, "to_version": target.version},
        )
        open_tasks = apply_step(services, session, instance, target, step, caller.username, now, [migrated])
        return InstanceView(instance, open_tasks)
