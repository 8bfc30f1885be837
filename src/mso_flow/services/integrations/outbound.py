"""Where the service may send webhooks: the address policy, and an HTTP transport that enforces it.

A receiver's name is resolved when the request is made and every address it resolves to is checked with the
`ipaddress` module (so decimal, octal, short, IPv6 and IPv4-mapped spellings of an address are judged by the
address they mean); the connection then goes to the checked address itself, so a second DNS answer cannot
swap in another (DNS rebinding). An address is allowed when it is public (`is_global`, not multicast) or lies
in `MSO_FLOW_WEBHOOK_ALLOWED_NETWORKS`; loopback, private, link-local, multicast, unspecified and reserved
addresses are refused otherwise. The service's own endpoint (a local address at its listening port) and its
database server are refused even when allowlisted.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
from sqlalchemy.engine import make_url

from mso_flow.settings import Settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# what a failed attempt records: a category, never the receiver's own words
TIMEOUT, REFUSED, TLS, BLOCKED, UNRESOLVED, PROTOCOL = (
    "timeout",
    "refused",
    "tls",
    "blocked_address",
    "unresolved",
    "protocol_error",
)


class BlockedAddress(httpx.TransportError):
    """The receiver's address is not one the service may call."""


class Unresolved(httpx.TransportError):
    """The receiver's name does not resolve."""


def parse_networks(text: str) -> tuple[Network, ...]:
    """`10.20.0.0/16, 127.0.0.1/32` → networks; a bad entry raises ValueError naming it."""
    networks = []
    for item in (part.strip() for part in text.split(",")):
        if item:
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ValueError(f"MSO_FLOW_WEBHOOK_ALLOWED_NETWORKS: {item!r} is not a network (CIDR)") from None
    return tuple(networks)


def _plain(address: Address) -> Address:
    """An IPv4-mapped (::ffff:a.b.c.d) or 6to4 IPv6 address is judged as the IPv4 address it carries."""
    if isinstance(address, ipaddress.IPv6Address):
        return address.ipv4_mapped or address.sixtofour or address
    return address


def _host_addresses(host: str | None, port: int | None) -> set[tuple[Address, int]]:
    if not host or not port:
        return set()
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return set()
    return {(_plain(_address_of(info[4][0])), port) for info in infos}


def _own_endpoints(settings: Settings) -> frozenset[tuple[Address, int]]:
    """This service at its listening port on every address of the host, and the database server."""
    own: set[tuple[Address, int]] = set()
    if settings.listen_port:
        port = settings.listen_port
        own |= {(ipaddress.ip_address("127.0.0.1"), port), (ipaddress.ip_address("::1"), port)}
        own |= {(ipaddress.ip_address(a), port) for a in ("0.0.0.0", "::")}
        own |= _host_addresses(socket.gethostname(), port)
    url = make_url(settings.database_url)
    if url.get_backend_name() == "postgresql":
        own |= _host_addresses(url.host or "localhost", url.port or 5432)
    return frozenset(own)


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses outbound calls may reach."""

    allowed: tuple[Network, ...] = ()
    own: frozenset[tuple[Address, int]] = field(default_factory=frozenset)

    @classmethod
    def from_settings(cls, settings: Settings) -> AddressPolicy:
        return cls(parse_networks(settings.webhook_allowed_networks), _own_endpoints(settings))

    def permits(self, address: Address, port: int) -> bool:
        address = _plain(address)
        if (address, port) in self.own:
            return False
        if any(address in network for network in self.allowed if network.version == address.version):
            return True
        return address.is_global and not address.is_multicast

    def choose(self, addresses: Iterable[Address], port: int) -> Address:
        """The address to connect to: the first, if every address the name resolves to is permitted (a name
        that also resolves to an internal address is refused as a whole)."""
        candidates = list(dict.fromkeys(addresses))
        if not candidates:
            raise Unresolved(UNRESOLVED)
        if not all(self.permits(a, port) for a in candidates):
            raise BlockedAddress(BLOCKED)
        return candidates[0]

    def check_url(self, url: str) -> None:
        """Resolve `url`'s host now and refuse it as a delivery would (BlockedAddress or Unresolved)."""
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        self.choose(resolve(parts.hostname or "", port), port)


def resolve(host: str, port: int) -> list[Address]:
    """Every address `host` means (an IP literal in any spelling the C library accepts, or a DNS name)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return [_address_of(info[4][0]) for info in infos]


def _address_of(host: str | int) -> Address:
    """The address of a getaddrinfo result (an IPv6 zone `%eth0` dropped)."""
    return ipaddress.ip_address(str(host).split("%")[0])


class GuardedTransport(httpx.AsyncBaseTransport):
    """Resolves each request's host, checks the addresses with the policy and connects to the checked address
    (keeping the Host header and the TLS server name of the URL)."""

    def __init__(self, policy: AddressPolicy, inner: httpx.AsyncBaseTransport | None = None):
        self.policy = policy
        self.inner = inner or httpx.AsyncHTTPTransport(retries=0)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        port = request.url.port or (443 if request.url.scheme == "https" else 80)
        addresses = await asyncio.to_thread(resolve, host, port)
        address = self.policy.choose(addresses, port)
        request.url = request.url.copy_with(host=str(address))
        if request.url.scheme == "https":
            request.extensions = {**request.extensions, "sni_hostname": host}
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def error_category(err: BaseException) -> str:
    """What to record about a failed request: its kind only, never the peer's words."""
    if isinstance(err, BlockedAddress):
        return BLOCKED
    if isinstance(err, Unresolved):
        return UNRESOLVED
    if isinstance(err, TimeoutError | httpx.TimeoutException):
        return TIMEOUT
    cause: BaseException | None = err
    while cause is not None:
        if isinstance(cause, ssl.SSLError):
            return TLS
        cause = cause.__cause__ or cause.__context__
    if isinstance(err, httpx.ConnectError):
        return REFUSED
    return PROTOCOL


def status_category(status: int) -> str | None:
    """None for 2xx, else `http_3xx` (redirects are not followed), `http_4xx` or `http_5xx`."""
    return None if 200 <= status < 300 else f"http_{status // 100}xx"
