"""The notification mail: Thai subject and plain-text body in UTF-8, the link into the web app, the header
`X-MSO-Notification: <kind>`, and a Message-ID made from the mail's id (the same id whatever process sends it).

What a mail says comes from the notification rows alone (`rules.About`): the step, the process, the business key
and the due date (Asia/Bangkok, Buddhist year). Nothing of the case's variables is ever read here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from mso_flow.domain import NotificationKind
from mso_flow.rendering.thai import thai_datetime
from mso_flow.services.notifications.rules import WORDS
from mso_flow.settings import Settings
from mso_flow.store.notifications import Notification

HEADER = "X-MSO-Notification"
LEADS = {
    NotificationKind.TASK_CREATED: "มีงานใหม่ในบทบาทของท่าน",
    NotificationKind.TASK_ASSIGNED: "มีงานที่มอบหมายให้ท่าน",
    NotificationKind.TASK_DUE_SOON: "งานของท่านใกล้ครบกำหนด",
    NotificationKind.TASK_OVERDUE: "งานเกินกำหนดแล้ว",
    NotificationKind.INCIDENT_OPENED: "กระบวนงานทำงานไม่สำเร็จ ผู้ดูแลระบบหรือผู้ออกแบบกระบวนงานต้องตรวจสอบ",
}


def link(settings: Settings, note: Notification) -> str:
    """`{MSO_FLOW_PUBLIC_URL}/app/tasks/{task_id}` (an incident: its case's page, or the inbox)."""
    base = settings.public_url.rstrip("/")
    if note.task_id:
        return f"{base}/app/tasks/{note.task_id}"
    return f"{base}/app/instances/{note.instance_id}" if note.instance_id else f"{base}/app/"


def _facts(settings: Settings, note: Notification) -> list[str]:
    lines = [f"ขั้นตอน: {note.step or '-'}", f"กระบวนงาน: {note.process_name or '-'}"]
    lines.append(f"เลขที่อ้างอิง: {note.business_key or '-'}")
    if note.due_at is not None:
        lines.append(f"กำหนดเสร็จ: {thai_datetime(note.due_at)} น.")
    lines.append(f"เปิดงาน: {link(settings, note)}")
    return lines


def one(settings: Settings, mail_id: str, to: str, notes: Sequence[Notification], now: datetime) -> EmailMessage:
    """The mail of one notification (`notes` holds it): `[MSO Flow] งานใหม่: <step>`."""
    note = notes[0]
    body = [LEADS.get(NotificationKind(note.kind), note.title), "", *_facts(settings, note)]
    return _message(settings, mail_id, to, note.kind, note.title, body, now)


def digest(settings: Settings, mail_id: str, to: str, notes: Sequence[Notification], now: datetime) -> EmailMessage:
    """A person's digest: every notification of the day, in order, in one mail."""
    day = thai_datetime(now, with_time=False)
    subject = f"{WORDS[NotificationKind.DIGEST]} {day}: {len(notes)} รายการ"
    body = [f"{WORDS[NotificationKind.DIGEST]} วันที่ {day} ({len(notes)} รายการ)", ""]
    for number, note in enumerate(notes, start=1):
        body.append(f"{number}. {note.title} (แจ้งเมื่อ {thai_datetime(note.created_at)} น.)")
        body += [f"   {line}" for line in _facts(settings, note)]
        body.append("")
    return _message(settings, mail_id, to, NotificationKind.DIGEST, subject, body, now)


def _message(
    settings: Settings, mail_id: str, to: str, kind: str, subject: str, body: list[str], now: datetime
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = f"[MSO Flow] {subject}"
    message["Date"] = format_datetime(now)
    message["Message-ID"] = f"<{mail_id}@{_domain(settings.mail_from)}>"
    message[HEADER] = kind
    footer = ["", "-- ", "MSO Flow สำนักงานปลัดกระทรวงการพัฒนาสังคมและความมั่นคงของมนุษย์"]
    footer.append("ตั้งค่าการรับอีเมลได้ที่ " + f"{settings.public_url.rstrip('/')}/app/notifications")
    message.set_content("\n".join([*body, *footer]) + "\n", charset="utf-8")
    return message


def _domain(sender: str) -> str:
    address = parseaddr(sender)[1]
    try:
        return Address(addr_spec=address).domain or "mso-flow.invalid"
    except (ValueError, IndexError):
        return "mso-flow.invalid"
