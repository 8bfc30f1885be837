"""The BPMN dialect MSO Flow parses: Camunda Modeler's (SpiffWorkflow's `CamundaParser`) with Camunda 7's run-time
meaning where SpiffWorkflow's differs, and the spec converters the engine's serializer needs for them.

- `serviceTask camunda:type="external"` waits for a worker (`engine/external.py`); any other service task
  passes through (a Java delegate or expression cannot run here: the verdict warns);
- `businessRuleTask camunda:decisionRef` evaluates a DMN decision table deployed with it (`engine/decisions.py`);
- a plain `task` and a `manualTask` pass through at once, as in Camunda 7 (SpiffWorkflow makes them "manual"
  tasks someone must run; MSO Flow has nobody to run them: work for people is a `userTask`);
- a multi-instance activity written in standard BPMN (`loopDataInputRef`, `inputDataItem`) as SpiffWorkflow's own
  models write it is read as SpiffWorkflow's BPMN parser reads it; Camunda's `camunda:collection` and
  `loopCardinality` as before.
"""

from __future__ import annotations

from typing import Any, ClassVar

from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.serializer.default.task_spec import BpmnTaskSpecConverter
from SpiffWorkflow.bpmn.specs.defaults import ManualTask, NoneTask, ServiceTask
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.parser.task_spec import CamundaTaskParser

from mso_flow.engine.decisions import DecisionTask, DecisionTaskConverter, DecisionTaskParser
from mso_flow.engine.external import (
    ExternalServiceTask,
    ExternalTaskConverter,
    NoOpServiceTask,
    ServiceTaskParser,
)
from mso_flow.engine.spiff_internals import StandardLoops


class PassThroughTaskParser(CamundaTaskParser):  # type: ignore[misc]
    """A `task` or `manualTask` the engine runs as soon as it is reached."""

    def create_task(self) -> Any:
        spec = super().create_task()
        spec.manual = False
        return spec


def _with_standard_loops(parser: type) -> type:
    return type(f"Mso{parser.__name__}", (StandardLoops, parser), {})


class MsoParser(CamundaParser):  # type: ignore[misc]
    """Camunda Modeler's dialect as MSO Flow runs it (see the module's docstring)."""

    OVERRIDE_PARSER_CLASSES: ClassVar[dict[str, tuple[type, type]]] = {
        tag: (_with_standard_loops(parser), spec)
        for tag, (parser, spec) in {
            **CamundaParser.OVERRIDE_PARSER_CLASSES,
            full_tag("serviceTask"): (ServiceTaskParser, ServiceTask),
            full_tag("businessRuleTask"): (DecisionTaskParser, DecisionTask),
            full_tag("task"): (PassThroughTaskParser, NoneTask),
            full_tag("manualTask"): (PassThroughTaskParser, ManualTask),
        }.items()
    }


SPEC_CONVERTERS: dict[type, type] = {
    ServiceTask: BpmnTaskSpecConverter,
    NoOpServiceTask: BpmnTaskSpecConverter,
    ExternalServiceTask: ExternalTaskConverter,
    DecisionTask: DecisionTaskConverter,
}
