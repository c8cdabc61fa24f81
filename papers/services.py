"""Writes for papers: ingesting parsed records, and fetching one source page into the database.

Ingestion merges what several sources know about one paper (Hugging Face has upvotes and AI
summaries, arXiv has categories), so a poorer source never wipes what a richer one said.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from papers.http import FetchClient
from papers.models import FetchRun, Paper
from papers.search_terms import paper_index_for_search, search_terms_stale
from papers.sources.records import PaperRecord, normalize_arxiv_id
from papers.sources.registry import SOURCES

logger = logging.getLogger(__name__)

# How each field merges: a known value beats an unknown one ("" / [] / None), later beats earlier.
REPLACE_WHEN_KNOWN = (
    "title", "abstract", "authors", "github_repo", "project_page", "thumbnail", "ai_summary", "ai_keywords",
)  # fmt: skip
LATEST_WHEN_KNOWN = ("upvotes", "comment_count", "github_stars", "featured_on")
UNION = ("categories", "sources")
EARLIEST = ("published_at",)
MERGED_FIELDS = REPLACE_WHEN_KNOWN + LATEST_WHEN_KNOWN + UNION + EARLIEST
UNKNOWN: dict[str, Any] = {
    **dict.fromkeys(REPLACE_WHEN_KNOWN, ""),
    "authors": [],
    "ai_keywords": [],
    **dict.fromkeys(LATEST_WHEN_KNOWN),
    "categories": [],
    "sources": [],
    "published_at": None,
}
# The fields the matcher reads words from: when one changes, the paper's search_terms are stale.
SEARCHED_FIELDS = ("title", "abstract", "authors", "ai_keywords")
SEARCH_TERMS_FIELDS = ["search_terms", "search_terms_version"]
# Stale search terms refreshed after each fetch: all of a normal fetch's papers; after an upgrade
# changed the tokenizer, a big table catches up over several fetches (or `refresh_search_terms`).
REFRESH_AFTER_FETCH = 5000
SELECT_CHUNK = 1000  # ids per SELECT: stays under SQLite's variable limit
WRITE_BATCH = 1000


@dataclass(frozen=True)
class IngestResult:
    new: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.new + self.updated + self.unchanged


def papers_ingest(*, records: Iterable[PaperRecord], source: str) -> IngestResult:
    """Upsert one fetched page of records by arxiv_id, in one transaction; exact counts.

    Running it twice on the same input changes nothing the second time (not even updated_at).
    """
    incoming = records_merge_by_id(records=records, source=source)
    if not incoming:
        return IngestResult()
    try:
        return _ingest_in_transaction(incoming)
    except IntegrityError:
        # Another worker inserted one of these ids between our SELECT and INSERT (both saw it
        # missing). Its row exists now, so a second pass updates it instead.
        logger.info("Concurrent insert while ingesting %s; retrying once", source)
        return _ingest_in_transaction(incoming)


def records_merge_by_id(*, records: Iterable[PaperRecord], source: str) -> dict[str, dict[str, Any]]:
    """Field values per normalized id; a page naming one paper twice gives one merged entry."""
    merged: dict[str, dict[str, Any]] = {}
    for record in records:
        arxiv_id = normalize_arxiv_id(record.arxiv_id)
        merged[arxiv_id] = merge_values(merged.get(arxiv_id, UNKNOWN), record_values(record, source=source))
    return merged


def record_values(record: PaperRecord, *, source: str) -> dict[str, Any]:
    values = {field: getattr(record, field) for field in MERGED_FIELDS if field != "sources"}
    values["sources"] = [source]
    values["published_at"] = datetime.fromisoformat(record.published_at) if record.published_at else None
    values["featured_on"] = date.fromisoformat(record.featured_on) if record.featured_on else None
    return values


def merge_values(current: dict[str, Any], incoming: dict[str, Any]) -> dict[str, Any]:
    merged = dict(current)
    for field in REPLACE_WHEN_KNOWN:
        if incoming[field]:
            merged[field] = incoming[field]
    for field in LATEST_WHEN_KNOWN:
        if incoming[field] is not None:
            merged[field] = incoming[field]
    for field in UNION:
        merged[field] = list(current[field]) + [v for v in incoming[field] if v not in current[field]]
    known = [moment for moment in (current["published_at"], incoming["published_at"]) if moment]
    merged["published_at"] = min(known) if known else None  # first publication is the earliest seen
    return merged


def _ingest_in_transaction(incoming: dict[str, dict[str, Any]]) -> IngestResult:
    now = timezone.now()
    with transaction.atomic():
        stored = _lock_existing(sorted(incoming))
        created, changed, unchanged = [], [], 0
        # In id order: two workers inserting overlapping new ids in opposite orders would each
        # wait on the other's uncommitted row, a deadlock instead of the retried IntegrityError.
        for arxiv_id in sorted(incoming):
            values = incoming[arxiv_id]
            paper = stored.get(arxiv_id)
            if paper is None:
                created.append(_new_paper(arxiv_id, values, now=now))
            elif _apply(paper, values, now=now):
                changed.append(paper)
            else:
                unchanged += 1
        _insert_new(created)
        _write_changed(changed)
    return IngestResult(new=len(created), updated=len(changed), unchanged=unchanged)


def _lock_existing(arxiv_ids: list[str]) -> dict[str, Paper]:
    """The stored rows, locked in id order so two ingests of overlapping pages cannot deadlock."""
    stored: dict[str, Paper] = {}
    for start in range(0, len(arxiv_ids), SELECT_CHUNK):
        chunk = arxiv_ids[start : start + SELECT_CHUNK]
        rows = Paper.objects.select_for_update().filter(arxiv_id__in=chunk).order_by("arxiv_id")
        stored.update((paper.arxiv_id, paper) for paper in rows)
    return stored


def _insert_new(papers: list[Paper]) -> None:
    """Insert rows that the locked SELECT found missing.

    On PostgreSQL with COPY: bulk_create's INSERT spends much of its time quoting every value in
    Python (psycopg's client-side binding), COPY streams them (benchmarks/bench_ingest.py: roughly
    1.5x the rate). A row another worker inserted meanwhile still fails the unique constraint with
    an IntegrityError, as bulk_create would.
    """
    if not papers:
        return
    db = transaction.get_connection()  # the atomic block's connection itself, not the proxy
    if db.vendor != "postgresql":
        Paper.objects.bulk_create(papers, batch_size=WRITE_BATCH)
        return
    fields = [field for field in Paper._meta.concrete_fields if not field.primary_key]
    columns = ", ".join(db.ops.quote_name(field.column) for field in fields)
    statement = f"COPY {db.ops.quote_name(Paper._meta.db_table)} ({columns}) FROM STDIN"
    # Django wraps errors of execute() only; COPY needs the same translation for the retry above.
    with db.wrap_database_errors, db.cursor() as cursor, cursor.copy(statement) as copy:
        for paper in papers:
            # get_db_prep_save: the same adaptation bulk_create applies (JSON lists as jsonb…).
            copy.write_row([field.get_db_prep_save(getattr(paper, field.attname), db) for field in fields])


def _write_changed(papers: list[Paper]) -> None:
    """Write merged rows back as INSERT … ON CONFLICT DO UPDATE.

    The rows are locked and exist, so every insert hits the conflict; on PostgreSQL this is
    some 50x faster than bulk_update's one big CASE WHEN per column.
    """
    Paper.objects.bulk_create(
        papers,
        batch_size=WRITE_BATCH,
        update_conflicts=True,
        unique_fields=["arxiv_id"],
        update_fields=[*MERGED_FIELDS, "updated_at", "search_terms_version"],
    )


def _new_paper(arxiv_id: str, values: dict[str, Any], *, now: datetime) -> Paper:
    columns = dict(values)
    # Counts are NOT NULL in the table: unknown upvotes start at zero.
    columns["upvotes"] = columns["upvotes"] or 0
    columns["comment_count"] = columns["comment_count"] or 0
    # No search terms yet (stale): papers_refresh_search_terms writes them after the transaction.
    return Paper(arxiv_id=arxiv_id, **columns, first_seen_at=now, updated_at=now)


def _apply(paper: Paper, values: dict[str, Any], *, now: datetime) -> bool:
    """Merge `values` into the stored paper; True when anything changed."""
    current = {field: getattr(paper, field) for field in MERGED_FIELDS}
    merged = merge_values(current, values)
    if merged == current:
        return False
    for field, value in merged.items():
        setattr(paper, field, value)
    paper.updated_at = now
    if any(merged[field] != current[field] for field in SEARCHED_FIELDS):
        paper.search_terms_version = ""  # stale: searched unfiltered until refreshed
    return True


def papers_refresh_search_terms(
    *, limit: int | None = None, progress: Callable[[int], None] | None = None
) -> int:
    """Write the search terms of papers whose terms are stale (new, edited, or written by another
    tokenizer), at most `limit` of them; returns how many.

    Kept out of papers_ingest: tokenizing costs ~1 ms per paper, ten times the ingest itself.
    Searching is correct meanwhile (stale rows are never filtered out), only slower. `progress`,
    when given, gets the running count after each batch.
    """
    done = 0
    while limit is None or done < limit:
        size = WRITE_BATCH if limit is None else min(WRITE_BATCH, limit - done)
        written = _refresh_batch(size)
        if not written:
            break
        done += written
        if progress is not None:
            progress(done)
    return done


def _refresh_batch(size: int) -> int:
    # Locked while tokenizing, so an ingest changing a title meanwhile cannot be overwritten by terms
    # of the old title; rows an ingest holds are skipped (it marks them stale again), never waited
    # for, so the two cannot deadlock.
    with transaction.atomic():
        stale = Paper.objects.filter(search_terms_stale()).select_for_update(skip_locked=True)
        batch = list(stale.order_by("id")[:size])
        for paper in batch:
            paper_index_for_search(paper)
        Paper.objects.bulk_update(batch, SEARCH_TERMS_FIELDS)
    return len(batch)


# --- Fetching one source page -----------------------------------------------------------------


def fetch_jobs(
    *, sources: list[str], categories: list[str], dated_only: bool = False
) -> list[tuple[str, str | None]]:
    """(source, category) pairs to fetch: one per source, and per arXiv category for arXiv sources.

    arXiv feeds only ever show the latest announcement, so for an earlier day (`dated_only`) only
    the dated Hugging Face sources are worth asking again.
    """
    jobs: list[tuple[str, str | None]] = []
    for source in sources:
        if not SOURCES[source].per_category:
            jobs.append((source, None))
        elif not dated_only:
            jobs.extend((source, category) for category in categories)
    return jobs


def fetch_target(*, day: date, category: str | None) -> str:
    return f"{day.isoformat()} {category}" if category else day.isoformat()


def source_url(*, source: str, day: date, category: str | None) -> str:
    spec = SOURCES[source]
    return spec.url(base_url=getattr(settings, spec.base_setting), day=day, category=category)


def papers_fetch(
    *, source: str, day: date, category: str | None = None, client: FetchClient | None = None
) -> FetchRun:
    """Fetch, parse and ingest one page, recorded as a FetchRun, then index the new papers for search.

    Errors of the fetch are recorded, then raised.
    """
    url = source_url(source=source, day=day, category=category)
    run = FetchRun.objects.create(source=source, target=fetch_target(day=day, category=category), url=url)
    try:
        page = (client or FetchClient()).get(url)
        records = SOURCES[source].parse(page.body, url=url, category=category)
        result = papers_ingest(records=records, source=source)
    except Exception as error:
        # Recorded whatever it was (the admin shows it), then raised for the caller to retry or report.
        _finish_run(run, status=FetchRun.Status.FAILED, error=str(error)[:5000])
        raise
    _finish_run(
        run,
        status=FetchRun.Status.SUCCEEDED,
        fetched_count=len(records),
        new_count=result.new,
        updated_count=result.updated,
        unchanged_count=result.unchanged,
    )
    papers_refresh_search_terms(limit=REFRESH_AFTER_FETCH)
    return run


def _finish_run(run: FetchRun, **fields: Any) -> None:
    fields["finished_at"] = timezone.now()
    for name, value in fields.items():
        setattr(run, name, value)
    run.save(update_fields=list(fields))


def fetch_runs_close_abandoned(*, older_than: timedelta, now: datetime | None = None) -> int:
    """Mark runs still `running` long after any task could be as failed: their worker died.

    The task itself is redelivered (acks_late) and records a run of its own; this only keeps the
    admin from showing a dead run as running forever.
    """
    now = now or timezone.now()
    return FetchRun.objects.filter(status=FetchRun.Status.RUNNING, started_at__lt=now - older_than).update(
        status=FetchRun.Status.FAILED,
        finished_at=now,
        error="Abandoned: the worker running this fetch stopped before finishing (killed or restarted).",
    )
