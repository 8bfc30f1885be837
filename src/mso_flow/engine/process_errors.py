"""What a process error is and what a process can be asked to do, in terms the service reports.

- `classify` / `kind_of`: the kind of a failure (`KINDS`) and the variables the failing expression reads;
- `check_variables`: an engine step's variables must be storable (plain JSON within the limits);
- `start_kinds`: how a process starts (a person may start only a process with a plain start event);
- `call_cycles`: call activities and subprocesses that call themselves, directly or not (refused at deployment:
  such a process never reaches a wait state).
"""

from __future__ import annotations

import ast
import builtins
import re
from typing import Any

from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptTask
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask

from mso_flow.engine import budgets as limits

KINDS = ("expression", "script", "limit", "serialization", "engine", "timer", "external_task")
_QUOTED = re.compile(r"'(.*)'", re.DOTALL)
_NOT_VARIABLES = frozenset(dir(builtins)) | {"True", "False", "None"}
ENGINE_NAMES = frozenset({"task", "workflow", "data_objects", "my_task", "script_engine", "self"})
SHADOWING = frozenset(dir(builtins)) | ENGINE_NAMES  # variable names a condition could not tell from these


def kind_of(cause: BaseException | None, spec: Any = None) -> str:
    if isinstance(cause, limits.ResultInvalid):
        return "serialization"
    if isinstance(cause, limits.LimitExceeded | RecursionError | MemoryError):
        return "limit"
    if isinstance(spec, ScriptTask):
        return "script"
    if cause is None or isinstance(cause, NameError | TypeError | ValueError | ArithmeticError | AttributeError):
        return "expression"
    return "engine"


def _names(source: str) -> tuple[str, ...]:
    try:
        tree = ast.parse(source.strip(), mode="exec")
    except SyntaxError:
        return ()
    found = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id not in _NOT_VARIABLES}
    return tuple(sorted(found))


def classify(err: Exception, cause: BaseException | None, spec: Any) -> tuple[str, tuple[str, ...]]:
    """(kind, variable names read) of a SpiffWorkflow error at `spec`."""
    source = getattr(spec, "script", None) if isinstance(spec, ScriptTask) else None
    if source is None:
        quoted = _QUOTED.search(str(err))
        source = quoted.group(1) if quoted else ""
    names = _names(source)
    if isinstance(cause, NameError) and cause.name and cause.name not in names:
        names = (*names, cause.name)
    return kind_of(cause, spec), names


def check_variables(variables: dict[str, Any]) -> None:
    """`limits.ResultInvalid` naming the first variable that cannot be stored."""
    for name, value in variables.items():
        limits.check_result(name, value)


def start_kinds(spec: BpmnProcessSpec) -> set[str]:
    """The kinds of the top-level start events: "none", "message", "timer", "signal", "conditional"…"""
    kinds = set()
    for task_spec in spec.task_specs.values():
        if isinstance(task_spec, StartEvent):
            definition = task_spec.event_definition
            if isinstance(definition, NoneEventDefinition):
                kinds.add("none")
            else:
                kinds.add(type(definition).__name__.removesuffix("EventDefinition").lower())
    return kinds


def call_cycles(spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec]) -> list[list[str]]:
    """Every cycle of the call graph reachable from `spec`, as the chain of process ids."""
    specs = {spec.name: spec, **subprocess_specs}

    def callees(name: str) -> list[str]:
        node = specs.get(name)
        if node is None:
            return []
        return sorted({t.spec for t in node.task_specs.values() if isinstance(t, SubWorkflowTask)})

    cycles: list[list[str]] = []
    path: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> None:
        if name in path:
            cycles.append([*path[path.index(name) :], name])
            return
        if name in done:
            return
        path.append(name)
        for callee in callees(name):
            visit(callee)
        path.pop()
        done.add(name)

    visit(spec.name)
    return cycles
