"""Live interest preview: how many of the last 30 days' papers an interest would have matched.

A keyword line is matched against the window's word index; a `~ description` or `like:` line
against the window's embeddings (one matrix-vector product; a description is embedded once per
process and text), so a preview by meaning costs about as little as one by keywords.

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
from functools import lru_cache

import numpy as np
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models import Count, Max
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from newsletter.client_address import client_address
from newsletter.matching import InterestSyntaxError, PaperBatch, Source
from newsletter.matching.meaning import EXAMPLE_THRESHOLD, MEANING_THRESHOLD, close_papers
from newsletter.subscriptions.forms import line_or_error, parse_line
from newsletter.subscriptions.ratelimit import RateLimited, rate_limit_check
from papers.embeddings import embed_texts, paper_vectors
from papers.models import Paper
from papers.records import paper_records_since, papers_since

PREVIEW_DAYS = 30
PREVIEW_EXAMPLES = 3
PREVIEW_LIMIT_PER_IP = (40, 60)
VERSION_RECHECK_SECONDS = 1.0
VERSION_CACHE_KEY = "preview:window-version"
# Descriptions whose embedding a process keeps (1.5 kB each).
DESCRIPTIONS_KEPT = 1024


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
        line = parse_line(text)
        line_or_error(text, label="This interest")
    except InterestSyntaxError as error:
        return JsonResponse({"error": str(error), "position": error.position}, status=400)
    except ValidationError as error:
        return JsonResponse({"error": error.messages[0]}, status=400)
    window = recent_papers()
    if line.kind == Source.KEYWORD:
        preview = interest_preview(text=text, window=window)
    elif line.kind == Source.MEANING:
        preview = meaning_preview(description=line.description, window=window)
    else:
        example = Paper.objects.filter(arxiv_id=line.arxiv_id).only("id", "title").first()
        if example is None:
            return JsonResponse({"error": f"No paper {line.arxiv_id} in Paperbox."}, status=400)
        preview = example_preview(example=example, window=window)
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
    # Papers embedded after the window was built are seen once the window changes (the next ingest).
    vectors: WindowVectors


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


def meaning_preview(
    *, description: str, window: PreviewWindow, examples: int = PREVIEW_EXAMPLES
) -> InterestPreview:
    """How many of the window's (embedded) papers a `~ description` line would have picked, with the
    closest few: one short text embedded (cached per process) and one matrix-vector product."""
    return _close_preview(description_vector(description), MEANING_THRESHOLD, window, examples, skip=None)


def example_preview(
    *, example: Paper, window: PreviewWindow, examples: int = PREVIEW_EXAMPLES
) -> InterestPreview:
    """The same for a `like:` line: the papers close to the example, the example itself left out."""
    ids, vectors = paper_vectors([example.id])
    if not len(ids):
        return InterestPreview(match_count=0, paper_count=len(window.vectors()[0]), example_titles=[])
    return _close_preview(vectors[0], EXAMPLE_THRESHOLD, window, examples, skip=example.id)


def _close_preview(
    vector: np.ndarray, threshold: float, window: PreviewWindow, examples: int, *, skip: int | None
) -> InterestPreview:
    ids, matrix = window.vectors()
    [(columns, _)] = close_papers(vector[None, :], np.array([threshold], np.float32), matrix, limit=len(ids))
    picked = [paper_id for paper_id in ids[columns].tolist() if paper_id != skip]
    return InterestPreview(
        match_count=len(picked),
        paper_count=len(ids),
        example_titles=[window.titles[paper_id] for paper_id in picked[:examples]],
    )


@lru_cache(maxsize=DESCRIPTIONS_KEPT)
def description_vector(description: str) -> np.ndarray:
    """A description's embedding: someone typing asks again for the text they paused on."""
    return embed_texts([description])[0]


class WindowVectors:
    """The embeddings of a window's papers, loaded on the first preview by meaning (one query)."""

    def __init__(self, paper_ids: list[int]) -> None:
        self._paper_ids = paper_ids
        self._lock = threading.Lock()
        self._loaded: tuple[np.ndarray, np.ndarray] | None = None

    def __call__(self) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            if self._loaded is None:
                self._loaded = paper_vectors(self._paper_ids)
            return self._loaded


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
        vectors=WindowVectors([record.id for record in records]),
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
