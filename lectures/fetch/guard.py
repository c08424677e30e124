"""The SSRF guard: which URLs, hosts and addresses a recording may be fetched from.

* request time: :func:`validate_stream_url` (scheme, credentials, allowed host, address);
* every hop: :func:`check_url_shape` and :func:`check_ip_literal` before a request is sent;
* connect time: :func:`check_resolved` on the addresses actually connected to (the guarded
  transport resolves the host itself), so a DNS answer that changes between the check and
  the connection (DNS rebinding) cannot reach a private address.

Host names are the only part of a URL a message may show: see :func:`display_host`.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from lectures.fetch.errors import BlockedSource, TransientSourceError

__all__ = [
    "IPAddress",
    "Resolver",
    "SourcePolicy",
    "address_is_blocked",
    "check_ip_literal",
    "check_resolved",
    "check_stream_url",
    "check_url_shape",
    "display_host",
    "validate_stream_url",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]


def _system_resolver(host: str, port: int) -> list[str]:
    """Resolve ``host`` to its IP addresses, in the order the system prefers them."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _configured(name: str, convert: Callable[[Any], Any] = lambda value: value) -> Any:
    """A policy field whose default is the Django setting ``name``, read when built.

    The defaults themselves are written once, in the settings, next to the environment
    variables that override them.
    """
    return field(default_factory=lambda: convert(getattr(settings, name)))


@dataclass(frozen=True)
class SourcePolicy:
    """What the downloader may fetch and how; ``SourcePolicy()`` is the configured policy.

    ``allowed_hosts`` apply to the stream URL itself (a host matches itself and its
    subdomains; IP literals match exactly). Redirect targets, playlist entries and keys may
    be on other hosts, but every connection gets the private-address check unless
    ``allow_private_networks``. ``exempt_networks`` (CIDRs) lifts that check for chosen
    networks only, e.g. an on-premise Panopto server, without opening every private range.
    """

    allowed_hosts: tuple[str, ...] = _configured("PANOPTO_ALLOWED_HOSTS", tuple)
    allow_private_networks: bool = _configured("PANOPTO_ALLOW_PRIVATE_NETWORKS")
    exempt_networks: tuple[str, ...] = ()
    max_bytes: int = _configured("LECTURE_MAX_BYTES")
    connect_timeout: float = _configured("LECTURE_CONNECT_TIMEOUT_SECONDS")
    read_timeout: float = _configured("LECTURE_READ_TIMEOUT_SECONDS")
    max_retries: int = _configured("LECTURE_DOWNLOAD_RETRIES")
    backoff_base: float = _configured("LECTURE_RETRY_BACKOFF_SECONDS")
    backoff_cap: float = 30.0
    download_timeout: float = _configured("LECTURE_DOWNLOAD_TIMEOUT_SECONDS")
    max_redirects: int = 5
    # A download that keeps making progress may resume more often than it may fail in a row.
    max_resumes: int = 50
    resolver: Resolver = field(default=_system_resolver, compare=False, repr=False)
    _exempt: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = field(
        init=False, default=(), compare=False, repr=False
    )

    def __post_init__(self) -> None:
        hosts = tuple(_normalise_allowed_host(h) for h in self.allowed_hosts if h.strip())
        object.__setattr__(self, "allowed_hosts", hosts)
        # Parsing here makes a bad CIDR in settings fail at start-up, not mid-download.
        nets = tuple(ipaddress.ip_network(n.strip(), strict=False) for n in self.exempt_networks)
        object.__setattr__(self, "_exempt", nets)

    def address_allowed(self, address: str) -> bool:
        """Whether a resolved IP address may be connected to.

        Link-local and cloud metadata addresses never may: neither the private-network flag
        nor an exempt network opens them (credentials live there, not recordings).
        """
        ip = ipaddress.ip_address(address)
        if address_is_link_local(ip):
            return False
        if self.allow_private_networks:
            return True
        if any(ip in net for net in self._exempt):
            return True
        return not address_is_blocked(ip)


def _normalise_allowed_host(host: str) -> str:
    host = host.strip().lower().rstrip(".").lstrip(".")
    literal = _parse_ip_literal(host.strip("[]"))
    return str(literal) if literal is not None else host


# --------------------------------------------------------------------------- addresses

