"""The claim: cancel, expire, then one conditional UPDATE that checks the subscriber may be mailed."""

from __future__ import annotations

from django.utils import timezone

from newsletter.digests.claiming import _claim, digests_claim
from newsletter.models import Digest
from tests.newsletter.digests.test_sending import leave, planned_digests, statuses


def test_claim_moves_only_planned_digests_and_returns_exactly_those(db):
    ids = planned_digests(3)
    Digest.objects.filter(id=ids[0]).update(status="sent")

    assert digests_claim(digest_ids=ids).claimed_ids == sorted(ids[1:])
    assert digests_claim(digest_ids=ids).claimed_ids == []
    assert sorted(statuses().values()) == ["sending", "sending", "sent"]


def test_the_claim_itself_refuses_a_subscriber_who_may_not_be_mailed(db):
    """Even without the cancel step, the conditional UPDATE claims only mailable subscribers."""
    stays, leaves = planned_digests(2)
    leave(Digest.objects.get(id=leaves).subscriber, "paused")

    assert _claim(digest_ids=[stays, leaves], now=timezone.now()) == [stays]
    assert statuses() == {stays: "sending", leaves: "planned"}
