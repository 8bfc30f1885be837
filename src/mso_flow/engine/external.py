"""External service tasks (Camunda's pattern): a `serviceTask camunda:type="external" camunda:topic="…"` waits
for a worker outside the engine to fetch, lock and complete it.

SpiffWorkflow runs every service task at once; these specs are `manual` instead, so `do_engine_steps()` stops in
front of them like in front of a user task, and the service completes them when a worker reports back.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.serializer.default.task_spec import BpmnTaskSpecConverter
from SpiffWorkflow.bpmn.specs.defaults import ServiceTask

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"


class ExternalServiceTask(ServiceTask):  # type: ignore[misc]
    """A service task that waits for an external worker subscribed to `topic`."""

    def __init__(self, wf_spec: Any, bpmn_id: str, topic: str, **kwargs: Any):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.topic = topic
        self.manual = True

    def _run_hook(self, task: Any) -> bool:
        return True  # the worker's result was set as task data before the task runs


class NoOpServiceTask(ServiceTask):  # type: ignore[misc]
    """A service task no worker takes (not `camunda:type="external"`): it passes through. A Camunda model's Java
    delegate or expression cannot run here; the verdict warns about it."""

    def _run_hook(self, task: Any) -> bool:
        return True  # SpiffWorkflow's own service task returns nothing and would stay started for ever


class ServiceTaskParser(TaskParser):  # type: ignore[misc]
    """`camunda:type="external"` makes an external task; any other service task is a no-op."""

    def create_task(self) -> Any:
        if self.node.get(f"{{{CAMUNDA_NS}}}type") == "external":
            topic = self.node.get(f"{{{CAMUNDA_NS}}}topic") or ""
            return ExternalServiceTask(self.spec, self.bpmn_id, topic=topic, **self.bpmn_attributes)
        return NoOpServiceTask(self.spec, self.bpmn_id, **self.bpmn_attributes)


class ExternalTaskConverter(BpmnTaskSpecConverter):  # type: ignore[misc]
    """Serialises the topic with the spec (used when comparing versions for migration)."""

    def to_dict(self, spec: ExternalServiceTask) -> dict[str, Any]:
        dct: dict[str, Any] = self.get_default_attributes(spec)
        dct["topic"] = spec.topic
        return dct
