"""The roles the service knows: the staff roles of the deployed processes' lanes and tasks, the built-in ones, and
`manager:<unit>` for each unit of the deployed processes (who reads that unit's reports).

`known_roles` is the one answer to "which roles exist" (user administration refuses others unless forced). A
task's candidate roles come from `policy.candidate_roles`, so whatever maps lanes to roles there (a lane's
`roles` property, `camunda:candidateGroups`, the operator's role mapping) is known here as well.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from mso_flow.domain import MANAGER_PREFIX, Role
from mso_flow.services.platform.context import Caller, Services
from mso_flow.services.policy import candidate_roles
from mso_flow.store import definitions as definitions_store

BUILT_IN_DESCRIPTIONS: dict[Role, str] = {
    Role.ADMIN: "ผู้ดูแลระบบ: ทำได้ทุกอย่าง (administers users, sees everything)",
    Role.DESIGNER: "ผู้ออกแบบกระบวนการ: นำ BPMN ขึ้นระบบ (deploys process definitions)",
    Role.INTEGRATOR: "ระบบภายนอก: เริ่มกระบวนการ ส่งข้อความ webhook (starts instances, sends messages, webhooks)",
    Role.SUPERVISOR: "หัวหน้า: มอบหมายงานของบทบาทที่ตนมี (assigns the tasks of the roles they hold)",
    Role.AUDITOR: "ผู้ตรวจสอบ: อ่านข้อมูลและรายงานทั้งหมด แก้ไขไม่ได้ ให้ได้จากบรรทัดคำสั่งเท่านั้น "
    "(reads every instance and report, changes nothing; granted at the command line only)",
    Role.PRIVACY_OFFICER: "เจ้าหน้าที่คุ้มครองข้อมูลส่วนบุคคล: อ่าน ส่งออก และลบข้อมูลส่วนบุคคล ให้ได้จากบรรทัดคำสั่งเท่านั้น "
    "(reads, exports and erases personal data, grants it to webhooks; granted at the command line only)",
}


@dataclass(frozen=True)
class RoleSource:
    """Where a role comes from: a lane (or a task's candidate group) of a process."""

    process_key: str
    process_name: str
    lane: str | None


@dataclass
class KnownRole:
    role: str
    built_in: bool = False
    description: str | None = None
    sources: list[RoleSource] = field(default_factory=list)


def manager_role(unit: str) -> KnownRole:
    """`manager:<unit>`: reads the KPI and overdue reports of the unit."""
    return KnownRole(
        f"{MANAGER_PREFIX}{unit}",
        description=f"ผู้บริหารหน่วยงาน: ดูรายงานของ {unit} (reads the reports of this unit)",
    )


def known_roles(services: Services) -> dict[str, KnownRole]:
    """Every role a user may hold, with the processes and lanes it works in (latest deployed versions)."""
    known = {role.value: KnownRole(role.value, True, BUILT_IN_DESCRIPTIONS[role]) for role in Role}
    with services.db.read() as session:
        models = [services.definitions.definition(session, id_).model for id_ in definitions_store.latest_ids(session)]
    for model in models:
        found: dict[str, set[str | None]] = {}
        for task in model.user_tasks:
            for role in candidate_roles(model, task, task.lane):
                found.setdefault(role, set()).add(task.lane)
        for lane in model.lanes:
            for role in candidate_roles(model, None, lane):
                found.setdefault(role, set()).add(lane)
        for role, lanes in found.items():
            entry = known.setdefault(role, KnownRole(role))
            entry.sources += [RoleSource(model.key, model.name, lane) for lane in sorted(lanes, key=str)]
        if model.unit:
            manager = manager_role(model.unit)
            known.setdefault(manager.role, manager).sources.append(RoleSource(model.key, model.name, None))
    return dict(sorted(known.items()))


def closest(role: str, known: dict[str, KnownRole], n: int = 3) -> list[str]:
    """The known roles spelt most like `role` (a misspelt Thai role name finds the right one)."""
    return difflib.get_close_matches(role, list(known), n=n, cutoff=0.6)


def headed_roles(services: Services, caller: Caller) -> frozenset[str]:
    """The staff roles of the sections the caller heads (the roles file's `heads:`)."""
    if Role.SUPERVISOR not in caller.roles:
        return frozenset()
    return services.role_map.headed_by(caller.roles)
