"""Deploy BPMN files and read process definitions and their versions."""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mso_flow.domain import DefinitionSource
from mso_flow.engine import schedule
from mso_flow.engine.compare import VersionDiff, compare
from mso_flow.engine.model import Problem, ProcessDef
from mso_flow.engine.verdict import CheckedFile, check_files
from mso_flow.services import guards, policy, privacy_marks
from mso_flow.services.context import SYSTEM, Caller, Services
from mso_flow.services.errors import Conflict, Forbidden, Invalid, NotFound
from mso_flow.store import definitions as store
from mso_flow.store import waits as waits_store
from mso_flow.store.models import Deployment, ProcessDefinition

MAX_FILES = 200
log = logging.getLogger(__name__)


@dataclass
class Deployed:
    """One process of a deployment: its definition version and whether this deployment created it."""

    definition: ProcessDefinition
    created: bool


def problems_of(files: list[tuple[str, bytes]], min_timer_interval_seconds: float = 60.0) -> list[Problem]:
    """Every problem of a set of files, as `mso-flow validate` and the deployment API report them (one verdict:
    `engine.verdict.check_files`, simulation included, and timers no more frequent than the service allows)."""
    return check_files(files)[1] + guards.too_frequent_timers(files, min_timer_interval_seconds)


def deploy(
    services: Services,
    caller: Caller,
    files: list[tuple[str, bytes]],
    source: DefinitionSource = DefinitionSource.API,
    name: str | None = None,
    approve_privacy_changes: bool = False,
) -> list[Deployed]:
    """Deploy files all or nothing: a new version for each process whose file changed; `name` names the
    deployment (Camunda's deployment-name). A version weakening a process's privacy marks needs a privacy officer's
    `approve_privacy_changes` (`services/privacy_marks.py`)."""
    if not policy.may_deploy(caller):
        raise Forbidden("deployer_required", "ต้องมีบทบาท designer หรือ admin (role designer or admin required)")
    if not files:
        raise Invalid("no_files", "ไม่มีไฟล์ที่จะนำขึ้นระบบ (no files in field `files`)")
    if len(files) > MAX_FILES:
        raise Invalid("too_many_files", f"นำขึ้นได้ครั้งละไม่เกิน {MAX_FILES} ไฟล์ (at most {MAX_FILES} files)")
    # A designer's deployment gets the whole verdict; start-up deploys files CI has simulated already and keeps
    # the costly simulation out of every service start (docs/architecture.md, "One verdict").
    parsed, problems = check_files(files, simulate_runs=source == DefinitionSource.API)
    problems += guards.too_frequent_timers(files, services.settings.min_timer_interval_seconds)
    if problems:
        raise Invalid(
            "invalid_bpmn",
            "ไฟล์ BPMN ไม่ถูกต้อง ไม่มีการนำขึ้นระบบ (invalid BPMN; nothing was deployed)",
            [{"file": p.file, "element_id": p.element_id, "line": p.line, "message": p.message} for p in problems],
        )
    try:
        return _store(services, caller, parsed, source, name, approve_privacy_changes)
    except IntegrityError:
        raise Conflict(
            "concurrent_deployment",
            "มีการนำขึ้นระบบพร้อมกันจากที่อื่น โปรดลองใหม่ (another deployment of the same process won; retry)",
        ) from None


def _store(
    services: Services,
    caller: Caller,
    files: list[CheckedFile],
    source: DefinitionSource,
    name: str | None,
    approve_privacy_changes: bool,
) -> list[Deployed]:
    results: list[Deployed] = []
    now = services.clock()
    with services.db.write() as session:
        privacy_marks.review(services, session, caller, files, approve_privacy_changes)
        deployment: Deployment | None = None
        for file in files:
            for process in file.processes:
                key = process.definition.key
                latest = store.latest(session, key)
                sha256 = _sha256(file.xml)
                if latest is not None and latest.sha256 == sha256:
                    results.append(Deployed(latest, created=False))
                    continue
                if deployment is None:
                    deployment = Deployment(
                        id=str(uuid.uuid4()),
                        deployed_at=now,
                        deployed_by=caller.username,
                        source=source,
                        files=[f.name for f in files],
                        name=name,
                    )
                    store.add_deployment(session, deployment)
                version = latest.version + 1 if latest else 1
                definition = ProcessDefinition(
                    id=f"{key}:{version}",
                    key=key,
                    version=version,
                    name=process.definition.name,
                    unit=process.definition.unit,
                    file_name=file.name,
                    bpmn_xml=file.xml,
                    sha256=sha256,
                    model=process.definition.as_dict(),
                    deployment_id=deployment.id,
                    deployed_at=now,
                    deployed_by=caller.username,
                    source=source,
                )
                store.add(session, definition)
                waits_store.schedule_start_timers(
                    session, key, definition.id, _first_firings(process.definition, now), now
                )
                services.definitions.created(session, definition, process)
                results.append(Deployed(definition, created=True))
    return results


def _first_firings(model: ProcessDef, now: datetime) -> list[tuple[str, datetime]]:
    """(start event id, first due) of the process's timer start events; the new version replaces the old's."""
    return [(element_id, schedule.first_due(kind, text, now)) for element_id, kind, text in model.start_timers]


