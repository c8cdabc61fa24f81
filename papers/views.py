"""The papers pages: one day's papers, search results, and one paper."""

from __future__ import annotations

import datetime as dt
import re

from django.core.paginator import InvalidPage, Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from papers import selectors
from papers.models import Paper

DAY_PAGE_SIZE = 100  # A Hugging Face day has ~50 papers; arXiv-only days can have hundreds.
SEARCH_PAGE_SIZE = 30
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# The day after the last one must still be a date (the next-day query needs it).
EARLIEST_DAY, LATEST_DAY = dt.date(1900, 1, 1), dt.date.max - dt.timedelta(days=1)


class BadPageError(Exception):
    """The `page` parameter is not a page number of the results."""


def paper_list(request: HttpRequest) -> HttpResponse:
    # NUL cannot reach PostgreSQL (it would be a 500), and no one means to search for it.
    query = request.GET.get("q", "").replace("\x00", "").strip()
    if query:
        return _search(request, query=query)
    return _day(request)


def _day(request: HttpRequest) -> HttpResponse:
    latest = selectors.paper_latest_day()
    if latest is None:
        return render(request, "papers/empty.html")
    raw_date = request.GET.get("date", "").strip()
    day = _parse_date(raw_date) if raw_date else latest
    if day is None:
        message = f"“{raw_date}” is not a date. Pick a day with the date picker, or use YYYY-MM-DD."
        return _problem(request, title="That is not a date", message=message, status=400)
    try:
        page = _page(request, selectors.paper_list_for_day(day=day), size=DAY_PAGE_SIZE)
    except BadPageError as error:
        return _problem(request, title="No such page", message=str(error), status=404)
    context = {
        "day": day,
        "latest_day": latest,
        "previous_day": selectors.paper_previous_day(day=day),
        "next_day": selectors.paper_next_day(day=day),
        "page_obj": page,
    }
    return render(request, "papers/day.html", context)


def _search(request: HttpRequest, *, query: str) -> HttpResponse:
    try:
        page = _page(request, selectors.paper_search(query=query), size=SEARCH_PAGE_SIZE)
    except BadPageError as error:
        return _problem(request, title="No such page", message=str(error), status=404, query=query)
    return render(request, "papers/search.html", {"query": query, "page_obj": page})


def paper_detail(request: HttpRequest, arxiv_id: str, version: str | None = None) -> HttpResponse:
    if version:
        # 2401.12345v2 and 2401.12345 are one paper here: one URL per paper.
        return redirect("papers:detail", arxiv_id=arxiv_id, permanent=True)
    paper = selectors.paper_get(arxiv_id=arxiv_id)
    if paper is None:
        message = f"There is no paper {arxiv_id} here yet. It may not have been featured or fetched."
        return _problem(request, title="Paper not found", message=message, status=404)
    return render(request, "papers/detail.html", {"paper": paper, "day": paper.news_day})


def _parse_date(raw: str) -> dt.date | None:
    if not ISO_DATE.match(raw):
        return None
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:  # Well-formed but impossible, like 2026-02-30.
        return None
    return day if EARLIEST_DAY <= day <= LATEST_DAY else None


def _page(request: HttpRequest, papers: QuerySet[Paper], *, size: int) -> Page:
    raw_number = request.GET.get("page", "1")
    try:
        return Paginator(papers, size).page(raw_number)
    except InvalidPage:
        raise BadPageError(f"There is no page “{raw_number}” of these results.") from None


def _problem(request: HttpRequest, *, title: str, message: str, status: int, query: str = "") -> HttpResponse:
    context = {"title": title, "message": message, "query": query}
    return render(request, "papers/problem.html", context, status=status)
