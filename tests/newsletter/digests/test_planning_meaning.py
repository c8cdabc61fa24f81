"""Digests picked by meaning: `~ description` and `like:` lines through the planner, with the real
embedding model on real corpus papers, fused with keyword lines; judged against the relevance set."""

from __future__ import annotations

from datetime import timedelta

import pytest

from newsletter.digests.planning import digests_compute
from newsletter.digests.rendering import DigestRenderer
from newsletter.digests.runs import digests_plan
from newsletter.digests.selectors import digest_views
from newsletter.models import Digest, DigestItem, Interest
from newsletter.subscriptions.services import interest_details
from papers.models import Paper
from tests.newsletter.digests.test_planning import NOW, make_subscriber
from tests.newsletter.relevance_data import make_embedded_papers, profile, relevant_arxiv_ids

pytestmark = pytest.mark.django_db

SPLATTING = "~ " + profile("gaussian-splatting")["descriptions"][0]


@pytest.fixture(scope="module")
def papers(django_db_setup, django_db_blocker):
    """The corpus's first 120 papers (the Gaussian splatting ones among them), embedded once."""
    with django_db_blocker.unblock():
        papers = make_embedded_papers(limit=120, first_seen_at=NOW - timedelta(hours=5))
    yield papers
    with django_db_blocker.unblock():
        Paper.objects.all().delete()


def reader(email: str, lines: list[str], *, papers_per_digest: int = 5):
    subscriber = make_subscriber(
        email, interests=[], time_zone="UTC", send_hour=6, papers_per_digest=papers_per_digest
    )
    Interest.objects.bulk_create(
        Interest(subscriber=subscriber, text=text, canonical=text, position=position, **fields)
        for position, (text, fields) in enumerate(zip(lines, interest_details(texts=lines), strict=True))
    )
    return subscriber


def picked(subscriber) -> list[DigestItem]:
    return list(DigestItem.objects.filter(subscriber=subscriber).select_related("paper").order_by("rank"))


def test_a_description_picks_papers_close_to_it(papers):
    subscriber = reader("meaning@example.com", [SPLATTING])

    digests_plan(now=NOW)

    items = picked(subscriber)
    assert items and {item.source for item in items} == {"meaning"}
    assert all(item.matched_interests == [SPLATTING] for item in items)
    relevant = relevant_arxiv_ids("gaussian-splatting")
    hits = [item.paper.arxiv_id in relevant for item in items]
    assert sum(hits) >= 4, [item.paper.title for item in items]


def test_an_example_picks_papers_like_it_and_never_itself(papers):
    example = papers["2611.00053"]
    subscriber = reader("like@example.com", ["like:2611.00053"])

    digests_plan(now=NOW)

    items = picked(subscriber)
    assert items and example.id not in {item.paper_id for item in items}
    assert {(item.source, item.liked_paper_id) for item in items} == {("example", example.id)}
    relevant = relevant_arxiv_ids("gaussian-splatting")
    assert sum(item.paper.arxiv_id in relevant for item in items) >= 3, [item.paper.title for item in items]


def test_keyword_and_meaning_picks_are_fused_and_each_says_why(papers):
    both = reader("both@example.com", ['"gaussian splatting"', SPLATTING], papers_per_digest=8)
    words = reader("words@example.com", ['"gaussian splatting"'], papers_per_digest=8)

    digests_plan(now=NOW)

    fused, keyword = picked(both), picked(words)
    assert {item.source for item in keyword} == {"keyword"}
    # Papers both lines picked rank first: reciprocal ranks add up.
    first = fused[0]
    assert first.matched_interests == ['"gaussian splatting"', SPLATTING]
    scores = [item.score for item in fused]
    assert scores == sorted(scores, reverse=True)

    view = digest_views(digest_ids=[Digest.objects.get(subscriber=both).id])[0]
    text = DigestRenderer().render(view).text
    assert "also close to your description" in text
    assert "Matched: " in text


def test_the_example_line_is_explained_with_the_paper_title(papers):
    subscriber = reader("like@example.com", ["like:2611.00053"], papers_per_digest=2)
    digests_plan(now=NOW)
    view = digest_views(digest_ids=[Digest.objects.get(subscriber=subscriber).id])[0]
    title = " ".join(papers["2611.00053"].title.split())
    assert DigestRenderer().render(view).text.count(f"Like “{title}”") == 2


def test_a_paper_already_sent_is_not_picked_again_by_meaning(papers):
    subscriber = reader("meaning@example.com", [SPLATTING])
    digests_plan(now=NOW)
    first = {item.paper_id for item in picked(subscriber)}
    Paper.objects.update(first_seen_at=NOW + timedelta(hours=20))  # the same papers, new again

    digests_plan(now=NOW + timedelta(days=1))

    second = Digest.objects.get(subscriber=subscriber, edition="2026-11-22")
    assert second.paper_count and first.isdisjoint(second.items.values_list("paper_id", flat=True))


def test_ratings_change_a_real_digest_through_the_taste_model(papers):
    """Liked splatting papers, disliked LLM ones: the taste adds papers like the liked ones ("because
    you liked"), and a rated paper is never picked again."""
    from newsletter.feedback.models import Rating, TasteModel
    from newsletter.feedback.training import taste_train

    subscriber = reader("taste@example.com", ["model"], papers_per_digest=10)
    [planned] = digests_compute(now=NOW)  # a dry run: writes nothing
    before = [match.paper_id for match in planned.matches]
    liked = [papers[arxiv_id] for arxiv_id in ("2611.00050", "2611.00058", "2611.00061")]
    disliked = [papers["2611.00001"], papers["2611.00002"]]
    for paper in liked:
        Rating.objects.create(subscriber=subscriber, paper=paper, value=1)
    for paper in disliked:
        Rating.objects.create(subscriber=subscriber, paper=paper, value=-1)
    taste_train(subscriber_id=subscriber.id)
    assert TasteModel.objects.filter(subscriber=subscriber).exists()

    digests_plan(now=NOW)

    after = picked(subscriber)

    assert [item.paper_id for item in after] != before
    rated = {paper.id for paper in liked + disliked}
    assert rated.isdisjoint(item.paper_id for item in after)
    by_taste = [item for item in after if item.source == "taste"]
    assert by_taste and {item.liked_paper_id for item in by_taste} <= {paper.id for paper in liked}
    relevant = relevant_arxiv_ids("gaussian-splatting") | relevant_arxiv_ids("3d-generation")
    assert sum(item.paper.arxiv_id in relevant for item in by_taste) >= len(by_taste) // 2 + 1
    view = digest_views(digest_ids=[Digest.objects.get(subscriber=subscriber).id])[0]
    assert "Because you liked “" in DigestRenderer().render(view).text
