from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings

from newsletter.delivery.suppressions import email_hash
from newsletter.digests import planning as digest_planning
from newsletter.digests.planning import digests_compute
from newsletter.digests.runs import STALE_AFTER, PlannerBusy, digests_plan
from newsletter.matching import canonical_interest
from newsletter.models import Digest, DigestItem, Interest, PlanningRun, Subscriber, Suppression
from papers.models import Paper
from tests.conftest import FIXTURES

CORPUS = FIXTURES / "corpus" / "papers.jsonl"
NOW = datetime(2026, 11, 21, 6, 15, tzinfo=UTC)  # Saturday; 07:15 in Paris, 01:15 in New York


def corpus(limit: int = 120) -> list[dict]:
    with CORPUS.open() as lines:
        return [json.loads(line) for _, line in zip(range(limit), lines, strict=False)]


def make_papers(*, first_seen_at: datetime, limit: int = 120, offset: int = 0) -> list[Paper]:
    papers = [
        Paper(
            arxiv_id=f"2611.{offset + number:05d}",
            title=row["title"],
            abstract=row["abstract"],
            authors=["Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra", "Barbara Liskov"],
            upvotes=number % 40,
            first_seen_at=first_seen_at,
        )
        for number, row in enumerate(corpus(limit + offset)[offset:], start=1)
    ]
    return Paper.objects.bulk_create(papers)


def make_subscriber(
    email: str,
    *,
    interests: list[str] = ("diffusion",),
    time_zone: str = "Europe/Paris",
    send_hour: int = 7,
    frequency: str = "daily",
    weekday: int = 0,
    status: str = "active",
    papers_per_digest: int = 5,
) -> Subscriber:
    subscriber = Subscriber.objects.create(
        email=email,
        status=status,
        time_zone=time_zone,
        send_hour=send_hour,
        frequency=frequency,
        weekday=weekday,
        papers_per_digest=papers_per_digest,
        created_at=NOW - timedelta(days=30),
    )
    Interest.objects.bulk_create(
        Interest(subscriber=subscriber, text=text, canonical=canonical_interest(text), position=position)
        for position, text in enumerate(interests)
    )
    return subscriber


@pytest.fixture
def papers(db) -> list[Paper]:
    return make_papers(first_seen_at=NOW - timedelta(hours=5))


def plan(**kwargs) -> digest_planning.PlanningReport:
    return digests_plan(now=kwargs.pop("now", NOW), **kwargs)


def test_plans_only_subscribers_whose_local_send_hour_has_come(papers):
    paris = make_subscriber("paris@example.com", time_zone="Europe/Paris")
    make_subscriber("newyork@example.com", time_zone="America/New_York")
    make_subscriber("tokyo-late@example.com", time_zone="Asia/Tokyo", send_hour=16)  # 15:15 there

    report = plan()

    assert report.due == 1
    digest = Digest.objects.get()
    assert (digest.subscriber, digest.edition, digest.status) == (paris, "2026-11-21", "planned")
    assert digest.paper_count == 5
    assert list(digest.items.values_list("rank", flat=True)) == [1, 2, 3, 4, 5]
    for item in digest.items.select_related("paper"):
        assert "diffusion" in (item.paper.title + item.paper.abstract).lower()
        assert item.matched_interests == ["diffusion"]
        assert item.subscriber_id == paris.id


def test_uses_frozen_wall_clock_when_no_time_is_given(papers):
    make_subscriber("tokyo@example.com", time_zone="Asia/Tokyo", send_hour=16)
    with time_machine.travel(datetime(2026, 11, 21, 6, 59, tzinfo=UTC), tick=False):
        assert digests_plan().due == 0  # 15:59 in Tokyo
    with time_machine.travel(datetime(2026, 11, 21, 7, 0, tzinfo=UTC), tick=False):
        assert digests_plan().planned == 1  # 16:00 in Tokyo
    assert Digest.objects.get().edition == "2026-11-21"


