"""The readings staff see beside a diagram describe that diagram, and each task's manual lines hold its step
(RULES.md rules 9 and 11; the checks are in readings_check.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from mso_flow.engine.parsing import BPMN_NS, CAMUNDA_NS
from tests.bpmn.readings_check import manual_line_problems, reading_problems

ROOT = Path(__file__).resolve().parents[2]
BPMN_DIR = ROOT / "bpmn"
FILES = sorted(BPMN_DIR.rglob("*.bpmn"))
MANUAL = (ROOT.parent / "shared" / "manual" / "work-manual-2567.txt").read_text(encoding="utf-8").splitlines()
MODELER_FILE = ROOT / "tests" / "fixtures" / "modeler_leave_request.bpmn"


def _ids(path: Path) -> str:
    return path.relative_to(BPMN_DIR).as_posix()


@pytest.mark.parametrize("path", FILES, ids=_ids)
def test_the_readings_name_nothing_the_diagram_lacks(path: Path) -> None:
    assert reading_problems(path) == []


@pytest.mark.parametrize("path", FILES, ids=_ids)
def test_each_task_s_manual_lines_hold_its_step(path: Path) -> None:
    assert manual_line_problems(path, MANUAL) == []


def test_a_modeler_process_without_readings_or_lines_passes() -> None:
    assert reading_problems(MODELER_FILE) == []
    assert manual_line_problems(MODELER_FILE, MANUAL) == []


def _with_reading(tmp_path: Path, relative: str, reading: str) -> Path:
    """A copy of a file of bpmn/ whose readings end with `reading`."""
    root = etree.parse(str(BPMN_DIR / relative)).getroot()
    documentation = next(root.iter(f"{{{BPMN_NS}}}process")).find(f"{{{BPMN_NS}}}documentation")
    assert documentation is not None and documentation.text
    documentation.text += f"\n- {reading}"
    copy = tmp_path / Path(relative).name
    copy.write_bytes(etree.tostring(root))
    return copy


# the readings the review found beside diagrams that no longer had what they described
STALE = [
    (
        "inspection/inspection_hotline_1300.bpmn",
        "Step ๔ (กรณีปกติ) states 'ลงพื้นที่ภายใน ๒๔ ชั่วโมง': it is both the step's standard duration (PT24H) and a "
        "deadline whose non-interrupting timer alerts the supervisor.",
    ),
    ("inspection/inspection_hotline_1300.bpmn", "The timers run from the start of the report task."),
    (
        "inspection/inspection_hotline_1300.bpmn",
        "The manual names no supervisor for the deadlines: the escalation lane is the head of the owning unit, "
        "'หัวหน้าศูนย์ช่วยเหลือสังคม'.",
    ),
    (
        "social-policy-innovation/innovation_policy_recommendation.bpmn",
        "Step ๕ 'นำเสนอให้ผู้บริหารให้ความเห็นชอบ ก่อนนำไปใช้ประโยชน์' is a เห็นชอบ/ไม่เห็นชอบ decision; the manual "
        "names no step for a rejection, so ไม่เห็นชอบ loops back to step ๔.",
    ),
    (
        "phrapracha-institute/institute_training.bpmn",
        "Row ๒'s diamond is a เห็นชอบ/ไม่เห็นชอบ decision that returns to the course design.",
    ),
    ("legal/legal_admin_case_defense.bpmn", "Step ๔ 'ไม่เกิน ๑-๓ วัน' is its duration (P3D)."),
    ("anti-trafficking/trafficking_victim_protection.bpmn", "Step ๘ is a decision on the family's readiness."),
    ("anti-trafficking/trafficking_action_plan.bpmn", "A lane 'ผู้บริหารระดับกอง' takes the approval."),
    ("central/central_saraban.bpmn", "Step ๒ is a task without a gateway."),
    ("central/central_saraban.bpmn", "The required field `approval_result` decides step ๕."),
]


@pytest.mark.parametrize(("relative", "reading"), STALE)
def test_a_reading_the_diagram_contradicts_is_caught(tmp_path: Path, relative: str, reading: str) -> None:
    assert reading_problems(BPMN_DIR / relative) == []
    assert reading_problems(_with_reading(tmp_path, relative, reading)) != []


def _with_lines(tmp_path: Path, relative: str, task_id: str, lines: str | None) -> Path:
    """A copy of a file of bpmn/ with a task's manual_lines changed (None: removed)."""
    root = etree.parse(str(BPMN_DIR / relative)).getroot()
    [task] = [t for t in root.iter(f"{{{BPMN_NS}}}userTask") if t.get("id") == task_id]
    [prop] = [p for p in task.iter(f"{{{CAMUNDA_NS}}}property") if p.get("name") == "manual_lines"]
    if lines is None:
        prop.getparent().remove(prop)
    else:
        prop.set("value", lines)
    copy = tmp_path / Path(relative).name
    copy.write_bytes(etree.tostring(root))
    return copy


# the lines the review found wrong or missing, as they were
WRONG_LINES = [
    ("anti-trafficking/trafficking_victim_protection.bpmn", "Task_screening", "2223-2223", "2230-2230"),
    ("anti-trafficking/trafficking_victim_protection.bpmn", "Task_protection", "2220-2220", "2261-2261"),
    ("social-standards/standards_social_situation_report.bpmn", "Task_write_report", "2896-2896", "2926-2926"),
    ("anti-corruption/anticorruption_moral_organization.bpmn", "Task_target_virtues", "4696-4696", "4698-4698"),
    ("anti-corruption/anticorruption_moral_organization.bpmn", "Task_self_assessment", "4696-4696", "4703-4703"),
    ("anti-corruption/anticorruption_ita.bpmn", "Task_fix_iit_eit", "4532-4532", "4526-4526"),
    ("anti-trafficking/trafficking_national_committee_meeting.bpmn", "Task_refreshments", None, "2598-2598"),
    ("internal-audit/audit_eia.bpmn", "Task_follow_up", None, "4217-4217"),
]


@pytest.mark.parametrize(("relative", "task_id", "wrong", "right"), WRONG_LINES)
def test_wrong_or_missing_manual_lines_are_caught(
    tmp_path: Path, relative: str, task_id: str, wrong: str | None, right: str
) -> None:
    assert manual_line_problems(_with_lines(tmp_path, relative, task_id, right), MANUAL) == []
    problems = manual_line_problems(_with_lines(tmp_path, relative, task_id, wrong), MANUAL)
    assert [p for p in problems if task_id in p] != []
