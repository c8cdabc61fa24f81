"""The one rate limiter: fixed windows counted in the shared cache, so every process agrees."""

from __future__ import annotations

from django.core.cache import cache

# (how many, per how many seconds)
Limit = tuple[int, int]


class RateLimited(Exception):
    """Too many attempts; the message is shown to the person as is."""


def rate_limit_hit(*, scope: str, ident: str, limit: Limit) -> bool:
    """Count one attempt; True when the attempt is over the limit.

    The window starts at the first attempt and lasts `limit[1]` seconds.
    """
    allowed, window = limit
    key = f"ratelimit:{scope}:{ident}"
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:  # the key expired between add() and incr()
        cache.set(key, 1, timeout=window)
        count = 1
    return count > allowed
