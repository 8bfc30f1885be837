"""DMN decision tables: what a `.dmn` file must be for SpiffWorkflow's DMN engine, checked at deployment, and the
business rule tasks (`camunda:decisionRef`) that evaluate one.

SpiffWorkflow's engine reads one decision per file, a decision table whose hit policy is UNIQUE, FIRST, ANY or
COLLECT without aggregation (it takes the first matching rule, or every matching rule for COLLECT). Its cells are
Python, like MSO Flow's conditions: an input entry is a value (`"ลับ"`, `5`, `True`), a comparison (`> 5`), or an
expression in which `?` stands for the input (`? > 1 and ? < 5`); `-` or an empty cell matches anything; an output
entry is a value. FEEL syntax that is not Python (ranges `[1..5]`) is refused with the rule that holds it. The
engine evaluates every cell with the workflow's script engine, that is in MSO Flow's sandbox under the same limits
as conditions (`engine/sandbox.py`); `check_decision` compiles every cell there at deployment.

A business rule task sets the outputs of the matching rule as process variables (SpiffWorkflow's behaviour); with
`camunda:resultVariable` it sets that one variable instead, shaped as Camunda's `camunda:mapDecisionResult` says
(`singleEntry`, `singleResult`, `collectEntries`, `resultList`, the default). A business rule task with
`camunda:type="external"` is an external task, as in Camunda.
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.camunda.parser.task_spec import CamundaTaskParser
from SpiffWorkflow.camunda.specs.business_rule_task import BusinessRuleTask
from SpiffWorkflow.dmn.parser.BpmnDmnParser import SCHEMAS
from SpiffWorkflow.dmn.serializer.task_spec import BaseBusinessRuleTaskConverter
from SpiffWorkflow.exceptions import SpiffWorkflowException

from mso_flow.engine import xmlsafe
from mso_flow.engine.external import CAMUNDA_NS, ExternalServiceTask
from mso_flow.engine.model import BpmnInvalid, Problem
from mso_flow.engine.sandbox import ExpressionError, compile_expression

HIT_POLICIES = ("UNIQUE", "FIRST", "ANY", "COLLECT")
RESULT_MAPPINGS = ("singleEntry", "singleResult", "collectEntries", "resultList")
_QUESTION = re.compile(r"(\?)(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)")  # a `?` outside quotes, as SpiffWorkflow finds it


@dataclass(frozen=True)
class DecisionInfo:
    """The decision a DMN file defines: its id (what `camunda:decisionRef` names) and its name."""

    key: str
    name: str


@functools.cache
def _schema(namespace: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(SCHEMAS[namespace]))


def read_dmn(xml: bytes, file: str) -> etree._Element:
    """The root of a DMN 1.1, 1.2 or 1.3 document valid against its schema, or `BpmnInvalid`."""
    root = xmlsafe.read_root(xml, file)
    namespace = etree.QName(root).namespace or ""
    if etree.QName(root).localname != "definitions" or namespace not in SCHEMAS:
        raise BpmnInvalid(
            [
                Problem(
                    file,
                    root.sourceline,
                    None,
                    f"ไม่ใช่ไฟล์ DMN 1.1–1.3 (root element is not a DMN definitions element of {', '.join(SCHEMAS)})",
                )
            ]
        )
    xmlsafe.validate(_schema(namespace), root, file, "DMN")
    return root


def check_decision(xml: bytes, file: str) -> tuple[DecisionInfo | None, list[Problem]]:
    """The decision of a DMN file and every problem that keeps SpiffWorkflow's DMN engine from evaluating it."""
    try:
        root = read_dmn(xml, file)
    except BpmnInvalid as err:
        return None, err.problems
    namespace = etree.QName(root).namespace
    decisions = root.findall(f"{{{namespace}}}decision")

    def problem(element: etree._Element, message: str) -> Problem:
        return Problem(file, element.sourceline, element.get("id"), message)

    if len(decisions) != 1:
        return None, [
            problem(
                root,
                f"ไฟล์ DMN ต้องมีการตัดสินใจ (decision) เดียว พบ {len(decisions)} "
                f"(a DMN file must hold exactly one decision; it holds {len(decisions)}: split it into files)",
            )
        ]
    decision = decisions[0]
    table = decision.find(f"{{{namespace}}}decisionTable")
    if table is None:
        return None, [
            problem(decision, "รองรับเฉพาะตารางการตัดสินใจ (only decision tables are supported, not literal expressions)")
        ]
    problems = []
    policy = (table.get("hitPolicy") or "UNIQUE").upper()
    if policy not in HIT_POLICIES or table.get("aggregation"):
        problems.append(
            problem(
                table,
                f"hit policy {policy}{' ' + table.get('aggregation', '') if table.get('aggregation') else ''} "
                f"ใช้ไม่ได้ (not supported; use one of {', '.join(HIT_POLICIES)} without aggregation)",
            )
        )
    inputs = []
    for column in table.findall(f"{{{namespace}}}input"):
        text = column.findtext(f"{{{namespace}}}inputExpression/{{{namespace}}}text")
        if not (text or "").strip():
            problems.append(problem(column, "คอลัมน์ input ไม่มีนิพจน์ (input column has no input expression)"))
        elif (error := _compile_error(text or "")) is not None:
            problems.append(problem(column, f"นิพจน์ input {text!r} ใช้ไม่ได้ (input expression does not compile: {error})"))
            text = ""  # its cells are not checked against it
        inputs.append((text or "").strip())
    for row, rule in enumerate(table.findall(f"{{{namespace}}}rule"), 1):
        entries = rule.findall(f"{{{namespace}}}inputEntry")
        for column, entry in zip(inputs, entries, strict=False):
            text = (entry.findtext(f"{{{namespace}}}text") or "").strip()
            if text in ("", "-") or not column:
                continue
            if (error := _compile_error(_input_test(column, text))) is not None:
                problems.append(
                    problem(
                        rule,
                        f"กฎแถว {row}: เงื่อนไข {text!r} ใช้ไม่ได้ (rule {row}: input entry {text!r} is neither a Python "
                        f"value nor a comparison such as > 5: {error})",
                    )
                )
        for entry in rule.findall(f"{{{namespace}}}outputEntry"):
            text = (entry.findtext(f"{{{namespace}}}text") or "").strip()
            if text and (error := _compile_error(text)) is not None:
                message = f"กฎแถว {row}: ผลลัพธ์ {text!r} ใช้ไม่ได้ (rule {row}: output entry does not compile: {error})"
                problems.append(problem(rule, message))
    return DecisionInfo(decision.get("id") or "", decision.get("name") or decision.get("id") or ""), problems


