"""The manual's processes in `bpmn/`: valid, lint-clean, fully executable, indexed and loaded by the service.

Every check runs on the BPMN files alone (the files of `bpmn/` are enumerated, never the YAML readings), and the
same checks pass for a process drawn in Camunda Modeler that has no reading at all.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree

from mso_flow.cli import prepare
from mso_flow.engine.parsing import BPMN_NS, parse_document
from mso_flow.services.definitions import deployment as definitions
from mso_flow.settings import Settings
from mso_flow.store.db import Database
from tests.conftest import clean
from tools.manual_to_bpmn.check import check_file
from tools.manual_to_bpmn.index import render_index
from tools.manual_to_bpmn.model import load_reading

ROOT = Path(__file__).resolve().parents[2]
BPMN_DIR = ROOT / "bpmn"
EXTRACTION_DIR = ROOT / "docs" / "manual-extraction"
LINT_DIR = Path(__file__).resolve().parent.parent / "bpmnlint"
MODELER_FILE = Path(__file__).resolve().parent.parent / "fixtures" / "modeler_leave_request.bpmn"
FILES = sorted(BPMN_DIR.rglob("*.bpmn"))
UNITS = {
    "central",
    "legal",
    "foreign-affairs",
    "inspection",
    "anti-trafficking",
    "public-relations",
    "social-policy-innovation",
    "social-standards",
    "strategy-planning",
    "ict-center",
    "phrapracha-institute",
    "internal-audit",
    "management-development",
    "anti-corruption",
    "academic-offices",
}


def _ids(path: Path) -> str:
    return path.relative_to(BPMN_DIR).as_posix()


def check_validates_and_every_branch_runs_to_an_end(path: Path) -> None:
    """XSD, SpiffWorkflow parse, our rules (user tasks in lanes, conditions, forms), then the simulation of every
    gateway branch: no dead end, no loop without an exit, every task reached."""
    assert check_file(path) == []


def check_naming_conventions(path: Path) -> None:
    processes = parse_document(path.read_bytes(), str(path))
    assert [p.definition.key for p in processes] == [path.stem]
    definition = processes[0].definition
    assert path.parent.name in UNITS
    assert definition.properties["unit"] == path.parent.name
    assert any("\u0e00" <= ch <= "\u0e7f" for ch in definition.name), "process name is Thai"
    for task in definition.user_tasks:
        assert task.element_id.isascii()
        assert task.lane in definition.lanes
        assert any("\u0e00" <= ch <= "\u0e7f" for ch in task.name), f"{task.element_id} has a Thai name"
    root = etree.parse(str(path)).getroot()
    shapes = {s.get("bpmnElement") for s in root.iter("{http://www.omg.org/spec/BPMN/20100524/DI}BPMNShape")}
    nodes = {
        n.get("id")
        for n in root.iter()
        if isinstance(n.tag, str)
        and n.tag.startswith(f"{{{BPMN_NS}}}")
        and n.tag.split("}")[1] in ("userTask", "exclusiveGateway", "startEvent", "endEvent", "boundaryEvent", "lane")
    }
    assert nodes <= shapes, f"elements without a diagram shape: {sorted(nodes - shapes)}"


PER_FILE_CHECKS = (check_validates_and_every_branch_runs_to_an_end, check_naming_conventions)


@pytest.mark.parametrize("path", FILES, ids=_ids)
def test_file_validates_and_every_branch_runs_to_an_end(path: Path) -> None:
    check_validates_and_every_branch_runs_to_an_end(path)


@pytest.mark.parametrize("path", FILES, ids=_ids)
def test_file_follows_the_naming_conventions(path: Path) -> None:
    check_naming_conventions(path)


def test_every_reading_has_its_bpmn_file() -> None:
    readings = sorted(EXTRACTION_DIR.glob("*/*.yaml"))  # one directory per unit
    built = {(p.parent.name, p.stem) for p in FILES}
    for path in readings:
        reading = load_reading(path)
        assert (reading.unit, reading.key) in built, f"{path} has no bpmn/{reading.unit}/{reading.key}.bpmn"


def test_the_index_lists_every_file_and_is_current() -> None:
    index = (ROOT / "docs" / "processes.md").read_text(encoding="utf-8")
    assert index == render_index(BPMN_DIR), "run: python -m tools.manual_to_bpmn index"
    for path in FILES:
        assert f"(../bpmn/{_ids(path)})" in index


@pytest.fixture(scope="module")
def bpmnlint() -> list[str]:
    """The bpmnlint command of tests/bpmnlint (installed with `npm ci` when missing)."""
    npm = shutil.which("npm")
    assert npm, "Node.js and npm are needed for bpmnlint"
    binary = LINT_DIR / "node_modules" / ".bin" / "bpmnlint"
    if not binary.exists():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=LINT_DIR, check=True, capture_output=True)
    return [str(binary), "--config", str(LINT_DIR / ".bpmnlintrc")]


def test_bpmnlint_recommended_reports_no_errors(bpmnlint: list[str]) -> None:
    version = json.loads((LINT_DIR / "node_modules" / "bpmnlint" / "package.json").read_text())["version"]
    assert version == "11.13.0"
    result = subprocess.run(
        [*bpmnlint, *[str(p) for p in FILES]], capture_output=True, text=True, cwd=LINT_DIR, timeout=300
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    assert " error " not in report, report
    assert "warning" not in report, report


def test_bpmnlint_catches_a_broken_file(bpmnlint: list[str], tmp_path: Path) -> None:
    """The lint step is real: a task without a label and a disconnected task are errors."""
    xml = FILES[0].read_text(encoding="utf-8")
    root = etree.fromstring(xml.encode())
    task = next(root.iter(f"{{{BPMN_NS}}}userTask"))
    del task.attrib["name"]
    broken = tmp_path / "broken.bpmn"
    broken.write_bytes(etree.tostring(root))
    result = subprocess.run([*bpmnlint, str(broken)], capture_output=True, text=True, cwd=LINT_DIR, timeout=120)
    assert result.returncode != 0
    assert "label-required" in result.stdout


def _deployed(settings: Settings) -> dict[str, str]:
    """Start the service's preparation (migrate, deploy bpmn/) and return the latest definition id per key."""
    services = prepare(settings)
    try:
        items, _ = definitions.listing(services, offset=0, limit=500)
        return {row.key: row.id for row, _ in items}
    finally:
        services.db.dispose()


