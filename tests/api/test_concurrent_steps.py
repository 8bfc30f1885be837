"""Issue 24, item 17: concurrent steps of one service process share its engine runtime; each instance's stored
data must come back exactly as it was written, dates and decimal amounts included.

The requests run in the service's own thread pool (TestClient from several threads), so the engine's
serialization of one step runs while other threads serialize theirs.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

from tests.factory import bpmn

THREADS = 6
PER_THREAD = 4
RECORD = bpmn(
    "test_record",
    [
        {
            "id": "record",
            "name": "บันทึกการรับเงิน",
            "lane": "staff",
            "duration": "P1D",
            "form": [
                {"id": "received_on", "label": "วันที่รับ", "type": "date", "required": True},
                {"id": "satang", "label": "จำนวนเงิน (สตางค์)", "type": "long", "required": True},
            ],
            "next": "check",
        },
        {"id": "check", "name": "ตรวจสอบ", "lane": "staff", "duration": "P1D", "next": "end"},
    ],
)


def _start_variables(n: int) -> dict[str, object]:
    return {
        "amount": 1234.56 + n / 100,
        "rate": 0.07,
        "tiny": 1e-7 * (n + 1),
        "amounts": [0.1, 0.2, 0.30000000000000004, n + 0.5],
        "due_at": f"2026-12-{n % 28 + 1:02d}T09:30:00+07:00",
        "items": [{"on": f"2026-01-{n % 28 + 1:02d}", "baht": "1500.25", "qty": n}],
    }


def _completion(n: int) -> dict[str, object]:
    return {"received_on": f"2026-{n % 12 + 1:02d}-{n % 28 + 1:02d}", "satang": 150_025 + n}


def test_concurrent_completes_store_every_instance_s_dates_and_decimals_exactly(client, make_user):
    _deploy(client, make_user("designer1", "designer"))
    staff = make_user("staff1", "เจ้าหน้าที่")
    count = THREADS * PER_THREAD
    started = [
        client.post(
            "/api/v1/process-definitions/test_record/start",
            headers=staff,
            json={"variables": _start_variables(n), "business_key": f"rc-{n}"},
        )
        for n in range(count)
    ]
    assert all(r.status_code == 201 for r in started), [r.text for r in started if r.status_code != 201][:1]
    instances = [r.json() for r in started]
    barrier = Barrier(THREADS)

    def complete(batch: int) -> list[int]:
        barrier.wait()
        codes = []
        for n in range(batch * PER_THREAD, (batch + 1) * PER_THREAD):
            task_id = instances[n]["active_tasks"][0]["id"]
            response = client.post(
                f"/api/v1/tasks/{task_id}/complete", headers=staff, json={"variables": _completion(n)}
            )
            codes.append(response.status_code)
        return codes

    with ThreadPoolExecutor(THREADS) as pool:
        codes = [code for batch in pool.map(complete, range(THREADS)) for code in batch]
    assert codes == [200] * count

    for n, instance in enumerate(instances):
        stored = client.get(f"/api/v1/process-instances/{instance['id']}", headers=staff).json()
        assert stored["business_key"] == f"rc-{n}"
        assert stored["variables"] == {**_start_variables(n), **_completion(n)}
        assert [t["element_id"] for t in stored["active_tasks"]] == ["Task_check"]


def _deploy(client, designer) -> None:
    response = client.post("/api/v1/deployments", headers=designer, files=[("files", ("record.bpmn", RECORD))])
    assert response.status_code == 201, response.text
