"""Ingestion and fetching on the real database (PostgreSQL in CI), with real captured records."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from papers.http import FetchClient, RedisPacer
from papers.models import FetchRun, Paper
from papers.services import IngestResult, fetch_runs_close_abandoned, papers_fetch, papers_ingest
from papers.sources.arxiv_rss import parse_feed
from papers.sources.errors import FetchError, InvalidArxivId, ParseError
from papers.sources.hf_api import parse_daily_papers
from papers.sources.records import PaperRecord
from tests.fakes.upstream import Reply, Upstream, arxiv_rss_body, hf_api_body, hf_entries, hf_page_html

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 5, 8, 12, 0, tzinfo=UTC)
T1 = datetime(2026, 5, 8, 13, 0, tzinfo=UTC)


def hf_records(entries=None):
    return parse_daily_papers(hf_api_body(entries), url="hf")


def rss_records():
    return parse_feed(arxiv_rss_body(), url="rss")


def stored(arxiv_id: str) -> Paper:
    return Paper.objects.get(arxiv_id=arxiv_id)


def test_papers_ingest_creates_every_paper_of_a_real_page():
    with time_machine.travel(T0, tick=False):
        result = papers_ingest(records=hf_records(), source="hf-api")

    assert result == IngestResult(new=37, updated=0, unchanged=0)
    assert Paper.objects.count() == 37
    paper = stored("2605.05242")
    assert paper.title.startswith("Beyond Semantic Similarity")
    assert (paper.upvotes, paper.comment_count, paper.github_stars) == (86, 3, 101)
    assert paper.featured_on == date(2026, 5, 8)
    assert paper.published_at == datetime(2026, 5, 3, tzinfo=UTC)
    assert paper.authors[0] == "Zhuofeng Li"
    assert paper.sources == ["hf-api"]
    assert paper.first_seen_at == paper.updated_at == T0
    assert stored("2605.06548").github_stars is None


def test_papers_ingest_twice_changes_nothing():
    with time_machine.travel(T0, tick=False):
        papers_ingest(records=hf_records(), source="hf-api")
    before = list(Paper.objects.order_by("arxiv_id").values())

    with time_machine.travel(T1, tick=False):
        result = papers_ingest(records=hf_records(), source="hf-api")

    assert result == IngestResult(new=0, updated=0, unchanged=37)
    assert list(Paper.objects.order_by("arxiv_id").values()) == before  # updated_at included


def test_papers_ingest_lets_later_upvotes_win_and_touches_only_that_paper():
    with time_machine.travel(T0, tick=False):
        papers_ingest(records=hf_records(), source="hf-api")
    entries = hf_entries()
    entries[1]["paper"]["upvotes"] = 12  # fewer than before: still the latest word

    with time_machine.travel(T1, tick=False):
        result = papers_ingest(records=hf_records(entries), source="hf-api")

    assert result == IngestResult(new=0, updated=1, unchanged=36)
    assert (stored("2605.06548").upvotes, stored("2605.06548").updated_at) == (12, T1)
    assert stored("2605.05242").updated_at == T0


def test_papers_ingest_merges_arxiv_into_hugging_face_without_wiping_fields():
    arxiv = rss_records()
    entries = hf_entries()[:3]
    for entry, record in zip(entries, arxiv, strict=True):
        entry["paper"]["id"] = record.arxiv_id + "v2"  # Hugging Face may name a later version
    papers_ingest(records=hf_records(entries), source="hf")

    result = papers_ingest(records=arxiv, source="arxiv-rss")

    assert result == IngestResult(new=0, updated=3, unchanged=0)
    assert Paper.objects.count() == 3
    paper = stored("2604.21935")
    assert paper.upvotes == 86 and paper.github_stars == 101  # RSS knows no upvotes: kept
    assert paper.ai_summary.startswith("Direct corpus interaction")  # RSS has no AI summary: kept
    assert paper.featured_on == date(2026, 5, 8)
    assert paper.categories == ["cs.AI", "cs.LG"]
    assert paper.sources == ["hf", "arxiv-rss"]
    assert paper.title == "Math Takes Two: A test for emergent mathematical reasoning in communication"
    # The earliest publication seen wins: arXiv's announcement is earlier than HF's publishedAt here.
    assert paper.published_at == datetime(2026, 4, 27, 4, 0, tzinfo=UTC)
    assert papers_ingest(records=arxiv, source="arxiv-rss") == IngestResult(unchanged=3)


def test_papers_ingest_unions_categories_and_sources():
    first = PaperRecord(arxiv_id="2604.21935", title="T", source="arxiv-rss", categories=["cs.AI", "cs.LG"])
    second = PaperRecord(arxiv_id="2604.21935", title="T", source="arxiv-list", categories=["cs.LG", "cs.CL"])
    papers_ingest(records=[first], source="arxiv-rss")
    papers_ingest(records=[second], source="arxiv-list")

    paper = stored("2604.21935")
    assert paper.categories == ["cs.AI", "cs.LG", "cs.CL"]
    assert paper.sources == ["arxiv-rss", "arxiv-list"]


def test_papers_ingest_updates_on_a_version_bump_instead_of_duplicating():
    papers_ingest(
        records=[PaperRecord(arxiv_id="2604.21935v1", title="Old", source="arxiv-rss")], source="arxiv-rss"
    )
    result = papers_ingest(
        records=[PaperRecord(arxiv_id="2604.21935v2", title="New title", source="arxiv-rss")],
        source="arxiv-rss",
    )

    assert result == IngestResult(updated=1)
    assert list(Paper.objects.values_list("arxiv_id", "title")) == [("2604.21935", "New title")]


def test_papers_ingest_merges_ids_duplicated_within_one_page():
    records = [
        PaperRecord(arxiv_id="2605.05242", title="T", source="hf", upvotes=3, categories=["cs.AI"]),
        PaperRecord(arxiv_id="2605.05242v2", title="T", source="hf", upvotes=5, ai_summary="S"),
    ]

    assert papers_ingest(records=records, source="hf") == IngestResult(new=1)
    paper = stored("2605.05242")
    assert (paper.upvotes, paper.ai_summary, paper.categories) == (5, "S", ["cs.AI"])


def test_papers_ingest_writes_nothing_when_one_record_has_a_bad_id():
    records = [*hf_records()[:5], PaperRecord(arxiv_id="not-an-id", title="T", source="hf")]

    with pytest.raises(InvalidArxivId, match="'not-an-id' is not an arXiv id"):
        papers_ingest(records=records, source="hf")
    assert Paper.objects.count() == 0


def test_papers_ingest_stores_a_page_with_garbled_strings_and_absurd_counts():
    """One entry with NUL bytes, a lone surrogate and an out-of-range count must not sink the page."""
    entries = hf_entries()[:2]
    paper = entries[0]["paper"]
    paper["title"] = "Beyond\u0000 Semantic \ud800Similarity"
    paper["authors"][0]["name"] = "Zhuofeng\u0000 Li"
    paper["ai_keywords"] = ["retrieval\u0000"]
    paper["githubRepo"] = "https://github.com/x/y\u0000"
    paper["upvotes"] = 10**12
    body = json.dumps(entries).encode()

    result = papers_ingest(records=parse_daily_papers(body, url="hf"), source="hf-api")

    assert result == IngestResult(new=2)
    stored_paper = stored("2605.05242")
    assert stored_paper.title == "Beyond Semantic Similarity"
    assert stored_paper.authors[0] == "Zhuofeng Li"
    assert stored_paper.ai_keywords == ["retrieval"]
    assert (stored_paper.github_repo, stored_paper.upvotes) == ("", 0)  # unknown, not wrong


def test_papers_ingest_of_nothing_is_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert papers_ingest(records=[], source="hf") == IngestResult()


def test_papers_ingest_uses_a_constant_number_of_queries(django_assert_max_num_queries):
    papers_ingest(records=hf_records()[:10], source="hf-api")
    entries = hf_entries()
    for entry in entries[:5]:
        entry["paper"]["upvotes"] += 1

    # SAVEPOINT, SELECT … FOR UPDATE, INSERT (27 new; a COPY on PostgreSQL, which this count does not
    # see), UPDATE (5 changed), RELEASE: not one per paper.
    with django_assert_max_num_queries(5):
        result = papers_ingest(records=hf_records(entries), source="hf-api")
    assert result == IngestResult(new=27, updated=5, unchanged=5)


# --- papers_fetch: one page over real HTTP ------------------------------------------------------


@pytest.fixture
def upstream(settings):
    with Upstream() as server:
        settings.HF_BASE_URL = server.base_url
        settings.ARXIV_RSS_BASE_URL = server.base_url
        yield server


@pytest.fixture
def client():
    return FetchClient(max_attempts=2, backoff_base=0.01, pacer=RedisPacer(pause=lambda host: 0.0))


def test_papers_fetch_records_a_successful_run(upstream, client):
    upstream.script("/papers/date/2026-05-08", Reply(body=hf_page_html()))

    run = papers_fetch(source="hf", day=date(2026, 5, 8), client=client)

    run.refresh_from_db()
    assert run.status == FetchRun.Status.SUCCEEDED
    assert (run.source, run.target, run.url) == (
        "hf",
        "2026-05-08",
        f"{upstream.base_url}/papers/date/2026-05-08",
    )
    assert (run.fetched_count, run.new_count, run.updated_count, run.unchanged_count) == (37, 37, 0, 0)
    assert run.finished_at is not None and run.error == ""
    assert Paper.objects.filter(sources=["hf"]).count() == 37


def test_papers_fetch_records_a_parse_failure_and_writes_no_paper(upstream, client):
    upstream.script("/rss/cs.AI", Reply(body=arxiv_rss_body()[:3000]))

    with pytest.raises(ParseError):
        papers_fetch(source="arxiv-rss", day=date(2026, 4, 27), category="cs.AI", client=client)

    run = FetchRun.objects.get()
    assert (run.status, run.target) == (FetchRun.Status.FAILED, "2026-04-27 cs.AI")
    assert run.error.startswith(f"{upstream.base_url}/rss/cs.AI: not well-formed XML")
    assert Paper.objects.count() == 0


def test_papers_fetch_failure_of_one_source_leaves_others_working(upstream, client):
    upstream.script("/rss/cs.AI", Reply(status=404))
    upstream.script("/rss/cs.CL", Reply(body=arxiv_rss_body()))

    with pytest.raises(FetchError, match="HTTP 404"):
        papers_fetch(source="arxiv-rss", day=date(2026, 4, 27), category="cs.AI", client=client)
    papers_fetch(source="arxiv-rss", day=date(2026, 4, 27), category="cs.CL", client=client)

    statuses = dict(FetchRun.objects.values_list("target", "status"))
    assert statuses == {"2026-04-27 cs.AI": "failed", "2026-04-27 cs.CL": "succeeded"}
    assert Paper.objects.count() == 3


def test_papers_fetch_of_a_json_body_with_the_wrong_shape_fails_clearly(upstream, client):
    upstream.script("/api/daily_papers", Reply(body=json.dumps({"dailyPapers": []}).encode()))

    with pytest.raises(ParseError, match="expected a JSON list of daily-paper entries, got a JSON object"):
        papers_fetch(source="hf-api", day=date(2026, 5, 8), client=client)
    assert FetchRun.objects.get().status == FetchRun.Status.FAILED


@pytest.mark.django_db(transaction=True)
def test_papers_ingest_from_two_workers_at_once_counts_each_paper_once():
    """Two connections ingest the same new page at the same moment: the loser's INSERT meets the
    winner's rows (unique arxiv_id), and its second pass finds them unchanged instead of failing."""
    records = hf_records()
    start = threading.Barrier(2)
    results: list[IngestResult] = []
    errors: list[BaseException] = []

    def ingest() -> None:
        try:
            start.wait()
            results.append(papers_ingest(records=records, source="hf-api"))
        except BaseException as error:  # surfaced by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=ingest) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert Paper.objects.count() == 37
    assert sorted(result.new for result in results) == [0, 37]
    assert sum(result.unchanged for result in results) == 37


