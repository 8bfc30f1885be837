"""Deploy BPMN and DMN files and read process definitions, decision definitions and their versions."""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mso_flow.domain import DefinitionSource, ResourceKind
from mso_flow.engine import schedule
from mso_flow.engine.compare import VersionDiff, compare
from mso_flow.engine.lane_roles import load_role_map
from mso_flow.engine.model import Problem, ProcessDef
from mso_flow.engine.parsing import ParsedProcess, Resource
from mso_flow.engine.verdict import Checked, CheckedFile, check_files
from mso_flow.services import policy
from mso_flow.services.definitions.records import (
    DecisionRecord,
    DefinitionRecord,
    DeploymentRecord,
    decision_record,
    definition_record,
    deployment_record,
)
from mso_flow.services.definitions.repository import decision_resource, process_resource
from mso_flow.services.instances import guards
from mso_flow.services.platform.context import SYSTEM, Caller, Services
from mso_flow.services.platform.failures import Conflict, Forbidden, Invalid, NotFound
from mso_flow.services.privacy import marks as privacy_marks
from mso_flow.settings import get_settings
from mso_flow.store import definitions as store
from mso_flow.store import waits as waits_store
from mso_flow.store.models import DecisionDefinition, Deployment, ProcessDefinition

MAX_FILES = 200
FILE_PATTERNS = ("*.bpmn", "*.dmn")  # what `bpmn/` deploys at start-up and `mso-flow validate` reads in a directory
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Deployed:
    """One process of a deployment: its definition version and whether this deployment created it."""

    definition: DefinitionRecord
    created: bool


@dataclass(frozen=True, slots=True)
class DeployedDecision:
    """One decision (DMN file) of a deployment: its version and whether this deployment created it."""

    decision: DecisionRecord
    created: bool


@dataclass
class Outcome:
    """What a deployment did with each of its files, and every warning the verdict gave."""

    processes: list[Deployed]
    decisions: list[DeployedDecision]
    warnings: list[Problem]


class Library:
    """The latest deployed version of a process or decision, for the files of a new deployment to call or
    evaluate (`engine.parsing.Resolver`)."""

    def __init__(self, services: Services):
        self.services = services

    def resolve(self, kind: ResourceKind, key: str) -> Resource | None:
        with self.services.db.read() as session:
            if kind == ResourceKind.DMN:
                decision = store.latest_decision(session, key)
                return decision_resource(decision, key) if decision is not None else None
            row = store.latest(session, key)
            return process_resource(row, key) if row is not None else None


def verdict(
    services: Services | None, files: list[tuple[str, bytes]], simulate_runs: bool, min_timer_interval_seconds: float
) -> Checked:
    """The one verdict on a deployment's files (`engine.verdict.check_files`, and timers no more frequent than the
    service allows): what `mso-flow validate` prints and the deployment faces answer. With `services`, the files
    may call processes and evaluate decisions deployed before."""
    roles = services.role_map if services is not None else load_role_map(get_settings().roles_file)
    checked = check_files(files, simulate_runs, Library(services) if services is not None else None, roles)
    checked.problems += guards.too_frequent_timers(files, min_timer_interval_seconds)
    return checked


def problems_of(files: list[tuple[str, bytes]], min_timer_interval_seconds: float = 60.0) -> list[Problem]:
    """Every finding of a set of files on their own, as `mso-flow validate` reports them (simulation included)."""
    return verdict(None, files, True, min_timer_interval_seconds).problems


def deploy(
    services: Services,
    caller: Caller,
    files: list[tuple[str, bytes]],
    source: DefinitionSource = DefinitionSource.API,
    name: str | None = None,
    approve_privacy_changes: bool = False,
) -> list[Deployed]:
    """`deploy_files`, answering its processes."""
    return deploy_files(services, caller, files, source, name, approve_privacy_changes).processes


