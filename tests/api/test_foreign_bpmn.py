"""BPMN nobody here wrote: SpiffWorkflow's own test models, each deployed alone into an empty service.

The models are not part of this repository; point `MSO_FLOW_FOREIGN_BPMN` at a directory of `.bpmn` files (e.g.
SpiffWorkflow's `tests/SpiffWorkflow`, whose `bpmn/data` and `camunda/data` hold 93 of them for 3.2). Skipped when
it is absent. At least `FLOOR` of SpiffWorkflow 3.2's 93 deploy; every answer is a 2xx or a 4xx problem (never a
5xx), and validation agrees with deployment: the same files refused, the same warning lines for the others.
`bench/foreign_models.py` prints the table.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.foreign import deploy_each_alone

FOREIGN = Path(os.environ.get("MSO_FLOW_FOREIGN_BPMN", "/tmp/spiff-data"))
FILES = sorted(FOREIGN.rglob("*.bpmn")) if FOREIGN.is_dir() else []
FLOOR = 55  # of the 93 models of SpiffWorkflow 3.2 (5 deployed before the verdict told errors from warnings)
pytestmark = pytest.mark.skipif(not FILES, reason=f"no foreign BPMN under {FOREIGN} (set MSO_FLOW_FOREIGN_BPMN)")


def test_foreign_models_deploy_alone_as_validate_says_and_start_without_a_server_error(settings):
    outcomes = list(deploy_each_alone(FILES, FOREIGN, settings))
    assert [o.file for o in outcomes if o.status >= 500 or any(s >= 500 for s in o.starts)] == []
    assert [o.file for o in outcomes if not o.agree] == []
    refused = {o.file: o.error for o in outcomes if not o.deployed}
    assert all(refused.values()), "a refused file names its error"
    deployed = len(outcomes) - len(refused)
    assert deployed >= min(FLOOR, len(outcomes)), refused
