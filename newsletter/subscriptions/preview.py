"""Live interest preview: how many of the last 30 days' papers an interest would have matched.

The papers of the window are indexed once per process (matching.PaperBatch) and shared by its threads;
a request matches its one interest against that index, in milliseconds. Whether the window changed
is asked of the database (two aggregates, the second reading the window's rows) at most once per
VERSION_RECHECK_SECONDS for the whole site: the answer is shared through the cache. Only a change
rebuilds the index: on one thread, while the others keep answering from the previous index. Building
it takes seconds at 10,000 papers (benchmarks/bench_preview.py), once per process and per change of
the papers, which therefore show in previews at most a second after they arrive.
"""

from __future__ import annotations

import datetime as dt
import gc
import threading
import time
from dataclasses import dataclass

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models import Count, Max
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from newsletter.client_address import client_address
from newsletter.matching import InterestSyntaxError, PaperBatch, parse_interest
from newsletter.subscriptions.forms import canonical_or_error
from newsletter.subscriptions.ratelimit import RateLimited, rate_limit_check
from papers.models import Paper
from papers.records import paper_records_since, papers_since

PREVIEW_DAYS = 30
PREVIEW_EXAMPLES = 3
PREVIEW_LIMIT_PER_IP = (40, 60)
VERSION_RECHECK_SECONDS = 1.0
VERSION_CACHE_KEY = "preview:window-version"


@require_GET
def interest_preview_view(request: HttpRequest) -> JsonResponse:
    text = request.GET.get("q", "").strip()
    if not text:
        return JsonResponse({"error": "Type an interest to preview it."}, status=400)
    try:
        rate_limit_check(
            scope="preview:ip",
            ident=client_address(request),
            limit=PREVIEW_LIMIT_PER_IP,
            message="Too many previews; wait a minute.",
        )
    except RateLimited as error:
        return JsonResponse({"error": str(error)}, status=429)
    try:
        parse_interest(text)
        canonical_or_error(text, label="This interest")
    except InterestSyntaxError as error:
        return JsonResponse({"error": str(error), "position": error.position}, status=400)
    except ValidationError as error:
        return JsonResponse({"error": error.messages[0]}, status=400)
    preview = interest_preview(text=text, window=recent_papers())
    return JsonResponse(
        {
            "matches": preview.match_count,
            "papers": preview.paper_count,
            "days": PREVIEW_DAYS,
            "examples": preview.example_titles,
        }
    )


@dataclass(frozen=True)
class InterestPreview:
    match_count: int
    paper_count: int
    example_titles: list[str]


@dataclass(frozen=True)
class PreviewWindow:
    """The window's papers, indexed, with the state of the table they were read at."""

    version: tuple
    batch: PaperBatch
    titles: dict[int, str]


def interest_preview(
    *, text: str, window: PreviewWindow, examples: int = PREVIEW_EXAMPLES
) -> InterestPreview:
    """How many of the window's papers one interest would have matched, with the titles of the best few."""
    found = window.batch.match([text], top_k=examples, today=timezone.localdate())
    return InterestPreview(
        match_count=found.count,
        paper_count=len(window.batch),
        example_titles=[window.titles[match.paper_id] for match in found.best],
    )


class RecentPapers:
    """The last 30 days' papers, indexed once and shared by the threads of a process.

    `get()` compares the window's version with the database on every call: a process never answers
    from papers older than the last change, whichever process ingested it.
    """

    def __init__(self) -> None:
        self._rebuilding = threading.Lock()
        self._current: PreviewWindow | None = None

    def get(self) -> PreviewWindow:
        version = recent_window_version()
        current = self._current
        if current is not None and current.version == version:
            return current
        # One thread rebuilds; the others answer from the previous window meanwhile (a rebuild takes
        # seconds), or wait for the first one when there is none yet.
        if not self._rebuilding.acquire(blocking=current is None):
            return current
        try:
            current = self._current
            if current is None or current.version != version:
                current = self._current = build_window(version)
            return current
        finally:
            self._rebuilding.release()


def recent_window_version() -> tuple:
    """window_version() as checked in the last VERSION_RECHECK_SECONDS by any process, else now.

    The check time is kept beside the version rather than left to the cache's expiry, so that a clock
    (or a test's travel in time) moving by more than the interval, either way, means checking again.
    """
    now = time.time()
    known = cache.get(VERSION_CACHE_KEY)
    if known is not None and 0 <= now - known[1] < VERSION_RECHECK_SECONDS:
        return known[0]
    version = window_version()
    cache.set(VERSION_CACHE_KEY, (version, now), timeout=60)
    return version


def window_version() -> tuple:
    """What identifies the window's papers: its first day, and the count, last id and last update of
    the papers in it. Index lookups for the newest dates, then one aggregate over the window's rows."""
    newest = Paper.objects.aggregate(last_day=Max("featured_on"), last_published=Max("published_at"))
    start = window_start(newest["last_day"], newest["last_published"])
    state = papers_since(since=start).aggregate(
        n=Count("id"), last_id=Max("id"), last_update=Max("updated_at")
    )
    return (start, state["n"], state["last_id"], state["last_update"])


def build_window(version: tuple) -> PreviewWindow:
    records = paper_records_since(since=version[0])
    window = PreviewWindow(
        version=version,
        batch=PaperBatch(records),
        titles={record.id: record.title for record in records},
    )
    # The index was built with the garbage collector paused: millions of new tuples wait for one
    # collection to untrack them. Do it here, as part of the rebuild, rather than in whichever
    # request next triggers a collection (measured at 10,000 papers: a 1.5 s stall under load).
    gc.collect()
    return window


def window_start(last_day: dt.date | None, last_published: dt.datetime | None) -> dt.date:
    """Thirty days back from the newest paper: today in a live service, and still useful on old data."""
    newest = max(
        [day for day in (last_day, last_published and last_published.date()) if day] or [timezone.localdate()]
    )
    return newest - dt.timedelta(days=PREVIEW_DAYS)


recent_papers = RecentPapers().get
