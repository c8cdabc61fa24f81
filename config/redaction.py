"""Hide the secrets in URLs before they reach a log.

Every link in an email carries a signed token in its path (/confirm/<token>/, /preferences/<token>/…,
/unsubscribe/<token>/, /digests/<token>/), and so does the private address of a subscriber's feed
(/digest-feed/<token>/): whoever reads it can act as that subscriber or read their digests. Access
logs, error logs and the outbox summary therefore keep the shape of a URL and replace each token with
REDACTED. A path segment is a token when

- it follows a prefix that is always followed by one (TOKEN_PREFIXES: add new tokened pages there), or
- it looks like django.core.signing output (`payload:timestamp:signature`, base64url): long and
  containing a colon, also percent-encoded; or
- it is long enough and random-looking to be any other secret (a UUID, `secrets.token_urlsafe`).

Query values are judged by the last two rules. Redacting too much costs a less useful log line;
too little leaks a working link, so the rules lean towards hiding.
"""

from __future__ import annotations

import itertools
import logging
import re
from urllib.parse import unquote, urlsplit, urlunsplit

REDACTED = "[token]"
TOKEN_PREFIXES = frozenset(
    {
        "confirm",
        "preferences",
        "unsubscribe",
        "change-email",
        "digests",
        "digest-feed",
        "feedback",
        "feed",
        "feeds",
    }
)
# The shortest signing.dumps() output is longer than this: a 1-byte payload, a 6-character
# timestamp and a 43-character signature, joined by colons.
SIGNED_MIN_LENGTH = 20
RANDOM_MIN_LENGTH = 32
RANDOM_SECRET = re.compile(r"^(?=.*[0-9])(?=.*[A-Za-z])[A-Za-z0-9_\-=]+$")


def looks_like_secret(value: str) -> bool:
    text = unquote(value)
    if ":" in text and len(text) >= SIGNED_MIN_LENGTH:
        return True
    return len(text) >= RANDOM_MIN_LENGTH and bool(RANDOM_SECRET.match(text))


def redact_path(path: str) -> str:
    """`/preferences/<token>/pause/` → `/preferences/[token]/pause/`."""
    segments = path.split("/")
    kept = [segments[0]]
    for previous, segment in itertools.pairwise(segments):
        is_token = previous.lower() in TOKEN_PREFIXES or looks_like_secret(segment)
        kept.append(REDACTED if segment and is_token else segment)
    return "/".join(kept)


def redact_query(query: str) -> str:
    """`a=1&t=<token>` → `a=1&t=[token]`, keeping the raw (still percent-encoded) form otherwise."""
    if not query:
        return query
    pairs = []
    for pair in query.split("&"):
        name, equals, value = pair.partition("=")
        if equals and looks_like_secret(value):
            value = REDACTED
        elif not equals and looks_like_secret(name):
            name = REDACTED
        pairs.append(f"{name}{equals}{value}")
    return "&".join(pairs)


def redact_url(url: str) -> str:
    """A path, a path with a query, or an absolute URL (a Referer), with its tokens replaced."""
    if not url or url == "-":
        return url
    try:
        parts = urlsplit(url)
    except ValueError:  # an unparseable request target: keep nothing of it that could be a secret
        return REDACTED
    return urlunsplit(parts._replace(path=redact_path(parts.path), query=redact_query(parts.query)))


class RedactTokensFilter(logging.Filter):
    """For Django's request loggers, whose messages name the path ("Not Found: /confirm/<token>/")."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_url(arg) if isinstance(arg, str) and arg.startswith("/") else arg
                for arg in record.args
            )
        return True
