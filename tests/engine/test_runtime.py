"""The engine wrapper: state without the spec, the sandbox, and failures that name their element."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime

import pytest

from mso_flow.engine.model import BpmnInvalid
from mso_flow.engine.parsing import parse_document
from mso_flow.engine.runtime import EngineError, ProcessRuntime
from mso_flow.engine.sandbox import ExpressionError, RestrictedEnvironment, compile_expression
from tests.conftest import SARABAN
from tests.factory import approval

SCRIPT = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="script_test" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="compute" name="คำนวณ"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>SCRIPT_BODY</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="compute"/>
    <bpmn:sequenceFlow id="f2" sourceRef="compute" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def _script(body: str):
    [process] = parse_document(SCRIPT.replace("SCRIPT_BODY", body).encode(), "s.bpmn")
    return process


@pytest.fixture(scope="module")
def saraban():
    [process] = parse_document(SARABAN.read_bytes(), "saraban.bpmn")
    return process


def test_state_is_stored_without_the_spec_and_restores(saraban):
    runtime = ProcessRuntime()
    step = runtime.start(saraban, {"subject": "หนังสือ"})
    state = json.loads(step.state)
    assert "spec" not in state and "subprocess_specs" not in state
    assert "หนังสือ" in step.state  # UTF-8, not \\u escapes
    step = runtime.complete(saraban, step.state, step.ready_tasks[0].id, {"subject": "หนังสือ"})
    assert [t.element_id for t in step.ready_tasks] == ["Task_check"]
    assert step.variables["subject"] == "หนังสือ"


def test_failing_condition_names_the_element_and_leaves_state_alone():
    [process] = parse_document(approval(condition="amount > limit"), "a.bpmn")
    runtime = ProcessRuntime()
    step = runtime.start(process, {})
    with pytest.raises(EngineError) as caught:
        runtime.complete(process, step.state, step.ready_tasks[0].id, {"amount": 10})
    assert caught.value.element_id == "Gateway_enter"
    assert "limit" in str(caught.value)
    again = runtime.complete(process, step.state, step.ready_tasks[0].id, {"amount": 10, "limit": 5})
    assert [t.element_id for t in again.ready_tasks] == ["Task_approve"]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("import os\nos.system('id')", "__import__ not found"),
        ("x = open('/etc/passwd').read()", "'open' is not defined"),
    ],
)
def test_scripts_cannot_reach_the_system(body, error):
    with pytest.raises(EngineError) as caught:
        ProcessRuntime().start(_script(body), {})
    assert caught.value.element_id == "compute"
    assert error in str(caught.value)


def test_scripts_touching_private_attributes_are_refused_at_deployment():
    with pytest.raises(BpmnInvalid) as caught:
        _script("x = ().__class__.__bases__[0].__subclasses__()")
    [problem] = caught.value.problems
    assert problem.element_id == "compute" and "script does not compile" in problem.message


def test_scripts_compute_with_task_data():
    step = ProcessRuntime().start(_script("total = sum(amounts) * 2"), {"amounts": [1, 2, 3]})
    assert step.completed and step.variables["total"] == 12


def test_expression_sandbox_refuses_private_names():
    with pytest.raises(ExpressionError):
        compile_expression("x.__class__")
    assert RestrictedEnvironment().evaluate("a + b", {"a": 1, "b": 2}) == 3


def test_a_dump_in_one_thread_never_changes_how_another_thread_converts(saraban):
    """Issue 24, item 17: `dump` switches its serializer's registry into encoder mode while it runs. Another
    thread of the worker converting at that moment (a migration's diff) must get its own, plain conversion."""
    runtime = ProcessRuntime()
    workflow = runtime.load(saraban, runtime.start(saraban, {"subject": "หนังสือ"}).state)
    when = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    stop = threading.Event()

    def dump_until_stopped() -> None:
        while not stop.is_set():
            runtime.dump(workflow)

    dumper = threading.Thread(target=dump_until_stopped)
    dumper.start()
    try:
        converted = []
        for _ in range(200):  # sampled between the other thread's slices of work
            converted.append(runtime._serializer.registry.convert([when]))
            time.sleep(0.0005)
    finally:
        stop.set()
        dumper.join()
    assert all(c == [{"value": when.isoformat(), "typename": "datetime"}] for c in converted)
