"""The definitions repository and the shared names: a cache filled only after commit, reads through the caller's
session, and enum names equal to the strings the database and the API carry."""

from __future__ import annotations

import json

import pytest

from mso_flow.domain import BUILT_IN_ROLES, InstanceState, Role, TaskState
from mso_flow.engine.parsing import parse_document
from mso_flow.services.definitions import deployment as definitions
from mso_flow.services.definitions.repository import DefinitionNotFound
from mso_flow.services.platform.context import SYSTEM, Caller
from mso_flow.store import definitions as store
from mso_flow.store.models import Deployment, ProcessDefinition
from tests.conftest import SARABAN


def _row(now, deployment_id: str) -> ProcessDefinition:
    [parsed] = parse_document(SARABAN.read_bytes(), "central_saraban.bpmn")
    return ProcessDefinition(
        id="central_saraban:1",
        key="central_saraban",
        version=1,
        name=parsed.definition.name,
        unit=None,
        file_name="central_saraban.bpmn",
        bpmn_xml=SARABAN.read_bytes(),
        sha256="0" * 64,
        model=parsed.definition.as_dict(),
        deployment_id=deployment_id,
        deployed_at=now,
        deployed_by="test",
        source="api",
    )


def test_a_version_created_in_a_transaction_that_rolls_back_is_never_cached(services):
    now = services.clock()
    with pytest.raises(RuntimeError), services.db.write() as session:
        store.add_deployment(session, Deployment(id="d1", deployed_at=now, deployed_by="t", source="api", files=[]))
        row = _row(now, "d1")
        store.add(session, row)
        [parsed] = parse_document(SARABAN.read_bytes(), "central_saraban.bpmn")
        services.definitions.created(session, row, parsed)
        assert services.definitions.definition(session, row.id).version == 1  # seen inside its transaction
        raise RuntimeError("the deployment fails after the row was written")
    with services.db.read() as session:
        with pytest.raises(DefinitionNotFound):
            services.definitions.definition(session, "central_saraban:1")
        with pytest.raises(DefinitionNotFound):
            services.definitions.process(session, "central_saraban:1")


def test_a_committed_version_is_parsed_once_and_then_served_from_the_cache(services):
    [deployed] = definitions.deploy(services, SYSTEM, [("central_saraban.bpmn", SARABAN.read_bytes())])
    with services.db.read() as session:
        first = services.definitions.process(session, deployed.definition.id)
    with services.db.write() as session:  # parsed once per service process, whichever transaction asks
        assert services.definitions.process(session, deployed.definition.id) is first
        assert services.definitions.definition(session, deployed.definition.id).key == "central_saraban"


def test_names_are_the_stored_strings():
    assert json.dumps([TaskState.OPEN, InstanceState.RUNNING]) == '["open", "running"]'
    assert f"{Role.ADMIN}" == "admin" and Role.ADMIN == "admin"
    assert {"admin", "designer", "integrator", "supervisor", "auditor", "privacy_officer"} == BUILT_IN_ROLES
    assert Caller("a", frozenset({"admin"})).is_admin
    assert not Caller("b", frozenset({"administrator"})).is_admin
