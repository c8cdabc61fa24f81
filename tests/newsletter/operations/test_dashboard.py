"""The dashboard page: its figures, banners and charts, and the page drawn in a real Chromium."""

from __future__ import annotations

import datetime as dt
import os

import pytest
import time_machine
from bs4 import BeautifulSoup
from django.contrib.auth.models import User
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from newsletter.models import DeliveryEvent, Digest, PlanningRun, Subscriber
from papers.models import FetchRun
from tests.browser import chromium_page

UTC = dt.UTC
NOW = dt.datetime(2026, 5, 8, 15, 0, tzinfo=UTC)
DAYS = 30


def busy_month(*, now: dt.datetime = NOW, readers: int = 12) -> None:
    """30 days of a small service: each day `readers` digests (one failed on even days), their events,
    a confirmation, an hourly fetch of hf, a planning run; arxiv-rss failing for the last 5 hours."""
    people = Subscriber.objects.bulk_create(
        Subscriber(
            email=f"reader{n}@example.com",
            status="active",
            created_at=now - dt.timedelta(days=60),
            confirmed_at=now - dt.timedelta(days=n % DAYS, hours=1),
        )
        for n in range(readers)
    )
    digests, events = [], []
    for back in range(DAYS):
        when = now - dt.timedelta(days=back, hours=1)
        for number, person in enumerate(people):
            failed = number == 0 and back % 2 == 0
            digests.append(
                Digest(
                    subscriber=person,
                    edition=f"{when.date()}",
                    status="failed" if failed else "sent",
                    created_at=when - dt.timedelta(hours=1),
                    sent_at=None if failed else when,
                    updated_at=when,
                )
            )
            if not failed:
                events.append(_event("delivered", when, len(events)))
            if number < 4 and not failed:
                events.append(_event("open", when, len(events)))
        FetchRun.objects.create(
            source="hf",
            target=f"{when.date()}",
            status="succeeded",
            started_at=when,
            finished_at=when,
            new_count=back,
        )
        PlanningRun.objects.create(
            key=f"run-{back}",
            moment=when,
            started_at=when,
            finished_at=when + dt.timedelta(seconds=10 + back),
            status="done",
            due=readers,
            planned=readers,
            shards=1,
            shards_done=1,
        )
    Digest.objects.bulk_create(digests)
    DeliveryEvent.objects.bulk_create(events)
    for hours in range(1, 6):
        at = now - dt.timedelta(hours=hours)
        FetchRun.objects.create(
            source="arxiv-rss",
            target="cs.CL",
            status="failed",
            started_at=at,
            finished_at=at,
            error="HTTP 503",
        )


def _event(kind: str, when: dt.datetime, number: int) -> DeliveryEvent:
    return DeliveryEvent(
        sg_event_id=f"{kind}-{number}", event=kind, email="r@example.com", timestamp=when, raw={"event": kind}
    )


def add_events(kind: str, count: int, *, when: dt.datetime = NOW - dt.timedelta(hours=2), **raw) -> None:
    start = DeliveryEvent.objects.count()
    DeliveryEvent.objects.bulk_create(
        DeliveryEvent(
            sg_event_id=f"extra-{start + n}",
            event=kind,
            email="r@example.com",
            timestamp=when,
            raw={"event": kind, **raw},
        )
        for n in range(count)
    )


@pytest.fixture
def operator(client, db):
    client.force_login(User.objects.create_superuser("operator", "op@paperbox.example", "pw"))
    return client


def page(operator) -> BeautifulSoup:
    with time_machine.travel(NOW, tick=False):
        response = operator.get("/admin/dashboard/")
    assert response.status_code == 200
    return BeautifulSoup(response.content, "lxml")


def numbers(soup: BeautifulSoup, section: str) -> dict[str, dict[str, str]]:
    """{day: {column: cell}} of a section's table of numbers."""
    table = soup.find(id=f"{section}-numbers")
    columns = [th.text for th in table.thead.find_all("th")][1:]
    return {
        row.th.text: dict(zip(columns, [td.text for td in row.find_all("td")], strict=True))
        for row in table.tbody.find_all("tr")
    }


@override_settings(PAPER_SOURCES=["hf", "arxiv-rss"])
def test_the_page_shows_each_days_figures(operator):
    busy_month()

    soup = page(operator)

    assert soup.find(id="active-subscribers").text == "12"
    assert soup.find(id="sent-today").text == "11"  # 0 days back is even: reader0's digest failed
    assert soup.find(id="sent-30d").text == f"{30 * 12 - 15:,}"
    digests = numbers(soup, "digests")
    assert list(digests)[:2] == ["8 May", "7 May"] and list(digests)[-1] == "9 Apr" and len(digests) == DAYS
    assert digests["8 May"] == {"sent": "11", "failed": "1", "skipped": "0", "cancelled": "0", "expired": "0"}
    assert digests["7 May"]["sent"] == "12" and digests["7 May"]["failed"] == "0"
    assert numbers(soup, "delivery")["7 May"] == {
        "delivered": "12",
        "opened": "4",
        "clicked": "0",
        "bounced": "0",
        "complained": "0",
    }
    assert numbers(soup, "engagement")["7 May"]["open rate"] == "33.33%"
    assert numbers(soup, "subscribers")["8 May"]["confirmed"] == "1"  # reader0 confirmed 1 h before now
    assert numbers(soup, "planning")["6 May"] == {
        "runs": "1",
        "failed": "0",
        "due": "12",
        "planned": "12",
        "seconds, slowest run": "12.0 s",
    }
    sources = {
        row["id"]: [td.text for td in row.find_all("td")] for row in soup.select("#sources-table tbody tr")
    }
    assert sources["source-hf"][:3] == ["30", "0", f"{sum(range(30))}"]
    assert sources["source-arxiv-rss"][:3] == ["0", "5", "0"] and sources["source-arxiv-rss"][3] == "never"


