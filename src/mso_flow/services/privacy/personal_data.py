"""Personal data (PDPA B.E. 2562) and classified letters (Regulation on Maintaining Official Secrets B.E. 2544).

At rest. An instance of a process that marks personal data (form fields `personal_data`/`sensitive`, the process's
`personal_data`/`sensitive_data` lists) or a secrecy class (`secrecy_variable`) gets a data key of its own, wrapped
by the operator's master key (`services/privacy/keyring.py`). Its engine state is stored sealed whole; in its variables
column and in the data of its audit events, its protected values are sealed one by one (`services/privacy/sealing.py`):
the personal variables, or every variable of a classified-letter process. The audit chain hashes what is stored,
so it verifies whatever happens to the key. The webhook outbox holds the same sealed values.

Reading (`disclosure`, `Reveal`). Whoever reads the instance's data (`need_to_know`) reads its ordinary values;
personal values (every value of a letter classed ลับ or above) are opened only for
`policy.may_read_personal_data` — the people of the instance's tasks, the supervisors of their lanes, a privacy
officer — and shown masked (null, named in `masked`) to everyone else. Each disclosure of opened personal values
is logged (`personal_data_read`: who, which instance, which fields, for what), in the caller's write transaction
or in one of its own. A stored envelope that does not open is shown masked to everyone and reported as an
incident (`services/privacy/unreadable.py`), never an error.

Erasure. `erase` destroys the data key (crypto-shredding): every sealed copy — variables, engine state, audit data,
pending deliveries — becomes unreadable at once; the instance, its tasks and its audit chain remain (and verify),
and the erasure is an audit event. `erase_expired` does it for ended instances past their retention
(`retention_days` of the process, else the setting). Copies already delivered to a granted subscriber or exported
are outside the service's reach.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from mso_flow.domain import ACTIVE_INSTANCE_STATES, ReadPurpose
from mso_flow.engine.model import ProcessDef
from mso_flow.services import policy
from mso_flow.services.platform.context import Caller, Services
from mso_flow.services.platform.failures import Conflict, Unavailable
from mso_flow.services.privacy import keyring as keys
from mso_flow.services.privacy import unreadable
from mso_flow.services.privacy.sealing import ERASED, UNREADABLE, InstanceCipher, is_sealed, is_sealed_state
from mso_flow.store import definitions as definitions_store
from mso_flow.store import personal_data as store
from mso_flow.store import tasks as tasks_store
from mso_flow.store.audit import NewEvent
from mso_flow.store.models import HumanTask, ProcessInstance

log = logging.getLogger(__name__)
OPEN_SECRECY = frozenset({"", "normal", "ปกติ"})
_CIPHERS = "mso_ciphers"  # Session.info: instance id -> its cipher, for the rest of the transaction


def erased_conflict() -> Conflict:
    return Conflict(
        "personal_data_erased",
        "ข้อมูลส่วนบุคคลของเรื่องนี้ถูกลบแล้ว จึงดำเนินการต่อไม่ได้ (this instance's personal data was erased)",
    )


# --- at rest --------------------------------------------------------------------------------------------------


def protected_names(model: ProcessDef, names: Iterable[str]) -> set[str]:
    """The variables among `names` kept sealed: personal ones, or all of a classified-letter process."""
    if model.secrecy_variable:
        return set(names)
    return set(model.personal_variables.intersection(names))


def cipher(services: Services, session: Session, instance: ProcessInstance, model: ProcessDef) -> InstanceCipher | None:
    """The instance's cipher for a write: None for a process without protected data; its data key is made (and
    stored wrapped) on first need. 409 `personal_data_erased` once the key is destroyed."""
    cached: dict[str, InstanceCipher] = session.info.setdefault(_CIPHERS, {})
    found = cached.get(instance.id)
    if found is None:
        if not model.confidential and not is_sealed_state(instance.engine_state):
            return None  # no statement: a process without protected data never had a key
        keyed, master_id, wrapped = store.wrapped_key(session, instance.id)
        if not keyed and not model.confidential:
            return None
        if not keyed:  # an instance moved to a version that protects data
            found, store_key = fresh_cipher(services, session, instance.id)
            store_key()
        else:
            found = _opened(services, instance.id, master_id, wrapped)
        cached[instance.id] = found
    if found.erased:
        raise erased_conflict()
    return found


def fresh_cipher(services: Services, session: Session, instance_id: str) -> tuple[InstanceCipher, Callable[[], None]]:
    """A new instance's cipher with a new data key, and how to store the wrapped key (once the instance's row is
    written: the key's row refers to it)."""
    data_key = keys.new_data_key()
    master_id, wrapped = keys.keyring(services.settings).wrap(instance_id, data_key)
    found = session.info.setdefault(_CIPHERS, {})[instance_id] = InstanceCipher(instance_id, data_key)
    return found, lambda: store.add_key(session, instance_id, master_id, wrapped, services.clock())


