from __future__ import annotations

from datetime import timedelta

import time_machine
from bs4 import BeautifulSoup
from django.utils import timezone

from newsletter.feedback.models import Rating
from newsletter.feedback.services import RATING_LIMIT_PER_SUBSCRIBER
from newsletter.models import Subscriber
from newsletter.subscriptions import tokens
from papers.models import Paper
from tests.newsletter.feedback.digests import less_path, more_path, planned_digest, undo_path


def first_paper(digest) -> Paper:
    return digest.items.order_by("rank").first().paper


def forms(response) -> list[tuple[str, str]]:
    soup = BeautifulSoup(response.content, "lxml")
    return [(form["action"], form.find("button").text.strip()) for form in soup.find_all("form")]


def test_opening_a_link_shows_the_paper_and_a_button_and_records_nothing(client, db):
    digest = planned_digest()
    paper = first_paper(digest)
    path = more_path(digest, paper.id)

    response = client.get(path)

    assert response.status_code == 200
    soup = BeautifulSoup(response.content, "lxml")
    assert soup.h1.text == "More like this?"
    assert soup.select_one(".rated-title").text == " ".join(paper.title.split())
    assert forms(response) == [(path, "Yes, more like this")]
    assert response["Cache-Control"] == "no-store" and response["Referrer-Policy"] == "no-referrer"
    assert not Rating.objects.exists()


def test_the_button_records_the_rating_and_offers_an_undo(client, db):
    digest = planned_digest()
    paper = first_paper(digest)
    path = less_path(digest, paper.id)

    response = client.post(path)

    assert response.status_code == 200
    assert BeautifulSoup(response.content, "lxml").h1.text == "Recorded: less like this"
    assert forms(response) == [(undo_path(path), "Undo")]
    rating = Rating.objects.get()
    assert (rating.subscriber_id, rating.paper_id, rating.value, rating.digest_id) == (
        digest.subscriber_id,
        paper.id,
        Rating.Direction.LESS,
        digest.id,
    )
    # Opening the link again shows what is recorded, with the same undo.
    assert forms(client.get(path)) == [(undo_path(path), "Undo")]


def test_recording_twice_keeps_one_rating_and_the_other_link_changes_it(client, db):
    digest = planned_digest()
    paper = first_paper(digest)
    with time_machine.travel(timezone.now(), tick=False):
        client.post(more_path(digest, paper.id))
        client.post(more_path(digest, paper.id))
        first = Rating.objects.get()
    assert first.value == Rating.Direction.MORE

    with time_machine.travel(timezone.now() + timedelta(minutes=5), tick=False):
        response = client.get(less_path(digest, paper.id))
        assert "This replaces your earlier “more like this”" in response.content.decode()
        client.post(less_path(digest, paper.id))

    changed = Rating.objects.get()
    assert changed.value == Rating.Direction.LESS
    assert changed.created_at == first.created_at and changed.updated_at > first.updated_at


def test_undo_forgets_the_rating_and_offers_both_buttons(client, db):
    digest = planned_digest()
    paper = first_paper(digest)
    # Frozen: a link signed a second later has another text, and the buttons' links are compared as text.
    with time_machine.travel(timezone.now(), tick=False):
        path, less = more_path(digest, paper.id), less_path(digest, paper.id)
        client.post(path)

        response = client.post(undo_path(path))

    assert response.status_code == 200
    assert BeautifulSoup(response.content, "lxml").h1.text == "Rating removed"
    assert forms(response) == [(path, "More like this"), (less, "Less like this")]
    assert not Rating.objects.exists()
    assert client.get(undo_path(path)).status_code == 405  # a scanner's GET undoes nothing either


def test_a_paper_that_was_not_in_the_digest_is_refused_clearly(client, db):
    digest = planned_digest()
    sent = set(digest.items.values_list("paper_id", flat=True))
    other = Paper.objects.exclude(id__in=sent).first()
    path = more_path(digest, other.id)

    for response in (client.get(path), client.post(path)):
        assert response.status_code == 400
        assert BeautifulSoup(response.content, "lxml").h1.text == "This paper was not in your digest"
        assert "Nothing was recorded" in response.content.decode()
    assert not Rating.objects.exists()


def test_a_tampered_link_records_nothing(client, db):
    digest = planned_digest()
    path = more_path(digest, first_paper(digest).id)
    token = path.split("/")[2]
    tampered = path.replace(token, token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB"))

    response = client.post(tampered)

    assert response.status_code == 400
    assert BeautifulSoup(response.content, "lxml").h1.text == "This link does not work"
    assert "incomplete or was changed" in response.content.decode()
    assert not Rating.objects.exists()
    assert client.get(path.replace("/more/", "/most/")).status_code == 404


def test_an_old_link_has_expired_and_records_nothing(client, db, settings):
    digest = planned_digest()
    path = more_path(digest, first_paper(digest).id)
    lifetime = tokens.MAX_AGE[tokens.Purpose.RATE]

    with time_machine.travel(timezone.now() + lifetime + timedelta(hours=1)):
        response = client.post(path)

    assert response.status_code == 400
    assert f"links for {lifetime.days} days" in response.content.decode()
    assert not Rating.objects.exists()


def test_a_subscriber_who_left_is_told_so_and_nothing_is_recorded(client, db):
    digest = planned_digest()
    path = more_path(digest, first_paper(digest).id)
    Subscriber.objects.filter(id=digest.subscriber_id).update(status=Subscriber.Status.UNSUBSCRIBED)

    for response in (client.get(path), client.post(path)):
        assert response.status_code == 403
        assert BeautifulSoup(response.content, "lxml").h1.text == "You are unsubscribed"
    assert not Rating.objects.exists()

    Subscriber.objects.filter(id=digest.subscriber_id).delete()  # erased: the link is revoked
    response = client.post(path)
    assert response.status_code == 400 and "no longer exists" in response.content.decode()


def test_ratings_are_rate_limited_per_subscriber(client, db):
    digest = planned_digest()
    path = more_path(digest, first_paper(digest).id)
    allowed, _ = RATING_LIMIT_PER_SUBSCRIBER
    for _ in range(allowed):
        assert client.post(path).status_code == 200

    response = client.post(path)

    assert response.status_code == 429
    assert "Too many ratings" in response.content.decode()


def test_the_pages_name_the_paper_and_nothing_about_the_subscriber(client, db):
    digest = planned_digest()
    path = more_path(digest, first_paper(digest).id)
    for response in (client.get(path), client.post(path), client.post(undo_path(path))):
        html = response.content.decode()
        assert digest.subscriber.email not in html
        for other_page in ("/preferences/", "/unsubscribe/", "/digests/", "/digest-feed/"):
            assert other_page not in html, other_page
