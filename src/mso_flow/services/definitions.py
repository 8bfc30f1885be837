"""Deploy BPMN files and read process definitions and their versions."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.exc import IntegrityError

from mso_flow.engine import schedule
from mso_flow.engine.compare import VersionDiff, compare
from mso_flow.engine.model import BpmnInvalid, Problem, ProcessDef
from mso_flow.engine.parsing import ParsedProcess, parse_document
from mso_flow.services import guards
from mso_flow.services.context import SYSTEM, Caller, Services
from mso_flow.services.errors import Conflict, Forbidden, Invalid, NotFound
from mso_flow.store import definitions as store
from mso_flow.store import waits as waits_store
from mso_flow.store.models import Deployment, ProcessDefinition

DEPLOYER_ROLES = ("designer", "admin")
MAX_FILES = 200


@dataclass
class Deployed:
    """One process of a deployment: its definition version and whether this deployment created it."""

    definition: ProcessDefinition
    created: bool


@dataclass
class _File:
    name: str
    xml: bytes
    sha256: str
    processes: list[ParsedProcess]


def problems_of(files: list[tuple[str, bytes]], min_timer_interval_seconds: float = 60.0) -> list[Problem]:
    """Every validation problem of a set of files, as `mso-flow validate` and the deployment API report them."""
    return _parse(files)[1] + guards.too_frequent_timers(files, min_timer_interval_seconds)


def _parse(files: list[tuple[str, bytes]]) -> tuple[list[_File], list[Problem]]:
    parsed: list[_File] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for name, xml in files:
        try:
            processes = parse_document(xml, name)
        except BpmnInvalid as err:
            problems += err.problems
            continue
        for process in processes:
            key = process.definition.key
            if key in seen:
                problems.append(Problem(name, None, key, f"process id {key} is also defined in {seen[key]}"))
            seen[key] = name
        parsed.append(_File(name, xml, hashlib.sha256(xml).hexdigest(), processes))
    return parsed, problems


def deploy(services: Services, caller: Caller, files: list[tuple[str, bytes]], source: str = "api") -> list[Deployed]:
    """Deploy files all or nothing: a new version for each process whose file changed."""
    if not caller.has_any(DEPLOYER_ROLES):
        raise Forbidden("deployer_required", "ต้องมีบทบาท designer หรือ admin (role designer or admin required)")
    if not files:
        raise Invalid("no_files", "ไม่มีไฟล์ที่จะนำขึ้นระบบ (no files in field `files`)")
    if len(files) > MAX_FILES:
        raise Invalid("too_many_files", f"นำขึ้นได้ครั้งละไม่เกิน {MAX_FILES} ไฟล์ (at most {MAX_FILES} files)")
    parsed, problems = _parse(files)
    problems += guards.too_frequent_timers(files, services.settings.min_timer_interval_seconds)  # robustness hook
    if problems:
        raise Invalid(
            "invalid_bpmn",
            "ไฟล์ BPMN ไม่ถูกต้อง ไม่มีการนำขึ้นระบบ (invalid BPMN; nothing was deployed)",
            [{"file": p.file, "element_id": p.element_id, "line": p.line, "message": p.message} for p in problems],
        )
    try:
        return _store(services, caller, parsed, source)
    except IntegrityError:
        raise Conflict(
            "concurrent_deployment",
            "มีการนำขึ้นระบบพร้อมกันจากที่อื่น โปรดลองใหม่ (another deployment of the same process won; retry)",
        ) from None


def _store(services: Services, caller: Caller, files: list[_File], source: str) -> list[Deployed]:
    results: list[Deployed] = []
    now = services.clock()
    with services.db.write() as session:
        deployment: Deployment | None = None
        for file in files:
            for process in file.processes:
                key = process.definition.key
                latest = store.latest(session, key)
                if latest is not None and latest.sha256 == file.sha256:
                    results.append(Deployed(latest, created=False))
                    continue
                if deployment is None:
                    deployment = Deployment(
                        id=str(uuid.uuid4()),
                        deployed_at=now,
                        deployed_by=caller.username,
                        source=source,
                        files=[f.name for f in files],
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
                    sha256=file.sha256,
                    model=process.definition.as_dict(),
                    deployment_id=deployment.id,
                    deployed_at=now,
                    deployed_by=caller.username,
                )
                store.add(session, definition)
                waits_store.schedule_start_timers(
                    session, key, definition.id, _first_firings(process.definition, now), now
                )
                services.runtime.specs.put(definition.id, process)
                results.append(Deployed(definition, created=True))
    return results


def _first_firings(model: ProcessDef, now: datetime) -> list[tuple[str, datetime]]:
    """(start event id, first due) of the process's timer start events; the new version replaces the old's."""
    return [(element_id, schedule.first_due(kind, text, now)) for element_id, kind, text in model.start_timers]


def deploy_directory(services: Services, directory: Path) -> list[Deployed]:
    """Deploy every `.bpmn` file under `directory` that changed since the last deployment."""
    paths = sorted(directory.rglob("*.bpmn"))
    with services.db.read() as session:
        known = store.latest_file_hashes(session)
    changed = []
    for path in paths:
        xml = path.read_bytes()
        name = str(path.relative_to(directory))
        if (name, hashlib.sha256(xml).hexdigest()) not in known:
            changed.append((name, xml))
    if not changed:
        return []
    return deploy(services, SYSTEM, changed, source="startup")


def latest(services: Services, key: str) -> tuple[ProcessDefinition, ProcessDef]:
    with services.db.read() as session:
        definition = store.latest(session, key)
    if definition is None:
        raise NotFound("definition_not_found", f"ไม่พบกระบวนการ {key} (process definition not found)")
    return definition, services.model(definition)


def version(services: Services, key: str, number: int | None) -> ProcessDefinition:
    if number is None:
        return latest(services, key)[0]
    with services.db.read() as session:
        definition = store.by_version(session, key, number)
    if definition is None:
        raise NotFound("definition_not_found", f"ไม่พบกระบวนการ {key} รุ่น {number} (version not found)")
    return definition


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
        raise NotFound("definition_not_found", f"ไม่พบกระบวนการ {key} (process definition not found)")
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
