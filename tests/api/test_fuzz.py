"""Schemathesis over the OpenAPI schema against the app on each database: no input gives a server error.

Every operation of the schema gets a few generated requests (fixed seed, derandomized) with an admin's token,
so CI spends well under two minutes here; set `MSO_FLOW_FUZZ_EXAMPLES` to fuzz longer locally.
"""

from __future__ import annotations

import os

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import seed as fixed_seed

from mso_flow.api.app import create_app
from mso_flow.services.definitions import deployment as definitions
from mso_flow.services.platform.context import SYSTEM
from tests.conftest import SARABAN

EXAMPLES = int(os.environ.get("MSO_FLOW_FUZZ_EXAMPLES", "8"))


def test_no_input_gives_a_server_error(services, make_user):
    definitions.deploy(services, SYSTEM, [("central/central_saraban.bpmn", SARABAN.read_bytes())])
    headers = make_user("fuzzer", "admin")
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(services=services))
    failures: list[str] = []
    statuses: list[int] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40

    for operation in operations:

        @fixed_seed(20261130)
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
        @given(case=operation.as_strategy())
        def fuzz(case: schemathesis.Case) -> None:
            response = case.call(headers=headers)
            statuses.append(response.status_code)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} → {response.status_code}: {response.text[:300]}")

        fuzz()
    assert failures == []
    assert len(statuses) >= 2 * len(operations) and any(200 <= s < 300 for s in statuses)