def test_weekly_subscriber_is_planned_on_their_weekday_with_the_week_edition(papers):
    make_subscriber("saturday@example.com", frequency="weekly", weekday=5, time_zone="UTC", send_hour=6)
    make_subscriber("monday@example.com", frequency="weekly", weekday=0, time_zone="UTC", send_hour=6)

    plan()

    assert list(Digest.objects.values_list("subscriber__email", "edition")) == [
        ("saturday@example.com", "2026-W47")
    ]


def test_subscriber_without_matching_papers_gets_a_skipped_digest(papers):
    make_subscriber("nomatch@example.com", interests=["xylophone tuning"])

    report = plan()

    assert (report.planned, report.skipped, report.planned_ids) == (0, 1, [])
    digest = Digest.objects.get()
    assert (digest.status, digest.paper_count, digest.items.count()) == ("skipped", 0, 0)


def test_running_twice_for_the_same_edition_creates_nothing_new(papers):
    make_subscriber("paris@example.com")
    make_subscriber("nomatch@example.com", interests=["xylophone tuning"])
    first = plan()

    second = plan(now=NOW + timedelta(minutes=15))

    assert (first.planned, first.skipped) == (1, 1)
    assert (second.due, second.planned, second.skipped) == (0, 0, 0)
    assert Digest.objects.count() == 2
    assert DigestItem.objects.count() == 5


def test_a_forced_run_racing_an_existing_digest_does_not_duplicate(papers):
    make_subscriber("paris@example.com")
    plan()
    plans = digests_compute(now=NOW, ignore_existing=True)  # as if another run saw no digest yet

    report = digest_planning.digests_write(plans=plans, now=NOW + timedelta(seconds=1))

    assert (report.planned, report.skipped) == (0, 0)
    assert Digest.objects.count() == 1


def test_next_digest_only_has_papers_first_seen_since_the_previous_one(papers):
    subscriber = make_subscriber("paris@example.com", papers_per_digest=50)
    plan()
    first_ids = set(DigestItem.objects.values_list("paper_id", flat=True))
    tomorrow = NOW + timedelta(days=1)
    fresh = make_papers(first_seen_at=tomorrow - timedelta(hours=2), limit=120, offset=200)

    plan(now=tomorrow)

    second = Digest.objects.get(subscriber=subscriber, edition="2026-11-22")
    second_ids = set(second.items.values_list("paper_id", flat=True))
    assert second_ids
    assert second_ids <= {paper.id for paper in fresh}
    assert not second_ids & first_ids


def test_a_paper_committed_just_after_the_previous_run_is_not_lost(papers):
    subscriber = make_subscriber("paris@example.com", papers_per_digest=50)
    plan()
    first_ids = set(DigestItem.objects.values_list("paper_id", flat=True))
    # Stamped five minutes before that run, but its ingest transaction committed after it.
    (late,) = make_papers(first_seen_at=NOW - timedelta(minutes=5), limit=1, offset=323)
    assert "Diffusion" in late.title
    fresh = make_papers(first_seen_at=NOW + timedelta(hours=20), limit=120, offset=200)

    plan(now=NOW + timedelta(days=1))

    second = Digest.objects.get(subscriber=subscriber, edition="2026-11-22")
    second_ids = set(second.items.values_list("paper_id", flat=True))
    assert late.id in second_ids
    assert not second_ids & first_ids
    assert second_ids <= {paper.id for paper in fresh} | {late.id}


def test_never_plans_a_paper_the_subscriber_already_received(papers):
    subscriber = make_subscriber("paris@example.com", papers_per_digest=3)
    old = Digest.objects.create(
        subscriber=subscriber, edition="2026-11-01", status="sent", created_at=NOW - timedelta(days=20)
    )
    best_first = [match.paper_id for match in digests_compute(now=NOW)[0].matches]
    DigestItem.objects.create(digest=old, subscriber=subscriber, paper_id=best_first[0], rank=1, score=1.0)

    plan()

    planned = list(Digest.objects.get(edition="2026-11-21").items.values_list("paper_id", flat=True))
    assert best_first[0] not in planned
    assert planned[:2] == best_first[1:3]  # the next best move up


