"""Live interest preview: how many of the last 30 days' papers an interest would have matched."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Max
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from newsletter.client_address import client_address
from newsletter.matching import InterestSyntaxError, PaperRecord, match_papers, parse_interest
from newsletter.models import MAX_INTEREST_LENGTH
from newsletter.paper_records import paper_records_since
from newsletter.subscriptions.ratelimit import rate_limit_hit
from papers.models import Paper

PREVIEW_DAYS = 30
PREVIEW_LIMIT_PER_IP = (40, 60)


@require_GET
def interest_preview_view(request: HttpRequest) -> JsonResponse:
    text = request.GET.get("q", "").strip()
    if not text:
        return JsonResponse({"error": "Type an interest to preview it."}, status=400)
    if len(text) > MAX_INTEREST_LENGTH:
        return JsonResponse(
            {"error": f"An interest has at most {MAX_INTEREST_LENGTH} characters."}, status=400
        )
    if rate_limit_hit(
        scope="preview:ip", ident=client_address(request) or "unknown", limit=PREVIEW_LIMIT_PER_IP
    ):
        return JsonResponse({"error": "Too many previews; wait a minute."}, status=429)
    try:
        parse_interest(text)
    except InterestSyntaxError as error:
        return JsonResponse({"error": str(error), "position": error.position}, status=400)
    preview = interest_preview(text=text, papers=recent_papers())
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


def interest_preview(*, text: str, papers: Iterable[PaperRecord], examples: int = 3) -> InterestPreview:
    """How many of `papers` one interest would have matched, with the titles of the best few."""
    records = list(papers)
    matches = match_papers([text], records, today=timezone.localdate())
    titles_by_id = {record.id: record.title for record in records}
    return InterestPreview(
        match_count=len(matches),
        paper_count=len(records),
        example_titles=[titles_by_id[match.paper_id] for match in matches[:examples]],
    )


class RecentPapersMemo:
    """The last 30 days' papers as records, reloaded whenever the papers table changed.

    Every request checks the table's (count, last update) first, so a process never serves a
    stale set after new papers arrive, whichever worker ingested them.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version: tuple | None = None
        self._records: list[PaperRecord] = []

    def get(self) -> list[PaperRecord]:
        state = Paper.objects.aggregate(
            n=Count("id"),
            last_update=Max("updated_at"),
            last_day=Max("featured_on"),
            last_published=Max("published_at"),
        )
        version = tuple(state.values())
        with self._lock:
            if version != self._version:
                self._records = paper_records_since(
                    since=window_start(state["last_day"], state["last_published"])
                )
                self._version = version
            return self._records


def window_start(last_day: dt.date | None, last_published: dt.datetime | None) -> dt.date:
    """Thirty days back from the newest paper: today in a live service, and still useful on old data."""
    newest = max(
        [day for day in (last_day, last_published and last_published.date()) if day] or [timezone.localdate()]
    )
    return newest - dt.timedelta(days=PREVIEW_DAYS)


recent_papers = RecentPapersMemo().get
