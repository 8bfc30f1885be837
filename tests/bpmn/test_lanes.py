"""Every lane of every file of `bpmn/` resolves to roles a person can hold (RULES.md rule 8).

A role a person can hold is one the service lists (`GET /api/v1/roles`) and an admin can give without `force`,
and it names one unit or position: no "/" or "และ"/"หรือ" joining parts, and not several known roles written one
after the other with spaces ("กมพ. สสว."). Team lanes are named in `bpmn/roles.yaml`; docs/lanes.md lists them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mso_flow.engine.lane_roles import RoleMap, load_role_map, split_composite
from mso_flow.engine.parsing import parse_document, read_document
from mso_flow.services.definitions import deployment as definitions
from tools.manual_to_bpmn.lanes import lane_rows, render_lanes

ROOT = Path(__file__).resolve().parents[2]
BPMN_DIR = ROOT / "bpmn"
ROLES = load_role_map(BPMN_DIR / "roles.yaml")
API = "/api/v1"


# the ministry and its office qualify the name before them ("ผู้บริหาร สป.พม."): they are not a second unit
QUALIFIERS = {"สป.พม.", "สป.", "พม."}


def joined_roles(role: str, names: set[str]) -> list[str]:
    """The known names a role is made of when it is several of them written with spaces ("กมพ. สสว." → both);
    empty for a role that is one name (made of fewer than two known names)."""
    words = role.split()
    found: list[str] = []
    start = 0
    while start < len(words):
        for end in range(len(words), start, -1):
            candidate = " ".join(words[start:end])
            if candidate != role and candidate in names and candidate not in QUALIFIERS:
                found.append(candidate)
                start = end
                break
        else:
            start += 1
    return found if len(found) > 1 else []


def not_holdable(role: str, listed: set[str], names: set[str]) -> str | None:
    """Why no person can hold `role` (`listed`: the roles the service lists; `names`: every role and lane name),
    or None."""
    if role not in listed:
        return "is not a known role"
    if len(split_composite(role)) > 1:
        return f"joins {split_composite(role)}"
    if joined_roles(role, names):
        return f"is {joined_roles(role, names)} written with spaces"
    return None


@pytest.fixture
def deployed(services) -> None:
    definitions.deploy_directory(services, BPMN_DIR)


def test_every_lane_resolves_to_roles_a_person_can_hold(client, services, admin, deployed) -> None:
    listed = client.get(f"{API}/roles", headers=admin)
    assert listed.status_code == 200, listed.text
    known = {role["role"] for role in listed.json()}
    rows = lane_rows(BPMN_DIR, ROLES)
    assert len({row.path for row in rows}) == len(list(BPMN_DIR.rglob("*.bpmn"))) >= 76
    names = known | {row.lane for row in rows}
    problems = [
        f"{row.key}: lane {row.lane!r} → {role!r} {why}"
        for row in rows
        for role in row.roles
        if (why := not_holdable(role, known, names))
    ]
    assert problems == []
    every_role = sorted({role for row in rows for role in row.roles})
    for start in range(0, len(every_role), 50):  # a user holds at most 50 roles
        body = {"username": f"staff{start}", "roles": every_role[start : start + 50]}
        created = client.post(f"{API}/users", headers=admin, json=body)
        assert created.status_code == 201, created.text  # each is creatable without `force`


@pytest.mark.parametrize(
    ("key", "lane", "roles"),
    [
        ("standards_social_situation_report", "กมพ. สสว.", {"กมพ.", "สสว."}),
        ("standards_social_situation_report", "กมพ. สสว. พมจ. ศทส.", {"กมพ.", "สสว.", "สนง.พมจ."}),
        ("standards_social_database", "กรมฯ", {"กมพ."}),
        ("standards_social_database", "กรมฯ ศทส.", {"กมพ.", "ศูนย์เทคโนโลยีสารสนเทศและการสื่อสาร"}),
        ("standards_social_database", "กรมฯ สสว. พมจ. ศทส. กรม/เทียบเท่า", {"กมพ.", "หน่วยงานระดับกรมในสังกัด พม."}),
        ("mgmtdev_ministry_kpi", "สำนักงาน ก.พ.ร. กพบ. และ ก.พ.ร. ของแต่ละกรม", {"สำนักงาน ก.พ.ร.", "กพบ."}),
        ("strategy_action_plan", "กยผ. และผู้บริหาร สป.พม.", {"กยผ.", "ผู้บริหาร สป.พม."}),
        ("ict_data_processing", "ศูนย์เทคโนโลยีสารสนเทศและการสื่อสาร และหน่วยงานที่เกี่ยวข้อง", {"หน่วยงานที่เกี่ยวข้อง"}),
        ("inspection_southern_remedy", "พมจ.นราธิวาส ปัตตานี ยะลา และสงขลา", {"สนง.พมจ.ยะลา", "สนง.พมจ.สงขลา"}),
        ("academic_social_lab", "สสว.๑-๑๑ ทีม พม. จังหวัด (One Home)", {"สสว.", "ทีม พม. จังหวัด (One Home)"}),
        ("foreign_policy_proposal", "กกต.สป.พม. หรือหน่วยงานเจ้าของข้อเสนอนั้น ๆ", {"กกต.สป.พม."}),
        ("trafficking_victim_protection", "ตร./ ปค./ DSI/ พม./รง./ NGOs", {"กรมสอบสวนคดีพิเศษ (DSI)", "สนง.พมจ."}),
    ],
)
def test_the_team_lanes_of_the_review_resolve_to_their_units(key: str, lane: str, roles: set[str]) -> None:
    """Lines 2921-2925 and 2961-2967 and the processes the review named: each team lane is its units' roles, and
    "กรมฯ" of the social database is กมพ. (lines 2945, 2961), not the ministry's departments."""
    [path] = BPMN_DIR.rglob(f"{key}.bpmn")
    [process] = parse_document(path.read_bytes(), str(path), ROLES)
    model = process.definition
    assert lane in model.lanes
    assert roles <= set(model.lane_roles[lane]), model.lane_roles.get(lane)
    assert lane in ROLES.lanes, "named in bpmn/roles.yaml, not split at deployment"
    if lane.startswith("กรมฯ"):
        assert "กมพ." in model.lane_roles[lane]


