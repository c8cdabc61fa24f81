"""The signup form filled in by a link (`?interests=`): a starting text, never trusted or saved."""

from __future__ import annotations

import pytest

from newsletter.models import Subscriber
from newsletter.subscriptions.forms import SignupForm

pytestmark = pytest.mark.django_db


def textarea(html: str) -> str:
    return html.split('id="id_interests"', 1)[1].split(">", 1)[1].split("</textarea>", 1)[0]


def test_a_like_link_fills_in_the_interests(client):
    response = client.get("/", {"interests": "like:2605.05242"})

    assert response.status_code == 200
    assert textarea(response.content.decode()).strip() == "like:2605.05242"
    assert not Subscriber.objects.exists()


def test_a_hostile_value_is_only_escaped_text_and_cut_to_the_fields_length(client):
    limit = SignupForm.base_fields["interests"].max_length
    hostile = "</textarea><script>alert(1)</script>\x00" + "x" * (limit * 3)

    response = client.get("/", {"interests": hostile})

    html = response.content.decode()
    assert response.status_code == 200
    assert "<script>alert(1)" not in html
    shown = textarea(html).removeprefix("\n")  # Django starts a textarea with a line break
    assert shown.startswith("&lt;/textarea&gt;&lt;script&gt;alert(1)&lt;/script&gt;xxx")
    assert "\x00" not in shown
    assert len(shown.strip().replace("&lt;", "<").replace("&gt;", ">")) == limit


def test_without_the_parameter_the_form_starts_empty(client):
    assert textarea(client.get("/").content.decode()).strip() == ""
