"""Thai as the web app writes it: Buddhist-year dates in Bangkok time, durations in words, line breaks only
between Thai words, the Thai part of service messages, and charts whose labels break between words."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from mso_flow.api.web.thai import duration_words, seconds_words, thai_datetime, thai_message, wbr
from mso_flow.rendering.charts import Bar, bar_chart


def test_dates_are_bangkok_time_with_the_buddhist_year():
    assert thai_datetime(datetime(2026, 12, 3, 3, 15, tzinfo=UTC)) == "3 ธ.ค. 2569 10:15"
    assert thai_datetime(datetime(2026, 12, 31, 18, 0, tzinfo=UTC)) == "1 ม.ค. 2570 01:00"  # next day in Bangkok
    assert thai_datetime(None) == ""


def test_durations_in_words_not_seconds():
    assert duration_words("P15D") == "15 วันทำการ"
    assert duration_words("PT24H") == "24 ชั่วโมง"  # hours elapse, they are not a working day
    assert duration_words("P1M") == "1 เดือน"
    assert duration_words("PT1H30M") == "1 ชั่วโมง 30 นาที"
    assert duration_words(None) == "ไม่ได้กำหนด"
    assert seconds_words(90) == "1.5 นาที"
    assert seconds_words(5 * 3600) == "5 ชั่วโมง"
    assert seconds_words(3 * 86400) == "3 วัน"


def test_line_breaks_only_between_thai_words():
    marked = str(wbr("เจ้าหน้าที่งานสารบรรณรับหนังสือเข้า"))
    assert "<wbr>หนังสือ<wbr>" in marked
    assert all(part in {"เจ้าหน้าที่", "งานสารบรรณ", "รับ", "หนังสือ", "เข้า"} for part in marked.split("<wbr>"))
    assert str(wbr("<b>หนังสือ</b>")) == "&lt;b&gt;หนังสือ&lt;/b&gt;"  # escaped, never markup


def test_service_messages_lose_their_english_gist():
    assert thai_message("ต้องกรอก เรื่อง (required)") == "ต้องกรอก เรื่อง"
    assert thai_message("only English (gist)") == "only English (gist)"


def test_chart_shows_each_value_as_text_and_breaks_labels_between_words():
    svg = bar_chart(
        [
            Bar("การพัฒนาระบบการจัดการนโยบายและแผนของกระทรวงการพัฒนาสังคมและความมั่นคงของมนุษย์", 0.5, "2 เรื่อง", 0.9),
            Bar("<กองกลาง>", 1.0, "4 เรื่อง"),
        ],
        "สัดส่วน",
    )
    assert "50% · 2 เรื่อง · เป้า 90% ต่ำกว่าเป้า" in svg and "100% · 4 เรื่อง" in svg
    assert "&lt;กองกลาง&gt;" in svg
    lines = re.findall(r'text-anchor="end"[^>]*>([^<]+)<', svg)
    assert lines[:3] == ["การพัฒนาระบบการจัดการนโยบายและแผนของ", "กระทรวงการพัฒนาสังคมและความมั่นคงของ", "มนุษย์"]
