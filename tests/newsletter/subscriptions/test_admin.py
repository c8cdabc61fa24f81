from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth.models import User
from django.core import mail

from newsletter.models import Interest, Subscriber
from tests.newsletter.subscriptions.test_forms import EXCLUSIONS

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/newsletter/subscriber/"


@pytest.fixture
def staff_client(client):
    user = User.objects.create_superuser("admin", "admin@example.org", "pw")
    client.force_login(user)
    return client


@pytest.fixture
def people() -> dict[str, Subscriber]:
    ada = Subscriber.objects.create(email="ada@example.org", status="active")
    bob = Subscriber.objects.create(email="bob@example.org", status="pending")
    eve = Subscriber.objects.create(email="=HYPERLINK(evil)@example.org", status="paused")
    for subscriber in (ada, bob):
        Interest.objects.create(
            subscriber=subscriber, text="Sparse autoencoders", canonical="(and autoencod spars)"
        )
    Interest.objects.create(subscriber=ada, text="<script>x</script>", canonical="(and script x)")
    return {"ada": ada, "bob": bob, "eve": eve}


def test_changelist_shows_counts_per_status_and_top_interests_escaped(staff_client, people):
    response = staff_client.get(CHANGELIST)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'href="?status__exact=active">active</a></th><td>1</td>' in html
    assert 'href="?status__exact=pending">pending</a></th><td>1</td>' in html
    assert "<td>Sparse autoencoders</td><td><code>(and autoencod spars)</code></td><td>2</td>" in html
    assert "<script>x</script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html


def test_changelist_filters_by_status_and_searches_by_email(staff_client, people):
    html = staff_client.get(CHANGELIST, {"status__exact": "pending"}).content.decode()
    assert "bob@example.org" in html and "ada@example.org</a>" not in html
    html = staff_client.get(CHANGELIST, {"q": "ada@"}).content.decode()
    assert "ada@example.org" in html and "bob@example.org</a>" not in html


def test_change_page_shows_interests_inline(staff_client, people):
    response = staff_client.get(f"{CHANGELIST}{people['ada'].pk}/change/")
    assert response.status_code == 200
    assert "Sparse autoencoders" in response.content.decode()


def run_action(client, action: str, *subscribers: Subscriber):
    return client.post(
        CHANGELIST, {"action": action, "_selected_action": [s.pk for s in subscribers], "index": 0}
    )


def test_action_resend_confirmation_mails_pending_only(staff_client, people):
    run_action(staff_client, "resend_confirmation", people["ada"], people["bob"])
    assert [m.to for m in mail.outbox] == [["bob@example.org"]]


def test_action_pause_and_unsubscribe(staff_client, people):
    run_action(staff_client, "pause", people["ada"])
    people["ada"].refresh_from_db()
    assert people["ada"].status == "paused"
    run_action(staff_client, "unsubscribe", people["ada"], people["bob"])
    assert set(Subscriber.objects.filter(status="unsubscribed").values_list("email", flat=True)) == {
        "ada@example.org",
        "bob@example.org",
    }


def test_action_export_csv_neutralizes_formulas(staff_client, people):
    response = run_action(staff_client, "export_csv", *people.values())
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    by_status = {row["status"]: row for row in rows}
    assert by_status["active"]["email"] == "ada@example.org"
    assert by_status["active"]["interests"] == "Sparse autoencoders | <script>x</script>"
    assert by_status["paused"]["email"] == "'=HYPERLINK(evil)@example.org"


def test_inline_interest_added_in_admin_gets_its_canonical_form(staff_client, people):
    ada = people["ada"]
    url = f"{CHANGELIST}{ada.pk}/change/"
    form = {
        "email": ada.email, "status": "active", "frequency": "daily", "weekday": "0", "send_hour": "7",
        "time_zone": "UTC", "papers_per_digest": "10",
        "interests-TOTAL_FORMS": "1", "interests-INITIAL_FORMS": "0",
        "interests-MIN_NUM_FORMS": "0", "interests-MAX_NUM_FORMS": "20",
        "interests-0-position": "5", "interests-0-text": "Graph Neural Networks", "interests-0-subscriber": ada.pk,
    }  # fmt: skip
    response = staff_client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    interest = ada.interests.get(text="Graph Neural Networks")
    assert interest.canonical and interest.canonical != "Graph Neural Networks"


def test_admin_requires_staff(client, people):
    response = client.get(CHANGELIST)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_action_resend_confirmation_queues_and_says_so(staff_client, people):
    response = run_action(staff_client, "resend_confirmation", people["ada"], people["bob"])
    assert staff_client.tasks_run == [["newsletter.tasks.send_subscription_email"]]
    page = staff_client.get(response["Location"]).content.decode()
    assert "Confirmation queued for 1 pending subscriber(s)" in page


def test_inline_interests_meaning_the_same_are_refused_with_a_message(staff_client, people):
    ada = people["ada"]
    form = {
        "email": ada.email, "status": "active", "frequency": "daily", "weekday": "0", "send_hour": "7",
        "time_zone": "UTC", "papers_per_digest": "10",
        "interests-TOTAL_FORMS": "2", "interests-INITIAL_FORMS": "0",
        "interests-MIN_NUM_FORMS": "0", "interests-MAX_NUM_FORMS": "20",
        "interests-0-position": "5", "interests-0-text": "Graph neural networks", "interests-0-subscriber": ada.pk,
        "interests-1-position": "6", "interests-1-text": "graph neural network", "interests-1-subscriber": ada.pk,
    }  # fmt: skip
    response = staff_client.post(f"{CHANGELIST}{ada.pk}/change/", form)
    assert response.status_code == 200
    assert "means the same as “Graph neural networks”" in response.content.decode()
    assert not ada.interests.filter(text__icontains="graph").exists()


def interest_form(subscriber: Subscriber, text: str) -> dict:
    return {
        "email": subscriber.email, "status": "active", "frequency": "daily", "weekday": "0", "send_hour": "7",
        "time_zone": "UTC", "papers_per_digest": "10",
        "interests-TOTAL_FORMS": "1", "interests-INITIAL_FORMS": "0",
        "interests-MIN_NUM_FORMS": "0", "interests-MAX_NUM_FORMS": "20",
        "interests-0-position": "5", "interests-0-text": text, "interests-0-subscriber": subscriber.pk,
    }  # fmt: skip


def test_a_multi_line_interest_in_the_inline_is_a_clear_error(staff_client, people):
    ada = people["ada"]
    response = staff_client.post(f"{CHANGELIST}{ada.pk}/change/", interest_form(ada, "diffusion\nrobots"))
    assert response.status_code == 200
    assert "One interest per row: this text has several lines." in response.content.decode()
    assert not ada.interests.filter(text__icontains="diffusion").exists()


def test_an_interest_too_long_to_store_in_the_inline_is_a_clear_error(staff_client, people):
    ada = people["ada"]
    response = staff_client.post(f"{CHANGELIST}{ada.pk}/change/", interest_form(ada, EXCLUSIONS))
    assert response.status_code == 200
    assert "has too many terms to store" in response.content.decode()
