"""The dashboard's banners: what needs an operator now, each with what to look at.

Pure functions of the figures (selectors.py), so the thresholds are tested without a database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from newsletter.operations.selectors import DeliveryRates, SourceSummary

# A source fetches every hour: two hours without a success is two missed fetches.
STALE_AFTER = dt.timedelta(hours=2)
# Above these 7-day rates mailbox providers start filtering a sender; Gmail rejects bulk mail from
# senders whose complaint rate passes 0.3% (its sender guidelines), the line the chart draws.
BOUNCE_LIMIT = 0.02
COMPLAINT_LIMIT = 0.001
GMAIL_COMPLAINT_LIMIT = 0.003
ERROR_EXCERPT = 200


@dataclass(frozen=True)
class Banner:
    level: str  # the admin's message classes: "error" or "warning"
    message: str


def banners(*, now: dt.datetime, sources: list[SourceSummary], rates: DeliveryRates) -> list[Banner]:
    found = [banner for source in sources if (banner := stale_source(source, now=now))]
    for banner in (bounce_banner(rates), complaint_banner(rates)):
        if banner:
            found.append(banner)
    return found


def stale_source(source: SourceSummary, *, now: dt.datetime) -> Banner | None:
    """A configured source without a successful fetch for STALE_AFTER (or ever)."""
    if not source.configured:
        return None
    if source.last_success is not None and now - source.last_success <= STALE_AFTER:
        return None
    if source.last_success is None:
        since = "has never fetched successfully"
    else:
        when = timezone.localtime(source.last_success).strftime("%d %b %H:%M %Z")
        since = (
            f"has not fetched successfully for {_duration(now - source.last_success)} (last success {when})"
        )
    error = f" Latest error: {_excerpt(source.last_error).rstrip('.')}." if source.last_error else ""
    return Banner("error", f"Paper source {source.source} {since}.{error} Its fetch runs say more.")


def bounce_banner(rates: DeliveryRates) -> Banner | None:
    rate = rates.bounce_rate
    if rate is None or rate <= BOUNCE_LIMIT:
        return None
    return Banner(
        "error",
        f"The 7-day bounce rate is {rate:.2%} ({rates.bounced:,} bounced of "
        f"{rates.delivered + rates.bounced:,}), above {BOUNCE_LIMIT:.0%}: mailbox providers start "
        "filtering senders here. Look at the bounce reasons in the delivery events and at where recent "
        "signups come from.",
    )


def complaint_banner(rates: DeliveryRates) -> Banner | None:
    rate = rates.complaint_rate
    if rate is None or rate <= COMPLAINT_LIMIT:
        return None
    return Banner(
        "error",
        f"The 7-day complaint rate is {rate:.2%} ({rates.complained:,} spam report"
        f"{'' if rates.complained == 1 else 's'} of "
        f"{rates.delivered:,} delivered), above {COMPLAINT_LIMIT:.1%}; Gmail rejects bulk mail above "
        f"{GMAIL_COMPLAINT_LIMIT:.1%}. Check that people get what they signed up for and can leave in one click.",
    )


def _duration(elapsed: dt.timedelta) -> str:
    hours, minutes = divmod(int(elapsed.total_seconds()) // 60, 60)
    if hours >= 48:
        return f"{hours // 24} days"
    return f"{hours} h {minutes:02d} min"


def _excerpt(error: str) -> str:
    text = " ".join(error.split())
    return text if len(text) <= ERROR_EXCERPT else f"{text[: ERROR_EXCERPT - 1]}…"
