"""Process diagrams as SVG, drawn on the server from the BPMN DI: a definition, or an instance with its progress."""

from __future__ import annotations

from mso_flow.domain import TaskState
from mso_flow.rendering.svg import Marks, render_svg
from mso_flow.services.definitions import deployment as definitions
from mso_flow.services.instances.queries import load_instance
from mso_flow.services.platform.context import Caller, Services
from mso_flow.store import definitions as definitions_store
from mso_flow.store import tasks as tasks_store


def definition_svg(services: Services, key: str, version: int | None, legend: bool = True) -> bytes:
    """The process as designed (latest version unless `version`); `legend`: with the designers' list of the
    elements added by reading."""
    return render_svg(definitions.version(services, key, version).bpmn_xml, legend=legend)


def instance_svg(
    services: Services, caller: Caller, instance_id: str, legend: bool = True, failed: str | None = None
) -> bytes:
    """The instance's version with completed tasks, active tasks and how often each task ran (`legend` as
    `definition_svg`); `failed`: an element drawn as where an incident happened."""
    instance = load_instance(services, caller, instance_id)
    with services.db.read() as session:
        states = tasks_store.element_states(session, instance_id)
        row = definitions_store.by_id(session, instance.definition_id)
    assert row is not None  # an instance's definition is never deleted
    marks = Marks(failed={failed} if failed else set())
    for element_id, state, count in states:
        if state == TaskState.OPEN:
            marks.active.add(element_id)
        elif state == TaskState.COMPLETED:
            marks.completed.add(element_id)
        marks.counts[element_id] = marks.counts.get(element_id, 0) + count
    return render_svg(row.bpmn_xml, marks, legend)
