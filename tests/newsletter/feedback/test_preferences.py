from __future__ import annotations

import json

from bs4 import BeautifulSoup
from django.urls import reverse

from newsletter.feedback.models import Rating, TasteModel
from newsletter.models import Subscriber
from newsletter.subscriptions import tokens
from tests.newsletter.feedback.digests import less_path, more_path, planned_digest


def rated_digest(client):
    """A digest whose first paper the reader liked and whose second they disliked, in that order."""
    digest = planned_digest()
    first, second = [item.paper for item in digest.items.order_by("rank")[:2]]
    client.post(more_path(digest, first.id))
    client.post(less_path(digest, second.id))
    return digest, first, second


def preferences(subscriber) -> str:
    return tokens.preferences_path(subscriber)


def listed(client, subscriber) -> list[tuple[str, str]]:
    soup = BeautifulSoup(client.get(preferences(subscriber)).content, "lxml")
    return [
        (li.select_one(".rating-direction").text, li.a.text)
        for li in soup.select("#ratings-heading ~ ul.ratings li")
    ]


def test_the_preferences_page_lists_each_rating_latest_first_with_its_title(client, db):
    digest, first, second = rated_digest(client)

    assert listed(client, digest.subscriber) == [
        ("Less like this:", " ".join(second.title.split())),
        ("More like this:", " ".join(first.title.split())),
    ]
    soup = BeautifulSoup(client.get(preferences(digest.subscriber)).content, "lxml")
    links = [a["href"] for a in soup.select("ul.ratings a")]
    assert links == [f"/papers/{second.arxiv_id}/", f"/papers/{first.arxiv_id}/"]


def test_undo_on_the_preferences_page_removes_that_rating_only(client, db):
    digest, first, second = rated_digest(client)
    token = preferences(digest.subscriber).split("/")[2]

    response = client.post(reverse("newsletter:preferences_rating_undo", args=[token, second.id]))

    assert response.status_code == 302 and response["Location"] == preferences(digest.subscriber)
    assert list(Rating.objects.values_list("paper_id", flat=True)) == [first.id]
    assert listed(client, digest.subscriber) == [("More like this:", " ".join(first.title.split()))]


def test_reset_removes_every_rating_and_the_taste_model_and_the_page_says_how_ratings_come(client, db):
    digest, _, _ = rated_digest(client)
    token = preferences(digest.subscriber).split("/")[2]
    assert client.get(reverse("newsletter:ratings_reset", args=[token])).status_code == 405

    TasteModel.objects.create(
        subscriber=digest.subscriber, weights=bytes(16), bias=0.0, ratings_count=2, fingerprint="f", model="m"
    )

    client.post(reverse("newsletter:ratings_reset", args=[token]))

    assert not Rating.objects.exists() and not TasteModel.objects.exists()
    page = client.get(preferences(digest.subscriber)).content.decode()
    assert "Each paper in your digests has “More like this” and “Less like this” links" in page


def test_ratings_are_in_the_data_export_and_gone_after_erasure(client, db):
    digest, first, second = rated_digest(client)
    token = preferences(digest.subscriber).split("/")[2]

    data = json.loads(client.post(reverse("newsletter:export", args=[token])).content)

    assert [(r["arxiv_id"], r["rating"]) for r in data["ratings"]] == [
        (second.arxiv_id, "Less like this"),
        (first.arxiv_id, "More like this"),
    ]
    TasteModel.objects.create(
        subscriber=digest.subscriber, weights=bytes(16), bias=0.0, ratings_count=2, fingerprint="f", model="m"
    )
    client.post(reverse("newsletter:erase", args=[token]))
    assert not Subscriber.objects.exists()
    assert not Rating.objects.exists() and not TasteModel.objects.exists()
