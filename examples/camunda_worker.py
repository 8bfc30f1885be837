"""An external-task worker for MSO Flow built on the official Camunda 7 Python client, unchanged.

Copy this file, put your own work in `check_credit`, and run it next to your system:

    pip install camunda-external-task-client-python3==4.5.0
    export MSO_FLOW_URL=https://flow.example.go.th/engine-rest
    export MSO_FLOW_USER=credit-worker            # a user with the role `integrator`
    export MSO_FLOW_TOKEN=...                     # that user's API token (or password)
    python camunda_worker.py

It serves the `credit-check` topic of `tests/fixtures/camunda_loan.bpmn`. What the handler returns decides what
happens to the task:
- `task.complete({...})`: the variables join the process instance and the process moves on;
- `task.failure(message, details, max_retries, retry_timeout_ms)`: the task is fetched again after the
  timeout while retries remain; at 0 retries it becomes an incident staff can see
  (`GET /engine-rest/external-task?noRetriesLeft=true`);
- `task.bpmn_error(code, message, {...})`: a business outcome; the error boundary event of the task whose
  `errorCode` matches takes the process on (else the task becomes an incident).
Long polling (`asyncResponseTimeout`) keeps one request open until a task arrives, so an idle worker costs the
service nothing but an open connection.
"""

from __future__ import annotations

import logging
import os

from camunda.external_task.external_task import ExternalTask, TaskResult
from camunda.external_task.external_task_worker import ExternalTaskWorker

TOPIC = "credit-check"
CONFIG = {
    "auth_basic": {"username": os.environ.get("MSO_FLOW_USER", ""), "password": os.environ.get("MSO_FLOW_TOKEN", "")},
    "maxTasks": 1,
    "lockDuration": 60_000,  # ms the task stays ours; take longer work in smaller steps or extend the lock
    "asyncResponseTimeout": 30_000,  # long polling: wait up to 30 s for a task
    "retries": 3,  # attempts before the task becomes an incident
    "retryTimeout": 60_000,  # ms before a failed task is fetched again
    "sleepSeconds": 5,  # pause after a connection error
}


def lookup_credit_bureau(applicant: str) -> int | None:
    """Your integration goes here (e.g. the credit bureau's API). None when the bureau does not answer."""
    return 720 if applicant else None


def check_credit(task: ExternalTask) -> TaskResult:
    applicant = task.get_variable("applicant") or ""
    score = lookup_credit_bureau(applicant)
    if score is None:
        return task.failure("บริการเครดิตบูโรไม่ตอบ", "no answer from the bureau", max_retries=3, retry_timeout=60_000)
    if score < 500:
        return task.bpmn_error("REJECTED", "คะแนนเครดิตต่ำกว่าเกณฑ์", {"score": score})
    return task.complete({"score": score, "checkedBy": "เครดิตบูโร"})


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    url = os.environ.get("MSO_FLOW_URL", "http://localhost:8000/engine-rest")
    ExternalTaskWorker(worker_id="credit-worker-1", base_url=url, config=CONFIG).subscribe(TOPIC, check_credit)
