"""Personal data against the running service (`mso-flow serve`, SQLite, debug logging): a hotline case worked
over HTTP leaves no plain personal value in the service's log, in its database file, or in the master key file's
neighbourhood (the data keys are wrapped); the master key file is created with mode 0600."""

from __future__ import annotations

import shutil
import stat
import uuid

import pytest

from tests.conftest import BPMN_DIR
from tests.live import live_service

HOTLINE = BPMN_DIR / "inspection" / "inspection_hotline_1300.bpmn"
REPORTER = "นายทดสอบ บันทึกล็อก 0899999999"
PROBLEM = "ผู้ป่วยติดเตียง ถูกทอดทิ้ง"
pytestmark = pytest.mark.slow


def test_a_worked_case_leaves_no_personal_value_in_logs_or_files(tmp_path):
    bpmn = tmp_path / "bpmn" / "inspection"
    bpmn.mkdir(parents=True)
    shutil.copy(HOTLINE, bpmn / HOTLINE.name)
    database = tmp_path / "flow.db"
    env = {"MSO_FLOW_LOG_FORMAT": "json"}
    with live_service(
        f"sqlite:///{database}", tmp_path, workers=1, bpmn_dir=bpmn.parent, extra_env=env, log_level="debug"
    ) as live:
        with live.client() as admin:
            tokens = {}
            for name, role in (("hotline_system", "integrator"), ("somchai", "ศูนย์ช่วยเหลือสังคม")):
                created = admin.post("/api/v1/users", json={"username": name, "roles": [role], "force": True})
                assert created.status_code == 201, created.text
                tokens[name] = created.json()["token"]
        with live.client(tokens["hotline_system"]) as system, live.client(tokens["somchai"]) as staff:
            body = {"name": "hotline_intake", "business_key": f"1300-{uuid.uuid4().hex[:6]}"}
            instance_id = system.post("/api/v1/messages", json=body).json()["instance_id"]
            for variables in ({"channel": "hotline", "reporter_name": REPORTER}, {"problem": PROBLEM}):
                task = staff.get(f"/api/v1/process-instances/{instance_id}").json()["active_tasks"][0]
                done = staff.post(f"/api/v1/tasks/{task['id']}/complete", json={"variables": variables})
                assert done.status_code == 200, done.text
            shown = staff.get(f"/api/v1/process-instances/{instance_id}").json()
            assert shown["variables"]["reporter_name"] == REPORTER  # the service itself opens them
            assert system.get(f"/api/v1/process-instances/{instance_id}").json()["variables"]["reporter_name"] is None
        log = live.log.read_bytes()
    assert instance_id.encode() in log  # the log does record the case, by id
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("flow.db*"))
    for secret in (REPORTER, PROBLEM, "0899999999"):
        assert secret.encode() not in log and secret.encode() not in stored
    keys = tmp_path / "master.keys"
    assert stat.S_IMODE(keys.stat().st_mode) == 0o600
