"""The search terms behind the search box's pre-filter: what they hold, when they are written, and
that a row without them (or with stale ones) is never filtered out."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from newsletter.matching import PaperRecord, parse_interest
from papers import search
from papers.models import Paper
from papers.search import paper_search, search_candidates
from papers.search_terms import MAX_FORM, SEARCH_TERMS_VERSION, paper_search_terms
from papers.services import papers_ingest, papers_refresh_search_terms
from papers.sources.records import PaperRecord as SourceRecord

TODAY = dt.date(2026, 5, 8)


def test_a_papers_terms_are_the_engines_word_forms():
    record = PaperRecord(
        id=1, title="Self-Supervised LLMs", abstract="Diffusion studies of the world.", authors=["Zoë Ek"]
    )

    terms = set(paper_search_terms(record))

    # Stems and raw forms of the default fields, the compound both ways, acronym plurals.
    for form in (
        "self",
        "supervis",
        "supervised",
        "selfsupervis",
        "llm",
        "diffus",
        "diffusion",
        "studi",
        "of",
    ):
        assert form in terms, form
    # Title words again under the title tag; authors only under theirs.
    assert {"t|self", "t|selfsupervis", "t|llm", "a|zoë", "a|ek"} <= terms
    assert "zoë" not in terms and "t|diffus" not in terms
    # Pairs of neighbours, inside a compound and across it, but none with a function word.
    assert {
        "self>supervis",
        "supervis>llm",
        "selfsupervis>llm",
        "t|supervis>llm",
        "diffus>studi",
        "a|zoë>ek",
    } <= terms
    assert not {"studi>of", "of>the", "the>world"} & terms
    assert "llm>diffus" not in terms  # title and abstract are not side by side
    assert sorted(terms) == paper_search_terms(record)


@pytest.mark.django_db
def test_a_paper_written_without_terms_is_still_found_then_indexed():
    paper = Paper.objects.create(arxiv_id="2605.00001", title="Zyzzyva swarms", abstract="Rare words.")
    assert paper.search_terms_version == ""

    assert [m.paper_id for m in paper_search(line="zyzzyva", today=TODAY).matches] == [paper.id]

    assert papers_refresh_search_terms() == 1
    paper.refresh_from_db()
    assert "zyzzyva" in paper.search_terms
    assert paper.search_terms_version == SEARCH_TERMS_VERSION
    assert [m.paper_id for m in paper_search(line="zyzzyva", today=TODAY).matches] == [paper.id]


@pytest.mark.django_db
def test_a_changed_title_makes_the_terms_stale_until_refreshed():
    def ingest(title: str) -> None:
        papers_ingest(
            records=[SourceRecord(arxiv_id="2605.00002", title=title, source="hf-api")], source="hf-api"
        )

    ingest("Sparse autoencoders")
    papers_refresh_search_terms()
    ingest("Quokka detectors")

    paper = Paper.objects.get(arxiv_id="2605.00002")
    assert paper.search_terms_version == ""  # stale: the old terms must not hide the new title
    assert [m.paper_id for m in paper_search(line="quokka", today=TODAY).matches] == [paper.id]
    papers_refresh_search_terms()
    paper.refresh_from_db()
    assert "quokka" in paper.search_terms and "sparse" not in paper.search_terms


@pytest.mark.django_db
def test_refresh_stops_at_its_limit():
    Paper.objects.bulk_create(Paper(arxiv_id=f"2605.{n:05d}", title=f"Paper {n}") for n in range(5))

    assert papers_refresh_search_terms(limit=3) == 3
    assert Paper.objects.filter(search_terms_version=SEARCH_TERMS_VERSION).count() == 3
    assert papers_refresh_search_terms() == 2


@pytest.mark.django_db
def test_an_overlong_word_is_stored_cut_and_still_found():
    giant = "a" + "b" * 4999
    paper = Paper.objects.create(arxiv_id="2605.00003", title=f"The {giant} sequence", abstract="")
    papers_refresh_search_terms()  # on PostgreSQL a 5,000-letter lexeme would fail the index

    paper.refresh_from_db()
    assert max(len(form) for form in paper.search_terms) == MAX_FORM
    for line in (giant, f"{giant[:300]}*", "abb*"):
        assert [m.paper_id for m in paper_search(line=line, today=TODAY).matches] == [paper.id], line[:10]


@pytest.mark.django_db
def test_the_prefilter_is_answered_by_the_terms_index_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no index for it: it reads the column with LIKE.")
    Paper.objects.create(arxiv_id="2605.00004", title="Gaussian splatting", abstract="")
    papers_refresh_search_terms()

    with search._from_the_index():
        plan = search_candidates(parse_interest('"gaussian splatting" OR agent*').root).explain()

    assert "paper_search_terms_gin" in plan, plan
    assert "Seq Scan" not in plan, plan


@pytest.mark.django_db
def test_an_admin_edit_rewrites_the_terms():
    from django.contrib import admin
    from django.test import RequestFactory

    from papers.admin import PaperAdmin

    paper = Paper.objects.create(arxiv_id="2605.00005", title="Old title")
    papers_refresh_search_terms()
    paper.refresh_from_db()
    paper.title = "Axolotl regeneration"

    PaperAdmin(Paper, admin.site).save_model(RequestFactory().post("/"), paper, form=None, change=True)

    paper.refresh_from_db()
    assert "axolotl" in paper.search_terms and "old" not in paper.search_terms
    assert paper.search_terms_version == SEARCH_TERMS_VERSION


@pytest.mark.django_db(transaction=True)
def test_the_migration_indexes_the_papers_already_there():
    from django.db.migrations.executor import MigrationExecutor

    def migrate_to(targets: list[tuple[str, str]]) -> None:
        executor = MigrationExecutor(connection)
        executor.migrate(targets)

    # Every app's latest, not only papers': going back also unapplies the migrations of other apps
    # that depend on later papers migrations (the newsletter's tables that point at papers).
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    migrate_to([("papers", "0002_paper_search_gin")])
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO papers_paper (arxiv_id, title, abstract, authors, featured_on, upvotes, comment_count,"
                " github_repo, project_page, thumbnail, ai_summary, ai_keywords, categories, sources,"
                " first_seen_at, updated_at) VALUES ('2605.00006', 'Capybara herding', '', %s, NULL, 0, 0,"
                " '', '', '', '', %s, %s, %s, %s, %s)",
                ['["Zoë Ek"]', "[]", "[]", "[]", dt.datetime.now(dt.UTC), dt.datetime.now(dt.UTC)],
            )
    finally:
        migrate_to(latest)

    paper = Paper.objects.get(arxiv_id="2605.00006")
    assert {"capybara", "herd", "a|zoë"} <= set(paper.search_terms)
    assert paper.search_terms_version == SEARCH_TERMS_VERSION
    assert [m.paper_id for m in paper_search(line="capybara", today=TODAY).matches] == [paper.id]
