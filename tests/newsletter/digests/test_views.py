from __future__ import annotations

from bs4 import BeautifulSoup

from newsletter.digests.rendering import digest_view_url
from newsletter.models import Digest
from newsletter.subscriptions import tokens
from tests.newsletter.digests.test_sending import planned_digests


def test_view_in_browser_link_shows_the_same_digest(client, db):
    [digest_id] = planned_digests(1)
    digest = Digest.objects.select_related("subscriber").get(id=digest_id)

    response = client.get(
        digest_view_url(subscriber=digest.subscriber, digest_id=digest.id).removeprefix("http://testserver")
    )

    assert response.status_code == 200
    soup = BeautifulSoup(response.content, "lxml")
    hrefs = {a["href"] for a in soup.find_all("a")}
    for item in digest.items.select_related("paper"):
        assert item.paper.hf_url in hrefs
    assert "View in browser" not in soup.text
    assert "style-src 'unsafe-inline'" in response["Content-Security-Policy"]
    assert "script-src" not in response["Content-Security-Policy"]  # default-src 'none' covers scripts


def test_a_tampered_or_revoked_link_is_not_found(client, db):
    [digest_id] = planned_digests(1)
    digest = Digest.objects.select_related("subscriber").get(id=digest_id)
    path = digest_view_url(subscriber=digest.subscriber, digest_id=digest.id).removeprefix(
        "http://testserver"
    )

    assert client.get(path[:-3] + "xx/").status_code == 404
    digest.subscriber.token_version += 1
    digest.subscriber.save()
    assert client.get(path).status_code == 404


def test_a_link_for_someone_elses_digest_is_not_found(client, db):
    first, second = planned_digests(2)
    owner = Digest.objects.get(id=first).subscriber
    token = tokens.make_token(owner, tokens.Purpose.VIEW_DIGEST, extra={"d": second})

    assert client.get(f"/digests/{token}/").status_code == 404