def _opened(services: Services, instance_id: str, master_id: str | None, wrapped: bytes | None) -> InstanceCipher:
    if master_id is None or wrapped is None:
        return InstanceCipher(instance_id, None)
    try:
        return InstanceCipher(instance_id, keys.keyring(services.settings).unwrap(instance_id, master_id, wrapped))
    except keys.MasterKeyMissing:
        log.error("master key %s is not configured; instance %s cannot be opened", master_id, instance_id)
        raise Unavailable(
            "master_key_missing",
            f"ระบบไม่มีกุญแจหลัก {master_id} ที่ใช้เข้ารหัสข้อมูลของเรื่องนี้ โปรดแจ้งผู้ดูแลระบบ "
            "(the master key that wraps this instance's data key is not configured)",
        ) from None


def reading_cipher(services: Services, session: Session, instance_id: str) -> InstanceCipher:
    """The instance's cipher to open values (erased, or never keyed: opens nothing)."""
    cached: dict[str, InstanceCipher] = session.info.setdefault(_CIPHERS, {})
    found = cached.get(instance_id)
    if found is None:
        keyed, master_id, wrapped = store.wrapped_key(session, instance_id)
        if not keyed:
            return InstanceCipher(instance_id, None, keyed=False)
        found = cached[instance_id] = _opened(services, instance_id, master_id, wrapped)
    return found


def open_state(services: Services, session: Session, instance: ProcessInstance) -> str:
    """The instance's engine state in plain text (for the engine, in memory only)."""
    if not is_sealed_state(instance.engine_state):
        return instance.engine_state
    state = reading_cipher(services, session, instance.id).open_state(instance.engine_state)
    if state is None:
        raise erased_conflict()
    return state


def open_variables(services: Services, session: Session, instance: ProcessInstance) -> dict[str, Any]:
    """Every variable in plain (erased ones None), for the service's own use (never shown as such)."""
    stored = instance.variables
    if not any(is_sealed(v) for v in stored.values()):
        return dict(stored)
    opener = reading_cipher(services, session, instance.id)
    return {k: plain(opened(services, session, opener, k, v)) if is_sealed(v) else v for k, v in stored.items()}


def opened(services: Services, session: Session, opener: InstanceCipher, name: str, envelope: dict[str, str]) -> Any:
    """A sealed value opened: the value, `ERASED`, or `UNREADABLE` (then reported: `services/privacy/unreadable.py`)."""
    value = opener.open_value(name, envelope)
    if value is UNREADABLE:
        unreadable.report(services, session, opener.instance_id, name)
    return value


def plain(value: Any) -> Any:
    return None if value is ERASED or value is UNREADABLE else value


