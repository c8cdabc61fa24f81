"""The banners: when each one shows, and what it tells the operator."""

from __future__ import annotations

import datetime as dt

from newsletter.operations.alerts import banners, bounce_banner, complaint_banner, stale_source
from newsletter.operations.selectors import DeliveryRates, SourceSummary

NOW = dt.datetime(2026, 5, 8, 15, 0, tzinfo=dt.UTC)


def source(last_success: dt.datetime | None, *, configured: bool = True, error: str = "") -> SourceSummary:
    return SourceSummary(
        source="hf",
        configured=configured,
        runs_ok=0,
        runs_failed=1,
        new_papers=0,
        last_success=last_success,
        last_error=error,
        new_by_day=[0] * 30,
    )


def test_a_source_is_stale_after_two_hours_without_a_success():
    assert stale_source(source(NOW - dt.timedelta(hours=2)), now=NOW) is None
    banner = stale_source(
        source(NOW - dt.timedelta(hours=2, seconds=1), error="HTTP 503\n  upstream"), now=NOW
    )
    assert banner.level == "error"
    assert banner.message == (
        "Paper source hf has not fetched successfully for 2 h 00 min (last success 08 May 12:59 UTC). "
        "Latest error: HTTP 503 upstream. Its fetch runs say more."
    )
    assert "for 3 days" in stale_source(source(NOW - dt.timedelta(days=3, hours=1)), now=NOW).message


def test_a_source_that_never_fetched_is_stale_unless_it_is_not_configured():
    assert "hf has never fetched successfully" in stale_source(source(None), now=NOW).message
    assert stale_source(source(None, configured=False), now=NOW) is None


def test_the_bounce_banner_shows_above_two_percent():
    assert bounce_banner(DeliveryRates(delivered=98, bounced=2, complained=0)) is None  # exactly 2%
    banner = bounce_banner(DeliveryRates(delivered=97, bounced=3, complained=0))
    assert "The 7-day bounce rate is 3.00% (3 bounced of 100), above 2%" in banner.message
    assert bounce_banner(DeliveryRates(delivered=0, bounced=0, complained=0)) is None


def test_the_complaint_banner_shows_above_a_tenth_of_a_percent():
    assert complaint_banner(DeliveryRates(delivered=1000, bounced=0, complained=1)) is None  # exactly 0.1%
    banner = complaint_banner(DeliveryRates(delivered=1000, bounced=0, complained=2))
    assert (
        "The 7-day complaint rate is 0.20% (2 spam reports of 1,000 delivered), above 0.1%" in banner.message
    )
    assert "Gmail rejects bulk mail above 0.3%" in banner.message


def test_banners_collects_every_one_that_applies():
    rates = DeliveryRates(delivered=900, bounced=100, complained=9)
    found = banners(now=NOW, sources=[source(None), source(NOW)], rates=rates)
    assert [b.message.split(" ")[:4] for b in found] == [
        ["Paper", "source", "hf", "has"],
        ["The", "7-day", "bounce", "rate"],
        ["The", "7-day", "complaint", "rate"],
    ]
    assert banners(now=NOW, sources=[source(NOW)], rates=DeliveryRates(100, 0, 0)) == []
