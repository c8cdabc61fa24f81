"""Trending digests: readers without interests get the period's most upvoted papers, readers with
interests may add an "Also trending" section. On a real Hugging Face capture (37 papers, real upvotes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from newsletter.digests.planning import digests_compute
from newsletter.digests.rendering import DigestRenderer
from newsletter.digests.runs import digests_plan
from newsletter.digests.selectors import digest_views
from newsletter.matching import ALSO_TRENDING_PAPERS
from newsletter.models import Digest, DigestItem, Subscriber
from papers.models import Paper
from tests.conftest import FIXTURES
from tests.newsletter.digests.test_planning import make_subscriber

pytestmark = pytest.mark.django_db

CAPTURE = FIXTURES / "hf" / "daily_papers_2026-05-08.json"
NOW = datetime(2026, 11, 21, 6, 15, tzinfo=UTC)  # 06:15 UTC; subscribers below send at 06:00 UTC


@pytest.fixture
def capture() -> list[Paper]:
    """The capture, first seen five hours before the run: the new papers of everyone's next digest."""
    call_command("fetch_papers", "--source", "hf-api", "--file", str(CAPTURE))
    Paper.objects.update(first_seen_at=NOW - timedelta(hours=5))
    return list(Paper.objects.order_by("-upvotes", "first_seen_at", "id"))


def reader(email: str, *, also_trending: bool = False, **fields):
    subscriber = make_subscriber(email, time_zone="UTC", send_hour=6, **fields)
    Subscriber.objects.filter(pk=subscriber.pk).update(also_trending=also_trending)
    return subscriber


def items(subscriber) -> list[DigestItem]:
    return list(DigestItem.objects.filter(subscriber=subscriber).order_by("digest__created_at", "rank"))


def most_upvoted(papers: list[Paper], count: int) -> list[int]:
    """Independent of the planner: the capture's papers sorted by upvotes, ties by arrival then id."""
    return [paper.id for paper in papers[:count]]


def test_a_reader_without_interests_gets_the_most_upvoted_new_papers_best_first(capture):
    assert len(capture) == 37 and capture[0].upvotes > capture[9].upvotes > 0
    trending = reader("trending@example.com", interests=[], papers_per_digest=10)

    report = digests_plan(now=NOW)

    assert report.planned == 1
    picked = items(trending)
    assert [item.paper_id for item in picked] == most_upvoted(capture, 10)
    assert {item.source for item in picked} == {"trending"}
    assert [item.score for item in picked] == [float(paper.upvotes) for paper in capture[:10]]
    assert all(item.matched_interests == [] for item in picked)


def test_trending_never_repeats_a_paper_and_skips_papers_nobody_upvoted(capture):
    trending = reader("trending@example.com", interests=[], papers_per_digest=10)
    digests_plan(now=NOW)
    # The same papers again among the next day's new ones (a late ingest overlaps the previous run):
    # what the reader already has is left out, the next most upvoted come instead.
    Paper.objects.update(first_seen_at=NOW + timedelta(hours=20))
    Paper.objects.filter(id__in=[p.id for p in capture[20:]]).update(upvotes=0)

    digests_plan(now=NOW + timedelta(days=1))

    second = Digest.objects.get(subscriber=trending, edition="2026-11-22")
    got = list(second.items.order_by("rank").values_list("paper_id", flat=True))
    assert got == [paper.id for paper in capture[10:20]]  # 20 and beyond have no upvotes now
    assert len({item.paper_id for item in items(trending)}) == 20


def test_a_weekly_reader_without_interests_gets_the_week_most_upvoted_first(capture):
    # Spread over the week: the most upvoted paper arrived six days ago, the second today.
    Paper.objects.filter(id=capture[0].id).update(first_seen_at=NOW - timedelta(days=6))
    Paper.objects.filter(id=capture[1].id).update(first_seen_at=NOW - timedelta(days=10))  # last week
    weekly = reader("weekly@example.com", interests=[], frequency="weekly", weekday=5, papers_per_digest=3)

    digests_plan(now=NOW)

    assert Digest.objects.get(subscriber=weekly).edition == "2026-W47"
    assert [item.paper_id for item in items(weekly)] == [capture[0].id, capture[2].id, capture[3].id]


def test_also_trending_adds_the_top_papers_the_interests_did_not_pick(capture):
    wants = reader("also@example.com", interests=["diffusion"], papers_per_digest=5, also_trending=True)
    plain = reader("plain@example.com", interests=["diffusion"], papers_per_digest=5)

    digests_plan(now=NOW)

    own = [item for item in items(wants) if item.source == "keyword"]
    extra = [item for item in items(wants) if item.source == "trending"]
    assert own and [item.paper_id for item in own] == [item.paper_id for item in items(plain)]
    assert len(extra) == ALSO_TRENDING_PAPERS
    not_picked = [paper.id for paper in capture if paper.id not in {item.paper_id for item in own}]
    assert [item.paper_id for item in extra] == not_picked[:ALSO_TRENDING_PAPERS]
    assert [item.rank for item in items(wants)] == list(range(1, len(own) + ALSO_TRENDING_PAPERS + 1))
    assert {item.source for item in items(plain)} == {"keyword"}


def test_a_reader_whose_interests_match_nothing_still_gets_also_trending(capture):
    wants = reader("also@example.com", interests=["xylophone tuning"], also_trending=True)
    plain = reader("plain@example.com", interests=["xylophone tuning"])

    digests_plan(now=NOW)

    assert [item.paper_id for item in items(wants)] == most_upvoted(capture, ALSO_TRENDING_PAPERS)
    assert Digest.objects.get(subscriber=plain).status == "skipped"


def test_the_email_groups_also_trending_and_says_why(capture):
    wants = reader("also@example.com", interests=["diffusion"], papers_per_digest=2, also_trending=True)
    only = reader("trending@example.com", interests=[], papers_per_digest=4)
    digests_plan(now=NOW)
    views = {
        view.subscriber.email: view
        for view in digest_views(digest_ids=list(Digest.objects.values_list("id", flat=True)))
    }
    renderer = DigestRenderer()

    mixed = renderer.render(views[wants.email])
    assert "== Also trending ==" in mixed.text and ">Also trending</h2>" in mixed.html
    assert mixed.text.index("Matched") < mixed.text.index("== Also trending ==")
    assert mixed.text.count("Trending: among the most upvoted new papers") == ALSO_TRENDING_PAPERS

    trending = renderer.render(views[only.email])
    assert trending.subject.startswith("Paperbox · 4 trending papers")
    assert "Also trending" not in trending.text  # one group, no heading
    assert f"(▲ {capture[0].upvotes})" in trending.text


def test_a_dry_run_computes_the_same_trending_digest(capture):
    reader("trending@example.com", interests=[], papers_per_digest=3)
    planned = digests_compute(now=NOW)
    assert [match.paper_id for match in planned[0].matches] == most_upvoted(capture, 3)
    assert Digest.objects.count() == 0
