"""Where a step's CPU goes: profile the live server or the in-process service layer (py-spy or cProfile).

    python bench/profile_step.py --mode pyspy --instances 60      # `mso-flow serve`, SQLite, 1 worker, 1 client
    python bench/profile_step.py --mode inproc --instances 150    # services.* in-process under py-spy
    python bench/profile_step.py --mode asgi --instances 150      # the ASGI app in-process: the HTTP layer's parts
    python bench/profile_step.py --mode cprofile --instances 60   # services.* called in-process, 1 thread

pyspy samples the server's process tree (`py-spy record --subprocesses --format raw --gil`: only the thread
holding the GIL, i.e. Python code running, not threads waiting for work or I/O; idle leaves are dropped) while
one client drives `central_saraban` through its 7 steps, then prints: the share of busy samples per component
(each sample goes to the innermost frame that belongs to a known library or layer, so stdlib helpers count for
their caller), the top functions by self and by inclusive samples, and the inclusive share of a few named hot
spots. inproc samples the in-process service layer (step_cost's in-proc part, 1 thread, all samples, the
timed loop only) the same way: no HTTP, no threads, and SQLite's C time included. cprofile prints the top
functions by own and cumulative time of that in-process loop (cProfile inflates call-heavy code ~3x).
py-spy must be installed (`pip install py-spy`) and allowed to ptrace the server.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from tempfile import TemporaryDirectory

from step_cost import BPMN, BPMN_XML, CLERK, HEAD, Run, drive, inproc_run  # puts the repository on sys.path
from tests.live import live_service

# innermost match wins; the order matters only for paths that match several patterns
COMPONENTS = [
    ("SQLAlchemy ORM (session, flush, unit of work, loading)", r"sqlalchemy/orm/"),
    ("SQLAlchemy Core (compile, execute, result rows)", r"sqlalchemy/"),
    ("DB driver (sqlite3 / psycopg)", r"sqlite3/|psycopg/|psycopg_binary|<built-in method (execute|commit)"),
    ("pydantic (validate, serialize)", r"pydantic/|pydantic_core/"),
    ("FastAPI (routing, dependencies, encoders)", r"fastapi/"),
    ("Starlette (routing, middleware, responses)", r"starlette/"),
    ("uvicorn / h11 / httptools (HTTP protocol)", r"uvicorn/|h11/|httptools/"),
    ("anyio / asyncio / threads (hand-offs)", r"anyio/|asyncio/|threading\.py|concurrent/|selectors\.py"),
    ("SpiffWorkflow (engine, serializer)", r"SpiffWorkflow/"),
    ("RestrictedPython / expressions", r"RestrictedPython/|mso_flow/engine/(sandbox|expressions)"),
    ("json (stdlib)", r"^json/|/json/"),
    ("logging", r"logging/"),
    ("mso_flow engine", r"mso_flow/engine/"),
    ("mso_flow services", r"mso_flow/services/"),
    ("mso_flow store", r"mso_flow/store/"),
    ("mso_flow api", r"mso_flow/api/|mso_flow/schemas/"),
]
HOT_SPOTS = [
    ("Session.flush (unit of work)", r"^Session\._flush |^Session\.flush "),
    ("autoflush before a query", r"_autoflush"),
    ("Session.commit", r"^Session\.commit "),
    ("ORM loading rows into objects", r"loading\.py"),
    ("SQL compile (cache miss or lookup)", r"compiler\.py|_compile_w_cache"),
    ("DB-API execute", r"do_execute |<built-in method execute"),
    ("ProcessRuntime.load (deserialize)", r"^ProcessRuntime\.load "),
    ("ProcessRuntime.dump (serialize)", r"^ProcessRuntime\.dump "),
    ("engine step (do_engine_steps / run)", r"do_engine_steps |^Task\.run "),
    ("audit chain (hashing, events)", r"mso_flow/services/audit|audit\.py"),
    ("authentication (token lookup)", r"cached_caller |authenticate |get_caller "),
    ("FastAPI serialize_response (pydantic out)", r"serialize_response "),
    ("request body / dependency solving", r"solve_dependencies |request_body_to_args "),
    ("run_in_threadpool / to_thread", r"run_in_threadpool |run_sync "),
    ("logging", r"logging/"),
]
USE_CASES = [
    ("start", r"^start \(mso_flow/services/instances/lifecycle\.py"),
    ("claim", r"^claim \(mso_flow/services/tasks/human_tasks\.py"),
    ("complete", r"^complete \(mso_flow/services/tasks/human_tasks\.py"),
]
IDLE = re.compile(r"^(Condition\.wait|Queue\.get|select|_run_once|Runner\.run|BaseEventLoop\.run_forever) \(")
FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def parse_raw(text: str) -> Counter[tuple[str, ...]]:
    """py-spy's raw (collapsed) output: frames root first, joined by ';', then a sample count."""
    stacks: Counter[tuple[str, ...]] = Counter()
    pending = ""
    for line in text.splitlines():
        pending += line
        match = re.search(r" (\d+)$", pending)
        if not match:
            pending += " "
            continue
        frames = pending[: match.start()].split(";")
        stacks[tuple(f for f in frames if not f.startswith("process ") and not f.startswith("thread "))] += int(
            match.group(1)
        )
        pending = ""
    return stacks


