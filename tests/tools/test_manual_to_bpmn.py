"""The generator lives outside the service, and never overwrites a BPMN file a designer has changed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree
from pydantic import ValidationError

from mso_flow.engine.parsing import parse_document
from tests.factory import bpmn, reading
from tools.manual_to_bpmn.__main__ import main
from tools.manual_to_bpmn.bpmn_writer import write_bpmn
from tools.manual_to_bpmn.manifest import Manifest
from tools.manual_to_bpmn.model import load_reading

ROOT = Path(__file__).resolve().parents[2]
READING = ROOT / "docs" / "manual-extraction" / "central" / "central_transfer_in.yaml"


def test_the_service_package_never_imports_the_tools() -> None:
    sources = sorted((ROOT / "src" / "mso_flow").rglob("*.py"))
    assert sources
    pattern = re.compile(r"^\s*(from|import)\s+tools\b", re.MULTILINE)
    assert [p.name for p in sources if pattern.search(p.read_text(encoding="utf-8"))] == []
    script = (
        "import importlib, pkgutil, sys, mso_flow\n"
        "for m in pkgutil.walk_packages(mso_flow.__path__, 'mso_flow.'):\n"
        "    importlib.import_module(m.name)\n"
        "print(sorted(n for n in sys.modules if n == 'tools' or n.startswith('tools.')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT / "src", capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "[]"


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, Path]:
    """A throw-away repository layout: its bpmn/ directory and its manifest."""
    return tmp_path / "bpmn", tmp_path / "written.sha256"


def _build(repo: tuple[Path, Path], *extra: str) -> int:
    out, manifest = repo
    return main(["build", str(READING), "--out", str(out), "--manifest", str(manifest), *extra])


def test_the_generator_rewrites_only_files_it_wrote_unchanged(
    repo: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    target = repo[0] / "central" / "central_transfer_in.bpmn"
    assert _build(repo) == 0
    generated = target.read_bytes()
    assert "bpmn/central/central_transfer_in.bpmn" in repo[1].read_text()
    assert _build(repo) == 0, "a file the generator wrote, unchanged, is regenerated"
    assert target.read_bytes() == generated

    edited = generated.replace("รับคำร้องขอโอน".encode(), "รับคำร้องขอโอน (แก้ใน Modeler)".encode())
    target.write_bytes(edited)
    capsys.readouterr()
    assert _build(repo) == 1
    err = capsys.readouterr().err
    assert "refused: bpmn/central/central_transfer_in.bpmn: changed since the generator wrote it" in err
    assert target.read_bytes() == edited, "the designer's edit is kept"

    assert _build(repo, "--force") == 0
    assert target.read_bytes() == generated
    assert _build(repo) == 0, "after --force the manifest knows the new file"


def test_the_generator_refuses_a_file_it_never_wrote(
    repo: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    target = repo[0] / "central" / "central_transfer_in.bpmn"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"<made in Camunda Modeler/>")
    assert _build(repo) == 1
    assert "bpmn/central/central_transfer_in.bpmn: not written by the generator" in capsys.readouterr().err
    assert target.read_bytes() == b"<made in Camunda Modeler/>"


def test_the_manifest_of_the_repository_names_every_generated_file() -> None:
    manifest = (ROOT / "docs" / "manual-extraction" / "written.sha256").read_text(encoding="utf-8")
    names = {line.split(maxsplit=1)[1] for line in manifest.splitlines()}
    readings = sorted((ROOT / "docs" / "manual-extraction").glob("*/*.yaml"))
    assert len(names) == len(readings)
    assert all((ROOT / name).is_file() for name in names)


# --- personal data and secrecy marks (RULES.md rule 10) ----------------------------------------------------------

CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
MARKED_STEPS = [
    {
        "id": "intake",
        "name": "รับแจ้งเรื่อง",
        "lane": "staff",
        "form": [
            {
                "id": "reporter",
                "label": "ชื่อผู้แจ้ง",
                "type": "string",
                "personal": True,
                "marking_reason": "กฎข้อ ๑๐: ระบุตัวผู้แจ้ง (names the reporter)",
            },
            {"id": "problem", "label": "สภาพปัญหา", "type": "string", "sensitive": True},
            {"id": "channel", "label": "ช่องทาง", "type": "string"},
            {"id": "secrecy", "label": "ชั้นความลับ", "type": "enum", "values": {"normal": "ปกติ", "secret": "ลับมาก"}},
        ],
    }
]
MARKED_PROCESS = {
    "personal_data": ["citizen_id", "phone"],
    "sensitive_data": ["diagnosis"],
    "retention_days": 730,
    "secrecy_variable": "secrecy",
}


def _field_properties(xml: bytes, field_id: str) -> list[tuple[str | None, str | None, str | None]]:
    root = etree.fromstring(xml)
    [field] = [f for f in root.iter(f"{{{CAMUNDA}}}formField") if f.get("id") == field_id]
    return [(p.get("id"), p.get("name"), p.get("value")) for p in field.iterfind(f"{{{CAMUNDA}}}properties/*")]


def test_the_generator_writes_field_marks_in_the_modeler_shape() -> None:
    xml = bpmn("test_marked", MARKED_STEPS, **MARKED_PROCESS)
    assert _field_properties(xml, "reporter") == [
        ("personal_data", None, "true"),
        ("marking_source", None, "inferred"),
        ("marking_reason", None, "กฎข้อ ๑๐: ระบุตัวผู้แจ้ง (names the reporter)"),
    ]
    assert _field_properties(xml, "problem") == [
        ("personal_data", None, "true"),
        ("sensitive", None, "true"),
        ("multiline", None, "true"),  # an account of a problem is long text (rule 13)
    ]
    assert _field_properties(xml, "channel") == []
    root = etree.fromstring(xml)
    [field] = [f for f in root.iter(f"{{{CAMUNDA}}}formField") if f.get("id") == "reporter"]
    assert [etree.QName(child).localname for child in field] == ["properties"], "Modeler's order: properties first"


def test_long_text_fields_are_multiline_for_the_engine() -> None:
    """Rule 13: orders, opinions, reports are written as passages; names, numbers and units are one line."""
    steps = [
        {
            "id": "decide",
            "name": "ผู้บังคับบัญชาสั่งการ",
            "lane": "staff",
            "form": [
                {"id": "orders", "label": "ข้อสั่งการของผู้บังคับบัญชา", "type": "string"},
                {"id": "result", "label": "ผลการพิจารณา", "type": "string"},
                {"id": "reporter", "label": "ชื่อผู้แจ้ง/ผู้ประสบปัญหา", "type": "string"},
                {"id": "unit", "label": "หน่วยงานที่ร้องเรียน", "type": "string"},
                {"id": "done", "label": "รายงานแล้ว", "type": "boolean"},
            ],
        }
    ]
    [process] = parse_document(bpmn("test_long_text", steps), "test_long_text.bpmn")
    [task] = process.definition.user_tasks
    assert {f.id: f.multiline for f in task.form} == {
        "orders": True,
        "result": True,
        "reporter": False,
        "unit": False,
        "done": False,
    }


def test_the_engine_reads_what_the_generator_marks() -> None:
    [process] = parse_document(bpmn("test_marked", MARKED_STEPS, **MARKED_PROCESS), "marked.bpmn")
    model = process.definition
    assert model.personal_variables == {"reporter", "problem", "citizen_id", "phone", "diagnosis"}
    assert model.sensitive_variables == {"problem", "diagnosis"}
    assert (model.retention_days, model.secrecy_variable) == (730, "secrecy")
    assert model.properties["personal_data"] == "citizen_id, phone"


def test_an_unmarked_reading_writes_no_marks() -> None:
    xml = bpmn("test_plain", [{"id": "work", "name": "ทำงาน", "lane": "staff"}])
    for mark in (b"personal_data", b"sensitive", b"retention_days", b"secrecy_variable", b"marking_"):
        assert mark not in xml
    assert parse_document(xml, "plain.bpmn")[0].definition.confidential is False


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"secrecy_variable": "channel"}, "is not an enum form field"),
        ({"secrecy_variable": "nowhere"}, "is not an enum form field"),
        ({"retention_days": 0}, "greater than 0"),
        ({"retention_days": 36501}, "less than or equal to 36500"),
        ({"retention_days": "30"}, "valid integer"),
        ({"personal_data": ["เลขบัตร"]}, "should match pattern"),
    ],
)
def test_a_reading_with_a_wrong_process_mark_is_refused(extra: dict[str, object], error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        reading("test_marked", MARKED_STEPS, **extra)


def test_a_marking_reason_needs_a_mark() -> None:
    step = {"id": "s", "name": "ขั้นตอน", "lane": "staff"}
    field = {"id": "note", "label": "หมายเหตุ", "type": "string", "marking_reason": "ไม่ได้ทำเครื่องหมาย (no mark)"}
    with pytest.raises(ValidationError, match="marking_reason` without `personal` or `sensitive`"):
        reading("test_marked", [{**step, "form": [field]}])


def test_the_repository_files_are_what_their_readings_generate() -> None:
    """`bpmn/` holds exactly what the generator writes from the readings, marks included, for every file the
    manifest vouches for: the marks were made by regenerating, not by hand."""
    manifest = Manifest(ROOT / "docs" / "manual-extraction" / "written.sha256", ROOT)
    vouched = 0
    for path in sorted((ROOT / "docs" / "manual-extraction").glob("*/*.yaml")):
        found = load_reading(path)
        target = ROOT / "bpmn" / found.unit / f"{found.key}.bpmn"
        if manifest.refusal(target) is None:
            vouched += 1
            assert write_bpmn(found) == target.read_bytes(), f"{target} is not what {path.name} generates"
    assert vouched >= 70