def seal_variables(
    sealer: InstanceCipher | None,
    model: ProcessDef,
    variables: Mapping[str, Any],
    previous: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """`variables` with their protected values sealed; `previous` (the stored variables) lets unchanged ones keep
    their envelope."""
    if sealer is None:
        return dict(variables)
    names = protected_names(model, variables)
    before = previous or {}
    return {
        k: sealer.seal_value(k, v, before.get(k)) if k in names and not is_sealed(v) else v
        for k, v in variables.items()
    }


def seal_events(
    services: Services, session: Session, instance: ProcessInstance, model: ProcessDef, events: list[NewEvent]
) -> list[NewEvent]:
    """The events with the protected values of their `variables` data sealed (the key is needed only then)."""
    sealed = []
    for event in events:
        values = (event.data or {}).get("variables")
        if isinstance(values, dict) and protected_names(model, values):
            sealer = cipher(services, session, instance, model)
            event = replace(event, data={**(event.data or {}), "variables": seal_variables(sealer, model, values)})
        sealed.append(event)
    return sealed


def masked_values(values: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Sealed values replaced by null, and their names."""
    names = [k for k, v in values.items() if is_sealed(v)]
    return {k: None if k in names else v for k, v in values.items()}, names


# --- reading --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Disclosure:
    """What of an instance's variables a caller is shown."""

    visible: bool  # the caller reads the instance's data at all (need to know)
    variables: dict[str, Any] = field(default_factory=dict)
    masked: tuple[str, ...] = ()  # protected variables shown as null to this caller
    erased: bool = False  # the instance's personal data was erased


HIDDEN = Disclosure(False)


def classified(model: ProcessDef, values: Mapping[str, Any]) -> bool:
    """Whether a letter is classed ลับ or above (an erased or unreadable class counts as classified)."""
    if not model.secrecy_variable:
        return False
    value = values.get(model.secrecy_variable)
    return value is ERASED or value is UNREADABLE or (value is not None and str(value) not in OPEN_SECRECY)


def _is_classified(
    services: Services, session: Session, model: ProcessDef, stored: Mapping[str, Any], opener: InstanceCipher
) -> bool:
    """Whether the stored letter is classed ลับ or above (its class opened if sealed; unreadable counts as classed)."""
    secrecy = model.secrecy_variable
    if not secrecy:
        return False
    class_ = stored.get(secrecy)
    if is_sealed(class_):
        class_ = opened(services, session, opener, secrecy, stored[secrecy])
    return classified(model, {secrecy: class_})


def withheld_names(services: Services, session: Session, instance: ProcessInstance, names: Iterable[str]) -> set[str]:
    """Those of `names` whose values only readers of personal data read (`Reveal` masks them for the others): the
    process's personal variables, or every name while the letter is classed ลับ or above."""
    model = services.definitions.definition(session, instance.definition_id).model
    if not model.confidential:
        return set()
    if _is_classified(services, session, model, instance.variables, reading_cipher(services, session, instance.id)):
        return set(names)
    return set(model.personal_variables.intersection(names))


class Reveal:
    """One caller's view of one instance's sealed values: `show` opens a value or masks it (null), and remembers
    which personal values it opened, for `log`."""

    def __init__(
        self,
        services: Services,
        session: Session,
        caller: Caller,
        instance: ProcessInstance,
        at_hand: Iterable[HumanTask] = (),
        allowed: bool | None = None,
    ):
        """`allowed`: False masks the personal values whoever asks (exports), None asks the policy."""
        self.services, self.session, self.caller, self.instance = services, session, caller, instance
        self.at_hand = list(at_hand)
        model = services.definitions.definition(session, instance.definition_id).model
        self.opener = reading_cipher(services, session, instance.id)
        stored = instance.variables
        self.need = (
            frozenset(stored)
            if _is_classified(services, session, model, stored, self.opener)
            else model.personal_variables
        )
        self._allowed = allowed
        self.read: set[str] = set()
        self.masked: set[str] = set()

    @property
    def allowed(self) -> bool:
        if self._allowed is None:
            self._allowed = may_read_personal(self.session, self.caller, self.instance, self.at_hand)
        return self._allowed

    def show(self, name: str, value: Any) -> Any:
        if not is_sealed(value):
            return value
        if name in self.need and not self.allowed:
            self.masked.add(name)
            return None
        shown = opened(self.services, self.session, self.opener, name, value)
        if shown is UNREADABLE:
            self.masked.add(name)
            return None
        if shown is ERASED:
            return None
        if name in self.need:
            self.read.add(name)
        return shown

    def show_all(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return {k: self.show(k, v) for k, v in values.items()}

    def log(self, purpose: ReadPurpose) -> None:
        if self.read:
            log_read(self.services, self.session, self.caller.username, self.instance.id, sorted(self.read), purpose)


def disclosure(
    services: Services,
    session: Session,
    caller: Caller,
    instance: ProcessInstance,
    visible: bool,
    at_hand: Iterable[HumanTask] = (),
    purpose: ReadPurpose = ReadPurpose.VIEW,
    personal: bool | None = None,
) -> Disclosure:
    """The variables `caller` is shown (`visible`: whether they read the instance's data at all); opened personal
    values are logged as read. `at_hand`: tasks of the instance already loaded (the rest is loaded if needed);
    `personal`: whether they read its personal values, when already decided."""
    if not visible:
        return HIDDEN
    stored = instance.variables
    if not any(is_sealed(v) for v in stored.values()):
        return Disclosure(True, dict(stored))
    reveal = Reveal(services, session, caller, instance, at_hand, personal)
    shown = reveal.show_all(stored)
    reveal.log(purpose)
    return Disclosure(True, shown, tuple(sorted(reveal.masked)), reveal.opener.erased)


def erasable(instance: ProcessInstance, disclosure: Disclosure) -> bool:
    """Whether the instance holds sealed values not yet erased (what a privacy officer's erase button needs)."""
    return not disclosure.erased and any(is_sealed(v) for v in instance.variables.values())


def may_read_personal(
    session: Session, caller: Caller, instance: ProcessInstance, at_hand: Iterable[HumanTask] = ()
) -> bool:
    at_hand = list(at_hand)
    if policy.may_read_personal_data(caller, at_hand):
        return True
    return policy.may_read_personal_data(caller, tasks_store.of_instance(session, instance.id))


def log_read(
    services: Services, session: Session, actor: str, instance_id: str, fields: list[str], purpose: ReadPurpose
) -> None:
    """Log a disclosure of personal values: in the caller's write transaction, else in a transaction of its own
    (committed before the values leave the service)."""
    now = services.clock()
    with services.db.write_along(session) as writing:
        store.log_read(writing, instance_id, actor, purpose, fields, now)


def masked_event_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """An audit event's data with its sealed values masked (exports, and readers without need to know)."""
    values = data.get("variables")
    if not isinstance(values, dict):
        return dict(data)
    masked, names = masked_values(values)
    return {**data, "variables": masked, **({"masked": names} if names else {})}


def open_payload(services: Services, session: Session, instance_id: str | None, payload: str, webhook_id: str) -> str:
    """A granted webhook's payload with its sealed values opened (erased: null), the disclosure logged."""
    if instance_id is None or '"$sealed"' not in payload:
        return payload
    body = json.loads(payload)
    values = body.get("data", {}).get("variables")
    if not isinstance(values, dict):
        return payload
    opener = reading_cipher(services, session, instance_id)
    shown = {k: plain(opened(services, session, opener, k, v)) if is_sealed(v) else v for k, v in values.items()}
    names = sorted(k for k, v in values.items() if is_sealed(v) and shown[k] is not None)
    if names:
        log_read(services, session, f"webhook:{webhook_id}", instance_id, names, ReadPurpose.WEBHOOK)
    body["data"]["variables"] = shown
    return json.dumps(body, ensure_ascii=False)


QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
DIGITS = re.compile(r"\d{6,}")
ESCAPED = re.compile(r"""['"\\\x00-\x1f\x7f]""")  # what Python's and JSON's quoting of a text escapes
WITHHELD = "…"


def scrubbed(
    services: Services,
    session: Session,
    model: ProcessDef,
    instance: ProcessInstance | None,
    message: str,
    values: Mapping[str, Any] | None = None,
) -> str:
    """An engine error's message for an incident of a process with protected data, without the values it may
    quote: every quotable form of the protected values (`_quotable`) — the instance's stored ones and those of
    `values`, the failing task's data, which may hold values the failing command brought — then, for anything
    else, quoted literals and long digit runs (phone and ID numbers) withheld."""
    if not model.confidential:
        return message
    sources = [dict(values or {})]
    if instance is not None:
        sources.append(open_variables(services, session, instance))
    texts = {text for source in sources for name in protected_names(model, source) for text in _quotable(source[name])}
    for text in sorted(texts, key=len, reverse=True):
        message = message.replace(text, WITHHELD)
    return DIGITS.sub(WITHHELD, QUOTED.sub(f"'{WITHHELD}'", message))


def _quotable(value: Any) -> set[str]:
    """The texts an error message may quote a value by (of two characters or more): each text or number in it as
    it is, as Python and JSON quote it, and its parts between the characters those quotings escape."""
    found: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif item is not None and not isinstance(item, bool):
            text = str(item)
            found |= {text, repr(item), json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1]}
            found |= {part.strip() for part in ESCAPED.split(text)}
    return {text for text in found if len(text) >= 2}


# --- erasure and retention ------------------------------------------------------------------------------------


def destroy(services: Services, session: Session, instance: ProcessInstance, actor: str, reason: str) -> list[str]:
    """Destroy the locked instance's data key; returns the names of the values now unreadable."""
    store.destroy_key(session, instance.id, services.clock(), actor, reason)
    session.info.setdefault(_CIPHERS, {})[instance.id] = InstanceCipher(instance.id, None)
    return sorted(k for k, v in instance.variables.items() if is_sealed(v))


def retention_cutoffs(services: Services, session: Session, now: datetime) -> tuple[dict[str, datetime], datetime]:
    """(process key -> end time before which its instances are expired, for keys with their own retention; the
    default cutoff)."""
    latest = [services.definitions.definition(session, i) for i in definitions_store.latest_ids(session)]
    cutoffs = {d.key: now - timedelta(days=d.model.retention_days) for d in latest if d.model.retention_days}
    return cutoffs, now - timedelta(days=services.settings.personal_data_retention_days)


def is_active(instance: ProcessInstance) -> bool:
    return instance.state in ACTIVE_INSTANCE_STATES
