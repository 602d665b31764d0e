"""Where Faktura may connect on a tenant's say-so: the outbound URL policy.

A tenant names URLs that Faktura's own processes then POST to (webhook endpoints, a
contact's `webhook_url`, the `url` of a send). Unchecked, that is a request forgery
channel into the operator's network: the database port on 127.0.0.1, a cloud metadata
service on 169.254.169.254, anything on 10/8. So a URL is admitted only when it is http(s)
and every address its host resolves to is public. Refused: loopback, link-local, private
(RFC 1918, ULA), unspecified, multicast, reserved and other non-global ranges, and the
cloud metadata services by address and by name. Addresses embedded in IPv6 (IPv4-mapped,
NAT64, 6to4) are judged by their IPv4 address. Numeric host spellings (`2130706433`,
`0x7f000001`, `127.1`, `0177.0.0.1`) are read the way the C resolver reads them, so they
are judged as the address they connect to.

The check runs at registration and again before every delivery (DNS can change), and the
connection then goes to an address that was checked (`Target.addresses`), never to a
second resolution of the name — otherwise a short-TTL name could pass the check and then
rebind to 127.0.0.1.

An operator who needs internal targets lists them in `FAKTURA_OUTBOUND_ALLOW`: networks or
addresses (`10.20.0.0/16`, `127.0.0.1`) admit those addresses, host names
(`hooks.internal`, `*.corp.example`) admit the name whatever it resolves to. Metadata
addresses and names are never admitted.

Operator settings (the SMTP relay, the Peppol access point) are not tenant input and are
not subject to this policy.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

import httpx

from faktura.delivery.channel import PermanentError, TransientError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Lookup = Callable[[str, int], Awaitable[list[Address]]]

ALLOW_SETTING = "FAKTURA_OUTBOUND_ALLOW"
SCHEMES = ("http", "https")
#: AWS/GCP/Azure/OpenStack (169.254.169.254), AWS ECS task metadata, Alibaba Cloud, AWS IPv6.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)
METADATA_HOSTS = frozenset(
    {"metadata.google.internal", "metadata.goog", "metadata", "instance-data", "instance-data.ec2.internal"}
)
NAT64 = ipaddress.ip_network("64:ff9b::/96")
RESOLVE_TIMEOUT = 5.0
_NUMBER_PART = re.compile(r"0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*")
_HOST_ENTRY = re.compile(r"(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*")


class OutboundRefused(PermanentError):
    """The URL may not be reached; the message says why (API detail, delivery `last_error`)."""


class HostUnresolvable(TransientError):
    """The host did not resolve (now): refused at registration, retried at delivery."""


@dataclass(frozen=True)
class Policy:
    """The operator's allow-list; empty admits public addresses only."""

    networks: tuple[Network, ...] = ()
    hosts: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> Policy:
        """`10.0.0.0/8`, `127.0.0.1`, `[::1]`, `hooks.internal`, `*.corp.example`; ValueError
        names a bad entry."""
        networks: list[Network] = []
        hosts: set[str] = set()
        for raw in entries:
            entry = raw.strip().lower()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            name = entry.rstrip(".")
            if "/" in entry or not _HOST_ENTRY.fullmatch(name):
                raise ValueError(f"{ALLOW_SETTING}: `{raw}` is neither a network, an address nor a host name")
            hosts.add(name)
        return cls(tuple(networks), frozenset(hosts))

    def admits_host(self, host: str) -> bool:
        if host in METADATA_HOSTS:
            return False
        return host in self.hosts or any(h.startswith("*.") and host.endswith(h[1:]) for h in self.hosts)

    def admits_address(self, address: Address) -> bool:
        if is_metadata(address):
            return False
        judged = embedded_ipv4(address) or address
        return any(a in n for n in self.networks for a in {address, judged} if a.version == n.version)


