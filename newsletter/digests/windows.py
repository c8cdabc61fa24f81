"""Send windows: how long after it was planned a digest may still go out ("late is never").

A planned digest not claimed within its window (DIGEST_SEND_WINDOW_DAILY_HOURS for daily editions,
DIGEST_SEND_WINDOW_WEEKLY_HOURS for weekly ones) is expired instead: by the claim, which never
claims it, and by the sweep, which never queues it again. The window is counted from the digest's
`created_at` (the moment the planner found the subscriber due) and chosen by the edition's kind, not
the subscriber's current frequency, which may have changed since. The settings are read at each
call, so a changed window applies to digests already planned.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Case, CharField, Q, Value, When

from newsletter.digests import editions


def send_window(*, frequency: str) -> timedelta:
    if frequency == editions.WEEKLY:
        return timedelta(hours=settings.DIGEST_SEND_WINDOW_WEEKLY_HOURS)
    return timedelta(hours=settings.DIGEST_SEND_WINDOW_DAILY_HOURS)


def _weekly() -> Q:
    return Q(edition__contains=editions.WEEK_MARK)


def past_window(*, now: datetime) -> Q:
    """Digests (of any status) planned at least one send window before `now`."""
    daily = now - send_window(frequency=editions.DAILY)
    weekly = now - send_window(frequency=editions.WEEKLY)
    return (_weekly() & Q(created_at__lte=weekly)) | (~_weekly() & Q(created_at__lte=daily))


def expiry_reason() -> Case:
    """last_error of an expired digest, naming the window that was missed."""
    return Case(
        When(_weekly(), then=Value(_reason(editions.WEEKLY))),
        default=Value(_reason(editions.DAILY)),
        output_field=CharField(),
    )


def _reason(frequency: str) -> str:
    hours = send_window(frequency=frequency) // timedelta(hours=1)
    return (
        f"Expired: not sent within {hours} hours of being planned ({frequency} send window); "
        "a late digest is never sent. Its papers may go in the next digest."
    )


def window_ends_at(*, edition: str, created_at: datetime) -> datetime:
    """When this digest's window closes (shown in the admin)."""
    return created_at + send_window(frequency=editions.edition_frequency(edition))
