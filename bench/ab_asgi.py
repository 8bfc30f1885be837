"""Before/after on a noisy machine: two versions of the service's ASGI app (this checkout and another `src`
directory, e.g. a `git worktree` of the base commit), each in its own process running bench/asgi_cost.py's
workload in-process, asked for small batches in turn (A B B A …) so that both see the same load; the median
of the per-batch CPU per request of each kind is compared.

    git worktree add /tmp/base <commit>
    python bench/ab_asgi.py --base-src /tmp/base/src --rounds 40 --batch 4
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
KINDS = ("start", "claim", "complete", "me")
STEPS = 7


def spawn(src: str | None) -> subprocess.Popen[str]:
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src
    process = subprocess.Popen(
        [sys.executable, str(HERE / "asgi_cost.py"), "--batches"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=HERE,
        env=env,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if line.strip() != "ready":
        raise RuntimeError(f"{src or 'this checkout'} did not start: {line!r}")
    return process


def batch(process: subprocess.Popen[str], size: int) -> dict[str, float]:
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(f"{size}\n")
    process.stdin.flush()
    sums = json.loads(process.stdout.readline())
    return {kind: seconds / count * 1000 for kind, (seconds, count) in sums.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-src", required=True, help="the src directory of the version to compare against")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--batch", type=int, default=4, help="instances per batch")
    args = parser.parse_args()
    versions = {"base": spawn(args.base_src), "this": spawn(None)}
    results: dict[str, list[dict[str, float]]] = {name: [] for name in versions}
    for number in range(args.rounds):
        order = list(versions) if number % 2 == 0 else list(reversed(versions))
        for name in order:
            results[name].append(batch(versions[name], args.batch))
    for process in versions.values():
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=60)
    load = os.getloadavg()[0]
    print(f"CPU ms per request, median of {args.rounds} batches of {args.batch} instances (load {load:.1f})")
    print(f"{'':<6} " + " ".join(f"{kind:>9}" for kind in KINDS) + f" {'instance':>9}")
    medians = {}
    for name, rows in results.items():
        medians[name] = {kind: statistics.median(row[kind] for row in rows) for kind in KINDS}
        per_instance = [row["start"] + STEPS * (row["claim"] + row["complete"]) for row in rows]
        medians[name]["instance"] = statistics.median(per_instance)
        print(f"{name:<6} " + " ".join(f"{medians[name][k]:9.3f}" for k in (*KINDS, "instance")))
    base, this = medians["base"], medians["this"]
    print(f"{'diff':<6} " + " ".join(f"{this[k] - base[k]:+9.3f}" for k in (*KINDS, "instance")))


if __name__ == "__main__":
    main()
