"""BPMN nobody here wrote: SpiffWorkflow's own test models, deployed, validated and started one by one.

The models are not part of this repository; point `MSO_FLOW_FOREIGN_BPMN` at a directory of `.bpmn` files (e.g.
SpiffWorkflow's `tests/SpiffWorkflow/bpmn/data` and `camunda/data`). Skipped when it is absent. Every answer must
be a 2xx or a 4xx problem (never a 5xx, never a hung worker), and validation must agree with deployment.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mso_flow.services import definitions

FOREIGN = Path(os.environ.get("MSO_FLOW_FOREIGN_BPMN", "/tmp/spiff-data"))
FILES = sorted(FOREIGN.rglob("*.bpmn")) if FOREIGN.is_dir() else []


@pytest.mark.skipif(not FILES, reason=f"no foreign BPMN under {FOREIGN} (set MSO_FLOW_FOREIGN_BPMN)")
def test_foreign_models_deploy_or_are_refused_and_start_without_a_server_error(client, services, admin):
    outcomes: dict[str, int] = {}
    for path in FILES:
        xml = path.read_bytes()
        name = path.name
        valid = not definitions.problems_of([(name, xml)])
        deployed = client.post("/api/v1/deployments", headers=admin, files=[("files", (name, xml))])
        assert deployed.status_code < 500, (name, deployed.text)
        assert (deployed.status_code in (200, 201)) == valid, (name, deployed.text)
        outcomes[f"deploy {deployed.status_code}"] = outcomes.get(f"deploy {deployed.status_code}", 0) + 1
        if not valid:
            continue
        for item in deployed.json()["definitions"]:
            started = client.post(f"/api/v1/process-definitions/{item['key']}/start", headers=admin, json={})
            assert started.status_code < 500, (name, item["key"], started.text)
            outcomes[f"start {started.status_code}"] = outcomes.get(f"start {started.status_code}", 0) + 1
    print(sorted(outcomes.items()))