def key(frame: str) -> str:
    """`func (file)` without the line number, so a function's lines add up."""
    match = FRAME.match(frame)
    return f"{match['func']} ({match['file']})" if match else frame


def component(stack: tuple[str, ...]) -> str:
    for frame in reversed(stack):
        file = (FRAME.match(frame) or {"file": frame})["file"] or ""
        for name, pattern in COMPONENTS:
            if re.search(pattern, file) or re.search(pattern, frame):
                return name
    return "other (stdlib, interpreter)"


def summarise(stacks: Counter[tuple[str, ...]], top: int, within: str | None = None) -> str:
    """Shares of busy samples; with `within`, only of the stacks that have a frame matching that pattern."""
    if within:
        stacks = Counter({s: n for s, n in stacks.items() if any(re.search(within, f) for f in s)})
    total = sum(stacks.values())
    if not total:
        return "no samples (was the workload sampled?)"
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    parts: Counter[str] = Counter()
    spots: Counter[str] = Counter()
    cases: Counter[str] = Counter()
    for stack, count in stacks.items():
        if not stack or IDLE.search(stack[-1]):
            total -= count
            continue
        own[key(stack[-1])] += count
        for name in {key(f) for f in stack}:
            inclusive[name] += count
        parts[component(stack)] += count
        for spot, pattern in HOT_SPOTS:
            if any(re.search(pattern, f) for f in stack):
                spots[spot] += count
        for case, pattern in USE_CASES:
            if any(re.search(pattern, f) for f in stack):
                cases[case] += count
    lines = [f"{total} busy samples", "", "share of busy samples by component (innermost known frame):"]
    lines += [f"  {n / total:6.1%}  {name}" for name, n in parts.most_common()]
    lines += ["", "inclusive share of the service use case (services.instances.start, services.tasks.claim/complete):"]
    lines += [f"  {cases[name] / total:6.1%}  {name}" for name, _ in USE_CASES]
    lines += ["", "inclusive share of named hot spots (a sample may count for several):"]
    lines += [f"  {spots[name] / total:6.1%}  {name}" for name, _ in HOT_SPOTS]
    lines += ["", f"top {top} functions by self samples:"]
    lines += [f"  {n / total:6.1%}  {name}" for name, n in own.most_common(top)]
    lines += ["", f"top {top} functions by inclusive samples:"]
    lines += [f"  {n / total:6.1%}  {name}" for name, n in inclusive.most_common(top)]
    return "\n".join(lines)


