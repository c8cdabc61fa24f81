"""The address of the person behind a request, for rate limits and the consent record.

Behind a reverse proxy, REMOTE_ADDR is the proxy's address and the client's is in X-Forwarded-For,
which each proxy extends on the right with the address that connected to it. Everything left of
what our own proxies wrote is whatever the client sent, so the header is read from the right,
skipping our proxies (settings.TRUSTED_PROXIES), and the first address that is not one of them is
the client. A request that does not come from a trusted proxy has its header ignored entirely:
otherwise anyone could pick their own rate-limit bucket by sending the header themselves.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from django.conf import settings
from django.http import HttpRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def client_address(request: HttpRequest) -> str | None:
    """The client's IP address as text ("203.0.113.7", "2001:db8::1"), or None when unknown."""
    peer = parse_address(request.META.get("REMOTE_ADDR") or "")
    trusted = settings.TRUSTED_PROXIES
    if peer is None or not is_trusted(peer, trusted):
        return None if peer is None else str(peer)
    nearest = peer
    for entry in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        address = parse_address(entry)
        if address is None:
            # Our proxy wrote something unreadable (or nothing): the last address we can vouch for is
            # the nearest one. Never skip past it, or a client could hide behind a garbage entry.
            break
        if not is_trusted(address, trusted):
            return str(address)
        nearest = address
    return str(nearest)


def parse_address(value: str) -> IPAddress | None:
    """An IP address from a header entry: `203.0.113.7`, `203.0.113.7:4711`, `[2001:db8::1]:443`."""
    text = value.strip().strip('"')
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # IPv4 with a port; a bare IPv6 address has at least two colons
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped  # ::ffff:203.0.113.7 is the IPv4 client on a dual-stack socket
    return address


def is_trusted(address: IPAddress, networks: Sequence[IPNetwork]) -> bool:
    return any(address.version == network.version and address in network for network in networks)