def test_service_loads_every_process_and_a_second_start_deploys_nothing(database_url: str) -> None:
    settings = Settings(database_url=database_url, bpmn_dir=BPMN_DIR, migrations_dir=ROOT / "migrations")
    database = Database(database_url)
    clean(database)
    database.dispose()
    first = _deployed(settings)
    assert set(first) == {p.stem for p in FILES}
    assert all(definition_id.endswith(":1") for definition_id in first.values())
    assert _deployed(settings) == first


def test_a_modeler_process_without_a_reading_passes_every_check(
    bpmnlint: list[str], database_url: str, tmp_path: Path
) -> None:
    """A process drawn in Camunda Modeler (its ids, JUEL condition, no YAML twin) passes what CI runs on bpmn/, but
    for the one warning `--strict` would stop at: its composite lane is not in bpmn/roles.yaml."""
    bpmn_dir = tmp_path / "bpmn"
    (bpmn_dir / "central").mkdir(parents=True)
    path = bpmn_dir / "central" / "central_modeler_leave.bpmn"
    shutil.copy(MODELER_FILE, path)
    assert not list(EXTRACTION_DIR.rglob("central_modeler_leave*"))
    for check in PER_FILE_CHECKS:
        if check is check_validates_and_every_branch_runs_to_an_end:
            [finding] = check_file(path)
            assert ": warning: " in finding and "not in the roles file" in finding
        else:
            check(path)
    result = subprocess.run([*bpmnlint, str(path)], capture_output=True, text=True, cwd=LINT_DIR, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[`central_modeler_leave`](../bpmn/central/central_modeler_leave.bpmn)" in render_index(bpmn_dir)
    settings = Settings(database_url=database_url, bpmn_dir=bpmn_dir, migrations_dir=ROOT / "migrations")
    database = Database(database_url)
    clean(database)
    database.dispose()
    assert set(_deployed(settings)) == {"central_modeler_leave"}
