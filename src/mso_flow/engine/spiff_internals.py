"""Every private attribute of SpiffWorkflow 3.2 that MSO Flow uses, in one place (issue 28 item 5).

SpiffWorkflow offers no public way to do these; each is a one-line wrapper, and `tests/engine/test_library_internals.py`
fails when the library renames or changes one (SpiffWorkflow is pinned to 3.2.0 in pyproject.toml):

- `set_timer_value`: `Task._set_internal_data(event_value=…)`, the value a timer event waits on (the scheduler makes
  a start timer due now, the simulation makes any timer due);
- `update_after_catch`: `TaskSpec._update(task)`, so a boundary event that caught a BPMN error runs on at once;
- `dump_compact`: the serializer's `registry._encoder_mode` and `_encoder_cls`, to write the workflow's JSON
  ourselves (compact, Thai kept as UTF-8) exactly as `BpmnWorkflowSerializer.serialize_json` does;
- `StandardLoops`: an override of `TaskParser._add_multiinstance_task` (standard BPMN multi-instance without
  Camunda's attributes is parsed by SpiffWorkflow's BPMN parser, not its Camunda one).
"""

from __future__ import annotations

import json
from typing import Any

from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.task import Task

from mso_flow.engine.external import CAMUNDA_NS


def set_timer_value(task: Task, value: Any) -> None:
    """Set the `event_value` a waiting timer event compares with the clock (a date, or a cycle's state)."""
    task._set_internal_data(event_value=value)


def update_after_catch(task: Task) -> None:
    """Let a task whose spec just caught an event move on now (what SpiffWorkflow does after its own catches)."""
    task.task_spec._update(task)


def dump_compact(serializer: BpmnWorkflowSerializer, workflow: Any) -> str:
    """The workflow's JSON as `serialize_json` writes it, but compact and with non-ASCII text unescaped."""
    serializer.registry._encoder_mode = True
    try:
        dct = serializer.to_dict(workflow)
        dct[serializer.VERSION_KEY] = serializer.VERSION
        return json.dumps(dct, cls=serializer._encoder_cls, ensure_ascii=False, separators=(",", ":"))
    finally:
        serializer.registry._encoder_mode = False


class StandardLoops:
    """Mixin of a task parser: multi-instance in standard BPMN when the activity has no Camunda loop attributes."""

    def _add_multiinstance_task(self, loop_characteristics: Any) -> None:
        camunda = loop_characteristics.get(f"{{{CAMUNDA_NS}}}collection") is not None or any(
            child.tag == full_tag("loopCardinality") for child in loop_characteristics
        )
        if camunda:
            super()._add_multiinstance_task(loop_characteristics)  # type: ignore[misc]
        else:
            TaskParser._add_multiinstance_task(self, loop_characteristics)