def deploy_files(
    services: Services,
    caller: Caller,
    files: list[tuple[str, bytes]],
    source: DefinitionSource = DefinitionSource.API,
    name: str | None = None,
    approve_privacy_changes: bool = False,
) -> Outcome:
    """Deploy BPMN and DMN files all or nothing: refused on any error of the verdict, deployed with its warnings
    otherwise; a new version for each process and decision whose file changed; `name` names the deployment
    (Camunda's deployment-name). A version weakening a process's privacy marks needs a privacy officer's
    `approve_privacy_changes` (`services/privacy/marks.py`)."""
    if not policy.may_deploy(caller):
        raise Forbidden("deployer_required", "ต้องมีบทบาท designer หรือ admin (role designer or admin required)")
    if not files:
        raise Invalid("no_files", "ไม่มีไฟล์ที่จะนำขึ้นระบบ (no files in field `files`)")
    if len(files) > MAX_FILES:
        raise Invalid("too_many_files", f"นำขึ้นได้ครั้งละไม่เกิน {MAX_FILES} ไฟล์ (at most {MAX_FILES} files)")
    # A designer's deployment gets the whole verdict; start-up deploys files CI has simulated already and keeps
    # the costly simulation out of every service start (docs/architecture.md, "One verdict").
    checked = verdict(services, files, source == DefinitionSource.API, services.settings.min_timer_interval_seconds)
    problems = checked.problems
    if any(p.is_error for p in problems):
        raise Invalid(
            "invalid_bpmn",
            "ไฟล์ BPMN ไม่ถูกต้อง ไม่มีการนำขึ้นระบบ (invalid BPMN; nothing was deployed)",
            [p.as_dict() for p in problems],
        )
    for problem in problems:
        log.warning("deployment by %s: %s", caller.username, problem)
    try:
        processes, decisions = _store(services, caller, checked, source, name, approve_privacy_changes)
    except IntegrityError:
        raise Conflict(
            "concurrent_deployment",
            "มีการนำขึ้นระบบพร้อมกันจากที่อื่น โปรดลองใหม่ (another deployment of the same process won; retry)",
        ) from None
    return Outcome(
        [Deployed(definition_record(services, row), created) for row, created in processes],
        [DeployedDecision(decision_record(row), created) for row, created in decisions],
        [p for p in problems if not p.is_error],
    )


def _store(
    services: Services,
    caller: Caller,
    checked: Checked,
    source: DefinitionSource,
    name: str | None,
    approve_privacy_changes: bool,
) -> tuple[list[tuple[ProcessDefinition, bool]], list[tuple[DecisionDefinition, bool]]]:
    """The deployment's rows, committed: each process's and decision's version and whether it created it."""
    processes: list[tuple[ProcessDefinition, bool]] = []
    decisions: list[tuple[DecisionDefinition, bool]] = []
    now = services.clock()
    with services.db.write() as session:
        privacy_marks.review(services, session, caller, checked.files, approve_privacy_changes)
        deployment: Deployment | None = None

        def this_deployment() -> Deployment:
            nonlocal deployment
            if deployment is None:
                deployment = Deployment(
                    id=str(uuid.uuid4()),
                    deployed_at=now,
                    deployed_by=caller.username,
                    source=source,
                    files=[f.name for f in checked.files] + [d.name for d in checked.decisions],
                    name=name,
                )
                store.add_deployment(session, deployment)
            return deployment

        ids: dict[tuple[ResourceKind, str], str] = {}  # the version each process and decision has after this
        for decision in checked.decisions:
            key = decision.decision.key
            latest_decision = store.latest_decision(session, key)
            if latest_decision is not None and latest_decision.sha256 == _sha256(decision.xml):
                decisions.append((latest_decision, False))
                ids[(ResourceKind.DMN, key)] = latest_decision.id
                continue
            version = latest_decision.version + 1 if latest_decision else 1
            row = DecisionDefinition(
                id=f"{key}:{version}",
                key=key,
                version=version,
                name=decision.decision.name,
                file_name=decision.name,
                dmn_xml=decision.xml,
                sha256=_sha256(decision.xml),
                deployment_id=this_deployment().id,
                deployed_at=now,
                deployed_by=caller.username,
                source=source,
            )
            store.add_decision(session, row)
            decisions.append((row, True))
            ids[(ResourceKind.DMN, key)] = row.id
        parsed = [(file, process) for file in checked.files for process in file.processes]
        latest = {p.definition.key: store.latest(session, p.definition.key) for _, p in parsed}
        changed = _changed(parsed, latest, ids)
        for file, process in parsed:
            key = process.definition.key
            before = latest[key]
            if before is not None and key not in changed:
                processes.append((before, False))
                continue
            definition = ProcessDefinition(
                id=ids[(ResourceKind.BPMN, key)],
                key=key,
                version=before.version + 1 if before is not None else 1,
                name=process.definition.name,
                unit=process.definition.unit,
                file_name=file.name,
                bpmn_xml=file.xml,
                sha256=_sha256(file.xml),
                model=process.definition.as_dict(),
                deployment_id=this_deployment().id,
                deployed_at=now,
                deployed_by=caller.username,
                source=source,
                warnings=[p.as_dict() for p in file.warnings],
                resources=_binding(process, ids),
            )
            store.add(session, definition)
            waits_store.schedule_start_timers(session, key, definition.id, _first_firings(process.definition, now), now)
            services.definitions.created(session, definition, process)
            processes.append((definition, True))
    return processes, decisions


