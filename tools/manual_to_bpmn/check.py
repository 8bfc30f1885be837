"""Check BPMN files on their own (no reading needed): validation as deployed, then the simulation of each process."""

from __future__ import annotations

import sys
from pathlib import Path

from lxml import etree

from mso_flow.engine import expressions
from mso_flow.engine.model import BpmnInvalid
from mso_flow.engine.parsing import parse_document, read_xml
from mso_flow.engine.simulation import simulate


def check_file(path: Path) -> list[str]:
    """Every problem of one BPMN file: validation, then the simulation of each process."""
    xml = path.read_bytes()
    try:
        processes = parse_document(xml, str(path))
    except BpmnInvalid as err:
        return [str(p) for p in err.problems]
    root = read_xml(xml, str(path))
    expressions.normalize_document(root, str(path))  # conditions as the engine runs them (JUEL → Python)
    problems = []
    for process in processes:
        report = simulate(process, root)
        key = process.definition.key
        problems += [f"{path}: {key}: flow never taken: {f}" for f in report.untaken_flows]
        problems += [f"{path}: {key}: task never reached: {t}" for t in report.unreached_tasks]
        problems += [f"{path}: {key}: dead end: {d}" for d in report.dead_ends[:5]]
        problems += [f"{path}: {key}: engine error: {e}" for e in report.errors[:5]]
        if report.truncated:
            problems.append(f"{path}: {key}: too many paths to explore ({report.runs} runs)")
    return problems


def check(paths: list[str]) -> int:
    """Check BPMN files or directories; print problems; return how many files failed."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        files += sorted(path.rglob("*.bpmn")) if path.is_dir() else [path]
    failed = 0
    for path in files:
        try:
            problems = check_file(path)
        except (OSError, etree.LxmlError) as err:
            problems = [f"{path}: {err}"]
        if problems:
            failed += 1
            print("\n".join(problems))
        else:
            print(f"ok {path}")
    print(f"{len(files) - failed} of {len(files)} files pass", file=sys.stderr)
    return failed
