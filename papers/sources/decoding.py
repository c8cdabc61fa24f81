"""Turning response bytes into text, JSON and dates, with errors that name the URL and the spot."""

from __future__ import annotations

import email.utils
import json
from datetime import UTC, date, datetime
from typing import Any

from papers.sources.errors import ParseError


def decode_utf8(body: bytes, *, url: str) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ParseError(url, f"body is not UTF-8 (invalid byte at offset {error.start})") from None


def load_json(text: str, *, url: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ParseError(
            url,
            f"{what} is not valid JSON: {error.msg} at line {error.lineno} column {error.colno} "
            f"(of {len(text)} characters; truncated?)",
        ) from None


def iso_datetime(value: Any) -> str | None:
    """`2026-05-03T00:00:00.000Z` → `2026-05-03T00:00:00+00:00`; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat()


def iso_day(value: Any) -> str | None:
    """The UTC calendar day of an ISO datetime, as `YYYY-MM-DD`."""
    moment = iso_datetime(value)
    return None if moment is None else datetime.fromisoformat(moment).date().isoformat()


def midnight_utc(day: date) -> str:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).isoformat()


def rfc2822_datetime(value: str | None) -> datetime | None:
    """An RFC 2822 date (RSS `pubDate`, HTTP `Retry-After`) as an aware datetime; None if unreadable.

    A date without a zone is taken as UTC, which is what both formats mean by it.
    """
    if not value:
        return None
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
