"""Rewrite references to the modules issue 28 moved (services/ per domain, unambiguous names, the tests' live-service
helpers out of the package), for code written against the former layout: a branch merged after the move.

    python tools/rename_modules.py FILE_OR_DIR ...   # rewrites .py, .md, .toml, .yaml, .txt, .sh, .html files in place

`from mso_flow.services import tasks` becomes `from mso_flow.services.tasks import human_tasks as tasks` (local
names stay, so call sites need no change); dotted paths (`mso_flow.services.tasks.X`) and file paths
(`services/tasks.py`) follow the move. A path already in the new layout is left alone, so a second run changes
nothing.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

S = "mso_flow.services."
svc = {
    "context": "platform.context",
    "unit_of_work": "platform.unit_of_work",
    "errors": "platform.failures",
    "events": "platform.events",
    "loops": "platform.loops",
    "calendar": "platform.working_days",
    "anchoring": "platform.anchoring",
    "key_locations": "platform.key_locations",
    "secret_files": "platform.secret_files",
    "monitoring": "platform.monitoring",
    "instances": "instances.lifecycle",
    "migration": "instances.migration",
    "incidents": "instances.incidents",
    "guards": "instances.guards",
    "tasks": "tasks.human_tasks",
    "assignment": "tasks.assignment",
    "comments": "tasks.comments",
    "candidates": "tasks.candidates",
    "inbox": "tasks.inbox",
    "task_queries": "tasks.candidate_queries",
    "forms": "tasks.form_check",
    "definitions": "definitions.deployment",
    "repository": "definitions.repository",
    "diagrams": "definitions.diagrams",
    "external_tasks": "integrations.external_tasks",
    "wakeups": "integrations.wakeups",
    "webhooks": "integrations.webhooks",
    "webhook_delivery": "integrations.webhook_delivery",
    "outbound": "integrations.outbound",
    "messages": "integrations.messages",
    "timers": "integrations.timers",
    "timer_starts": "integrations.timer_starts",
    "personal_data": "privacy.personal_data",
    "sealing": "privacy.sealing",
    "keyring": "privacy.keyring",
    "privacy": "privacy.officer",
    "need_to_know": "privacy.need_to_know",
    "unreadable": "privacy.unreadable",
    "privacy_marks": "privacy.marks",
    "users": "accounts.users",
    "accounts": "accounts.logins",
    "roles": "accounts.known_roles",
    "directory": "accounts.directory",
    "reports": "reports.kpis",
    "defects": "platform.defects",
    "cases": "instances.cases",
    "staffing": "tasks.staffing",
    "cockpit": "operations.cockpit",
}
mapping = {S + k: S + v for k, v in svc.items()}
mapping.update(
    {
        "mso_flow.engine.errors": "mso_flow.engine.process_errors",
        "mso_flow.engine.roles": "mso_flow.engine.lane_roles",
        "mso_flow.engine.limits": "mso_flow.engine.budgets",
        "mso_flow.store.roles": "mso_flow.store.grants",
        "mso_flow.api.limits": "mso_flow.api.body_limits",
        "mso_flow.api.views": "mso_flow.api.presenters",
        "mso_flow.api.errors": "mso_flow.api.problems",
        "mso_flow.api.engine_rest.errors": "mso_flow.api.engine_rest.camunda_errors",
        "mso_flow.testing.live": "tests.live",
        "mso_flow.testing.database": "tests.database",
        "mso_flow.testing.foreign": "tests.foreign",
    }
)

# paths: services/tasks.py → services/tasks/human_tasks.py etc.
path_map = {}
for old, new in mapping.items():
    if old.startswith("mso_flow.testing"):
        path_map["mso_flow/testing/" + old.rsplit(".", 1)[1] + ".py"] = "tests/" + new.rsplit(".", 1)[1] + ".py"
        continue
    o = old.split(".", 1)[1].replace(".", "/") + ".py"
    n = new.split(".", 1)[1].replace(".", "/") + ".py"
    path_map[o] = n
path_map["docs/take_screenshots.py"] = "tools/take_screenshots.py"
path_map["src/tests/"] = "tests/"

_OLD = "|".join(re.escape(k) for k in sorted(mapping, key=len, reverse=True))
dotted_re = re.compile(r"(?<![\w.])(" + _OLD + r")(?![\w.])( import (\w+))?")
NEW_MODULES = set(mapping.values())


def fix_dotted(m: re.Match[str]) -> str:
    """A dotted path of a moved module; a package of the new layout importing one of its modules stays."""
    if m.group(3) and f"{m.group(1)}.{m.group(3)}" in NEW_MODULES:
        return m.group(0)
    return mapping[m.group(1)] + (m.group(2) or "")


path_re = re.compile(r"(?<![\w.])(" + "|".join(re.escape(k) for k in sorted(path_map, key=len, reverse=True)) + r")")
parents = {old.rsplit(".", 1)[0] for old in mapping}
from_re = re.compile(
    r"^([ \t]*)from ("
    + "|".join(re.escape(p) for p in sorted(parents, key=len, reverse=True))
    + r") import (\([^)]*\)|[^\n]*)",
    re.MULTILINE,
)


def fix_from(m: re.Match[str]) -> str:
    indent, pkg, names = m.group(1), m.group(2), m.group(3)
    comment = ""
    body = names
    if body.startswith("("):
        body = body[1:-1]
        body = re.sub(r"#[^\n]*", "", body)
    elif "#" in body:
        body, comment = body.split("#", 1)
        comment = "  #" + comment
    items = [x.strip() for x in body.replace("\n", " ").split(",") if x.strip()]
    keep, out = [], []
    for it in items:
        parts = it.split(" as ")
        name = parts[0].strip()
        alias = parts[1].strip() if len(parts) > 1 else None
        full = pkg + "." + name
        if full in mapping:
            new = mapping[full]
            npkg, leaf = new.rsplit(".", 1)
            local = alias or name
            out.append(f"{indent}from {npkg} import {leaf}" + (f" as {local}" if local != leaf else ""))
        else:
            keep.append(it)
    if not out:
        return m.group(0)
    lines = []
    if keep:
        lines.append(f"{indent}from {pkg} import {', '.join(keep)}")
    lines += out
    lines[0] += comment
    return "\n".join(lines)


SUFFIXES = {".py", ".md", ".toml", ".txt", ".yaml", ".yml", ".cfg", ".ini", ".html", ".sh"}


def rewrite(text: str, python: bool) -> str:
    """The text with every reference to a moved module rewritten."""
    text = dotted_re.sub(fix_dotted, text)
    text = path_re.sub(lambda m: path_map[m.group(1)], text)
    return from_re.sub(fix_from, text) if python else text


def main(paths: list[str]) -> int:
    for raw in paths:
        root = Path(raw)
        for path in sorted(root.rglob("*")) if root.is_dir() else [root]:
            if (
                path.suffix not in SUFFIXES
                or not path.is_file()
                or ".git" in path.parts
                or ".venv" in path.parts
                or path.resolve() == Path(__file__).resolve()
            ):
                continue
            text = path.read_text(encoding="utf-8")
            new = rewrite(text, path.suffix == ".py")
            if new != text:
                path.write_text(new, encoding="utf-8")
                print(f"rewrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