@override_settings(PAPER_SOURCES=["hf", "arxiv-rss"])
def test_banners_name_the_stale_source_and_rates_past_their_limits(operator):
    busy_month()
    add_events("bounce", 10)  # of 7 days x 12 - 4 failed = 80 delivered in 7 days: 10 / 90 = 11%
    add_events("bounce", 50, type="blocked")  # refused for now: not counted
    add_events("spamreport", 1)  # 1 / 80 = 1.25%

    banners = [li.text for li in page(operator).select("#operations-banners li")]

    assert banners[0].startswith(
        "Paper source arxiv-rss has never fetched successfully. Latest error: HTTP 503"
    )
    assert banners[1].startswith("The 7-day bounce rate is 11.11% (10 bounced of 90), above 2%")
    assert banners[2].startswith("The 7-day complaint rate is 1.25% (1 spam report of 80 delivered)")
    assert len(banners) == 3  # hf fetched an hour ago


def test_a_quiet_service_has_no_banner_and_draws_empty_charts(operator):
    with override_settings(PAPER_SOURCES=["hf"]):
        FetchRun.objects.create(source="hf", target="x", status="succeeded", started_at=NOW, finished_at=NOW)
        soup = page(operator)
    assert soup.find(id="operations-banners") is None
    assert soup.find(id="bounce-rate").text.split()[0] == "n/a"
    assert len(soup.select("svg.chart-svg")) == 8 and not soup.select("svg.chart-svg rect")


def test_charts_draw_each_figure_and_gmails_complaint_limit(operator):
    with override_settings(PAPER_SOURCES=["hf"]):
        busy_month()
        add_events("spamreport", 1, when=NOW - dt.timedelta(days=1, hours=1))
        soup = page(operator)

    digest_bars = soup.select("#chart-digests rect")
    assert len(digest_bars) == DAYS + 15  # sent every day, failed on 15 days
    assert digest_bars[0].title.text == "9 Apr: 12 sent"
    complaints = soup.find(id="chart-complaints")
    assert [text.text for text in complaints.select("text.chart-rule-label")] == [
        "Gmail's limit 0.3%",
        "alert 0.1%",
    ]
    assert "7 May: 8.33% complaint rate (1 of 12)" in [
        title.text for title in complaints.select("circle title")
    ]
    assert soup.select_one("#chart-subscribers svg")["role"] == "img"
    assert soup.select_one("#chart-planning desc").text.startswith("Seconds the slowest planning run")


def test_the_dashboard_is_for_staff_only(client, db):
    response = client.get("/admin/dashboard/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    client.force_login(User.objects.create_user("reader", "r@paperbox.example", "pw"))
    assert client.get("/admin/dashboard/").status_code == 302


def test_the_admin_index_links_to_the_dashboard(operator):
    html = operator.get(reverse("admin:index")).content.decode()
    assert f'href="{reverse("admin:paperbox_dashboard")}">Operations dashboard</a>' in html


# --- In a real browser ---------------------------------------------------------------------------

# Playwright's sync API runs an event loop in this thread; the ORM calls here are plain sync calls.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

# Collects what the CSP blocked and what the console reported, from the first script the page runs.
RECORD_PROBLEMS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(event.violatedDirective + " " + (event.blockedURI || "inline"));
});
"""


def log_in(page, live_server, next_path: str) -> None:
    page.goto(f"{live_server.url}/admin/login/?next={next_path}")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@override_settings(PAPER_SOURCES=["hf", "arxiv-rss"])
def test_the_dashboard_draws_in_chromium_without_breaking_the_csp(live_server):
    User.objects.create_superuser("admin", "admin@example.org", "pw")
    busy_month(now=timezone.now())
    with chromium_page() as page:
        page.set_viewport_size({"width": 1280, "height": 900})
        console = []
        page.on(
            "console", lambda message: console.append(f"{message.type}: {message.text} {message.location}")
        )
        page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
        page.add_init_script(RECORD_PROBLEMS)
        log_in(page, live_server, "/admin/dashboard/")
        page.wait_for_selector("#chart-digests svg")

        assert page.evaluate("window.cspViolations") == []
        assert [line for line in console if line.startswith(("error", "pageerror"))] == []
        # The stylesheet reached the SVG: sent bars are blue, Gmail's limit is a dashed line.
        assert (
            page.evaluate("getComputedStyle(document.querySelector('#chart-digests rect.chart-sent')).fill")
            == "rgb(0, 114, 178)"
        )
        assert page.evaluate(
            "getComputedStyle(document.querySelector('#chart-complaints line.chart-rule-limit')).strokeDasharray"
        ) in ("6px, 4px", "6, 4")
        box = page.locator("#chart-digests svg").bounding_box()
        assert box["width"] > 400 and box["height"] > 100
        assert page.locator("#operations-banners li").first.inner_text().startswith("Paper source arxiv-rss")
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280