def deploy_directory(services: Services, directory: Path) -> list[Deployed]:
    """Deploy the `.bpmn` files under `directory` (the service's `bpmn/`) at start-up, never over a designer.

    The rule: a file is deployed when its content differs from the last version deployed *from that file*
    (its path relative to `directory`); a version deployed through the API after it stays the latest until the
    file changes again. Each such disagreement is logged as a WARNING naming the key, the file and both
    versions, at every start. A changed file that weakens the privacy marks of its process is left out with an
    ERROR naming the marks (the older version stays; a privacy officer deploys it through the API), the others are
    deployed.
    """
    files = [(str(path.relative_to(directory)), path.read_bytes()) for path in sorted(directory.rglob("*.bpmn"))]
    with services.db.read() as session:
        last = store.last_from_files(session)
        changed = [(name, xml) for name, xml in files if name not in last or last[name].sha256 != _sha256(xml)]
        kept = [last[name] for name, xml in files if name in last and last[name].sha256 == _sha256(xml)]
        latest = store.latest_by_keys(session, [row.key for row in kept])
    for row in kept:
        current = latest.get(row.key)
        if current is not None and current.version > row.version and current.sha256 != row.sha256:
            log.warning(
                "process %s: %s is unchanged since it was deployed as version %d; version %d deployed through "
                "the API by %s stays the latest until the file changes",
                row.key,
                row.file_name,
                row.version,
                current.version,
                current.deployed_by,
            )
    if not changed:
        return []
    deployed = privacy_marks.keeping_marks(lambda some: deploy(services, SYSTEM, some, DefinitionSource.FILE), changed)
    _warn_replaced(services, [d.definition for d in deployed if d.created and d.definition.version > 1])
    return deployed


def _sha256(xml: bytes) -> str:
    return hashlib.sha256(xml).hexdigest()


def _warn_replaced(services: Services, created: list[ProcessDefinition]) -> None:
    """Log the versions deployed through the API that a changed file has just replaced as the latest."""
    with services.db.read() as session:
        for row in created:
            previous = store.by_version(session, row.key, row.version - 1)
            if previous is not None and previous.source == DefinitionSource.API:
                log.warning(
                    "process %s: %s changed and is deployed as version %d, replacing version %d deployed through "
                    "the API by %s",
                    row.key,
                    row.file_name,
                    row.version,
                    previous.version,
                    previous.deployed_by,
                )


def latest(services: Services, key: str) -> tuple[ProcessDefinition, ProcessDef]:
    definition = version(services, key, None)
    return definition, services.model(definition)


def version(services: Services, key: str, number: int | None) -> ProcessDefinition:
    """Version `number` of `key` (the latest when None)."""
    with services.db.read() as session:
        return version_in(session, key, number)


def version_in(session: Session, key: str, number: int | None) -> ProcessDefinition:
    """Version `number` of `key` (the latest when None), read in the caller's transaction."""
    definition = store.latest(session, key) if number is None else store.by_version(session, key, number)
    if definition is None and number is None:
        raise _not_found(key)
    if definition is None:
        raise NotFound("definition_not_found", f"ไม่พบกระบวนการ {key} รุ่น {number} (version not found)")
    return definition


def _not_found(key: str) -> NotFound:
    return NotFound("definition_not_found", f"ไม่พบกระบวนการ {key} (process definition not found)")


def listing(
    services: Services,
    offset: int,
    limit: int,
    key: str | None = None,
    q: str | None = None,
    unit: str | None = None,
) -> tuple[list[tuple[ProcessDefinition, ProcessDef]], int]:
    with services.db.read() as session:
        items, total = store.listing(session, offset, limit, key=key, q=q, unit=unit)
    return [(d, services.model(d)) for d in items], total


def versions(services: Services, key: str, offset: int, limit: int) -> tuple[list[ProcessDefinition], int]:
    with services.db.read() as session:
        items, total = store.versions(session, key, offset, limit)
    if total == 0:
        raise _not_found(key)
    return items, total


def count(services: Services) -> int:
    with services.db.read() as session:
        return store.count_keys(session)


def diff(
    services: Services, key: str, old: int, new: int | None
) -> tuple[ProcessDefinition, ProcessDefinition, VersionDiff]:
    """What changed from version `old` to version `new` (the latest by default)."""
    before, after = version(services, key, old), version(services, key, new)
    return before, after, compare(before.bpmn_xml, after.bpmn_xml, key)


def query(
    services: Services,
    offset: int,
    limit: int,
    key: str | None = None,
    latest_only: bool = False,
    deployment_id: str | None = None,
    definition_id: str | None = None,
) -> tuple[list[ProcessDefinition], int]:
    """Definition versions by key, deployment or id (every version unless `latest_only`)."""
    with services.db.read() as session:
        return store.query(session, offset, limit, key, latest_only, deployment_id, definition_id)


def by_id(services: Services, definition_id: str) -> ProcessDefinition:
    with services.db.read() as session:
        definition = store.by_id(session, definition_id)
    if definition is None:
        raise NotFound("definition_not_found", f"ไม่พบกระบวนการรุ่น {definition_id} (process definition not found)")
    return definition


def deployment(services: Services, deployment_id: str) -> tuple[Deployment, list[ProcessDefinition]]:
    """A deployment and the definition versions it created."""
    with services.db.read() as session:
        found = store.deployment(session, deployment_id)
        if found is None:
            raise NotFound("deployment_not_found", f"ไม่พบการนำขึ้นระบบ {deployment_id} (deployment not found)")
        created, _ = store.query(session, 0, MAX_FILES * 10, deployment_id=deployment_id)
        return found, created


def deployments(
    services: Services, offset: int, limit: int, name: str | None = None, source: str | None = None
) -> tuple[list[Deployment], int]:
    with services.db.read() as session:
        return store.deployments(session, offset, limit, name, source)
