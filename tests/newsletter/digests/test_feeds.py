"""The feed of a subscriber's sent digests, read by an independent Atom parser (feedparser)."""

from __future__ import annotations

import datetime as dt
import re

import feedparser
import pytest
from bs4 import BeautifulSoup

from newsletter.digests.rendering import DigestRenderer
from newsletter.digests.selectors import digest_views
from newsletter.models import Digest, DigestItem, Subscriber
from newsletter.subscriptions import services, tokens
from papers.models import Paper

SENT = dt.datetime(2026, 11, 30, 7, 0, tzinfo=dt.UTC)


def make_paper(number: int, title: str) -> Paper:
    return Paper.objects.create(
        arxiv_id=f"2611.{number:05d}",
        title=title,
        abstract=f"{title}. We study it.",
        authors=["Ada Lovelace", "Alan Turing"],
    )


def make_digest(
    subscriber: Subscriber, edition: str, picks: list[tuple[Paper, list[str]]], **fields
) -> Digest:
    sent_at = fields.pop("sent_at", SENT)
    status = fields.pop("status", Digest.Status.SENT)
    digest = Digest.objects.create(
        subscriber=subscriber,
        edition=edition,
        status=status,
        paper_count=len(picks),
        created_at=sent_at - dt.timedelta(hours=1),
        sent_at=sent_at if status == Digest.Status.SENT else None,
        updated_at=sent_at,
    )
    DigestItem.objects.bulk_create(
        DigestItem(
            digest=digest,
            subscriber=subscriber,
            paper=paper,
            rank=rank,
            score=1 / rank,
            matched_interests=lines,
        )
        for rank, (paper, lines) in enumerate(picks, start=1)
    )
    return digest


@pytest.fixture
def ada(db) -> Subscriber:
    return Subscriber.objects.create(email="ada@example.com", status=Subscriber.Status.ACTIVE)


@pytest.fixture
def history(ada) -> dict[str, Digest]:
    """Ada's two sent digests, one that failed and one planned; Bob's sent digest."""
    sae = make_paper(1, "Sparse autoencoders at scale")
    agents = make_paper(2, "LLM agents that plan")
    both = make_paper(3, "Sparse autoencoders for LLM agents")
    bobs = make_paper(4, "Bob's secret paper on diffusion")
    unsent = make_paper(5, "LLM agents that never left")
    upcoming = make_paper(6, "LLM agents of tomorrow")
    bob = Subscriber.objects.create(email="bob@example.com", status=Subscriber.Status.ACTIVE)
    return {
        "older": make_digest(
            ada, "2026-11-29", [(sae, ["sparse autoencoders"])], sent_at=SENT - dt.timedelta(days=1)
        ),
        "newer": make_digest(
            ada,
            "2026-11-30",
            [(agents, ["LLM agents"]), (both, ["sparse autoencoders", "LLM agents"])],
        ),
        "failed": make_digest(ada, "2026-11-28", [(unsent, ["LLM agents"])], status=Digest.Status.FAILED),
        "planned": make_digest(ada, "2026-12-01", [(upcoming, ["LLM agents"])], status=Digest.Status.PLANNED),
        "bob": make_digest(bob, "2026-11-30", [(bobs, ["diffusion"])]),
    }


def path_of(url: str) -> str:
    return url.removeprefix("http://testserver")


def feed_owner(url: str) -> Subscriber:
    """Whose feed an address opens (tokens carry the second they were signed: compare owners)."""
    return tokens.subscriber_from_feed_token(path_of(url).split("/")[2])


def fetch(client, subscriber: Subscriber):
    response = client.get(path_of(tokens.feed_url(subscriber)))
    assert response.status_code == 200, response.content[:300]
    return response, feedparser.parse(response.content)


def test_the_feed_is_atom_with_the_subscribers_sent_digests_newest_first(client, ada, history):
    response, feed = fetch(client, ada)

    assert response["Content-Type"] == "application/atom+xml; charset=utf-8"
    assert feed.bozo == 0 and feed.version == "atom10"
    assert feed.feed.title == "Your Paperbox digests"
    assert feed.feed.author == "Paperbox" and feed.feed.updated_parsed is not None
    newer, older = history["newer"], history["older"]
    renderer = DigestRenderer()
    views = {view.digest_id: view for view in digest_views(digest_ids=[newer.id, older.id])}
    assert [entry.title for entry in feed.entries] == [
        renderer.subject(views[newer.id]),
        renderer.subject(views[older.id]),
    ]
    assert feed.entries[0].title == "Paperbox · 2 papers on LLM agents, sparse autoencoders · 30 Nov"
    assert feed.entries[0].id == f"tag:testserver,2026-11-30:digest/{newer.id}"
    assert feed.entries[0].updated_parsed[:5] == (2026, 11, 30, 7, 0)


