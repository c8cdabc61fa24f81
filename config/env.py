"""Typed readers for settings that come from the environment.

Every reader names the variable and what it expected when a value is bad, so a
misconfigured deployment stops at start-up with a message a person can act on.
"""

from __future__ import annotations

import ipaddress
import os
from urllib.parse import urlparse

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r}: expected one of true/false, 1/0, yes/no, on/off.")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r}: expected a whole number.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r}: expected a number of at least {minimum}.")
    return value


def env_list(name: str, default: str = "") -> list[str]:
    raw = os.environ.get(name, default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_choices(name: str, default: str, *, allowed: set[str]) -> list[str]:
    values = env_list(name, default)
    unknown = [value for value in values if value not in allowed]
    if unknown:
        raise ImproperlyConfigured(
            f"{name}: unknown value(s) {', '.join(unknown)}; expected a comma-separated list of "
            f"{', '.join(sorted(allowed))}."
        )
    return values


def env_url(name: str, default: str, *, schemes: set[str]) -> str:
    raw = env_str(name, default)
    parsed = urlparse(raw)
    if parsed.scheme not in schemes or not (parsed.netloc or parsed.path):
        raise ImproperlyConfigured(
            f"{name}={raw!r}: expected a URL starting with {' or '.join(s + '://' for s in sorted(schemes))}."
        )
    return raw.rstrip("/")


def env_networks(name: str, default: str = "") -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """A comma-separated list of IP addresses or CIDR networks; a single address is a /32 (or /128)."""
    networks = []
    for item in env_list(name, default):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name}: {item!r} is not an IP address or network; expected a comma-separated list "
                "such as 127.0.0.1,10.0.0.0/8,fd00::/8."
            ) from None
    return networks
