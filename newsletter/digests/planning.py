"""Digest planning for one group of subscribers: who is due now, which new papers match them, written.

Runs (runs.py) split the subscribers into shards by id and plan each shard here, in its own task
and transaction. The matcher (`newsletter.matching`) is pure Python; this module is the database
layer around it: a handful of bulk reads for the shard, the matcher, two bulk inserts.

"New papers" for a subscriber are the papers first seen after their previous digest was planned
(at most FIRST_DIGEST_LOOKBACK back, which is also the window of a first digest), never one already
in their digests (the DigestItem (subscriber, paper) constraint enforces it in the database too).
A digest that ended unsent (failed, cancelled, expired) is not "previous" and its items are
released, so its papers can go in the next digest. Papers are sorted by arrival, so each
subscriber's candidates are a suffix of one list: subscribers are grouped by that suffix and the
matcher runs once per group (usually one, since papers arrive in hourly batches).

Interests are not parsed here: each Interest row stores its compiled form (saved with the text).
The paper index of a group is kept per process for the next shard of the same run (RecentIndexes).

A subscriber's `~ description` and `like:` lines, and their taste model once they rated papers, are
matched by meaning against the group's papers (vectors.py: matrix products per group) and fused
with their keyword picks.
A subscriber without interests gets the group's trending papers (matching.TrendingOrder: most
upvoted first, computed once per group); one with interests who asked for it gets, after their own
picks, an "Also trending" section of the best few trending papers those picks left out.

Planning a shard twice for the same edition creates nothing: due subscribers who already have a
digest for the edition are left out, and the (subscriber, edition) unique constraint with
`ignore_conflicts` covers any race.
"""

from __future__ import annotations

import bisect
import json
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from newsletter import matching
from newsletter.digests import editions, selectors
from newsletter.digests.bulk import insert_ignoring_conflicts
from newsletter.digests.rendering import DigestView, ItemView
from newsletter.digests.selectors import PaperRow, SubscriberRow
from newsletter.digests.vectors import fuse_by_meaning
from newsletter.matching import ALSO_TRENDING_PAPERS, Match, PaperIndex, PaperRecord, TrendingOrder
from newsletter.models import Digest, DigestItem, Subscriber
from papers.models import Paper
from papers.records import paper_record_from_paper

# Far longer than one page's ingest transaction (a bulk upsert of a few hundred rows).
INGEST_SETTLE_MARGIN = timedelta(minutes=15)


@dataclass(slots=True)
class PlannedDigest:
    subscriber_id: int
    edition: str
    matches: list[Match]


@dataclass(slots=True)
class PlanningReport:
    due: int = 0
    planned: int = 0
    skipped: int = 0
    items: int = 0
    seconds: float = 0.0
    planned_ids: list[int] = field(default_factory=list)

    def add(self, other: PlanningReport) -> None:
        self.due += other.due
        self.planned += other.planned
        self.skipped += other.skipped
        self.items += other.items
        self.planned_ids.extend(other.planned_ids)


@dataclass(frozen=True, slots=True)
class Selection:
    """Which subscribers a computation looks at: an id range (a shard), some addresses, or all."""

    first_id: int | None = None
    last_id: int | None = None
    emails: tuple[str, ...] | None = None


def digests_compute(
    *,
    now: datetime,
    force: bool = False,
    emails: Iterable[str] | None = None,
    ignore_existing: bool = False,
    selection: Selection | None = None,
) -> list[PlannedDigest]:
    """Who is due and what they get, in memory; writes nothing (shards, previews and dry runs)."""
    selection = selection or Selection(emails=tuple(emails) if emails is not None else None)
    due = _due_subscribers(now=now, force=force, selection=selection, ignore_existing=ignore_existing)
    if not due:
        return []
    subscriber_ids = [row.id for row, _ in due]
    oldest = now - max(editions.FIRST_DIGEST_LOOKBACK.values())
    previous = selectors.last_planned_at(subscriber_ids=subscriber_ids, since=oldest)
    since = {row.id: _since(row=row, previous=previous.get(row.id), now=now) for row, _ in due}
    papers = selectors.papers_first_seen_after(since=min(since.values()))
    matches = _match(
        due=[row for row, _ in due],
        since=since,
        papers=papers,
        interests=selectors.compiled_interests(subscriber_ids=subscriber_ids),
        already_sent=selectors.sent_pairs(
            paper_ids=[paper.id for paper in papers], subscriber_ids=subscriber_ids
        ),
        now=now,
    )
    return [PlannedDigest(row.id, edition, matches.get(row.id, [])) for row, edition in due]


