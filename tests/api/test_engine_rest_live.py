"""Camunda 7 tools against the live service (`mso-flow serve`, two worker processes, PostgreSQL): a
Modeler-shaped deployment, a start with typed variables, the official Python external-task client (unchanged)
completing a task after a failure it retries, the Tasklist flow, a correlated message, and the history; and a
Modeler model the verdict warns about (a worker sets the gateway's variable, a receive task after a join, a plain
task, a free-text review loop), deployed through both faces and run to its end with the official client."""

from __future__ import annotations

import base64
import importlib.util
from pathlib import Path

import httpx
import pytest
from camunda.external_task.external_task import ExternalTask, TaskResult
from camunda.external_task.external_task_worker import ExternalTaskWorker, NoExternalTaskFound

from tests.live import LiveService, live_service, postgres_database

LOAN = Path(__file__).resolve().parents[1] / "fixtures" / "camunda_loan.bpmn"
REVIEW = Path(__file__).resolve().parents[1] / "fixtures" / "camunda_review.bpmn"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "camunda_worker.py"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    empty = tmp_path_factory.mktemp("bpmn")  # everything is deployed the way Modeler deploys
    with postgres_database() as url, live_service(url, tmp_path_factory.mktemp("live"), workers=2, bpmn_dir=empty) as s:
        yield s


def _user(service: LiveService, name: str, *roles: str) -> tuple[str, str]:
    with service.client() as admin:
        response = admin.post("/api/v1/users", json={"username": name, "roles": list(roles), "force": True})
        assert response.status_code == 201, response.text
        return name, str(response.json()["token"])


def _camunda(service: LiveService, user: tuple[str, str]) -> httpx.Client:
    """A plain HTTP client as Camunda scripts use one: Basic auth on /engine-rest."""
    return httpx.Client(base_url=f"{service.url}/engine-rest", auth=user, timeout=30)


def _worker(service: LiveService, user: tuple[str, str], worker_id: str, **config: object) -> ExternalTaskWorker:
    """The official client's worker, long polling one task at a time with the user's token."""
    settings = {"maxTasks": 1, "lockDuration": 10000, "asyncResponseTimeout": 5000, "sleepSeconds": 0, **config}
    settings["auth_basic"] = {"username": user[0], "password": user[1]}
    return ExternalTaskWorker(worker_id=worker_id, base_url=f"{service.url}/engine-rest", config=settings)


def test_camunda_tools_run_a_process_end_to_end(service):
    designer = _user(service, "modeler-user", "designer")
    worker_user = _user(service, "credit-worker", "integrator")
    officer = _user(service, "officer", "loan_officers")
    requester = _user(service, "somsri", "public")

    with _camunda(service, designer) as modeler:
        assert modeler.get("/version").status_code == 200
        deployed = modeler.post(
            "/deployment/create",
            data={
                "deployment-name": "camunda_loan",
                "deploy-changed-only": "true",
                "deployment-source": "Camunda Modeler",
            },
            files=[("camunda_loan.bpmn", ("camunda_loan.bpmn", LOAN.read_bytes(), "text/xml"))],
        )
        assert deployed.status_code == 200, deployed.text
        assert list(deployed.json()["deployedProcessDefinitions"]) == ["camunda_loan:1"]

    with _camunda(service, worker_user) as integrator:
        started = integrator.post(
            "/process-definition/key/camunda_loan/start",
            json={
                "businessKey": "LOAN-2569-0001",
                "variables": {
                    "requester": {"value": "somsri", "type": "String"},
                    "applicant": {"value": "นางสมศรี มีสุข", "type": "String"},
                    "amount": {"value": 30000000000, "type": "Long"},
                    "appliedAt": {"value": "2026-11-30T09:15:00.000+0700", "type": "Date"},
                },
            },
        )
        assert started.status_code == 200, started.text
        instance = started.json()["id"]

    attempts: list[str] = []

    def check_credit(task: ExternalTask) -> TaskResult:
        attempts.append(task.get_variable("applicant"))
        if len(attempts) == 1:
            return task.failure("บริการเครดิตบูโรไม่ตอบ", "timeout", max_retries=3, retry_timeout=200)
        return task.complete({"score": 720, "checkedBy": "เครดิตบูโร"})

    worker = _worker(service, worker_user, "credit-worker-1", retries=3, retryTimeout=200)
    for _ in range(20):
        try:
            worker.fetch_and_execute("credit-check", check_credit)
        except NoExternalTaskFound:
            continue
        if len(attempts) == 2:
            break
    assert attempts == ["นางสมศรี มีสุข", "นางสมศรี มีสุข"]  # failed once, fetched again, completed

    with _camunda(service, officer) as tasklist:
        [task] = tasklist.get("/task", params={"candidateGroup": "loan_officers"}).json()
        assert task["processInstanceId"] == instance and task["taskDefinitionKey"] == "Task_approve"
        assert tasklist.post(f"/task/{task['id']}/claim", json={"userId": "officer"}).status_code == 204
        done = tasklist.post(
            f"/task/{task['id']}/complete", json={"variables": {"approved": {"value": True, "type": "Boolean"}}}
        )
        assert done.status_code == 204, done.text

    with _camunda(service, worker_user) as integrator:
        correlated = integrator.post(
            "/message", json={"messageName": "documents_received", "businessKey": "LOAN-2569-0001"}
        )
        assert correlated.status_code == 204, correlated.text

    with _camunda(service, requester) as own:
        [sign] = own.get("/task", params={"assignee": "somsri"}).json()
        assert own.post(f"/task/{sign['id']}/complete", json={}).status_code == 204

    with _camunda(service, worker_user) as integrator:
        history = integrator.get(f"/history/process-instance/{instance}").json()
        assert history["state"] == "COMPLETED" and history["businessKey"] == "LOAN-2569-0001"
        variables = {
            v["name"]: v
            for v in integrator.get("/history/variable-instance", params={"processInstanceId": instance}).json()
        }
        assert variables["amount"]["value"] == 30000000000 and variables["amount"]["type"] == "Long"
        assert variables["appliedAt"]["type"] == "Date"
        assert variables["appliedAt"]["value"] == "2026-11-30T09:15:00.000+0700"
        assert variables["checkedBy"]["value"] == "เครดิตบูโร" and variables["score"]["value"] == 720
        operations = integrator.get("/history/user-operation", params={"processInstanceId": instance}).json()
        assert "HandleFailure" in [o["operationType"] for o in operations]


