"""Normalise what designers type in a modeler into expressions SpiffWorkflow evaluates safely.

SpiffWorkflow evaluates conditions and timer definitions as Python. Camunda Modeler users type timers as bare
ISO-8601 text (`PT24H`, `P7D`, `2026-12-01T09:00:00+07:00`, `R3/PT1H`) and conditions in JUEL (`${x > 5}`).
At parse time, timers become Python string literals, simple JUEL conditions are translated to Python, and
every expression must compile in the sandbox, so a bad expression is a deployment error, not a run-time one.
"""

from __future__ import annotations

import re

import isodate
from lxml import etree

from mso_flow.domain import BPMN_NS
from mso_flow.engine import schedule
from mso_flow.engine.model import Problem
from mso_flow.engine.sandbox import ExpressionError, compile_expression, compile_script

_TIMER_TAGS = ("timeDuration", "timeDate", "timeCycle")
_JUEL = re.compile(r"^\s*\$\{(.*)\}\s*$", re.DOTALL)
_JUEL_OPERATORS = (
    (r"&&", " and "),
    (r"\|\|", " or "),
    (r"!(?!=)", " not "),
    (r"\beq\b", "=="),
    (r"\bne\b", "!="),
    (r"\bgt\b", ">"),
    (r"\blt\b", "<"),
    (r"\bge\b", ">="),
    (r"\ble\b", "<="),
    (r"\btrue\b", "True"),
    (r"\bfalse\b", "False"),
    (r"\bnull\b", "None"),
    (r"\bempty\s+", " not "),
)


def is_iso_duration(text: str) -> bool:
    """True for an ISO-8601 duration such as `P15D`, `PT3M` or `P1Y2M`."""
    if not text.startswith("P"):
        return False
    try:
        isodate.parse_duration(text)
    except (isodate.ISO8601Error, ValueError):
        return False
    return True


_TIMER_TEXT = re.compile(r"[RP0-9][-+0-9A-Z:.,/]*")  # what ISO-8601 timers are written with; no Python name


def timer_literal(kind: str, text: str) -> str | None:
    """The Python literal for a timer of `kind` typed as bare ISO-8601 text, None when `text` is not such text
    (a Python expression); `schedule.TimerInvalid` when it is ISO-8601 text the engine cannot run."""
    stripped = text.strip()
    if not _TIMER_TEXT.fullmatch(stripped):
        return None
    problem = schedule.timer_problem(kind, stripped)
    if problem is not None:
        raise schedule.TimerInvalid(problem)
    return repr(stripped)


def translate_juel(text: str) -> str | None:
    """Translate a simple JUEL condition `${...}` into Python, or None when `text` is not JUEL."""
    match = _JUEL.match(text)
    if not match:
        return None
    body = match.group(1)
    for pattern, python in _JUEL_OPERATORS:
        body = re.sub(pattern, python, body)
    return " ".join(body.split())


def _check_compiles(expression: str) -> str | None:
    try:
        compile_expression(expression)
    except (ExpressionError, SyntaxError, ValueError) as err:
        return str(err)
    return None


def _owner(element: etree._Element) -> etree._Element:
    """The nearest ancestor with an id that is not an event definition: the element a designer clicks on."""
    node: etree._Element | None = element
    while node is not None and (node.get("id") is None or etree.QName(node).localname.endswith("EventDefinition")):
        node = node.getparent()
    return node if node is not None else element


def owner_id(element: etree._Element) -> str:
    """The id of the element a designer clicks on to edit `element` (a timer, a condition)."""
    return _owner(element).get("id") or "-"


def _normalize_timer(element: etree._Element, file: str) -> Problem | None:
    text = (element.text or "").strip()
    owner = _owner(element)
    if not text:
        return Problem(file, element.sourceline, owner.get("id"), "timer has no value")
    try:
        literal = timer_literal(etree.QName(element).localname, text)
    except schedule.TimerInvalid as invalid:
        return Problem(file, element.sourceline, owner.get("id"), f"timer {text!r}: {invalid}")
    if literal is not None:
        element.text = literal
        return None
    if _JUEL.match(text):
        return Problem(
            file,
            element.sourceline,
            owner.get("id"),
            f"timer {text!r}: JUEL expressions are not supported; type ISO-8601 text such as PT24H or P7D, "
            "or a Python expression",
        )
    error = _check_compiles(text)
    if error:
        return Problem(
            file,
            element.sourceline,
            owner.get("id"),
            f"timer {text!r} is neither ISO-8601 (PT24H, P7D, 2026-12-01T09:00:00+07:00, R3/PT1H) nor a valid "
            f"expression: {error}",
        )
    return None


def _normalize_condition(element: etree._Element, file: str) -> Problem | None:
    text = (element.text or "").strip()
    owner = _owner(element)
    if not text:
        return Problem(file, element.sourceline, owner.get("id"), "condition expression is empty")
    translated = translate_juel(text)
    if translated is not None:
        error = _check_compiles(translated)
        if error:
            return Problem(
                file,
                element.sourceline,
                owner.get("id"),
                f"condition {text!r} is JUEL that could not be translated to Python ({error}); write it as "
                "a Python expression, e.g. amount > 50000",
            )
        element.text = translated
        return None
    error = _check_compiles(text)
    if error:
        return Problem(file, element.sourceline, owner.get("id"), f"condition {text!r} does not compile: {error}")
    return None


def normalize_document(root: etree._Element, file: str) -> list[Problem]:
    """Rewrite timers and conditions of a parsed document in place; return the problems found."""
    problems = []
    for tag in _TIMER_TAGS:
        for element in root.iter(f"{{{BPMN_NS}}}{tag}"):
            problem = _normalize_timer(element, file)
            if problem:
                problems.append(problem)
    for element in root.iter(f"{{{BPMN_NS}}}conditionExpression"):
        problem = _normalize_condition(element, file)
        if problem:
            problems.append(problem)
    for element in root.iter(f"{{{BPMN_NS}}}script"):
        try:
            compile_script(element.text or "")
        except (ExpressionError, SyntaxError, ValueError) as err:
            owner = _owner(element)
            problems.append(Problem(file, element.sourceline, owner.get("id"), f"script does not compile: {err}"))
    return problems
