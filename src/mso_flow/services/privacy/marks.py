"""A new version may not weaken the privacy marks of a deployed process unless a privacy officer approves it.

The marks (`engine.model.ProcessDef`): the variables kept as personal data (form fields marked `personal_data` or
`sensitive`, the names of the process's `personal_data`/`sensitive_data` lists), those of them that are the Act's
section 26 data (`sensitive`), the variable holding a letter's secrecy class (`secrecy_variable`), and how long an
ended instance's personal data is kept (`retention_days`, else the service's default). Compared with the latest
version of its key, a new version weakens them when
- a personal variable is no longer personal (its mark removed or set false, its name taken off a list, or its
  field gone: instances migrated to the new version would then store its values in plain);
- a sensitive variable is no longer sensitive;
- the secrecy variable is removed or renamed;
- the retention is longer (the default counting for a process without its own).
Adding marks, shortening the retention and a first version weaken nothing.

`review` runs in the deployment's write transaction before any version is written: a weakening is refused, all or
nothing, with 422 `privacy_marks_weakened` naming each mark (file, process, element, variable), unless a privacy
officer who may deploy sends `approve_privacy_changes` (`policy.may_approve_privacy_changes`); the admin audit
chain then records the approval (`privacy_marks_weakening_approved`: who, the process, the version it replaces,
the marks). Files alone cannot tell what is deployed, so `mso-flow validate` does not check this: a deployment
does (the API's, the Camunda façade's, which cannot carry the approval, and the start-up's of `bpmn/`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from mso_flow.engine.model import ProcessDef
from mso_flow.engine.verdict import CheckedFile
from mso_flow.services import policy
from mso_flow.services.platform import anchoring
from mso_flow.services.platform.context import Caller, Services
from mso_flow.services.platform.failures import Forbidden, Invalid
from mso_flow.store import definitions as store
from mso_flow.store.audit import NewEvent

WEAKENED = "privacy_marks_weakened"
APPROVED = "privacy_marks_weakening_approved"
T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Weakening:
    """One mark a new version weakens."""

    file: str
    key: str
    element_id: str  # the user task whose form marked the variable, else the process
    mark: str  # personal_data | sensitive | secrecy_variable | retention_days
    variable: str | None  # None for retention_days
    message: str
    before: int | None = None  # retention_days: the days kept before and after
    after: int | None = None

    @property
    def label(self) -> str:
        """`personal_data:reporter_name`, `retention_days:365->1825`."""
        return f"{self.mark}:{self.variable}" if self.variable else f"{self.mark}:{self.before}->{self.after}"

    def problem(self) -> dict[str, Any]:
        found = {"file": self.file, "line": None, "element_id": self.element_id, "process": self.key}
        found |= {"mark": self.mark, "variable": self.variable, "label": self.label, "message": self.message}
        return found | ({"before": self.before, "after": self.after} if self.variable is None else {})


def weakenings(old: ProcessDef, new: ProcessDef, file: str, default_retention_days: int) -> list[Weakening]:
    """The marks of `old` that `new` weakens (see the module docstring)."""

    def where(variable: str) -> str:
        marked = (t for t in old.user_tasks for f in t.form if f.id == variable and (f.personal or f.sensitive))
        return next((t.element_id for t in marked), old.key)

    found = [
        Weakening(
            file,
            old.key,
            where(name),
            "personal_data",
            name,
            f"{name} ไม่เป็นข้อมูลส่วนบุคคลแล้ว ค่าของมันจะถูกเก็บโดยไม่เข้ารหัส "
            f"(the personal_data mark of {name} is removed: its values would be stored in plain)",
        )
        for name in sorted(old.personal_variables - new.personal_variables)
    ] + [
        Weakening(
            file,
            old.key,
            where(name),
            "sensitive",
            name,
            f"{name} ไม่เป็นข้อมูลอ่อนไหวตามมาตรา ๒๖ แล้ว (the sensitive mark of {name} is removed)",
        )
        for name in sorted(old.sensitive_variables - new.sensitive_variables)
    ]
    if old.secrecy_variable and new.secrecy_variable != old.secrecy_variable:
        found.append(
            Weakening(
                file,
                old.key,
                old.key,
                "secrecy_variable",
                old.secrecy_variable,
                f"secrecy_variable {old.secrecy_variable} ถูกนำออกหรือเปลี่ยน หนังสือลับจะไม่ถูกปกปิดทั้งเรื่อง "
                f"(the secrecy class in {old.secrecy_variable} is no longer kept)",
            )
        )
    before = old.retention_days or default_retention_days
    after = new.retention_days or default_retention_days
    if after > before:
        message = f"ระยะเก็บข้อมูลส่วนบุคคลยาวขึ้นจาก {before} เป็น {after} วัน (retention_days raised from {before} to {after})"
        found.append(Weakening(file, old.key, old.key, "retention_days", None, message, before, after))
    return found


def review(services: Services, session: Session, caller: Caller, files: list[CheckedFile], approve: bool) -> None:
    """In a deployment's write transaction, before it writes: refuse the weakening of any mark of the processes of
    `files` against the latest version of their keys, or record its approval (see the module docstring). 403
    `privacy_officer_required` when `approve` comes from anyone else."""
    if approve and not policy.may_approve_privacy_changes(caller):
        raise Forbidden(
            "privacy_officer_required",
            "การอนุมัติให้ลดการคุ้มครองข้อมูลส่วนบุคคล (approve_privacy_changes) ทำได้เฉพาะเจ้าหน้าที่คุ้มครองข้อมูล"
            "ส่วนบุคคลที่นำกระบวนงานขึ้นระบบได้ (approving weaker privacy marks needs the privacy_officer role)",
        )
    found: dict[tuple[str, str, int], list[Weakening]] = {}
    default_days = services.settings.personal_data_retention_days
    for file, model in ((f.name, p.definition) for f in files for p in f.processes):
        latest = store.latest(session, model.key)
        if latest is None:
            continue
        old = services.definitions.definition(session, latest.id).model
        weakened = weakenings(old, model, file, default_days)
        if weakened:
            found[(file, model.key, latest.version)] = weakened
    if not found:
        return
    if not approve:
        raise Invalid(
            WEAKENED,
            "รุ่นใหม่ลดการคุ้มครองข้อมูลส่วนบุคคลหรือชั้นความลับของกระบวนงานที่ใช้อยู่ ไม่มีการนำขึ้นระบบ "
            "ต้องให้เจ้าหน้าที่คุ้มครองข้อมูลส่วนบุคคลนำขึ้นพร้อม approve_privacy_changes=true "
            "(the new version weakens privacy marks of a deployed process; nothing was deployed: a privacy officer "
            "deploys it with approve_privacy_changes=true)",
            [w.problem() for weakened in found.values() for w in weakened],
        )
    events = [
        NewEvent(
            APPROVED,
            caller.username,
            data={"file": file, "key": key, "from_version": version, "marks": [w.label for w in weakened]},
        )
        for (file, key, version), weakened in found.items()
    ]
    anchoring.append_admin(services, session, events)


def keeping_marks(deploy: Callable[[list[tuple[str, bytes]]], list[T]], files: list[tuple[str, bytes]]) -> list[T]:
    """`deploy(files)` as the start-up deploys `bpmn/`: files that weaken privacy marks are left out, each with an
    ERROR naming its marks (their processes keep their older version), and the others deployed."""
    try:
        return deploy(files)
    except Invalid as refused:
        if refused.code != WEAKENED:
            raise
        weakening: dict[str, list[str]] = {}
        for problem in refused.errors:
            weakening.setdefault(problem["file"], []).append(f"{problem['process']} {problem['label']}")
        for file, marks in weakening.items():
            log.error(
                "%s is not deployed: it weakens privacy marks (%s); the older version stays. If the change is "
                "intended, a privacy officer deploys the file with approve_privacy_changes=true "
                "(POST /api/v1/deployments)",
                file,
                ", ".join(marks),
            )
        rest = [(name, xml) for name, xml in files if name not in weakening]
        return deploy(rest) if rest else []