def _binding(process: ParsedProcess, ids: dict[tuple[ResourceKind, str], str]) -> list[dict[str, str]]:
    """The versions a process version is parsed with: of this deployment, else the deployed ones it was checked with."""
    return [{"kind": r.kind, "key": r.key, "id": ids.get((r.kind, r.key)) or r.origin or ""} for r in process.resources]


def _changed(
    processes: list[tuple[CheckedFile, ParsedProcess]],
    latest: dict[str, ProcessDefinition | None],
    ids: dict[tuple[ResourceKind, str], str],
) -> set[str]:
    """The keys that get a new version: their file changed, or it calls a process or evaluates a decision whose
    version is not the one their latest version is bound to (a new decision, a called process that changed).
    Fills `ids` with the version of every key; a new version of one key may change another's binding, so this
    repeats until nothing more changes."""
    changed: set[str] = set()
    while True:
        for file, process in processes:
            key = process.definition.key
            before = latest[key]
            if before is None or before.sha256 != _sha256(file.xml):
                changed.add(key)
            if before is None:
                ids[(ResourceKind.BPMN, key)] = f"{key}:1"
            else:
                ids[(ResourceKind.BPMN, key)] = f"{key}:{before.version + 1}" if key in changed else before.id
        more = {
            p.definition.key
            for _, p in processes
            if (before := latest[p.definition.key]) is not None
            and p.definition.key not in changed
            and _unordered(_binding(p, ids)) != _unordered(before.resources or [])
        }
        if not more:
            return changed
        changed |= more


def _unordered(binding: list[dict[str, str]]) -> list[tuple[str, str, str]]:
    return sorted((str(r["kind"]), r["key"], r["id"]) for r in binding)


def _first_firings(model: ProcessDef, now: datetime) -> list[tuple[str, datetime]]:
    """(start event id, first due) of the process's timer start events; the new version replaces the old's."""
    return [(element_id, schedule.first_due(kind, text, now)) for element_id, kind, text in model.start_timers]


