"""Sandboxed evaluation of BPMN conditions and scripts with RestrictedPython.

Expressions see the task's data and a small set of safe builtins; there is no `import`, no attribute starting
with an underscore, no `open`, `eval`, `exec` or `getattr` on arbitrary names, hence no file, process or network
access. RestrictedPython does not bound CPU or memory: `RestrictedEnvironment` (the script environment of every
workflow) runs each evaluation in an evaluator process the kernel bounds (`engine.isolation`), where
`evaluate_here` / `execute_here` apply `engine.limits`: operators and string methods check the size of what they
build, a watchdog bounds CPU time, wall-clock time and memory, and the values a script leaves in the task's data
must be plain JSON within the size limits.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import CodeType
from typing import Any

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safe_builtins,
    safer_getattr,
)
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
)

from mso_flow.engine import budgets as limits
from mso_flow.engine import isolation, schedule


class ExpressionError(ValueError):
    """An expression or script that the sandbox refuses to compile."""


_BUILTINS = {
    **safe_builtins,
    "min": min,
    "max": max,
    "sum": sum,
    "any": any,
    "all": all,
    "sorted": sorted,
    "list": list,
    "dict": dict,
    "tuple": tuple,
    "set": set,
    "enumerate": enumerate,
    "zip": zip,
    **limits.GUARDED_BUILTINS,
}


def _getattr(obj: Any, name: str, default: Any = None) -> Any:
    return limits.guard_attribute(obj, name, safer_getattr(obj, name, default))


_GUARDS: dict[str, Any] = {
    "__builtins__": _BUILTINS,
    "_getattr_": _getattr,
    "_getitem_": default_guarded_getitem,
    "_getiter_": default_guarded_getiter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": full_write_guard,
    "__name__": "bpmn_script",
    "__metaclass__": type,
    **limits.GUARD_NAMES,
}


@functools.lru_cache(maxsize=4096)
def compile_expression(expression: str) -> CodeType:
    """Compile a condition or timer expression under RestrictedPython (cached)."""
    result = compile_restricted_eval(expression.strip(), "<expression>", policy=limits.GuardingTransformer)
    if result.errors or result.code is None:
        raise ExpressionError("; ".join(result.errors) or "cannot compile expression")
    return result.code


@functools.lru_cache(maxsize=1024)
def compile_script(script: str) -> CodeType:
    """Compile a script task's body under RestrictedPython (cached)."""
    result = compile_restricted_exec(script, "<script>", policy=limits.GuardingTransformer)
    if result.errors or result.code is None:
        raise ExpressionError("; ".join(result.errors) or "cannot compile script")
    return result.code


def _scope(context: Mapping[str, Any], external: Mapping[str, Any] | None) -> dict[str, Any]:
    scope = dict(context)
    if external:
        scope.update(external)
    scope.update(_GUARDS)
    return scope


def evaluate_here(expression: str, context: dict[str, Any], external: Mapping[str, Any] | None) -> Any:
    """The value of a condition or timer expression, computed in this process (an evaluator's)."""
    code = compile_expression(expression)
    scope = _scope(context, external)
    limits.begin()
    try:
        return eval(code, scope)
    finally:
        limits.end()


def execute_here(
    script: str, context: dict[str, Any], external: Mapping[str, Any] | None
) -> tuple[dict[str, Any], list[str]]:
    """Run a script in this process (an evaluator's): (the variables it set or changed, those it deleted)."""
    scope = _scope(context, external)
    code = compile_script(script)
    limits.begin()
    try:
        exec(code, scope)
    finally:
        limits.end()
    deleted = [name for name in context if name not in scope]  # `del x` in the script
    changed = {}
    for name, value in scope.items():
        if name in _GUARDS or (external and name in external) or callable(value):
            continue
        if name not in context or context[name] is not value or isinstance(value, list | dict):
            limits.check_result(name, value)
            changed[name] = value
    return changed, deleted


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """A SpiffWorkflow script environment that runs everything through RestrictedPython in an evaluator process
    (`engine.isolation`); the engine command's budget is checked before each evaluation."""

    def evaluate(self, expression: str | None, context: dict[str, Any], external_context: Any = None) -> Any:
        if expression is None:  # a Camunda message thrown without a payload expression carries nothing
            return None
        limits.check_command()
        return isolation.call(evaluate_here, expression, context, external_context)

    def execute(self, script: str, context: dict[str, Any], external_context: Any = None) -> bool:
        limits.check_command()
        changed, deleted = isolation.call(execute_here, script, context, external_context)
        for name in deleted:
            del context[name]
        context.update(changed)
        return True

    def call_service(self, context: dict[str, Any], **kwargs: Any) -> Any:
        raise ExpressionError("service calls are not available in BPMN scripts; use an external task")


_TIMER_KINDS = {
    TimeDateEventDefinition: "timeDate",
    DurationTimerEventDefinition: "timeDuration",
    CycleTimerEventDefinition: "timeCycle",
}


class _ScriptEngine(PythonScriptEngine):
    """The text a timer expression computes must be a timer the engine can run (`schedule.run_time_problem`)
    before SpiffWorkflow reads it: a negative or malformed one would fail there without naming the timer, and a
    huge one (`P99999999Y`) would keep it counting months for hours."""

    def evaluate(self, task: Any, expression: str, external_context: Any = None) -> Any:
        value = super().evaluate(task, expression, external_context)
        definition: Any = getattr(task.task_spec, "event_definition", None)
        kind = _TIMER_KINDS.get(type(definition))
        if kind is not None and expression == definition.expression:
            problem = schedule.run_time_problem(kind, value)
            if problem is not None:
                error = ValueError(f"timer {expression!r} gave {value!r}: {problem}")
                raise WorkflowTaskException(str(error), task=task, exception=error)
        return value


def create_script_engine() -> PythonScriptEngine:
    """The script engine every workflow of MSO Flow runs with."""
    return _ScriptEngine(environment=RestrictedEnvironment())
