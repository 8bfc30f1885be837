"""The generator lives outside the service, and never overwrites a BPMN file a designer has changed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tools.manual_to_bpmn.__main__ import main

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