def test_first_digest_looks_back_two_days_for_daily_and_eight_for_weekly(db):
    make_papers(first_seen_at=NOW - timedelta(days=5), limit=120)
    make_subscriber("daily@example.com", time_zone="UTC", send_hour=6)
    make_subscriber("weekly@example.com", time_zone="UTC", send_hour=6, frequency="weekly", weekday=5)

    plan()

    statuses = dict(Digest.objects.values_list("subscriber__email", "status"))
    assert statuses == {"daily@example.com": "skipped", "weekly@example.com": "planned"}


def test_only_active_and_never_suppressed_subscribers_are_planned(papers):
    make_subscriber("active@example.com")
    for status in ["pending", "paused", "unsubscribed", "bounced", "complained"]:
        make_subscriber(f"{status}@example.com", status=status)
    make_subscriber("Suppressed@Example.com")
    Suppression.objects.create(email_hash=email_hash("suppressed@example.com"), reason="bounced")

    plan()

    assert list(Digest.objects.values_list("subscriber__email", flat=True)) == ["active@example.com"]


@pytest.mark.skipif(
    "sqlite" in settings.DATABASES["default"]["ENGINE"],
    reason="SQLite's inserts are batched by its variable limit; PostgreSQL's go through one COPY",
)
def test_a_shards_queries_do_not_grow_with_its_subscribers(papers):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_to_plan(count: int, now: datetime) -> int:
        for number in range(count):
            make_subscriber(
                f"reader{number}-{count}@example.com", interests=["diffusion", "speech recognition"]
            )
        with CaptureQueriesContext(connection) as queries:
            report = plan(now=now)
        assert report.planned == count
        Subscriber.objects.all().delete()
        return len(queries)

    assert queries_to_plan(10, NOW) == queries_to_plan(80, NOW + timedelta(minutes=15))


def test_a_second_run_for_the_same_beat_slot_plans_nothing(papers):
    make_subscriber("paris@example.com")
    assert plan().planned == 1
    with pytest.raises(PlannerBusy, match="exists already"):
        plan(now=NOW + timedelta(minutes=10))  # the same quarter hour
    assert Digest.objects.count() == 1


def test_a_run_still_going_makes_the_next_beat_skip_until_it_is_stale(papers):
    make_subscriber("paris@example.com")
    stuck = PlanningRun.objects.create(key="lost", moment=NOW, started_at=NOW - timedelta(minutes=20))
    with pytest.raises(PlannerBusy, match="still going"):
        plan()
    assert plan(now=NOW + STALE_AFTER).planned == 1  # the lost run is closed as failed
    stuck.refresh_from_db()
    assert stuck.status == "failed"


def test_the_coordinator_queues_one_task_per_shard_and_a_shard_queues_its_sends_in_chunks(
    papers, monkeypatch, settings
):
    from config.celery import app
    from newsletter import tasks

    for number in range(5):
        make_subscriber(f"reader{number}@example.com")
    settings.PLANNING_SHARD_SIZE = 3
    monkeypatch.setattr(tasks, "SEND_CHUNK", 2)
    app.control.purge()

    with time_machine.travel(NOW, tick=False):
        result = tasks.plan_digests()  # the task's body, run here; its shard tasks go to the real broker
    shard_ids = sorted(queued_messages())  # each plan_digest_shard message's one argument
    assert result["shards"] == len(shard_ids) == 2
    assert Digest.objects.count() == 0  # the coordinator plans nothing itself
    app.control.purge()

    for shard_id in shard_ids:
        tasks.plan_digest_shard(shard_id)

    planned_ids = list(Digest.objects.filter(status="planned").values_list("id", flat=True))
    assert len(planned_ids) == 5
    bodies = queued_messages()
    assert sorted(id for args in bodies for id in args) == sorted(planned_ids)
    assert sorted(len(args) for args in bodies) == [1, 2, 2]  # shards of 3 (2 + 1) and 2, in chunks of 2
    run = PlanningRun.objects.get(pk=result["run"])
    assert (run.status, run.shards_done, run.due, run.planned, run.items) == ("done", 2, 5, 5, 25)
    app.control.purge()


def queued_messages() -> list:
    """The first argument of every task message waiting in the broker."""
    import base64

    from config.celery import app

    with app.connection_for_write() as connection:
        client = connection.default_channel.client
        raw = client.lrange("celery", 0, -1)
    messages = [json.loads(item) for item in raw]
    return [json.loads(base64.b64decode(message["body"]))[0][0] for message in messages]