def test_the_roles_file_names_only_lanes_of_bpmn() -> None:
    lanes = {row.lane for row in lane_rows(BPMN_DIR, ROLES)}
    assert sorted(set(ROLES.lanes) - lanes) == []


def test_a_lane_is_split_on_slashes_and_on_and_or_words_never_on_spaces_or_dots() -> None:
    assert split_composite("กยผ. และหน่วยงานต่างๆ ใน สป.พม.") == ("กยผ.", "หน่วยงานต่างๆ ใน สป.พม.")
    assert split_composite("กกต.สป.พม. หรือหน่วยงานเจ้าของข้อเสนอ") == ("กกต.สป.พม.", "หน่วยงานเจ้าของข้อเสนอ")
    assert split_composite("พัสดุ/ผู้ขาย/ผู้รับจ้าง") == ("พัสดุ", "ผู้ขาย", "ผู้รับจ้าง")
    for one in ("ผอ. กอง", "กรมฯ ศทส.", "ศูนย์เทคโนโลยีสารสนเทศและการสื่อสาร", "หน่วยงานระดับกรมหรือเทียบเท่า ในสังกัด พม."):
        assert split_composite(one) == (one,)


def test_an_unnamed_and_lane_is_offered_to_each_part_with_a_warning() -> None:
    xml = (BPMN_DIR / "strategy-planning" / "strategy_action_plan.bpmn").read_bytes()
    parsed = read_document(xml, "plan.bpmn", RoleMap())  # no roles file
    [process] = parsed.processes
    model = process.definition
    assert model.lane_roles["กยผ. และผู้บริหาร สป.พม."] == ("กยผ.", "ผู้บริหาร สป.พม.")
    assert "กยผ. และผู้บริหาร สป.พม." in model.split_lanes
    [warned] = [w for w in parsed.warnings if "'กยผ. และผู้บริหาร สป.พม.'" in w.message]
    assert "lane not in the roles file; offered to each part" in warned.message and not warned.is_error


def test_a_list_of_units_written_with_spaces_is_caught() -> None:
    names = {"กมพ.", "สสว.", "ศทส.", "กรมฯ", "ผอ.", "ผู้บริหาร", "สป.พม.", "กมพ. สสว.", "กรมฯ ศทส.", "ผอ. กอง"}
    names |= {"ผู้บริหาร สป.พม.", "กลุ่มงานจริยธรรม (ศปท.)"}
    assert not_holdable("กมพ. สสว.", names, names) == "is ['กมพ.', 'สสว.'] written with spaces"
    assert not_holdable("กรมฯ ศทส.", names, names) is not None
    assert not_holdable("กยผ. และผู้บริหาร", names | {"กยผ. และผู้บริหาร"}, names) is not None
    for one in ("ผอ. กอง", "ผู้บริหาร สป.พม.", "กลุ่มงานจริยธรรม (ศปท.)"):
        assert not_holdable(one, names, names) is None


def test_the_lanes_table_is_current() -> None:
    table = (ROOT / "docs" / "lanes.md").read_text(encoding="utf-8")
    assert table == render_lanes(BPMN_DIR), "run: python -m tools.manual_to_bpmn index"
    assert "| กรมฯ | กมพ. | roles file |" in table
