"""What protecting a process's data costs (issue 17): the service layer in-process on the manual's สารบรรณ process
as deployed (a classified-letter process: every instance gets a data key, its engine state is stored sealed whole
and its values one by one) against the same file with its `secrecy_variable` property removed (nothing sealed),
on SQLite, in alternating rounds of the same run so that the machine's drift hits both alike.

Reports CPU ms per instance (start + 7 × claim + complete, this process), SQL statements per request kind and the
stored engine state per instance, median over the rounds. Not covered: HTTP (the same for both), PostgreSQL,
reads of the instance by others (a disclosure opens the key once per read), erasure.

    python bench/sealing_cost.py --rounds 5 --instances 40
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import step_cost

PROPERTY = b'<camunda:property name="secrecy_variable" value="secrecy"/>'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--instances", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    sealed_file = step_cost.BPMN
    original = sealed_file.read_bytes()
    if PROPERTY not in original:
        raise SystemExit(f"{sealed_file} has no {PROPERTY.decode()}: nothing to compare")
    results: dict[str, list[step_cost.Run]] = {"sealed (as deployed)": [], "not sealed (property removed)": []}
    with tempfile.TemporaryDirectory() as work:
        plain_file = Path(work) / sealed_file.name
        plain_file.write_bytes(original.replace(PROPERTY, b""))
        for round_ in range(args.rounds):
            for name, bpmn in (("sealed (as deployed)", sealed_file), ("not sealed (property removed)", plain_file)):
                step_cost.BPMN = bpmn
                url = f"sqlite:///{work}/{round_}-{len(results[name])}-{'s' if bpmn == sealed_file else 'p'}.db"
                results[name].append(step_cost.inproc_run(url, args.instances, args.warmup))
    step_cost.BPMN = sealed_file
    print(f"# bench/sealing_cost.py  rounds {args.rounds} × {args.instances} instances, SQLite, in-process")
    print(f"{'run':32} {'CPU ms/inst':>12} {'min':>7} {'max':>7}   statements start/claim/complete   state bytes")
    for name, runs in results.items():
        cpu = [r.cpu * 1000 / r.instances for r in runs]
        sql = {kind: statistics.mean(s for r in runs for s, _ in r.sql[kind]) for kind in step_cost.KINDS}
        sizes = statistics.mean(s for r in runs for s in r.sizes)
        print(
            f"{name:32} {statistics.median(cpu):12.1f} {min(cpu):7.1f} {max(cpu):7.1f}   "
            f"{sql['start']:.1f} / {sql['claim']:.1f} / {sql['complete']:.1f}{'':19} {sizes:8.0f}"
        )
    for label, pick in (("median", statistics.median), ("least", min)):
        sealed, plain = (pick(r.cpu * 1000 / r.instances for r in runs) for runs in results.values())
        print(
            f"sealing costs {sealed - plain:+.1f} ms per instance ({(sealed / plain - 1) * 100:+.0f} %), {label} runs"
        )


if __name__ == "__main__":
    main()