def test_the_example_worker_works_as_shipped(service):
    spec = importlib.util.spec_from_file_location("camunda_worker", EXAMPLE)
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    worker_user = _user(service, "example-worker", "integrator")
    with _camunda(service, worker_user) as integrator:
        started = integrator.post(
            "/process-definition/key/camunda_loan/start",
            json={"variables": {"applicant": {"value": "นายมานะ", "type": "String"}}},
        )
        assert started.status_code == 200, started.text
        instance = started.json()["id"]
        config = example.CONFIG | {"auth_basic": {"username": worker_user[0], "password": worker_user[1]}}
        worker = ExternalTaskWorker("example-1", f"{service.url}/engine-rest", config | {"asyncResponseTimeout": 5000})
        worker.fetch_and_execute(example.TOPIC, example.check_credit)
        variables = integrator.get(f"/history/variable-instance?processInstanceId={instance}").json()
        assert {v["name"]: v["value"] for v in variables}["checkedBy"] == "เครดิตบูโร"


def test_wrong_basic_credentials_are_refused(service):
    token = base64.b64encode(b"nobody:nothing").decode()
    response = httpx.get(f"{service.url}/engine-rest/task", headers={"Authorization": f"Basic {token}"})
    assert response.status_code == 401 and response.headers["www-authenticate"].startswith("Basic")
    assert response.json()["type"] == "AuthenticationException"


def test_a_modeler_model_with_warnings_deploys_through_both_faces_and_runs_with_the_official_client(service):
    designer = _user(service, "review-designer", "designer")
    worker_user = _user(service, "limit-worker", "integrator")
    officer = _user(service, "review-officer", "loan_officers")
    xml = REVIEW.read_bytes()
    with _camunda(service, designer) as modeler:
        deployed = modeler.post(
            "/deployment/create",
            data={"deployment-name": "camunda_review", "deployment-source": "Camunda Modeler"},
            files=[("camunda_review.bpmn", ("camunda_review.bpmn", xml, "text/xml"))],
        )
        assert deployed.status_code == 200, deployed.text
        assert list(deployed.json()["deployedProcessDefinitions"]) == ["camunda_review:1"]
    with service.client(designer[1]) as api:
        again = api.post("/api/v1/deployments", files=[("files", ("camunda_review.bpmn", xml, "text/xml"))])
        assert again.status_code == 200 and again.json()["unchanged"] == ["camunda_review:1"], again.text
        warned = sorted(line.split(": ")[1] for line in again.json()["warnings"])
        assert warned == ["Flow_0accepted", "Flow_0within"]
        shown = api.get("/api/v1/process-definitions/camunda_review").json()["warnings"]
        assert sorted(w["element_id"] for w in shown) == warned
    assert "Flow_0within: warning:" in service.log.read_text(encoding="utf-8")  # what Camunda's answer cannot say

    with _camunda(service, worker_user) as integrator:
        started = integrator.post("/process-definition/key/camunda_review/start", json={"businessKey": "REVIEW-1"})
        assert started.status_code == 200, started.text
        instance = started.json()["id"]
    worker = _worker(service, worker_user, "limit-worker-1")
    checked: list[str] = []

    def check_limit(task: ExternalTask) -> TaskResult:
        checked.append(task.get_activity_id())
        return task.complete({"approved_limit": True})

    for _ in range(10):
        try:
            worker.fetch_and_execute("credit-limit", check_limit)
        except NoExternalTaskFound:
            continue
        break
    assert checked == ["Activity_0limit"]

    with _camunda(service, worker_user) as integrator:
        correlated = integrator.post("/message", json={"messageName": "documents_received", "businessKey": "REVIEW-1"})
        assert correlated.status_code == 204, correlated.text
    with _camunda(service, officer) as tasklist:
        for decision, next_step in (("fix the address", "Activity_0fix"), (None, "Activity_0review"), ("yes", None)):
            [task] = tasklist.get("/task", params={"processInstanceId": instance}).json()
            assert tasklist.post(f"/task/{task['id']}/claim", json={"userId": "review-officer"}).status_code == 204
            variables = {"decision": {"value": decision, "type": "String"}} if decision else {}
            done = tasklist.post(f"/task/{task['id']}/complete", json={"variables": variables})
            assert done.status_code == 204, done.text
            waiting = tasklist.get("/task", params={"processInstanceId": instance}).json()
            assert [t["taskDefinitionKey"] for t in waiting] == ([next_step] if next_step else [])
    with _camunda(service, worker_user) as integrator:
        history = integrator.get(f"/history/process-instance/{instance}").json()
        assert history["state"] == "COMPLETED"  # the plain task passed through, as in Camunda 7
