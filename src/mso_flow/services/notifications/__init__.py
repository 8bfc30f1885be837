"""Notifications: people learn of their work without watching the inbox.

The domain, module by module (`docs/architecture.md`, "Notifications"):
- `outbox`: the request path's part — one row per event that may concern someone, written by
  `services/platform/events.py` `record` in the transaction of the event (one Core INSERT per command, none when
  no active user holds a role of the new task: `audience`);
- `rules`: who is told what (recipients per kind, through the predicates of `services/policy.py`) and the words;
- `fanout`: the background step that turns outbox rows into each person's notifications and their mails;
- `scanner`: due soon / overdue notices, once per task and kind; `digest`: the daily digest mails;
- `mail`, `smtp`, `delivery`: the message, the relay, and leased at-most-once delivery with retries;
- `queries`: a person's list, marks, settings; the admins' view of deliveries (frozen views);
- `loop`: the background poll of the background process (`mso_flow/background.py`), and `run_once` for tests and
  one-off runs.
"""