def pyspy(args: argparse.Namespace, tmp: Path) -> str:
    if not shutil.which("py-spy"):
        sys.exit("py-spy is not installed: pip install py-spy")
    bpmn_dir = tmp / "bpmn" / "central"
    bpmn_dir.mkdir(parents=True)
    (bpmn_dir / BPMN.name).write_bytes(BPMN_XML)
    raw = tmp / "raw.txt"
    url = f"sqlite:///{tmp / 'profile.db'}"
    with live_service(url, tmp, workers=1, bpmn_dir=tmp / "bpmn", log_level="info") as live:
        tokens: dict[str, str] = {}
        with live.client() as admin:
            for name, roles in (("start", ["integrator"]), (CLERK, [CLERK]), (HEAD, [HEAD])):
                response = admin.post("/api/v1/users", json={"username": f"p{len(tokens)}", "roles": roles})
                tokens[name] = response.json()["token"]
        asyncio.run(drive(live.url, tokens, 5, 1, Run("warm-up"), "warm"))
        command = ["py-spy", "record", "--pid", str(live.process.pid), "--subprocesses", "--format", "raw", "--gil"]
        spy = subprocess.Popen(
            [*command, "--rate", str(args.rate), "-o", str(raw)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        time.sleep(1.0)  # let py-spy attach
        run = Run("profiled")
        began = time.perf_counter()
        asyncio.run(drive(live.url, tokens, args.instances, 1, run, "profile"))
        seconds = time.perf_counter() - began
        spy.send_signal(signal.SIGINT)
        _, err = spy.communicate(timeout=60)
    if not raw.exists():
        sys.exit(f"py-spy wrote nothing: {err.decode()[-2000:]}")
    header = (
        f"# py-spy on `mso-flow serve`, SQLite, 1 worker, 1 client, {args.instances} instances "
        f"({run.instances / seconds:.1f} instances/s while sampled at {args.rate} Hz)"
    )
    return header + "\n" + summarise(parse_raw(raw.read_text()), args.top)


def inproc(args: argparse.Namespace, tmp: Path) -> str:
    if not shutil.which("py-spy"):
        sys.exit("py-spy is not installed: pip install py-spy")
    raw = tmp / "raw.txt"
    bench = Path(__file__).with_name("step_cost.py")
    command = [sys.executable, str(bench), "--backends", "sqlite", "--skip", "floor,service"]
    command += ["--floor-instances", str(args.instances)]
    spy = ["py-spy", "record", "--format", "raw", "--rate", str(args.rate), "-o", str(raw), "--"]
    subprocess.run([*spy, *command], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    header = f"# py-spy on the in-process service layer, SQLite, 1 thread, {args.instances} instances (timed loop only)"
    return header + "\n" + summarise(parse_raw(raw.read_text()), args.top, within=r"\.one \(.*step_cost\.py")


# the HTTP layer over the use cases: a sample goes to the first of these found anywhere in its stack …
LAYERS_ANYWHERE = [
    ("service use case (services.instances.start, tasks.claim/complete)", "|".join(p for _, p in USE_CASES)),
    (
        "response building (routers' _task, api/views, model_dump_json)",
        r"^(_task|json|instance) \(mso_flow/api/routers/|mso_flow/api/views\.py",
    ),
    ("authentication (get_caller: token lookup)", r"^get_caller \(mso_flow/api/deps\.py"),
]
# … else to the category of its innermost frame that has one
LAYERS_INNERMOST = [
    ("FastAPI routing (route matching)", r"\._match \(fastapi|matches \((fastapi|starlette)/routing|effective_cand"),
    ("FastAPI dependencies and request body", r"fastapi/dependencies/|^(solve_dependencies|request_body_to_args) "),
    ("InputGuard", r"^InputGuard\.__call__"),
    ("Observe (request id, metrics, access log)", r"^Observe\.__call__"),
    ("BodyLimit", r"^BodyLimit\.__call__"),
    ("SecurityHeaders", r"^SecurityHeaders\.__call__"),
    ("thread hand-off (anyio, threading, asyncio)", r"anyio/|threading\.py|concurrent/|asyncio/|queue\.py|uvloop"),
    ("FastAPI/Starlette request plumbing (handlers, exception middlewares, Request/Response)", r"fastapi/|starlette/"),
    ("pydantic (request models)", r"pydantic"),
    ("uvicorn ProxyHeadersMiddleware", r"uvicorn/"),
]


def layers(stacks: Counter[tuple[str, ...]], within: str) -> str:
    """Shares of busy samples of the HTTP layer's parts (see LAYERS_*), over the stacks with a frame matching
    `within` (the request loop's thread and the worker threads)."""
    total = 0
    shares: Counter[str] = Counter()
    for stack, count in stacks.items():
        if not stack or IDLE.search(stack[-1]) or not any(re.search(within, f) for f in stack):
            continue
        if any(f.startswith("warm_up ") for f in stack):
            continue
        total += count
        chosen = next((name for name, p in LAYERS_ANYWHERE if any(re.search(p, f) for f in stack)), None)
        for frame in reversed(stack):
            if chosen:
                break
            chosen = next((name for name, p in LAYERS_INNERMOST if re.search(p, frame)), None)
        shares[chosen or "other"] += count
    if not total:
        return "no samples"
    lines = [f"{total} busy samples of the request path, all threads; share by part:"]
    return "\n".join(lines + [f"  {n / total:6.1%}  {name}" for name, n in shares.most_common()])


def asgi(args: argparse.Namespace, tmp: Path) -> str:
    """py-spy (all threads, all CPU) on bench/asgi_cost.py: the service's ASGI app called in-process on uvloop."""
    if not shutil.which("py-spy"):
        sys.exit("py-spy is not installed: pip install py-spy")
    raw = tmp / "raw.txt"
    command = [sys.executable, str(Path(__file__).with_name("asgi_cost.py")), "--only-asgi"]
    command += ["--instances", str(args.instances)]
    spy = ["py-spy", "record", "--format", "raw", "--rate", str(args.rate), "-o", str(raw), "--"]
    subprocess.run([*spy, *command], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stacks = parse_raw(raw.read_text())
    header = (
        f"# py-spy on the service's ASGI app in-process (bench/asgi_cost.py), SQLite, 1 caller, {args.instances} "
        "instances; all threads"
    )
    within = r"over_asgi|WorkerThread\.run"
    return "\n".join([header, layers(stacks, within), "", summarise(stacks, args.top, within=within)])


def cprofile(args: argparse.Namespace, tmp: Path) -> str:
    profiler = cProfile.Profile()
    run = inproc_run(f"sqlite:///{tmp / 'profile.db'}", args.instances, 3, profiler=profiler)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    out.write(f"# cProfile of the in-process service layer, SQLite, {run.instances} instances\n")
    stats.sort_stats("tottime").print_stats(args.top)
    stats.sort_stats("cumulative").print_stats(args.top)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=["pyspy", "inproc", "asgi", "cprofile"], default="pyspy")
    parser.add_argument("--instances", type=int, default=60)
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--write", type=Path, help="also write the summary to this file")
    parser.add_argument("--raw", type=Path, help="keep py-spy's raw stacks in this file")
    args = parser.parse_args()
    with TemporaryDirectory() as name:
        text = {"pyspy": pyspy, "inproc": inproc, "asgi": asgi, "cprofile": cprofile}[args.mode](args, Path(name))
        if args.raw and (Path(name) / "raw.txt").exists():
            shutil.copy(Path(name) / "raw.txt", args.raw)
    print(text)
    if args.write:
        args.write.write_text(text + "\n")


if __name__ == "__main__":
    main()
