"""The service's keys, checked when it starts (`mso-flow serve`, the app factory): the master keys (`keyring`) and
the audit signing key (`anchoring`) are read, or created, before anything is served.

A location that can be neither read nor created (a home folder the service's user may not write, as in the
image) stops start-up with one line naming the setting, instead of a 500 at the first protected case. So does a
key file left at a former default (the working directory, beside the database): a fresh key at the new default
would leave every sealed value unreadable and every signed audit head unknown.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mso_flow.services.platform import anchoring
from mso_flow.services.privacy import keyring
from mso_flow.settings import Settings

FORMER_DEFAULTS = {
    "master_key_file": Path("mso_flow_master.keys"),
    "audit_signing_key_file": Path("mso_flow_audit_ed25519.pem"),
}


class KeyLocationUnusable(Exception):
    """A key cannot be had where the settings say; the message is the one line start-up logs."""


def check(settings: Settings) -> None:
    """Read (or create) the master keys and the audit signing key, else raise `KeyLocationUnusable`."""
    if settings.master_key is not None:
        _load("MSO_FLOW_MASTER_KEY", None, lambda: keyring.keyring(settings))
    else:
        _load_file(settings, "master_key_file", lambda: keyring.keyring(settings), " or set MSO_FLOW_MASTER_KEY")
    _load_file(settings, "audit_signing_key_file", lambda: anchoring.signer(settings))


def _load_file(settings: Settings, field: str, load: Callable[[], object], alternative: str = "") -> None:
    setting, path, former = f"MSO_FLOW_{field.upper()}", getattr(settings, field), FORMER_DEFAULTS[field]
    if field not in settings.model_fields_set and former.is_file() and not path.exists():
        raise KeyLocationUnusable(
            f"{setting}: {former.resolve()} is where earlier versions kept this key, beside the database: "
            f"move it to {path} or set {setting} to its path"
        )
    _load(setting, path, load, alternative)


def _load(setting: str, path: Path | None, load: Callable[[], object], alternative: str = "") -> None:
    where = f"{setting}={path}" if path else setting
    try:
        load()
    except OSError as err:
        raise KeyLocationUnusable(
            f"{where}: the key can be neither read nor created ({err.strerror}: {err.filename}); set {setting} to "
            f"a file in a directory the service's user may write, apart from the database{alternative}"
        ) from err
    except ValueError as err:
        raise KeyLocationUnusable(f"{where}: {err}") from err