def _input_test(column: str, entry: str) -> str:
    """The expression SpiffWorkflow's DMN engine evaluates for an input entry (`DMNEngine.evaluate`)."""
    if _QUESTION.search(entry):
        return _QUESTION.sub("dmninputexpr", entry)
    try:
        ast.parse(entry)
    except SyntaxError:
        return f"{column} {entry}"
    return f"({column}) == ({entry})"


def _compile_error(expression: str) -> str | None:
    try:
        compile_expression(expression)
    except (ExpressionError, SyntaxError, ValueError) as err:
        return str(err)
    return None


class DecisionTask(BusinessRuleTask):  # type: ignore[misc]
    """A business rule task: SpiffWorkflow's, plus Camunda's `resultVariable` and `mapDecisionResult`."""

    def __init__(
        self,
        wf_spec: Any,
        bpmn_id: str,
        dmnEngine: Any,
        result_variable: str | None = None,
        map_decision_result: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(wf_spec, bpmn_id, dmnEngine, **kwargs)
        self.result_variable = result_variable
        self.map_decision_result = map_decision_result

    def _run_hook(self, my_task: Any) -> bool:
        if not self.result_variable:
            return bool(super()._run_hook(my_task))
        try:
            rows = [rule.output_as_dict(my_task) for rule in self.dmnEngine.decide(my_task)]
        except SpiffWorkflowException as err:
            err.add_note(f"Business Rule Task '{my_task.task_spec.bpmn_name}'.")
            raise
        except Exception as err:
            error = WorkflowTaskException(str(err), task=my_task, exception=err)
            error.add_note(f"Business Rule Task '{my_task.task_spec.bpmn_name}'.")
            raise error from err
        if self.dmnEngine.decision_table.hit_policy != "COLLECT":
            rows = rows[:1]
        my_task.data[self.result_variable] = _mapped(rows, self.map_decision_result or "resultList")
        return True


def _mapped(rows: list[dict[str, Any]], mapping: str) -> Any:
    """A decision's result as Camunda's `mapDecisionResult` shapes it."""
    if mapping == "singleEntry":
        return next(iter(rows[0].values()), None) if rows else None
    if mapping == "singleResult":
        return dict(rows[0]) if rows else None
    if mapping == "collectEntries":
        return [next(iter(row.values()), None) for row in rows]
    return [dict(row) for row in rows]


class DecisionTaskParser(CamundaTaskParser):  # type: ignore[misc]
    """`camunda:decisionRef` names the decision a business rule task evaluates; `camunda:type="external"` makes
    it an external task instead."""

    def create_task(self) -> Any:
        if self.node.get(f"{{{CAMUNDA_NS}}}type") == "external":
            topic = self.node.get(f"{{{CAMUNDA_NS}}}topic") or ""
            if not topic:
                self.raise_validation_exception("external business rule task needs camunda:topic")
            return ExternalServiceTask(self.spec, self.bpmn_id, topic=topic, **self.bpmn_attributes)
        reference = self.get_decision_ref(self.node)
        if not reference:
            self.raise_validation_exception(
                "business rule task names no decision: set camunda:decisionRef to the id of a decision deployed "
                "with it (a .dmn file), or camunda:type=external with camunda:topic"
            )
        mapping = self.node.get(f"{{{CAMUNDA_NS}}}mapDecisionResult")
        if mapping is not None and mapping not in RESULT_MAPPINGS:
            self.raise_validation_exception(f"camunda:mapDecisionResult must be one of {', '.join(RESULT_MAPPINGS)}")
        return DecisionTask(
            self.spec,
            self.bpmn_id,
            dmnEngine=self.process_parser.parser.get_engine(reference, self.node),
            result_variable=self.node.get(f"{{{CAMUNDA_NS}}}resultVariable") or None,
            map_decision_result=mapping,
            **self.bpmn_attributes,
        )

    @staticmethod
    def get_decision_ref(node: etree._Element) -> str | None:
        if node.get(f"{{{CAMUNDA_NS}}}type") == "external":
            return None
        return node.get(f"{{{CAMUNDA_NS}}}decisionRef")


class DecisionTaskConverter(BaseBusinessRuleTaskConverter):  # type: ignore[misc]
    """Serialises the result mapping with the decision table (used when comparing versions for migration)."""

    def to_dict(self, spec: DecisionTask) -> dict[str, Any]:
        dct: dict[str, Any] = super().to_dict(spec)
        dct["result_variable"] = spec.result_variable
        dct["map_decision_result"] = spec.map_decision_result
        return dct