def test_recency_counts_the_day_a_paper_was_featured_not_its_arxiv_date(db):
    subscriber = make_subscriber("paris@example.com", interests=["diffusion"], papers_per_digest=2)
    two_months_ago = NOW - timedelta(days=60)
    arrived = NOW - timedelta(hours=3)
    common = {"abstract": "A diffusion model.", "published_at": two_months_ago, "first_seen_at": arrived}
    only_on_arxiv = Paper.objects.create(arxiv_id="2609.00001", title="Diffusion, old news", **common)
    featured_today = Paper.objects.create(
        arxiv_id="2609.00002", title="Diffusion, today's news", featured_on=NOW.date(), **common
    )

    plan()

    ranked = list(
        Digest.objects.get(subscriber=subscriber).items.order_by("rank").values_list("paper_id", flat=True)
    )
    assert ranked == [featured_today.id, only_on_arxiv.id]


def end_unsent(digest: Digest, how: str, settings) -> None:
    """End a planned digest unsent, the way the sending side does."""
    from newsletter.digests.sending import digests_send
    from newsletter.digests.sweep import digests_sweep
    from tests.fakes.sendgrid import FakeSendGrid, Reply

    soon = digest.created_at + timedelta(minutes=5)
    if how == "expired":  # its send window passed with nobody claiming it
        with time_machine.travel(digest.created_at + timedelta(hours=24), tick=False):
            digests_sweep()
    elif how == "cancelled":  # paused before the claim, back since
        Subscriber.objects.filter(pk=digest.subscriber_id).update(status="paused")
        with time_machine.travel(soon, tick=False):
            digests_send(digest_ids=[digest.id])
        Subscriber.objects.filter(pk=digest.subscriber_id).update(status="active")
    else:  # failed: SendGrid rejects the message
        with FakeSendGrid(api_key="SG.planning-tests") as fake, time_machine.travel(soon, tick=False):
            settings.EMAIL_BACKEND = "newsletter.delivery.sendgrid.SendGridBackend"
            settings.SENDGRID_API_KEY, settings.SENDGRID_API_HOST = fake.api_key, fake.url
            fake.default = Reply(400, {"errors": [{"message": "bad", "field": None}]})
            digests_send(digest_ids=[digest.id])
    digest.refresh_from_db()
    assert digest.status == how


@pytest.mark.parametrize("how", ["expired", "cancelled", "failed"])
def test_papers_of_a_digest_that_was_not_sent_go_in_the_next_digest(papers, settings, how):
    subscriber = make_subscriber("paris@example.com", papers_per_digest=50)
    plan()
    first = Digest.objects.get(subscriber=subscriber)
    first_papers = set(first.items.values_list("paper_id", flat=True))
    end_unsent(first, how, settings)
    tomorrow = NOW + timedelta(days=1)
    fresh = make_papers(first_seen_at=tomorrow - timedelta(hours=2), limit=120, offset=200)

    plan(now=tomorrow)

    second = Digest.objects.get(subscriber=subscriber, edition="2026-11-22")
    second_papers = set(second.items.values_list("paper_id", flat=True))
    assert first_papers <= second_papers
    assert second_papers - first_papers <= {paper.id for paper in fresh}
    assert first.items.count() == len(first_papers)  # the unsent digest keeps its record


def test_a_paper_held_by_a_planned_or_sent_digest_is_still_refused_by_the_database(papers):
    from django.db import IntegrityError, transaction

    subscriber = make_subscriber("paris@example.com")
    plan()
    held = DigestItem.objects.first()
    other = Digest.objects.create(subscriber=subscriber, edition="2026-11-22", created_at=NOW)

    with pytest.raises(IntegrityError), transaction.atomic():
        DigestItem.objects.create(digest=other, subscriber=subscriber, paper=held.paper, rank=1, score=1.0)
    DigestItem.objects.filter(pk=held.pk).update(released=True)
    DigestItem.objects.create(digest=other, subscriber=subscriber, paper=held.paper, rank=1, score=1.0)
