"""The search box's `~ description` and `like:ARXIV_ID` lines, on real embeddings of corpus papers."""

from __future__ import annotations

import datetime as dt

import pytest

from newsletter.matching.meaning import EXAMPLE_THRESHOLD, MEANING_THRESHOLD
from newsletter.matching.records import Source
from papers.models import Paper
from papers.search import paper_search
from tests.papers.embeddings.corpus import SIMILAR_PAIRS, embedded_pair_papers

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 6, 1)


@pytest.fixture
def pair_papers() -> dict[str, Paper]:
    return embedded_pair_papers()


def test_a_description_finds_the_papers_on_its_topic_best_first(pair_papers):
    result = paper_search(line="~ speculative decoding to make LLM generation faster", today=TODAY)

    found = [match.paper_id for match in result.matches]
    speculative = {pair_papers[paper_id].pk for paper_id in SIMILAR_PAIRS[0]}
    assert set(found[:2]) == speculative
    assert pair_papers["seed-0383"].pk not in found  # speech synthesis is another topic
    assert all(
        match.score >= MEANING_THRESHOLD and match.source is Source.MEANING for match in result.matches
    )
    assert [match.score for match in result.matches] == sorted(
        (m.score for m in result.matches), reverse=True
    )
    assert result.total == len(found) and result.candidates == len(pair_papers)


def test_like_finds_the_papers_close_to_that_paper_but_not_itself(pair_papers):
    example, partner = SIMILAR_PAIRS[1]
    result = paper_search(line=f"like:{pair_papers[example].arxiv_id}", today=TODAY, limit=1)

    assert [match.paper_id for match in result.matches] == [pair_papers[partner].pk]
    assert result.matches[0].score >= EXAMPLE_THRESHOLD
    assert result.matches[0].liked_paper_id == pair_papers[example].pk


def test_the_search_page_lists_meaning_results_and_offers_them_by_email(client, pair_papers):
    response = client.get("/papers/", {"q": "~ sparse autoencoders for interpretability"})

    assert response.status_code == 200
    page = response.content.decode()
    assert pair_papers["seed-0413"].title in page
    assert pair_papers["seed-0383"].title not in page
    assert "interests=~+sparse+autoencoders+for+interpretability" in page


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("like:2605.99999", "there is no paper 2605.99999 on Paperbox yet"),
        ("like:not-an-id", "is not an arXiv id"),
        ("~", "a description is needed"),
    ],
)
def test_a_bad_meaning_line_gets_a_clear_error(client, pair_papers, query, says):
    response = client.get("/papers/", {"q": query})

    assert response.status_code == 400
    assert says.lower() in response.content.decode().lower()


def test_a_paper_waiting_for_its_vector_says_so(client):
    Paper.objects.create(arxiv_id="2605.07777", title="Not embedded yet")

    response = client.get("/papers/", {"q": "like:2605.07777"})

    assert response.status_code == 400
    assert "not indexed by meaning yet" in response.content.decode()
