"""The suppression list: addresses Paperbox must never mail again, kept as hashes.

Written when an address bounces, complains or is erased; read before any email is sent.
"""

from __future__ import annotations

import hashlib

from newsletter.models import Suppression


def email_hash(email: str) -> str:
    """The key of the suppression list: SHA-256 of the trimmed, lower-cased address."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def email_is_suppressed(*, email: str) -> bool:
    return Suppression.objects.filter(email_hash=email_hash(email)).exists()


def suppressed_hashes() -> set[str]:
    return set(Suppression.objects.values_list("email_hash", flat=True))


def suppression_add(*, email: str, reason: str) -> None:
    """Put an address on the list; the first reason recorded for it is kept."""
    Suppression.objects.get_or_create(email_hash=email_hash(email), defaults={"reason": reason})
