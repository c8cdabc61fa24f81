"""similar_papers on real embeddings of corpus papers, and the paper page's "Similar papers"."""

from __future__ import annotations

import numpy as np
import pytest

from papers.embeddings import similar
from papers.embeddings.similar import similar_papers
from papers.embeddings.store import papers_embed_stale
from papers.models import Paper, PaperEmbedding
from tests.papers.embeddings.corpus import SIMILAR_PAIRS, corpus_papers, embedded_pair_papers

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair_papers() -> dict[str, Paper]:
    return embedded_pair_papers()


def test_the_most_similar_paper_is_the_one_on_the_same_topic(pair_papers):
    for first, second in SIMILAR_PAIRS:
        result = similar_papers(pair_papers[first], limit=3)

        assert result[0][0] == pair_papers[second]
        assert pair_papers[first] not in [paper for paper, _ in result]
        scores = [score for _, score in result]
        assert scores == sorted(scores, reverse=True)
        assert all(score >= similar.MIN_SIMILARITY for score in scores)


def test_a_limit_bounds_the_list_and_unrelated_papers_are_left_out(pair_papers):
    first = SIMILAR_PAIRS[0][0]
    everything = similar_papers(pair_papers[first], limit=100)

    # Nine other papers, but only those close enough: the other topics mostly score below the cut.
    assert 1 <= len(everything) < 9
    assert similar_papers(pair_papers[first], limit=1) == everything[:1]
    assert similar_papers(pair_papers[first], limit=0) == []


def test_a_paper_without_a_vector_has_no_similar_papers(pair_papers):
    lonely = Paper.objects.create(arxiv_id="2605.09999", title="Not embedded yet")
    assert similar_papers(lonely) == []


def test_a_newly_embedded_paper_shows_up_without_a_restart(pair_papers):
    first, _ = SIMILAR_PAIRS[1]
    before = similar_papers(pair_papers[first], limit=1)
    corpus = corpus_papers()[first]
    twin = Paper.objects.create(
        arxiv_id="2605.09998", title=corpus["title"] + " (revised)", abstract=corpus["abstract"]
    )
    papers_embed_stale()

    (best, score), *_ = similar_papers(pair_papers[first], limit=1)

    assert before[0][0] != twin
    assert best == twin
    assert score > 0.95


def test_only_the_most_recent_papers_are_compared(pair_papers, monkeypatch):
    """The window that bounds the cost: papers added before the last SIMILAR_WINDOW are not read."""
    monkeypatch.setattr(similar, "SIMILAR_WINDOW", 4)
    monkeypatch.setattr(similar, "_window", None)
    first = SIMILAR_PAIRS[0][0]  # the oldest paper (id 1), its partner id 2

    assert similar_papers(pair_papers[first]) == []
    # The newest paper's partner (the ninth paper) is inside the window.
    newest_first, newest_second = SIMILAR_PAIRS[-1]
    assert similar_papers(pair_papers[newest_first])[0][0] == pair_papers[newest_second]
    window = similar._window
    assert window is not None and len(window.ids) == 4
    assert (
        window.ids.tolist()
        == sorted(PaperEmbedding.objects.values_list("paper_id", flat=True), reverse=True)[:4]
    )
    assert window.matrix.dtype == np.float32


def test_the_paper_page_lists_similar_papers_and_links_to_signup_with_like(client, pair_papers):
    first, second = SIMILAR_PAIRS[0]
    paper, partner = pair_papers[first], pair_papers[second]

    html = client.get(f"/papers/{paper.arxiv_id}/").content.decode()

    assert '<h2 id="similar-heading">Similar papers</h2>' in html
    section = html.split('id="similar-heading"')[1].split("</section>")[0]
    assert f'<li><a href="/papers/{partner.arxiv_id}/">{partner.title}</a>' in section
    assert f"/papers/{paper.arxiv_id}/" not in section
    assert (
        f'<a class="button" href="/?interests=like%3A{paper.arxiv_id}">Get papers like this by email</a>'
        in section
    )


def test_a_paper_page_without_similar_papers_says_so_and_still_offers_the_link(client):
    paper = Paper.objects.create(arxiv_id="2605.00042", title="Alone")

    html = client.get(f"/papers/{paper.arxiv_id}/").content.decode()

    assert "None yet: papers close in meaning to this one appear here once they are in." in html
    assert '<a class="button" href="/?interests=like%3A2605.00042">Get papers like this by email</a>' in html
