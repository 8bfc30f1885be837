"""`python -m mso_flow.authoring build|check`: generate BPMN from manual readings, and check BPMN files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lxml import etree
from pydantic import ValidationError

from mso_flow.authoring.bpmn_writer import write_bpmn
from mso_flow.authoring.index import render_index
from mso_flow.authoring.model import load_reading
from mso_flow.engine.model import BpmnInvalid
from mso_flow.engine.parsing import parse_document, read_xml
from mso_flow.engine.simulation import simulate

REPO = Path(__file__).resolve().parents[3]


def _yaml_files(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        files += sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    return files


def build(paths: list[str], out_dir: Path) -> int:
    """Write bpmn/<unit>/<key>.bpmn for every reading; return the number of failures."""
    failures = 0
    for path in _yaml_files(paths):
        try:
            reading = load_reading(path)
        except (ValidationError, OSError, ValueError) as err:
            print(f"{path}: {err}", file=sys.stderr)
            failures += 1
            continue
        target = out_dir / reading.unit / f"{reading.key}.bpmn"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(write_bpmn(reading))
        print(f"wrote {target}")
    return failures


def check_file(path: Path) -> list[str]:
    """Every problem of one BPMN file: validation, then the simulation of each process."""
    xml = path.read_bytes()
    try:
        processes = parse_document(xml, str(path))
    except BpmnInvalid as err:
        return [str(p) for p in err.problems]
    root = read_xml(xml, str(path))
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
    """Check BPMN files; print problems; return how many files failed."""
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mso_flow.authoring")
    commands = parser.add_subparsers(dest="command", required=True)
    build_cmd = commands.add_parser("build", help="generate BPMN from manual readings (YAML files or dirs)")
    build_cmd.add_argument("paths", nargs="+")
    build_cmd.add_argument("--out", type=Path, default=REPO / "bpmn")
    check_cmd = commands.add_parser("check", help="validate and simulate BPMN files or directories")
    check_cmd.add_argument("paths", nargs="+")
    index_cmd = commands.add_parser("index", help="write docs/processes.md from the BPMN files")
    index_cmd.add_argument("--bpmn", type=Path, default=REPO / "bpmn")
    index_cmd.add_argument("--out", type=Path, default=REPO / "docs" / "processes.md")
    args = parser.parse_args(argv)
    if args.command == "build":
        return 1 if build(args.paths, args.out) else 0
    if args.command == "index":
        args.out.write_text(render_index(args.bpmn), encoding="utf-8")
        print(f"wrote {args.out}")
        return 0
    return 1 if check(args.paths) else 0


if __name__ == "__main__":
    sys.exit(main())
