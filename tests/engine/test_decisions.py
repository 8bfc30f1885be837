"""DMN decision tables: what SpiffWorkflow's DMN engine can evaluate is checked cell by cell at deployment, and a
business rule task evaluates its table in MSO Flow's sandbox, under the limits of every condition."""

from __future__ import annotations

import pytest
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from mso_flow.domain import ResourceKind, Severity
from mso_flow.engine import budgets as limits
from mso_flow.engine.decisions import check_decision
from mso_flow.engine.parsing import Resource, parse_document
from mso_flow.engine.sandbox import create_script_engine
from mso_flow.engine.verdict import check_files
from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures"
DMN = (FIXTURES / "approver_level.dmn").read_bytes()
PURCHASE = (FIXTURES / "purchase_approval.bpmn").read_bytes()
FIRST_CELL = b"<text>&lt;= 100000</text>"
FIRST_OUTPUT = b'<text>"head"</text>'


class _Decisions:
    def __init__(self, xml: bytes):
        self.xml = xml

    def resolve(self, kind: ResourceKind, key: str) -> Resource | None:
        return Resource(kind, key, "approver_level.dmn", self.xml) if kind == ResourceKind.DMN else None


def _problems(xml: bytes) -> list:
    _, problems = check_decision(xml, "d.dmn")
    assert all(p.severity == Severity.ERROR for p in problems)
    return problems


def test_a_camunda_modeler_decision_table_passes_with_its_key_and_name():
    info, problems = check_decision(DMN, "approver_level.dmn")
    assert problems == []
    assert (info.key, info.name) == ("approver_level", "Who approves the purchase")


@pytest.mark.parametrize(
    ("change", "element", "words"),
    [
        ((FIRST_CELL, b"<text>[1..100000]</text>"), "DecisionRule_small", "rule 1: input entry '[1..100000]'"),
        ((FIRST_OUTPUT, b"<text>__import__('os').system('id')</text>"), "DecisionRule_small", "output entry"),
        ((b'hitPolicy="FIRST"', b'hitPolicy="COLLECT" aggregation="SUM"'), "DecisionTable_0approver", "SUM"),
        ((b'hitPolicy="FIRST"', b'hitPolicy="RULE ORDER"'), "DecisionTable_0approver", "RULE ORDER"),
        ((b"<text>amount</text>", b"<text>amount &gt;</text>"), "Input_amount", "input expression"),
    ],
)
def test_a_cell_the_engine_cannot_evaluate_is_an_error_at_its_rule(change, element, words):
    [problem] = _problems(DMN.replace(*change))
    assert problem.element_id == element and words in problem.message and problem.line


def test_a_second_decision_in_one_file_is_refused():
    second = (
        b'<decision id="other" name="Other"><literalExpression id="L"><text>1</text></literalExpression></decision>'
    )
    [problem] = _problems(DMN.replace(b"<dmndi:DMNDI>", second + b"<dmndi:DMNDI>"))
    assert "exactly one decision" in problem.message


def test_a_bpmn_file_named_dmn_is_not_a_decision():
    [problem] = _problems(PURCHASE)
    assert "DMN" in problem.message


def test_the_business_rule_task_sets_camundas_result_variable_from_the_table():
    [process] = parse_document(PURCHASE, "purchase.bpmn", resolver=_Decisions(DMN))
    cases = {
        (50_000, False): "Activity_0head",
        (500_000, True): "Activity_0deputy",
        (500_000, False): "Activity_0director",
    }
    for (amount, urgent), expected in cases.items():
        workflow = BpmnWorkflow(process.spec, process.subprocess_specs, script_engine=create_script_engine())
        workflow.get_tasks(state=TaskState.READY)[0].data.update(amount=amount, urgent=urgent)
        workflow.do_engine_steps()
        [ready] = workflow.get_tasks(state=TaskState.READY, manual=True)
        assert ready.task_spec.bpmn_id == expected
        assert ready.data["approver"] == expected.removeprefix("Activity_0")  # singleEntry: the output's value


def test_decision_cells_run_in_the_sandbox_under_its_limits():
    bomb = DMN.replace(FIRST_OUTPUT, b"<text>'x' * 10**9</text>")
    assert check_decision(bomb, "bomb.dmn")[1] == []  # it compiles: only running it is refused
    [process] = parse_document(PURCHASE, "purchase.bpmn", resolver=_Decisions(bomb))
    workflow = BpmnWorkflow(process.spec, process.subprocess_specs, script_engine=create_script_engine())
    workflow.get_tasks(state=TaskState.READY)[0].data.update(amount=1, urgent=False)
    with pytest.raises(SpiffWorkflowException) as caught:
        workflow.do_engine_steps()
    assert isinstance(caught.value.__context__, limits.LimitExceeded)


def test_the_verdict_of_a_deployment_finds_the_decision_in_its_dmn_file_and_simulates_every_route():
    checked = check_files([("purchase.bpmn", PURCHASE), ("approver_level.dmn", DMN)])
    assert checked.problems == []
    assert [d.decision.key for d in checked.decisions] == ["approver_level"]
    [file] = checked.files
    [resource] = file.processes[0].resources
    assert (resource.kind, resource.key, resource.name, resource.origin) == (
        "dmn",
        "approver_level",
        "approver_level.dmn",
        None,
    )


def test_a_decision_that_reads_files_is_refused_when_every_path_does_and_warned_about_when_one_does():
    one = DMN.replace(FIRST_OUTPUT, b"<text>open('/etc/passwd').read()</text>")
    checked = check_files([("purchase.bpmn", PURCHASE), ("approver_level.dmn", one)])
    assert checked.errors == []
    assert any(p.element_id == "Activity_0who" and "on some path" in p.message for p in checked.problems)
    every = one
    for output in (b'<text>"deputy"</text>', b'<text>"director"</text>'):
        every = every.replace(output, b"<text>open('/etc/passwd').read()</text>")
    checked = check_files([("purchase.bpmn", PURCHASE), ("approver_level.dmn", every)])
    [error] = checked.errors
    assert error.element_id == "Activity_0who" and "every path" in error.message and "'open'" in error.message
