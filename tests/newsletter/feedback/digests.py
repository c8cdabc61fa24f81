"""A planned digest and the rating links of its papers, as the email carries them."""

from __future__ import annotations

from newsletter.feedback.links import rating_links
from newsletter.models import Digest
from tests.newsletter.digests.test_sending import planned_digests


def planned_digest() -> Digest:
    [digest_id] = planned_digests(1)
    return Digest.objects.select_related("subscriber").get(id=digest_id)


def local(url: str) -> str:
    return url.removeprefix("http://testserver")


def more_path(digest: Digest, paper_id: int) -> str:
    return local(rating_links(subscriber=digest.subscriber, digest_id=digest.id, paper_id=paper_id).more_url)


def less_path(digest: Digest, paper_id: int) -> str:
    return local(rating_links(subscriber=digest.subscriber, digest_id=digest.id, paper_id=paper_id).less_url)


def undo_path(rating_path: str) -> str:
    return rating_path.rsplit("/", 2)[0] + "/undo/"
