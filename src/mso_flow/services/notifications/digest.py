"""The daily digest: at 08:00 Asia/Bangkok on working days, one mail per person who chose `digest`, grouping
every notification of theirs made before 08:00 and not yet in a digest (so Monday's holds Friday's after 08:00
and the weekend's). A service that was down at 08:00 composes the digest when it is back, the same day.

Composition runs under the lock of the `digest` schedule row, which records the last day composed, and a
person's digest of a day is unique (`notification_mail`): one per day, whatever replicas.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time

from mso_flow.domain import NotificationKind
from mso_flow.rendering.thai import BANGKOK
from mso_flow.services.platform.context import Services
from mso_flow.store import notifications as store
from mso_flow.store.notifications import Notification

AT = time(8, 0)


def compose(services: Services) -> int:
    """Queue today's digests if it is a working day past 08:00 and they are not queued yet; return how many."""
    now = services.clock()
    local = now.astimezone(BANGKOK)
    if local.time() < AT or not services.calendar.is_working_day(local.date()):
        return 0
    day = local.date().isoformat()
    with services.db.write() as session:
        schedule = store.lock_schedule(session, "digest")
        if schedule is None or schedule.day == day:
            return 0
        pending: dict[str, list[Notification]] = defaultdict(list)
        for note in store.digest_pending(session, datetime.combine(local.date(), AT, BANGKOK)):
            pending[note.username].append(note)
        mails = []
        for username, notes in pending.items():
            mail = store.new_mail(username, NotificationKind.DIGEST, now, digest_day=day)
            for note in notes:
                note.digest_mail_id = mail["id"]
            mails.append(mail)
        store.add(session, [], mails)
        schedule.day, schedule.ran_at = day, now
        return len(mails)
