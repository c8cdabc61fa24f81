"""The papers pages: a day, a week or a month of papers, search results, an author, and one paper."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from urllib.parse import urlencode

from django.core.paginator import InvalidPage, Page, Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from newsletter.matching import InterestSyntaxError
from papers import selectors
from papers.embeddings import similar_papers
from papers.periods import BadPeriodError, Kind, Period, parse_month, parse_week, period_of
from papers.search import paper_search
from papers.sources.errors import InvalidArxivId
from papers.sources.records import normalize_arxiv_id

DAY_PAGE_SIZE = 100  # A Hugging Face day has ~50 papers; arXiv-only days can have hundreds.
PERIOD_PAGE_SIZE = 100
SEARCH_PAGE_SIZE = 30
AUTHOR_PAGE_SIZE = 30
# Longer than any interest a person types; the signup form takes no longer ones either.
SEARCH_MAX_LENGTH = 500
SIMILAR_PAPERS_SHOWN = 6  # as many as Hugging Face's paper pages show
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


# --- One day --------------------------------------------------------------------------------------


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
        "periods": _period_links(anchor=day, current="day"),
    }
    return render(request, "papers/day.html", context)


def _parse_date(raw: str) -> dt.date | None:
    if not ISO_DATE.match(raw):
        return None
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:  # Well-formed but impossible, like 2026-02-30.
        return None
    return day if EARLIEST_DAY <= day <= LATEST_DAY else None


# --- A week or a month ----------------------------------------------------------------------------


def paper_week(request: HttpRequest, week: str) -> HttpResponse:
    return _period(request, text=week, parse=parse_week)


def paper_month(request: HttpRequest, month: str) -> HttpResponse:
    return _period(request, text=month, parse=parse_month)


def paper_latest_week(request: HttpRequest) -> HttpResponse:
    return _latest_period(request, kind="week")


def paper_latest_month(request: HttpRequest) -> HttpResponse:
    return _latest_period(request, kind="month")


def _latest_period(request: HttpRequest, *, kind: Kind) -> HttpResponse:
    day = selectors.paper_latest_featured_day() or timezone.localdate()
    return redirect(f"papers:{kind}", period_of(kind, day).slug)


def _period(request: HttpRequest, *, text: str, parse: Callable[[str], Period]) -> HttpResponse:
    try:
        period = parse(text)
    except BadPeriodError as error:
        return _problem(request, title="No such period", message=str(error), status=404)
    try:
        page = _page(
            request, selectors.papers_trending(start=period.start, end=period.end), size=PERIOD_PAGE_SIZE
        )
    except BadPageError as error:
        return _problem(request, title="No such page", message=str(error), status=404)
    before = selectors.paper_featured_before(day=period.start)
    after = selectors.paper_featured_after(day=period.end)
    # The day the Day and Week/Month tabs lead to: the period's last featured day, if any.
    anchor = selectors.paper_latest_featured_day(on_or_before=period.end)
    anchor = anchor if anchor and period.contains(anchor) else period.start
    context = {
        "period": period,
        "previous_period": period_of(period.kind, before) if before else None,
        "next_period": period_of(period.kind, after) if after else None,
        "page_obj": page,
        "periods": _period_links(anchor=anchor, current=period.kind),
    }
    return render(request, "papers/period.html", context)


def _period_links(*, anchor: dt.date, current: str) -> list[dict[str, str | bool]]:
    """The Day / Week / Month tabs, each showing the period around `anchor`."""
    day_url = f"{reverse('papers:list')}?date={anchor.isoformat()}"
    week_url = reverse("papers:week", args=[period_of("week", anchor).slug])
    month_url = reverse("papers:month", args=[period_of("month", anchor).slug])
    return [
        {"label": label, "url": url, "current": kind == current}
        for kind, label, url in (
            ("day", "Day", day_url),
            ("week", "Week", week_url),
            ("month", "Month", month_url),
        )
    ]


# --- Search ---------------------------------------------------------------------------------------


def _search(request: HttpRequest, *, query: str) -> HttpResponse:
    arxiv_id = _arxiv_id(query)
    if arxiv_id and selectors.paper_get(arxiv_id=arxiv_id):
        return redirect("papers:detail", arxiv_id=arxiv_id)
    if len(query) > SEARCH_MAX_LENGTH:
        message = f"The search is {len(query)} characters long; keep it under {SEARCH_MAX_LENGTH}."
        return _problem(request, title="Search too long", message=message, status=400)
    try:
        number = _page_number(request)
        # One more than the page shows: it says whether there is a next page.
        result = paper_search(line=query, today=timezone.localdate(), limit=number * SEARCH_PAGE_SIZE + 1)
    except InterestSyntaxError as error:
        return _search_error(request, query=query, error=error)
    except BadPageError as error:
        return _problem(request, title="No such page", message=str(error), status=404, query=query)
    start = (number - 1) * SEARCH_PAGE_SIZE
    shown = result.matches[start : start + SEARCH_PAGE_SIZE]
    if number > 1 and not shown:
        message = f"There is no page “{number}” of these results."
        return _problem(request, title="No such page", message=message, status=404, query=query)
    papers = selectors.papers_in_order(ids=[match.paper_id for match in shown])
    terms = {match.paper_id: _distinct_words(match.terms) for match in shown}
    context = {
        "query": query,
        "results": [{"paper": paper, "terms": terms[paper.pk]} for paper in papers],
        "pager": {
            "number": number,
            "start_index": start + 1,
            "has_next": len(result.matches) > number * SEARCH_PAGE_SIZE,
            # Known only when every candidate was matched; otherwise the search stopped early.
            "total": result.total,
            "shown_until": start + len(shown),
        },
        "unknown_arxiv_id": arxiv_id,
        "signup_url": signup_url(interest=query),
        "feed_url": feed_url(query=query),
    }
    return render(request, "papers/search.html", context)


def _page_number(request: HttpRequest) -> int:
    raw = request.GET.get("page", "1")
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 6 and int(raw) >= 1):
        raise BadPageError(f"There is no page “{raw}” of these results.")
    return int(raw)


def _distinct_words(words: list[str]) -> list[str]:
    """The matched words as written, once each whatever their case (`Diffusion`, `diffusion`)."""
    first_spelling: dict[str, str] = {}
    for word in words:
        first_spelling.setdefault(word.casefold(), word)
    return list(first_spelling.values())


def _arxiv_id(query: str) -> str | None:
    try:
        return normalize_arxiv_id(query)
    except InvalidArxivId:
        return None


def _search_error(request: HttpRequest, *, query: str, error: InterestSyntaxError) -> HttpResponse:
    context = {
        "query": query,
        "error": error,
        "before": query[: error.position],
        "at": query[error.position : error.position + 1],
        "after": query[error.position + 1 :],
    }
    return render(request, "papers/search_error.html", context, status=400)


def signup_url(*, interest: str) -> str:
    """The signup form with `interest` filled in (the form reads its `interests` parameter)."""
    return f"{reverse('newsletter:signup')}?{urlencode({'interests': interest})}"


def feed_url(*, query: str = "") -> str:
    url = reverse("papers:feed")
    return f"{url}?{urlencode({'q': query})}" if query else url


# --- An author ------------------------------------------------------------------------------------


def paper_author(request: HttpRequest, name: str) -> HttpResponse:
    if "\x00" in name:  # PostgreSQL cannot compare text with NUL; no author has one
        return _problem(
            request, title="Author not found", message="That is not an author's name.", status=404
        )
    try:
        page = _page(request, selectors.papers_by_author(name=name), size=AUTHOR_PAGE_SIZE)
    except BadPageError as error:
        return _problem(request, title="No such page", message=str(error), status=404)
    if not page.paginator.count:
        message = f"No paper here lists “{name}” among its authors. Names must match as written on the paper."
        return _problem(request, title="Author not found", message=message, status=404)
    # The interest that follows this author: a phrase, unless the name holds a quote it cannot.
    interest = "" if '"' in name else f'author:"{name}"'
    context = {
        "name": name,
        "page_obj": page,
        "interest": interest,
        "signup_url": signup_url(interest=interest) if interest else "",
        "feed_url": feed_url(query=interest) if interest else "",
    }
    return render(request, "papers/author.html", context)


# --- One paper ------------------------------------------------------------------------------------


def paper_detail(request: HttpRequest, arxiv_id: str, version: str | None = None) -> HttpResponse:
    if version:
        # 2401.12345v2 and 2401.12345 are one paper here: one URL per paper.
        return redirect("papers:detail", arxiv_id=arxiv_id, permanent=True)
    paper = selectors.paper_get(arxiv_id=arxiv_id)
    if paper is None:
        message = f"There is no paper {arxiv_id} here yet. It may not have been featured or fetched."
        return _problem(request, title="Paper not found", message=message, status=404)
    day = paper.news_day
    context = {
        "paper": paper,
        "day": day,
        "week": period_of("week", paper.featured_on) if paper.featured_on else None,
        "similar": [
            {"paper": other, "similarity": score}
            for other, score in similar_papers(paper, limit=SIMILAR_PAPERS_SHOWN)
        ],
        "like_url": signup_url(interest=f"like:{paper.arxiv_id}"),
    }
    return render(request, "papers/detail.html", context)


# --- Shared ---------------------------------------------------------------------------------------


def _page(request: HttpRequest, papers: Sequence, *, size: int) -> Page:
    raw_number = request.GET.get("page", "1")
    try:
        return Paginator(papers, size).page(raw_number)
    except InvalidPage:
        raise BadPageError(f"There is no page “{raw_number}” of these results.") from None


def _problem(request: HttpRequest, *, title: str, message: str, status: int, query: str = "") -> HttpResponse:
    context = {"title": title, "message": message, "query": query}
    return render(request, "papers/problem.html", context, status=status)