def test_each_entry_links_to_its_digests_page_and_lists_its_papers(client, ada, history):
    _, feed = fetch(client, ada)

    entry = feed.entries[0]
    page = client.get(path_of(entry.link))
    assert page.status_code == 200
    assert "LLM agents that plan" in page.content.decode()
    summary = BeautifulSoup(entry.summary, "lxml")
    assert [(a.text, a["href"]) for a in summary.find_all("a")] == [
        ("LLM agents that plan", "https://huggingface.co/papers/2611.00002"),
        ("Sparse autoencoders for LLM agents", "https://huggingface.co/papers/2611.00003"),
    ]
    assert "Ada Lovelace, Alan Turing" in summary.text


def test_the_feed_shows_nothing_else(client, ada, history):
    response, feed = fetch(client, ada)

    body = response.content.decode()
    assert len(feed.entries) == 2  # not the failed or planned digest, not Bob's
    for title in ("Bob's secret paper", "never left", "of tomorrow"):
        assert title not in body, title
    assert "@" not in body  # no address, Ada's or anyone's
    for other_page in ("/preferences/", "/unsubscribe/", "/export/", "/erase/", "/change-email/"):
        assert other_page not in body, other_page
    assert {name: response[name] for name in ("Cache-Control", "Referrer-Policy", "X-Robots-Tag")} == {
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Robots-Tag": "noindex",
    }


def test_the_feed_address_is_on_the_preferences_page_only(client, ada, history):
    preferences = client.get(tokens.preferences_path(ada)).content.decode()
    shown = BeautifulSoup(preferences, "lxml").find(id="feed-url")["value"]
    assert shown.startswith("http://testserver/digest-feed/") and feed_owner(shown) == ada
    [view] = digest_views(digest_ids=[history["newer"].id])
    email = DigestRenderer().render(view)
    assert "/digest-feed/" not in email.html + email.text
    view_url = re.search(r"View in browser: (\S+)", email.text).group(1)
    view_page = client.get(path_of(view_url))
    assert view_page.status_code == 200 and "/digest-feed/" not in view_page.content.decode()


def test_resetting_the_address_revokes_the_old_one_and_nothing_else(client, ada, history):
    old_path = path_of(tokens.feed_url(ada))
    preferences_path = tokens.preferences_path(ada)
    _, before = fetch(client, ada)

    response = client.post(f"{preferences_path}feed/reset/")

    assert response.status_code == 302 and response["Location"] == preferences_path
    gone = client.get(old_path)
    assert gone.status_code == 404 and gone["Cache-Control"] == "no-store"
    ada.refresh_from_db()
    new_value = BeautifulSoup(client.get(preferences_path).content, "lxml").find(id="feed-url")["value"]
    assert feed_owner(new_value) == ada and path_of(new_value) != old_path
    _, after = fetch(client, ada)
    assert [e.id for e in after.entries] == [e.id for e in before.entries]  # entry ids are stable
    assert client.get(path_of(after.entries[0].link)).status_code == 200  # the emails' links still work


def test_a_token_grants_only_its_own_page(client, ada, history):
    manage = tokens.make_token(ada, tokens.Purpose.MANAGE)
    feed_token = path_of(tokens.feed_url(ada)).split("/")[2]

    assert client.get(f"/digest-feed/{manage}/").status_code == 404
    assert client.get(f"/preferences/{feed_token}/").status_code == 400
    tampered = feed_token[:-2] + ("A" if feed_token[-2] != "A" else "B") + feed_token[-1]
    assert client.get(f"/digest-feed/{tampered}/").status_code == 404


def test_a_new_address_or_an_erasure_revokes_the_feed(client, ada, history):
    feed_path = path_of(tokens.feed_url(ada))
    services.subscriber_change_email(subscriber=ada, new_email="ada@new.example.com")
    assert client.get(feed_path).status_code == 404

    feed_path = path_of(tokens.feed_url(ada))
    assert client.get(feed_path).status_code == 200
    services.subscriber_erase(subscriber=ada)
    assert client.get(feed_path).status_code == 404


def test_a_subscriber_without_sent_digests_gets_an_empty_valid_feed(client, ada):
    _, feed = fetch(client, ada)
    assert feed.bozo == 0 and feed.version == "atom10" and feed.entries == []
