"""The guard every outbound HTTP call goes through (SSRF), and URL sanitizing for logs.

``resolve(url)`` checks the scheme, resolves the host once and refuses the whole URL when any
address it resolves to is loopback, private, link-local, multicast, reserved, unspecified or
otherwise not globally routable — IPv4 and IPv6 alike, including IPv4 carried inside IPv6
(``::ffff:127.0.0.1``, NAT64, 6to4, Teredo). The caller then connects to the addresses
returned, not to the name, so a DNS answer that changes between the check and the connection
(DNS rebinding) cannot sneak a private address in.

``settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS`` lifts the address check (tests, and installations
that post to their own network on purpose); scheme checks and "no redirects" still hold.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from django.conf import settings

ALLOWED_SCHEMES = {"http", "https"}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class OutboundURLRefused(Exception):
    """The URL may not be called: wrong scheme, malformed, or a forbidden address."""


class HostNotFound(Exception):
    """The host name did not resolve (possibly for now: DNS failures are retried)."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written (for Host and TLS SNI), without brackets
    port: int
    path: str  # path and query, as sent in the request line
    addresses: tuple[str, ...]  # the checked addresses to connect to, in resolver order
    username: str = ""
    password: str = ""

    @property
    def address(self) -> str:
        return self.addresses[0]

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def allow_private() -> bool:
    return bool(getattr(settings, "WEBHOOKS_ALLOW_PRIVATE_TARGETS", False))


def sanitize_url(url: str) -> str:
    """``scheme://host[:port]/path`` — no credentials, no query, no fragment (safe to log)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<malformed URL>"
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port else host
    suffix = "?…" if parts.query else ""
    return f"{parts.scheme}://{netloc}{parts.path}{suffix}"


def parse(url: str) -> SplitResult:
    """Syntax and scheme only (no DNS)."""
    if not url or any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise OutboundURLRefused("The URL is empty or contains spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise OutboundURLRefused(f"The URL is malformed ({exc}).") from exc
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise OutboundURLRefused("Only http:// and https:// URLs can be called.")
    if not parts.hostname:
        raise OutboundURLRefused("The URL has no host.")
    if port == 0:
        raise OutboundURLRefused("The URL's port is not valid.")
    return parts


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def forbidden_reason(ip: IPAddress) -> str | None:
    """Why an address must not be called, or None when it is a public unicast address."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None:
            reason = forbidden_reason(inner)
            if reason:
                return f"{reason} (IPv4 {inner} inside IPv6)"
        if ip.scope_id:
            return "link-local (scoped IPv6)"
    checks = (
        ("loopback", ip.is_loopback),
        ("unspecified", ip.is_unspecified),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
        ("not globally routable", not ip.is_global),
    )
    for reason, hit in checks:
        if hit:
            return reason
    return None


def resolve_addresses(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise HostNotFound(f"The host name does not resolve ({exc}).") from exc
    addresses: list[str] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        address = str(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise HostNotFound("The host name has no addresses.")
    return addresses


def check_addresses(addresses: list[str]) -> None:
    if allow_private():
        return
    for address in addresses:
        reason = forbidden_reason(ipaddress.ip_address(address.split("%", 1)[0]))
        if reason:
            raise OutboundURLRefused(
                f"The host resolves to {address}, a {reason} address; calls to private "
                "networks are refused (WEBHOOKS_ALLOW_PRIVATE_TARGETS)."
            )


def resolve(url: str) -> Target:
    """Check ``url`` and pick the address to connect to; raise when it may not be called."""
    parts = parse(url)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    port = parts.port or (443 if scheme == "https" else 80)
    addresses = resolve_addresses(host, port)
    check_addresses(addresses)
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(
        scheme=scheme,
        host=host,
        port=port,
        path=path,
        addresses=tuple(addresses),
        username=parts.username or "",
        password=parts.password or "",
    )


def check_url(url: str) -> None:
    """For forms and the API: refuse what can be known now, accept a host DNS cannot find yet.

    The check is repeated before every request, so a name that later resolves to a private
    address is still refused then.
    """
    parts = parse(url)
    try:
        addresses = resolve_addresses(parts.hostname or "", parts.port or 443)
    except HostNotFound:
        return
    check_addresses(addresses)
