"""`python -m tools.manual_to_bpmn build|check|index`: generate BPMN from manual readings, check and index BPMN
(`index`: the process index docs/processes.md and the lanes table docs/lanes.md).

`build` writes `bpmn/<unit>/<key>.bpmn` for each reading, but refuses (exit status 1, naming the file) to overwrite
a file whose bytes are not those it last wrote (`manifest.py`), unless `--force`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pydantic import ValidationError

from tools.manual_to_bpmn.bpmn_writer import write_bpmn
from tools.manual_to_bpmn.check import check
from tools.manual_to_bpmn.index import render_index
from tools.manual_to_bpmn.lanes import render_lanes
from tools.manual_to_bpmn.manifest import Manifest
from tools.manual_to_bpmn.model import load_reading

REPO = Path(__file__).resolve().parents[2]
MANIFEST = REPO / "docs" / "manual-extraction" / "written.sha256"


def _yaml_files(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        files += sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    return files


def build(paths: list[str], out_dir: Path, manifest_path: Path = MANIFEST, force: bool = False) -> int:
    """Write bpmn/<unit>/<key>.bpmn for every reading; return the number of failures (refusals included)."""
    manifest = Manifest(manifest_path, out_dir.parent)
    failures = 0
    for path in _yaml_files(paths):
        try:
            reading = load_reading(path)
        except (ValidationError, OSError, ValueError) as err:
            print(f"{path}: {err}", file=sys.stderr)
            failures += 1
            continue
        target = out_dir / reading.unit / f"{reading.key}.bpmn"
        refusal = manifest.refusal(target)
        if refusal and not force:
            print(f"refused: {refusal} (--force overwrites it)", file=sys.stderr)
            failures += 1
            continue
        data = write_bpmn(reading)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        manifest.record(target, data)
        print(f"wrote {target}")
    manifest.save()
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.manual_to_bpmn")
    commands = parser.add_subparsers(dest="command", required=True)
    build_cmd = commands.add_parser("build", help="generate BPMN from manual readings (YAML files or dirs)")
    build_cmd.add_argument("paths", nargs="+")
    build_cmd.add_argument("--out", type=Path, default=REPO / "bpmn")
    build_cmd.add_argument("--manifest", type=Path, default=MANIFEST, help="hashes of the files last written")
    build_cmd.add_argument("--force", action="store_true", help="overwrite files edited since they were written")
    check_cmd = commands.add_parser("check", help="validate and simulate BPMN files or directories")
    check_cmd.add_argument("paths", nargs="+")
    index_cmd = commands.add_parser("index", help="write docs/processes.md and docs/lanes.md from the BPMN files")
    index_cmd.add_argument("--bpmn", type=Path, default=REPO / "bpmn")
    index_cmd.add_argument("--out", type=Path, default=REPO / "docs" / "processes.md")
    index_cmd.add_argument("--lanes-out", type=Path, default=REPO / "docs" / "lanes.md")
    args = parser.parse_args(argv)
    if args.command == "build":
        return 1 if build(args.paths, args.out, args.manifest, args.force) else 0
    if args.command == "index":
        args.out.write_text(render_index(args.bpmn), encoding="utf-8")
        args.lanes_out.write_text(render_lanes(args.bpmn), encoding="utf-8")
        print(f"wrote {args.out} and {args.lanes_out}")
        return 0
    return 1 if check(args.paths) else 0


if __name__ == "__main__":
    sys.exit(main())
