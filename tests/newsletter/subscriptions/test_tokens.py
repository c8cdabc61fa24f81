from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import signing

from newsletter.models import Subscriber
from newsletter.subscriptions import tokens
from newsletter.subscriptions.tokens import Purpose, TokenExpired, TokenInvalid, TokenRevoked

pytestmark = pytest.mark.django_db


@pytest.fixture
def subscriber() -> Subscriber:
    return Subscriber.objects.create(email="ada@example.org")


def test_token_round_trips_to_its_subscriber(subscriber):
    token = tokens.make_token(subscriber, Purpose.MANAGE)
    found, data = tokens.subscriber_from_token(token, Purpose.MANAGE)
    assert found == subscriber
    assert data.key == subscriber.key and data.version == 1


def test_token_does_not_contain_the_primary_key_or_the_email(subscriber):
    token = tokens.make_token(subscriber, Purpose.MANAGE)
    payload = signing.loads(token, salt="paperbox.newsletter.manage")
    assert payload == {"k": subscriber.key.hex, "v": 1}
    assert "ada" not in token


def test_token_for_one_purpose_is_rejected_for_another(subscriber):
    token = tokens.make_token(subscriber, Purpose.CONFIRM)
    with pytest.raises(TokenInvalid):
        tokens.read_token(token, Purpose.UNSUBSCRIBE)


def test_tampered_token_is_rejected(subscriber):
    token = tokens.make_token(subscriber, Purpose.MANAGE)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    with pytest.raises(TokenInvalid):
        tokens.read_token(tampered, Purpose.MANAGE)


def test_forged_payload_with_another_key_is_rejected(subscriber):
    other = Subscriber.objects.create(email="eve@example.org")
    genuine = tokens.make_token(subscriber, Purpose.MANAGE)
    # Swap the payload part for another subscriber's, keeping the first one's signature.
    forged_payload = tokens.make_token(other, Purpose.MANAGE).split(":")[0]
    forged = ":".join([forged_payload, *genuine.split(":")[1:]])
    with pytest.raises(TokenInvalid):
        tokens.read_token(forged, Purpose.MANAGE)


def test_confirm_token_expires_after_seven_days(subscriber):
    with time_machine.travel(dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC), tick=False):
        token = tokens.make_token(subscriber, Purpose.CONFIRM)
    with time_machine.travel(dt.datetime(2026, 5, 8, 11, 59, tzinfo=dt.UTC), tick=False):
        assert tokens.read_token(token, Purpose.CONFIRM).key == subscriber.key
    with (
        time_machine.travel(dt.datetime(2026, 5, 8, 12, 0, 1, tzinfo=dt.UTC), tick=False),
        pytest.raises(TokenExpired),
    ):
        tokens.read_token(token, Purpose.CONFIRM)


def test_unsubscribe_token_never_expires(subscriber):
    with time_machine.travel(dt.datetime(2026, 5, 1, tzinfo=dt.UTC), tick=False):
        token = tokens.make_token(subscriber, Purpose.UNSUBSCRIBE)
    with time_machine.travel(dt.datetime(2029, 5, 1, tzinfo=dt.UTC), tick=False):
        assert tokens.subscriber_from_token(token, Purpose.UNSUBSCRIBE)[0] == subscriber


def test_bumping_token_version_revokes_old_tokens(subscriber):
    token = tokens.make_token(subscriber, Purpose.MANAGE)
    Subscriber.objects.filter(pk=subscriber.pk).update(token_version=2)
    with pytest.raises(TokenRevoked):
        tokens.subscriber_from_token(token, Purpose.MANAGE)


def test_token_of_deleted_subscriber_is_revoked(subscriber):
    token = tokens.make_token(subscriber, Purpose.MANAGE)
    subscriber.delete()
    with pytest.raises(TokenRevoked):
        tokens.subscriber_from_token(token, Purpose.MANAGE)


def test_extra_data_is_signed_with_the_token(subscriber):
    token = tokens.make_token(subscriber, Purpose.CHANGE_EMAIL, extra={"email": "new@example.org"})
    assert tokens.read_token(token, Purpose.CHANGE_EMAIL).extra == {"email": "new@example.org"}


def test_garbage_token_is_invalid():
    with pytest.raises(TokenInvalid):
        tokens.read_token("not-a-token", Purpose.MANAGE)


def test_link_builders_are_absolute_and_point_at_the_right_pages(subscriber, settings):
    settings.SITE_URL = "https://papers.example.org"
    assert tokens.unsubscribe_url(subscriber).startswith("https://papers.example.org/unsubscribe/")
    assert tokens.preferences_url(subscriber).startswith("https://papers.example.org/preferences/")
    assert tokens.confirm_url(subscriber).startswith("https://papers.example.org/confirm/")