def _due_subscribers(
    *, now: datetime, force: bool, selection: Selection, ignore_existing: bool
) -> list[tuple[SubscriberRow, str]]:
    moments = editions.MomentCache(now)
    due = []
    rows = selectors.active_subscriber_rows(
        emails=selection.emails, first_id=selection.first_id, last_id=selection.last_id
    )
    for row in rows:
        edition = editions.current_edition(
            frequency=row.frequency,
            weekday=row.weekday,
            send_hour=row.send_hour,
            moment=moments.get(row.time_zone),
            force=force,
        )
        if edition is not None:
            due.append((row, edition))
    if ignore_existing or not due:
        return due
    existing = selectors.subscriber_ids_with_editions(
        editions={edition for _, edition in due}, subscriber_ids=[row.id for row, _ in due]
    )
    return [(row, edition) for row, edition in due if (row.id, edition) not in existing]


def _since(*, row: SubscriberRow, previous: datetime | None, now: datetime) -> datetime:
    floor = now - editions.FIRST_DIGEST_LOOKBACK.get(row.frequency, editions.FIRST_DIGEST_LOOKBACK["daily"])
    if previous is None:
        return floor
    # A paper's first_seen_at is stamped when its ingest transaction starts, so one committed just
    # after the previous planning run can carry an earlier time: look back a little further. The
    # (subscriber, paper) constraint and `already_sent` keep that overlap from repeating a paper.
    return max(previous - INGEST_SETTLE_MARGIN, floor)


def _match(
    *,
    due: list[SubscriberRow],
    since: dict[int, datetime],
    papers: list[PaperRow],
    interests: selectors.CompiledInterests,
    already_sent: list[tuple[int, int]],
    now: datetime,
) -> dict[int, list[Match]]:
    """Run the matcher once per group of subscribers that share the same candidate papers, then add
    the trending papers of those who get them."""
    arrivals = [paper.first_seen_at for paper in papers]
    groups: dict[int, list[SubscriberRow]] = defaultdict(list)
    for row in due:
        groups[bisect.bisect_right(arrivals, since[row.id])].append(row)
    records = [paper_record_from_paper(paper) for paper in papers]
    matches: dict[int, list[Match]] = {}
    held: dict[int, set[int]] | None = None
    for start, rows in groups.items():
        if start >= len(records):
            continue  # no new papers: skipped digests
        candidates = records[start:]
        readers = [row for row in rows if interests.rows.get(row.id)]
        if readers:
            table, compiled = interests.table_for(readers)
            plan = matching.plan_table(
                table,
                candidates,
                already_sent=already_sent,
                today=now.date(),
                compiled=compiled,
                index=RECENT_INDEXES.get(candidates, papers[start:]),
            )
            # picks(): paper, score and the lines that picked it; the words are found when shown.
            matches.update(plan.picks())
        with_interests = [row for row in rows if interests.has_any(row.id)]
        if with_interests:
            held = _papers_held(already_sent) if held is None else held
            fuse_by_meaning(with_interests, papers[start:], interests=interests, held=held, matches=matches)
        trending = [row for row in rows if row.also_trending or not interests.has_any(row.id)]
        if trending:
            held = _papers_held(already_sent) if held is None else held
            _add_trending(
                trending, TrendingOrder(candidates), interests=interests, held=held, matches=matches
            )
    return matches


def _papers_held(already_sent: list[tuple[int, int]]) -> dict[int, set[int]]:
    """Subscriber id -> the candidate papers already in their digests."""
    held: dict[int, set[int]] = defaultdict(set)
    for subscriber_id, paper_id in already_sent:
        held[subscriber_id].add(paper_id)
    return held


def _add_trending(
    rows: list[SubscriberRow],
    order: TrendingOrder,
    *,
    interests: selectors.CompiledInterests,
    held: dict[int, set[int]],
    matches: dict[int, list[Match]],
) -> None:
    """A whole digest of trending papers for readers without interests; for the others, a few more
    after their own picks (papers their lines picked are not picked twice)."""
    nothing: set[int] = set()
    for row in rows:
        picked = matches.get(row.id, [])
        if interests.has_any(row.id):
            count, excluded = ALSO_TRENDING_PAPERS, (held.get(row.id, nothing), {m.paper_id for m in picked})
        else:
            count, excluded = row.papers_per_digest, (held.get(row.id, nothing),)
        extra = order.pick(count, excluded=excluded)
        if extra:
            matches[row.id] = picked + extra