@lru_cache(maxsize=8)
def policy_for(entries: tuple[str, ...]) -> Policy:
    """The policy of a settings value (parsed once; settings are immutable)."""
    return Policy.parse(entries)


@dataclass(frozen=True)
class Target:
    """A checked URL: connect to one of `addresses`, present `host` (Host header, TLS SNI)."""

    url: httpx.URL
    host: str
    port: int
    addresses: tuple[Address, ...]
    #: The URL names an address, not a host name (no SNI then).
    literal: bool = False


def embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv4-mapped, NAT64 or 6to4 IPv6 address."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def is_metadata(address: Address) -> bool:
    return address in METADATA_ADDRESSES or embedded_ipv4(address) in METADATA_ADDRESSES


def address_class(address: Address) -> str | None:
    """Why the address is not public (None: it is)."""
    if is_metadata(address):
        return "a cloud metadata address"
    address = embedded_ipv4(address) or address
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_private:
        return "a private address"
    if address.is_reserved:
        return "a reserved address"
    if not address.is_global:
        return "not a public address"
    return None


def numeric_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The C resolver's numeric forms (inet_aton): 1 to 4 parts, each decimal, octal (leading
    0) or hex (0x); the last part fills the remaining bytes. `127.1` is 127.0.0.1,
    `2130706433` and `0x7f000001` are too."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(_NUMBER_PART.fullmatch(p) for p in parts):
        return None
    values = [
        int(p, 16) if p[:2].lower() == "0x" else int(p, 8) if p.startswith("0") else int(p) for p in parts
    ]
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (4 - len(head)):
        return None
    value = last
    for i, v in enumerate(head):
        value += v << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


def parse_address(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return numeric_ipv4(host)


def parse_url(url: str) -> tuple[httpx.URL, str, int]:
    """The URL as the HTTP client will read it, its host (lower case, no trailing dot), port."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as e:
        raise OutboundRefused(f"`{url}` is not a valid URL: {e}") from None
    if parsed.scheme not in SCHEMES:
        raise OutboundRefused(f"only http and https URLs are allowed, not `{parsed.scheme}:`")
    host = parsed.host.rstrip(".").lower()
    if not host:
        raise OutboundRefused(f"`{url}` has no host")
    return parsed, host, parsed.port or (443 if parsed.scheme == "https" else 80)


async def system_lookup(host: str, port: int) -> list[Address]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    out: list[Address] = []
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]))
        if address not in out:
            out.append(address)
    return out


async def resolve(
    url: str, policy: Policy, lookup: Lookup = system_lookup, timeout: float = RESOLVE_TIMEOUT
) -> Target:
    """Check `url` against the policy and return where to connect. Raises `OutboundRefused`
    (the URL or one of its addresses is not allowed) or `HostUnresolvable`."""
    parsed, host, port = parse_url(url)
    if host in METADATA_HOSTS:
        raise OutboundRefused(f"{host} is a cloud metadata service; it is never allowed")
    literal = parse_address(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            addresses = await asyncio.wait_for(lookup(host, port), timeout)
        except (OSError, TimeoutError, ValueError) as e:
            raise HostUnresolvable(f"{host} does not resolve: {e or type(e).__name__}") from None
        if not addresses:
            raise HostUnresolvable(f"{host} does not resolve")
    named = policy.admits_host(host)
    for address in addresses:
        reason = address_class(address)
        if reason is None or (named and not is_metadata(address)) or policy.admits_address(address):
            continue
        judged = embedded_ipv4(address) or address
        if literal is None:
            shown = f"{host} resolves to {address}, which"
        else:
            shown = host if host == str(judged) else f"{host} ({judged})"
        if is_metadata(address):
            raise OutboundRefused(f"{shown} is {reason}; it is never allowed")
        raise OutboundRefused(
            f"{shown} is {reason}; only public addresses are allowed"
            f" (an operator can allow internal targets with {ALLOW_SETTING})"
        )
    return Target(parsed, host, port, tuple(addresses), literal=literal is not None)
