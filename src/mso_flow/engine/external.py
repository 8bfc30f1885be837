"""External service tasks (Camunda's pattern): a `serviceTask camunda:type="external" camunda:topic="…"` waits
for a worker outside the engine to fetch, lock and complete it.

SpiffWorkflow runs every service task at once; these specs are `manual` instead, so `do_engine_steps()` stops in
front of them like in front of a user task, and the service completes them when a worker reports back.
"""

from __future__ import annotations

from typing import Any, ClassVar

from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.serializer.default.task_spec import BpmnTaskSpecConverter
from SpiffWorkflow.bpmn.specs.defaults import ServiceTask
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"


class ExternalServiceTask(ServiceTask):  # type: ignore[misc]
    """A service task that waits for an external worker subscribed to `topic`."""

    def __init__(self, wf_spec: Any, bpmn_id: str, topic: str, **kwargs: Any):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.topic = topic
        self.manual = True

    def _run_hook(self, task: Any) -> bool:
        return True  # the worker's result was set as task data before the task runs


class ServiceTaskParser(TaskParser):  # type: ignore[misc]
    """`camunda:type="external"` makes an external task; any other service task stays a no-op."""

    def create_task(self) -> Any:
        if self.node.get(f"{{{CAMUNDA_NS}}}type") == "external":
            topic = self.node.get(f"{{{CAMUNDA_NS}}}topic") or ""
            return ExternalServiceTask(self.spec, self.bpmn_id, topic=topic, **self.bpmn_attributes)
        return ServiceTask(self.spec, self.bpmn_id, **self.bpmn_attributes)


class ExternalTaskConverter(BpmnTaskSpecConverter):  # type: ignore[misc]
    """Serialises the topic with the spec (used when comparing versions for migration)."""

    def to_dict(self, spec: ExternalServiceTask) -> dict[str, Any]:
        dct: dict[str, Any] = self.get_default_attributes(spec)
        dct["topic"] = spec.topic
        return dct


class MsoParser(CamundaParser):  # type: ignore[misc]
    """Camunda Modeler's dialect plus external service tasks."""

    OVERRIDE_PARSER_CLASSES: ClassVar[dict[str, tuple[type, type]]] = {
        **CamundaParser.OVERRIDE_PARSER_CLASSES,
        "{http://www.omg.org/spec/BPMN/20100524/MODEL}serviceTask": (ServiceTaskParser, ServiceTask),
    }


SPEC_CONVERTERS: dict[type, type] = {ServiceTask: BpmnTaskSpecConverter, ExternalServiceTask: ExternalTaskConverter}
