"""Need-to-know in the web app (issue 18, finding 4): the instance page shows a case's data only to its people;
staff of another lane see its progress, not its data; the reports are a manager's, not every clerk's."""

from __future__ import annotations

from mso_flow.services.instances import lifecycle as instances
from mso_flow.services.platform.context import Caller
from tests.web.conftest import CLERK, OWNER, login, plain

SECRET = "นายสมชาย ผู้ร้องเรียน 3100500123456"
HIDDEN = "ข้อมูลของเรื่องนี้ดูได้เฉพาะผู้ที่เกี่ยวข้องกับเรื่อง"


def test_the_instance_page_shows_the_data_only_to_the_people_of_the_case(client, services, saraban, person):
    person("clerk1", CLERK)
    person("owner1", OWNER)
    person("director1", "manager:กองกลาง")
    clerk = Caller("clerk1", frozenset({CLERK}))
    view = instances.start(services, clerk, saraban, "พม 0201/99", {"subject": SECRET})
    url = f"/app/instances/{view.instance.id}"

    login(client, "owner1")
    page = client.get(url)
    assert page.status_code == 200 and "สารบรรณกลางรับหนังสือ" in plain(page)  # its progress
    assert SECRET not in plain(page) and HIDDEN in plain(page)
    assert 'href="/app/reports"' not in plain(page) and client.get("/app/reports").status_code == 403

    login(client, "clerk1")
    page = client.get(url)
    assert SECRET in plain(page) and HIDDEN not in plain(page)

    login(client, "director1")
    assert 'href="/app/reports"' in plain(client.get("/app/")) and client.get("/app/reports").status_code == 200