# inet_aton accepts the legacy forms browsers and resolvers also accept: 2130706433,
# 0177.0.0.1, 0x7f.1, 127.1. They must be recognised as IP literals, not host names.
_LEGACY_IPV4 = re.compile(
    r"^(?:0x[0-9a-f]+|[0-9]+)(?:\.(?:0x[0-9a-f]+|[0-9]+)){0,3}$", re.IGNORECASE
)


def _parse_ip_literal(host: str) -> IPAddress | None:
    """Return the address when ``host`` is an IP literal in any accepted spelling."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if _LEGACY_IPV4.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


# The instance metadata services of the large clouds that are not in 169.254.0.0/16 or
# fe80::/10 themselves (AWS over IPv6, Alibaba Cloud).
_METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)


def address_is_link_local(ip: IPAddress) -> bool:
    """Link-local (169.254.0.0/16, fe80::/10) or a cloud metadata address, in any spelling
    (IPv4-mapped, 6to4 and Teredo forms included)."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None and address_is_link_local(embedded):
            return True
    return ip.is_link_local or ip in _METADATA_ADDRESSES


def address_is_blocked(ip: IPAddress) -> bool:
    """Loopback, private, link-local, multicast, reserved, unspecified, or v4-in-v6."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            # Refused outright: stacks differ on how they route ::ffff:a.b.c.d.
            return True
        embedded = ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None and address_is_blocked(embedded):
            return True
        if ip.is_site_local:
            return True
    return (
        not ip.is_global
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def _host_allowed(host: str, allowed: Iterable[str]) -> bool:
    literal = _parse_ip_literal(host)
    if literal is not None:
        return str(literal) in allowed
    host = host.rstrip(".")
    return any(host == a or host.endswith("." + a) for a in allowed)


def display_host(url: str) -> str:
    """The part of a URL that is safe to show: the host name only."""
    try:
        return urlsplit(url).hostname or "the source"
    except ValueError:
        return "the source"


# --------------------------------------------------------------------------- checks


def check_url_shape(url: str) -> tuple[str, int]:
    """Scheme and credentials checks shared by the first URL and every later hop.

    Returns the host and port to connect to; raises :class:`BlockedSource` otherwise.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise BlockedSource("stream URL is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise BlockedSource("stream URL must use http or https")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise BlockedSource("stream URL must not contain credentials")
    if not parts.hostname:
        raise BlockedSource("stream URL has no host")
    return parts.hostname, port or (443 if scheme == "https" else 80)


def check_ip_literal(host: str, policy: SourcePolicy) -> None:
    """Refuse a host written as a private IP literal before any request is made.

    The connect-time check would catch it too; this one also covers the spellings
    (``0177.0.0.1``) that the HTTP client cannot parse into an address of its own.
    """
    literal = _parse_ip_literal(host)
    if literal is not None and not policy.address_allowed(str(literal)):
        raise BlockedSource(f"{host} is a private or reserved network address")


def check_resolved(host: str, port: int, policy: SourcePolicy) -> list[str]:
    """Resolve ``host`` and return the addresses the policy allows; refuse if none."""
    literal = _parse_ip_literal(host)
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = policy.resolver(host, port)
        except (OSError, UnicodeError):
            raise TransientSourceError(f"could not resolve {host}") from None
    allowed = [a for a in addresses if policy.address_allowed(a)]
    if not allowed:
        raise BlockedSource(f"{host} resolves to a private or reserved network address")
    return allowed


def check_stream_url(url: str, policy: SourcePolicy) -> tuple[str, int]:
    """The first URL's own checks: its shape, and its host on the allow-list.

    Later hops (redirects, playlist entries, keys) only get the shape and address checks.
    """
    host, port = check_url_shape(url)
    if not _host_allowed(host, policy.allowed_hosts):
        raise BlockedSource(f"stream host {host} is not an allowed Panopto host")
    return host, port


def validate_stream_url(url: str, policy: SourcePolicy) -> None:
    """Refuse a stream URL at request time: scheme, credentials, host list, address.

    Raises :class:`BlockedSource` with a message for the user. The address check runs again
    at connect time, on every hop, on the address actually connected to.
    """
    host, port = check_stream_url(url, policy)
    try:
        check_resolved(host, port, policy)
    except TransientSourceError:
        # A name that does not resolve now is not proof of a bad link (DNS hiccups): the
        # worker resolves it again and fails the lecture with a clear message if it must.
        return
