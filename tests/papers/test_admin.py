"""The Paper and FetchRun admin, as a superuser sees it."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from papers.models import FetchRun, Paper

pytestmark = pytest.mark.django_db

PAPERS = "/admin/papers/paper/"
RUNS = "/admin/papers/fetchrun/"


@pytest.fixture
def papers() -> dict[str, Paper]:
    rows = [
        Paper(
            arxiv_id="2605.00001",
            title="Diffusion for text",
            authors=["Grace Hopper"],
            featured_on=dt.date(2026, 5, 8),
            upvotes=30,
            sources=["hf"],
            categories=["cs.CL"],
            github_repo="https://github.com/a/b",
        ),
        Paper(
            arxiv_id="2605.00002",
            title="Robots that learn",
            authors=["Alan Turing"],
            featured_on=dt.date(2026, 4, 2),
            upvotes=5,
            sources=["hf", "arxiv-rss"],
            categories=["cs.RO"],
        ),
        Paper(
            arxiv_id="2605.00003",
            title="Only on arXiv",
            authors=["Ada Lovelace"],
            published_at=dt.datetime(2026, 5, 9, tzinfo=dt.UTC),
            sources=["arxiv-rss"],
            categories=["cs.AI"],
        ),
    ]
    return {paper.arxiv_id: paper for paper in Paper.objects.bulk_create(rows)}


def listed_ids(html: str) -> list[str]:
    return re.findall(r'<a href="/admin/papers/paper/\d+/change/[^"]*">(\d{4}\.\d{5})</a>', html)


def listed_runs(html: str) -> list[str]:
    return re.findall(r'<td class="field-target">([^<]*)</td>', html)


# --- Paper ----------------------------------------------------------------------------------


def test_paper_changelist_shows_the_columns_in_day_and_upvote_order(admin_client, papers):
    response = admin_client.get(PAPERS)

    html = response.content.decode()
    assert response.status_code == 200
    assert listed_ids(html) == ["2605.00001", "2605.00002", "2605.00003"]
    for column in ("arxiv_id", "short_title", "featured_on", "upvotes", "source_list"):
        assert f'class="sortable column-{column}' in html or f'class="column-{column}' in html
    assert '<td class="field-source_list">hf, arxiv-rss</td>' in html


def test_paper_changelist_sorts_by_upvotes(admin_client, papers):
    html = admin_client.get(PAPERS, {"o": "4"}).content.decode()  # 4th column: upvotes, ascending.

    assert listed_ids(html) == ["2605.00003", "2605.00002", "2605.00001"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [("2605.00002", ["2605.00002"]), ("diffusion", ["2605.00001"]), ("lovelace", ["2605.00003"])],
)
def test_paper_search_by_arxiv_id_title_and_author(admin_client, papers, query, expected):
    html = admin_client.get(PAPERS, {"q": query}).content.decode()

    assert listed_ids(html) == expected


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"source": "arxiv-rss"}, ["2605.00002", "2605.00003"]),
        ({"source": "arxiv-list"}, []),
        ({"source": "hf"}, ["2605.00001", "2605.00002"]),
        ({"category": "cs.CL"}, ["2605.00001"]),
        ({"featured": "no"}, ["2605.00003"]),
        ({"featured": "yes"}, ["2605.00001", "2605.00002"]),
        ({"has_code": "yes"}, ["2605.00001"]),
        ({"featured_on__year": "2026", "featured_on__month": "5"}, ["2605.00001"]),
    ],
)
def test_paper_filters(admin_client, papers, params, expected):
    response = admin_client.get(PAPERS, params)

    assert response.status_code == 200
    assert listed_ids(response.content.decode()) == expected


def test_paper_change_page_renders_with_a_link_to_its_public_page(admin_client, papers):
    paper = papers["2605.00001"]

    response = admin_client.get(f"{PAPERS}{paper.pk}/change/")

    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="title"' in html
    assert "Diffusion for text" in html
    assert '<a href="/papers/2605.00001/" class="viewsitelink">' in html


# --- FetchRun -------------------------------------------------------------------------------


@pytest.fixture
def runs() -> dict[str, FetchRun]:
    started = dt.datetime(2026, 5, 8, 6, 0, tzinfo=dt.UTC)
    rows = [
        FetchRun(
            source="hf",
            target="2026-05-08",
            status=FetchRun.Status.SUCCEEDED,
            started_at=started,
            finished_at=started + dt.timedelta(seconds=3.5),
            fetched_count=37,
            new_count=30,
            updated_count=7,
        ),
        FetchRun(
            source="arxiv-rss",
            target="2026-05-08 cs.AI",
            status=FetchRun.Status.FAILED,
            started_at=started + dt.timedelta(minutes=1),
            finished_at=started + dt.timedelta(minutes=2),
            url="https://rss.arxiv.org/rss/cs.AI",
            error="HTTP 503 from https://rss.arxiv.org/rss/cs.AI\n<html><b>Service Unavailable</b></html>",
        ),
        FetchRun(source="hf", target="2026-05-09", started_at=started + dt.timedelta(days=1)),
    ]
    return {run.target: run for run in FetchRun.objects.bulk_create(rows)}


def test_fetchrun_changelist_shows_runs_newest_first_with_counts(admin_client, runs):
    response = admin_client.get(RUNS)

    html = response.content.decode()
    assert response.status_code == 200
    assert listed_runs(html) == ["2026-05-09", "2026-05-08 cs.AI", "2026-05-08"]
    assert '<td class="field-fetched_count">37</td>' in html
    assert '<td class="field-duration">3.5 s</td>' in html


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status__exact": "failed"}, ["2026-05-08 cs.AI"]),
        ({"status__exact": "running"}, ["2026-05-09"]),
        ({"source__exact": "hf"}, ["2026-05-09", "2026-05-08"]),
        ({"q": "503"}, ["2026-05-08 cs.AI"]),
    ],
)
def test_fetchrun_filters_and_search(admin_client, runs, params, expected):
    response = admin_client.get(RUNS, params)

    assert response.status_code == 200
    assert listed_runs(response.content.decode()) == expected


def test_fetchrun_change_page_shows_the_error_as_escaped_preformatted_text(admin_client, runs):
    run = runs["2026-05-08 cs.AI"]

    response = admin_client.get(f"{RUNS}{run.pk}/change/")

    html = response.content.decode()
    assert response.status_code == 200
    assert (
        '<pre class="fetchrun-error">HTTP 503 from https://rss.arxiv.org/rss/cs.AI\n'
        "&lt;html&gt;&lt;b&gt;Service Unavailable&lt;/b&gt;&lt;/html&gt;</pre>"
    ) in html
    assert "<b>Service Unavailable</b>" not in html
    assert "css/papers-admin.css" in html


def test_fetchrun_is_read_only(admin_client, runs):
    run = runs["2026-05-08"]

    html = admin_client.get(f"{RUNS}{run.pk}/change/").content.decode()
    post = admin_client.post(f"{RUNS}{run.pk}/change/", {"source": "changed", "status": "failed"})

    assert not re.search(r'<(input|textarea|select)[^>]*name="(source|target|status|error)"', html)
    assert 'name="_save"' not in html
    assert post.status_code == 403
    run.refresh_from_db()
    assert (run.source, run.status) == ("hf", "succeeded")
    assert admin_client.get(f"{RUNS}add/").status_code == 403