@pytest.mark.django_db(transaction=True)
def test_papers_ingest_of_overlapping_pages_in_opposite_orders_does_not_deadlock():
    """Two workers inserting the same new ids in opposite orders would each wait for the other's
    uncommitted row (a deadlock PostgreSQL kills) unless every ingest writes in id order."""
    records = [
        PaperRecord(arxiv_id=f"2605.{n:05d}", title=f"Paper {n}", source="hf", abstract="words " * 100)
        for n in range(2000)
    ]
    for _ in range(3):
        Paper.objects.all().delete()
        start = threading.Barrier(2)
        results: list[IngestResult] = []
        errors: list[BaseException] = []

        def ingest(page: list[PaperRecord], start=start, results=results, errors=errors) -> None:
            try:
                start.wait()
                results.append(papers_ingest(records=page, source="hf"))
            except BaseException as error:  # surfaced by the assertion below
                errors.append(error)
            finally:
                connection.close()

        threads = [
            threading.Thread(target=ingest, args=(records,)),
            threading.Thread(target=ingest, args=(records[::-1],)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        assert errors == []
        assert sorted(result.new for result in results) == [0, 2000]
        assert Paper.objects.count() == 2000


@pytest.mark.django_db
def test_runs_abandoned_by_a_dead_worker_are_closed_as_failed():
    now = timezone.now()
    dead = FetchRun.objects.create(source="hf", target="2026-05-08", started_at=now - timedelta(hours=2))
    live = FetchRun.objects.create(source="hf", target="2026-05-09", started_at=now - timedelta(minutes=5))
    done = FetchRun.objects.create(
        source="hf",
        target="2026-05-07",
        started_at=now - timedelta(hours=3),
        status=FetchRun.Status.SUCCEEDED,
    )

    assert fetch_runs_close_abandoned(older_than=timedelta(minutes=30), now=now) == 1

    dead.refresh_from_db()
    assert dead.status == FetchRun.Status.FAILED
    assert "Abandoned" in dead.error and dead.finished_at == now
    assert FetchRun.objects.get(id=live.id).status == FetchRun.Status.RUNNING
    assert FetchRun.objects.get(id=done.id).status == FetchRun.Status.SUCCEEDED
