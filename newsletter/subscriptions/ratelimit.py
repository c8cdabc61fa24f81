"""The one rate limiter: fixed windows counted in the shared cache, so every process agrees.

Every limit of the site goes through `rate_limit_check` (or `rate_limit_hit` where the caller answers
in its own format), keyed by scope and by who is asking: a client address from
newsletter.client_address, an address hash, a subscriber key.
"""

from __future__ import annotations

import logging

from django.core.cache import cache

logger = logging.getLogger(__name__)

# (how many, per how many seconds)
Limit = tuple[int, int]

_warned_unknown_client = False


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


def rate_limit_check(*, scope: str, ident: str | None, limit: Limit, message: str) -> None:
    """Count one attempt; raise RateLimited(message) when it is over the limit.

    `ident` None means the client's address is unknown (no REMOTE_ADDR, as behind a unix socket
    without a trusted proxy): that attempt is not limited per address, because one bucket shared by
    every such client would lock everybody out at once. The other limits (per email address, per
    subscriber) still apply; the operator is told once per process.
    """
    if ident is None:
        _warn_unknown_client(scope)
        return
    if rate_limit_hit(scope=scope, ident=ident, limit=limit):
        raise RateLimited(message)


def _warn_unknown_client(scope: str) -> None:
    global _warned_unknown_client
    if not _warned_unknown_client:
        _warned_unknown_client = True
        logger.warning(
            "No client address for a request (%s): per-address rate limits are off for such requests. "
            "Behind a proxy, configure the trusted proxy so the client address is known.",
            scope,
        )
