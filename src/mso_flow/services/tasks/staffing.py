"""Whether a step has anyone to work it: a new task whose candidate roles no active user holds (and that nobody
holds) waits until an admin gives someone the role. The web app asks before a person sends a case there
(`tasks.complete(..., unheld_ok=False)`)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from mso_flow.services.platform.failures import Conflict
from mso_flow.services.tasks.candidates import PERSONAL_PREFIX, is_personal
from mso_flow.store import users as users_store
from mso_flow.store.models import HumanTask

UNHELD = "unheld_lane"


def unheld(session: Session, tasks: list[HumanTask]) -> list[HumanTask]:
    """Of these open tasks, those without an assignee whose every candidate role is held by no active user."""
    waiting = [t for t in tasks if t.assignee is None and t.candidate_roles]
    if not waiting:
        return []
    held = users_store.held_roles(session.connection())
    active = (
        {u.username for u in users_store.active(session)}
        if any(is_personal(r) for t in waiting for r in t.candidate_roles)
        else set()
    )

    def has_holder(role: str) -> bool:
        return role.removeprefix(PERSONAL_PREFIX) in active if is_personal(role) else role in held

    return [t for t in waiting if not any(has_holder(r) for r in t.candidate_roles)]


def refuse_unheld(tasks: list[HumanTask]) -> None:
    """409 `unheld_lane` naming the steps nobody can work (the transaction is rolled back: nothing was sent)."""
    steps = [{"task": t.name, "lane": t.lane, "roles": list(t.candidate_roles)} for t in tasks]
    names = "; ".join(f"{t.name} ({t.lane or ', '.join(t.candidate_roles)})" for t in tasks)
    raise Conflict(
        UNHELD,
        f"ขั้นตอนถัดไปยังไม่มีผู้ใช้ที่ทำงานได้: {names} งานจะค้างจนกว่าผู้ดูแลระบบจะเพิ่มผู้ใช้ในบทบาทนั้น "
        "(the next step's roles are held by no active user)",
        steps=steps,
    )
