"""A sealed value that does not open is never a 500: it is shown masked and reported to the administrators.

An envelope in an instance's variables, in the data of its audit events or in a webhook payload may fail to open
under the instance's data key: corrupt (a broken restore, a hand edit), forged, or sealed for another variable or
instance (`sealing.UNREADABLE`). Whoever reads it is shown null, its name in `masked_variables`
(`services/privacy/personal_data.py`), and `report` logs it and opens an incident of kind `unreadable_value` naming the
variable (never a value), once per instance and variable while such an incident is open, in the reader's write
transaction or in one of its own. A read changes nothing of the instance, so its audit chain is left alone. The
instance's next change writes its variables again from its engine state, which heals them: an administrator's
retry of the incident (`incidents.retry`) is such a change, and resolves it.
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.orm import Session

from mso_flow.services.platform.context import SYSTEM, Services
from mso_flow.store import incidents as store
from mso_flow.store.incidents import Incident
from mso_flow.store.models import ProcessInstance

log = logging.getLogger(__name__)
KIND = "unreadable_value"
_REPORTED = "mso_unreadable_reported"  # Session.info: (instance id, name) reported in this transaction


def report(services: Services, session: Session, instance_id: str, name: str) -> None:
    """Report that variable `name` of the instance does not open (see the module docstring)."""
    reported: set[tuple[str, str]] = session.info.setdefault(_REPORTED, set())
    if (instance_id, name) in reported:
        return
    reported.add((instance_id, name))
    log.error(
        "the sealed value of %s in instance %s does not open (corrupt, forged, or sealed for another variable or "
        "instance); it is shown as null",
        name,
        instance_id,
        extra={"instance_id": instance_id},
    )
    with services.db.write_along(session) as writing:
        if any(name in incident.variables for incident in store.open_of(writing, instance_id, KIND)):
            return
        instance = writing.get(ProcessInstance, instance_id)
        if instance is None:
            return
        definition = services.definitions.definition(writing, instance.definition_id)
        store.add(
            writing,
            Incident(
                id=str(uuid.uuid4()),
                instance_id=instance_id,
                definition_id=definition.id,
                definition_key=definition.key,
                unit=(definition.model.unit or "")[:200] or None,
                kind=KIND,
                message_th=f"ข้อมูลเข้ารหัสของ {name} เปิดอ่านไม่ได้ (เสียหายหรือถูกปลอม) จึงแสดงเป็นค่าว่าง",
                message_en=f"the sealed value of {name} does not open under this instance's data key (corrupt, "
                "forged, or sealed for another variable or instance); it is shown as null",
                variables=[name],
                state=store.OPEN,
                created_at=services.clock(),
                created_by=SYSTEM.username,
                retries=0,
            ),
        )