class RecentIndexes:
    """The last few paper indexes this process built, by the papers' ids and versions.

    The shards of one run match against the same papers; indexing them (tokenizing and stemming
    every abstract) once per worker process instead of once per shard. A derived cache: any
    process rebuilds what it lacks, and a changed paper (updated_at) makes a new key.
    """

    def __init__(self, size: int = 4) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._indexes: OrderedDict[tuple, PaperIndex] = OrderedDict()

    def get(self, records: list[PaperRecord], rows: list[PaperRow]) -> PaperIndex:
        key = tuple((row.id, row.updated_at) for row in rows)
        with self._lock:
            index = self._indexes.get(key)
            if index is not None:
                self._indexes.move_to_end(key)
                return index
        index = PaperIndex(records)
        with self._lock:
            self._indexes[key] = index
            while len(self._indexes) > self._size:
                self._indexes.popitem(last=False)
        return index


RECENT_INDEXES = RecentIndexes()


def digests_write(*, plans: list[PlannedDigest], now: datetime) -> PlanningReport:
    """Insert the digests and their items in bulk; returns the ids of the planned (non-empty) ones."""
    report = PlanningReport(due=len(plans))
    if not plans:
        return report
    insert_ignoring_conflicts(
        Digest,
        # Every NOT NULL column: Django's defaults live in Python, not in the table.
        [
            "subscriber_id",
            "edition",
            "status",
            "paper_count",
            "created_at",
            "updated_at",
            "sendgrid_message_id",
            "attempts",
            "last_error",
            "open_count",
            "click_count",
        ],
        [
            (
                plan.subscriber_id,
                plan.edition,
                Digest.Status.PLANNED if plan.matches else Digest.Status.SKIPPED,
                len(plan.matches),
                now,
                now,
                "",
                0,
                "",
                0,
                0,
            )
            for plan in plans
        ],
    )
    # Re-read what this call inserted: created_at is this run's instant and the subscribers are
    # this call's, so rows another run created for the same edition are not ours to fill.
    ours = dict(
        Digest.objects.filter(
            created_at=now,
            status__in=[Digest.Status.PLANNED, Digest.Status.SKIPPED],
            edition__in={plan.edition for plan in plans},
            subscriber_id__in=[plan.subscriber_id for plan in plans],
        ).values_list("subscriber_id", "id")
    )
    items = []
    encoded = _JsonMemo()
    for plan in plans:
        digest_id = ours.get(plan.subscriber_id)
        if digest_id is None:
            continue
        if not plan.matches:
            report.skipped += 1
            continue
        report.planned += 1
        report.planned_ids.append(digest_id)
        items.extend(
            (
                digest_id,
                plan.subscriber_id,
                match.paper_id,
                rank,
                match.score,
                encoded(match.interests),
                False,
                match.source.value,
                match.liked_paper_id,
            )
            for rank, match in enumerate(plan.matches, start=1)
        )
    insert_ignoring_conflicts(
        DigestItem,
        [
            "digest_id",
            "subscriber_id",
            "paper_id",
            "rank",
            "score",
            "matched_interests",
            "released",
            "source",
            "liked_paper_id",
        ],
        items,
    )
    report.items = len(items)
    return report


class _JsonMemo:
    """JSON of lists of lines, each distinct list encoded once: a reader's picks mostly share a line."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, ...], str] = {}

    def __call__(self, lines: list[str]) -> str:
        key = tuple(lines)
        text = self._known.get(key)
        if text is None:
            text = self._known[key] = json.dumps(lines)
        return text


def digest_views_for_plans(*, plans: Iterable[PlannedDigest]) -> list[DigestView]:
    """Views of digests planned in memory only (previews, dry runs): two queries, nothing saved."""
    plans = list(plans)
    subscribers = Subscriber.objects.in_bulk([plan.subscriber_id for plan in plans])
    papers = Paper.objects.in_bulk(
        [match.paper_id for plan in plans for match in plan.matches]
        + [match.liked_paper_id for plan in plans for match in plan.matches if match.liked_paper_id]
    )
    return [
        DigestView(
            subscriber=subscribers[plan.subscriber_id],
            edition=plan.edition,
            frequency=subscribers[plan.subscriber_id].frequency,
            items=[
                ItemView(
                    paper=papers[match.paper_id],
                    interests=list(match.interests),
                    source=match.source,
                    liked=papers.get(match.liked_paper_id),
                )
                for match in plan.matches
            ],
        )
        for plan in plans
    ]
