"""The private parts of SpiffWorkflow that `engine/spiff_internals.py` wraps still do what MSO Flow relies on.

Each test fails when SpiffWorkflow renames or changes one of them (an upgrade must then update the adapter)."""

from __future__ import annotations

import inspect
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.parser.task_spec import CamundaTaskParser
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from mso_flow.engine import spiff_internals
from mso_flow.engine.parsing import parse_document
from mso_flow.engine.runtime import ProcessRuntime
from mso_flow.engine.sandbox import create_script_engine
from tests.conftest import SARABAN

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _timer_start(key: str) -> tuple[BpmnWorkflow, Task]:
    [process] = [p for p in parse_document((FIXTURES / "start_timers.bpmn").read_bytes()) if p.definition.key == key]
    workflow = BpmnWorkflow(process.spec, process.subprocess_specs, script_engine=create_script_engine())
    [task] = [t for t in workflow.get_tasks() if t.task_spec.bpmn_id == f"Start_{key}"]
    return workflow, task


def _run(workflow: BpmnWorkflow) -> None:
    workflow.refresh_timers()
    workflow.do_engine_steps()
    workflow.refresh_timers()
    workflow.do_engine_steps()


def test_a_timer_value_set_in_the_past_makes_the_timer_due() -> None:
    workflow, task = _timer_start("it_cycle")  # R2/PT1M: the first firing is a minute away
    _run(workflow)
    assert task.state == TaskState.WAITING
    workflow, task = _timer_start("it_cycle")
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    spiff_internals.set_timer_value(task, {"cycles": 1, "next": past, "duration": 0})  # as start_by_timer does
    assert task.internal_data["event_value"]["next"] == past
    _run(workflow)
    assert task.state == TaskState.COMPLETED


def test_the_private_methods_the_adapter_calls_exist_with_their_signatures() -> None:
    assert list(inspect.signature(Task._set_internal_data).parameters) == ["self", "kwargs"]
    assert list(inspect.signature(TaskSpec._update).parameters) == ["self", "my_task"]
    assert "_add_multiinstance_task" in vars(TaskParser)
    assert "_add_multiinstance_task" in vars(CamundaTaskParser)  # the mixin's super() is Camunda's


def test_compact_dump_is_the_serializers_own_json_without_escapes() -> None:
    [process] = parse_document(SARABAN.read_bytes(), "saraban.bpmn")
    runtime = ProcessRuntime()
    workflow = BpmnWorkflow(process.spec, process.subprocess_specs, script_engine=create_script_engine())
    workflow.data["เรื่อง"] = "ขออนุมัติ"
    workflow.do_engine_steps()
    text = spiff_internals.dump_compact(runtime._serializer, workflow)
    assert "ขออนุมัติ" in text and "\\u0e02" not in text and ", " not in text
    assert json.loads(text) == json.loads(runtime._serializer.serialize_json(workflow))
    restored = runtime.load(process, text)
    assert restored.data["เรื่อง"] == "ขออนุมัติ"
