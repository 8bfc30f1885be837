"""The mail relay (`MSO_FLOW_SMTP_URL`) and one SMTP exchange with it, through the standard library's `smtplib`.

`smtp://host:25` speaks plain SMTP, `smtp+starttls://user:password@host:587` upgrades with STARTTLS (and then logs
in when the URL names a user), `smtps://host:465` is TLS from the first byte. Certificates are checked against
the system's CAs, or `MSO_FLOW_SMTP_CA_FILE`. Every socket operation has the deadline `MSO_FLOW_MAIL_TIMEOUT_SECONDS`.

`send` tells its caller which side of the point of no return a failure fell on: before DATA (`NotSent`, nothing
of the message went out: safe to try again), a reply code refusing the message (`Refused`: the relay did not take
it), or cut during DATA (`Uncertain`: the relay may have it). Errors record a category, never the relay's words.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from urllib.parse import unquote, urlsplit

from mso_flow.settings import Settings

PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


class SendError(Exception):
    """A failed exchange; `category` is what is recorded."""

    def __init__(self, category: str):
        super().__init__(category)
        self.category = category


class NotSent(SendError):
    """Nothing of the message reached the relay (connection, TLS, login, MAIL or RCPT failed)."""


class Refused(SendError):
    """The relay answered the message with an error code: it did not take it. `permanent` for 5xx."""

    def __init__(self, code: int):
        super().__init__(f"smtp_{code // 100}xx")
        self.permanent = code >= 500


class Uncertain(SendError):
    """The exchange broke during DATA without a reply: the relay may or may not have the message."""


@dataclass(frozen=True)
class Relay:
    """Where and how to send."""

    scheme: str
    host: str
    port: int
    username: str | None
    password: str | None
    timeout: float
    ca_file: Path | None
    local_hostname: str

    @classmethod
    def from_settings(cls, settings: Settings) -> Relay | None:
        """The configured relay, or None (notifications stay in the app)."""
        if settings.smtp_url is None:
            return None
        parts = urlsplit(settings.smtp_url.get_secret_value().strip())
        return cls(
            scheme=parts.scheme,
            host=parts.hostname or "localhost",
            port=parts.port or PORTS[parts.scheme],
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            timeout=settings.mail_timeout_seconds,
            ca_file=settings.smtp_ca_file,
            local_hostname=urlsplit(settings.public_url).hostname or "localhost",  # no reverse DNS lookup
        )

    @cached_property
    def tls(self) -> ssl.SSLContext | None:
        """The TLS context of every exchange, made once (loading the CAs costs tens of milliseconds of CPU time);
        None for plain SMTP."""
        if self.scheme == "smtp":
            return None
        return ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)

    def connect(self) -> smtplib.SMTP:
        """An open, greeted (and if so configured encrypted and logged-in) session; raises NotSent."""
        try:
            context = self.tls
            if self.scheme == "smtps":
                session: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, self.local_hostname, timeout=self.timeout, context=context
                )
            else:
                session = smtplib.SMTP(self.host, self.port, self.local_hostname, timeout=self.timeout)
        except (OSError, smtplib.SMTPException) as err:
            raise NotSent(_category(err)) from None
        try:
            session.ehlo()
            if self.scheme == "smtp+starttls":
                session.starttls(context=context)
                session.ehlo()
            if self.username:
                session.login(self.username, self.password or "")
        except smtplib.SMTPAuthenticationError:
            _close(session)
            raise NotSent("auth") from None
        except (OSError, smtplib.SMTPException) as err:
            _close(session)
            raise NotSent(_category(err)) from None
        return session


def send(relay: Relay, sender: str, to: str, payload: bytes, before_data: Callable[[], bool]) -> bool:
    """Send `payload` (CRLF line ends) from `sender` to `to`. `before_data` runs once the relay has accepted the
    envelope, just before DATA: it records that the message may go out, and returns False if it may not (then
    nothing is sent and False returned). True: the relay took the message (250 after DATA)."""
    session = relay.connect()
    try:
        try:
            code, _ = session.mail(sender)
            if code != 250:
                raise Refused(code)
            code, _ = session.rcpt(to)
            if code not in (250, 251):
                raise Refused(code)
        except (OSError, smtplib.SMTPException) as err:
            raise NotSent(_category(err)) from None
        if not before_data():
            with suppress(OSError, smtplib.SMTPException):
                session.rset()
            return False
        try:
            session.data(payload)
        except smtplib.SMTPResponseException as err:  # a reply code: the relay did not take the message
            raise Refused(err.smtp_code) from None
        except (OSError, smtplib.SMTPException) as err:
            raise Uncertain(_category(err)) from None
        return True
    finally:
        _close(session)


def _close(session: smtplib.SMTP) -> None:
    with suppress(OSError, smtplib.SMTPException):
        session.quit()
    with suppress(OSError):
        session.close()


def _category(err: BaseException) -> str:
    cause: BaseException | None = err
    while cause is not None:  # smtplib reports a socket timeout as a disconnection caused by it
        if isinstance(cause, TimeoutError):
            return "timeout"
        cause = cause.__cause__ or cause.__context__
    if isinstance(err, ssl.SSLError):
        return "tls"
    if isinstance(err, ConnectionRefusedError):
        return "refused"
    if isinstance(err, smtplib.SMTPServerDisconnected):
        return "disconnected"
    if isinstance(err, smtplib.SMTPResponseException):
        return f"smtp_{err.smtp_code // 100}xx"
    if isinstance(err, OSError):
        return "network"
    return "protocol_error"