def deploy_directory(services: Services, directory: Path) -> list[Deployed]:
    """Deploy the `.bpmn` and `.dmn` files under `directory` (the service's `bpmn/`) at start-up, never over a
    designer.

    The rule: a file is deployed when its content differs from the last version deployed *from that file*
    (its path relative to `directory`); a version deployed through the API after it stays the latest until the
    file changes again. Each such disagreement is logged as a WARNING naming the key, the file and both
    versions, at every start. A process is bound to the decisions and called processes of other files when its
    own file is deployed: a changed `.dmn` file alone gives it no new version. A changed file that weakens the
    privacy marks of its process is left out with an ERROR naming the marks (the older version stays; a privacy
    officer deploys it through the API), the others are deployed.
    """
    files = [
        (str(path.relative_to(directory)), path.read_bytes())
        for pattern in FILE_PATTERNS
        for path in sorted(directory.rglob(pattern))
    ]
    with services.db.read() as session:
        last = store.last_from_files(session)
        digests = {name: row.sha256 for name, row in last.items()}
        digests |= {name: row.sha256 for name, row in store.last_decisions_from_files(session).items()}
        changed = [(name, xml) for name, xml in files if digests.get(name) != _sha256(xml)]
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


def _warn_replaced(services: Services, created: list[DefinitionRecord]) -> None:
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


def latest(services: Services, key: str) -> tuple[DefinitionRecord, ProcessDef]:
    definition = version(services, key, None)
    return definition, definition.model


def version(services: Services, key: str, number: int | None) -> DefinitionRecord:
    """Version `number` of `key` (the latest when None)."""
    with services.db.read() as session:
        row = version_in(session, key, number)
    return definition_record(services, row)


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
) -> tuple[list[tuple[DefinitionRecord, ProcessDef]], int]:
    with services.db.read() as session:
        items, total = store.listing(session, offset, limit, key=key, q=q, unit=unit)
    found = [definition_record(services, d) for d in items]
    return [(d, d.model) for d in found], total


def versions(services: Services, key: str, offset: int, limit: int) -> tuple[list[DefinitionRecord], int]:
    with services.db.read() as session:
        items, total = store.versions(session, key, offset, limit)
    if total == 0:
        raise _not_found(key)
    return [definition_record(services, d) for d in items], total


def count(services: Services) -> int:
    with services.db.read() as session:
        return store.count_keys(session)


def diff(
    services: Services, key: str, old: int, new: int | None
) -> tuple[DefinitionRecord, DefinitionRecord, VersionDiff]:
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
) -> tuple[list[DefinitionRecord], int]:
    """Definition versions by key, deployment or id (every version unless `latest_only`)."""
    with services.db.read() as session:
        items, total = store.query(session, offset, limit, key, latest_only, deployment_id, definition_id)
    return [definition_record(services, d) for d in items], total


def by_id(services: Services, definition_id: str) -> DefinitionRecord:
    with services.db.read() as session:
        definition = store.by_id(session, definition_id)
    if definition is None:
        raise NotFound("definition_not_found", f"ไม่พบกระบวนการรุ่น {definition_id} (process definition not found)")
    return definition_record(services, definition)


def deployment(services: Services, deployment_id: str) -> tuple[DeploymentRecord, list[DefinitionRecord]]:
    """A deployment and the definition versions it created."""
    with services.db.read() as session:
        found = store.deployment(session, deployment_id)
        if found is None:
            raise NotFound("deployment_not_found", f"ไม่พบการนำขึ้นระบบ {deployment_id} (deployment not found)")
        created, _ = store.query(session, 0, MAX_FILES * 10, deployment_id=deployment_id)
    return deployment_record(found), [definition_record(services, d) for d in created]


def decisions(
    services: Services, offset: int, limit: int, deployment_id: str | None = None
) -> tuple[list[DecisionRecord], int]:
    """The latest version of each decision (DMN), or the versions a deployment created."""
    with services.db.read() as session:
        items, total = store.decisions(session, offset, limit, deployment_id)
        return [decision_record(d) for d in items], total


def deployments(
    services: Services, offset: int, limit: int, name: str | None = None, source: str | None = None
) -> tuple[list[DeploymentRecord], int]:
    with services.db.read() as session:
        items, total = store.deployments(session, offset, limit, name, source)
        return [deployment_record(d) for d in items], total
