"""Which addresses the fetcher may connect to: public ones, unless settings allow private ones.

Feeds are untrusted input. Without this, a feed, or a redirect from one of its links, could make
the daemon call services on its own machine or network: an admin port on 127.0.0.1, a cloud
metadata service at 169.254.169.254. The addresses are checked after DNS resolution (a public
name pointing inside is refused too) and the connection goes to the addresses checked, on the
first request and on every redirect.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Policy = Callable[[IPAddress], str | None]
"""Why an address is refused, or None where it may be used."""

KINDS = (
    ("is_loopback", "a loopback"),
    ("is_link_local", "a link-local"),
    ("is_private", "a private"),
    ("is_multicast", "a multicast"),
    ("is_unspecified", "an unspecified"),
    ("is_reserved", "a reserved"),
)


class RefusedAddress(Exception):
    """A host the fetcher must not connect to; the message says why, for people."""


def public_only(address: IPAddress) -> str | None:
    """The default policy: only addresses routed on the public internet."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for test, kind in KINDS:
        if getattr(address, test):
            return f"{address} is {kind} address"
    if not address.is_global:
        return f"{address} is not a public address"
    return None


def literal_refusal(host: str, policy: Policy) -> str | None:
    """For a host written as an IP address (resolvers are not asked about those)."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    return policy(address)


class CheckingResolver(AbstractResolver):
    """Resolves as usual, then keeps only the addresses the policy allows."""

    def __init__(self, policy: Policy, resolver: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._resolver = resolver or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._resolver.resolve(host, port, family)
        reasons = [self._policy(ipaddress.ip_address(result["host"])) for result in found]
        allowed = [result for result, reason in zip(found, reasons, strict=True) if reason is None]
        if not allowed:
            why = next((reason for reason in reasons if reason), "no address found")
            raise RefusedAddress(f"refused: {host} resolves only to refused addresses ({why})")
        return allowed

    async def close(self) -> None:
        await self._resolver.close()
