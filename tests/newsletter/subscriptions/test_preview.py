"""The live interest preview endpoint used by the signup and preferences pages."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from newsletter.subscriptions.preview import VERSION_RECHECK_SECONDS, RecentPapers, recent_window_version
from papers.models import Paper
from tests.newsletter.subscriptions.test_forms import EXCLUSIONS

pytestmark = pytest.mark.django_db

PREVIEW_URL = "/interests/preview/"


@pytest.fixture
def papers():
    day = dt.date(2026, 5, 8)
    Paper.objects.create(
        arxiv_id="2605.00001", title="Gaussian Splatting for cities", featured_on=day, upvotes=5
    )
    Paper.objects.create(
        arxiv_id="2605.00002", title="Splats everywhere: gaussian splats", featured_on=day, upvotes=50
    )
    Paper.objects.create(arxiv_id="2605.00003", title="Robot grasping", featured_on=day)
    # Older than the 30-day window before the newest paper: not counted.
    Paper.objects.create(
        arxiv_id="2601.00001", title="Gaussian splatting, old", featured_on=dt.date(2026, 1, 2)
    )


def test_preview_counts_recent_matches_with_example_titles(client, papers):
    data = client.get(PREVIEW_URL, {"q": "gaussian splat"}).json()
    assert data == {
        "matches": 2,
        "papers": 3,
        "days": 30,
        "examples": ["Splats everywhere: gaussian splats", "Gaussian Splatting for cities"],
    }


def later() -> time_machine.travel:
    """Past the interval in which the window's version is not asked of the database again."""
    return time_machine.travel(dt.timedelta(seconds=VERSION_RECHECK_SECONDS + 0.5), tick=False)


def test_preview_sees_papers_ingested_after_the_first_request_within_a_second(client, papers):
    assert client.get(PREVIEW_URL, {"q": "robot"}).json()["matches"] == 1
    Paper.objects.create(arxiv_id="2605.00004", title="Robot learning", featured_on=dt.date(2026, 5, 7))
    assert client.get(PREVIEW_URL, {"q": "robot"}).json()["matches"] == 1  # checked less than 1 s ago
    with later():
        assert client.get(PREVIEW_URL, {"q": "robot"}).json()["matches"] == 2


def test_the_window_version_is_asked_of_the_database_once_a_second_for_every_process(papers):
    with CaptureQueriesContext(connection) as first:
        recent_window_version()
    with CaptureQueriesContext(connection) as again:
        RecentPapers().get()  # another process's memo: the version comes from the shared cache
        recent_window_version()
    assert len(first) == 2 and len(again) == 1  # the one query: loading the papers for the new memo
    with later(), CaptureQueriesContext(connection) as after_a_while:
        recent_window_version()
    assert len(after_a_while) == 2


def test_preview_reports_syntax_errors_with_position(client, papers):
    response = client.get(PREVIEW_URL, {"q": 'gaussian "splatting'})
    assert response.status_code == 400
    assert "unclosed quote at" in response.json()["error"]
    assert response.json()["position"] == 9


def test_preview_rejects_empty_and_overlong_interests(client, papers):
    assert client.get(PREVIEW_URL, {"q": "  "}).status_code == 400
    response = client.get(PREVIEW_URL, {"q": "a" * 201})
    assert response.status_code == 400
    assert response.json() == {"error": "This interest is 201 characters long; the limit is 200."}


def test_preview_refuses_what_the_form_would_refuse_as_too_long_to_store(client, papers):
    # The same check as the signup form: the preview must not show matches for an interest that
    # cannot be saved.
    response = client.get(PREVIEW_URL, {"q": EXCLUSIONS})
    assert response.status_code == 400
    assert "This interest has too many terms to store" in response.json()["error"]


def test_preview_is_rate_limited_per_client(client, papers):
    statuses = [client.get(PREVIEW_URL, {"q": "robot"}).status_code for _ in range(41)]
    assert statuses[:40] == [200] * 40
    assert statuses[40] == 429
    assert client.get(PREVIEW_URL, {"q": "robot"}, REMOTE_ADDR="10.0.0.9").status_code == 200


def test_preview_answers_get_only(client, papers):
    assert client.post(PREVIEW_URL, {"q": "robot"}).status_code == 405


def test_the_index_is_built_once_and_rebuilt_only_when_the_papers_change(papers):
    recent = RecentPapers()
    first = recent.get()
    assert recent.get() is first  # the same built index, not a copy
    # As ingestion changes a paper: its updated_at moves.
    Paper.objects.filter(arxiv_id="2605.00003").update(
        title="Robot grasping, revised", updated_at=timezone.now()
    )
    with later():
        changed = recent.get()
    assert changed is not first and "Robot grasping, revised" in changed.titles.values()
    Paper.objects.filter(arxiv_id="2605.00003").delete()
    with later(), later():  # travels compound: past the check made in the block above
        assert len(recent.get().batch) == 2


def test_while_one_thread_rebuilds_the_others_answer_from_the_previous_index(papers):
    recent = RecentPapers()
    first = recent.get()
    Paper.objects.create(arxiv_id="2605.00009", title="Robot learning", featured_on=dt.date(2026, 5, 7))
    with later():
        with recent._rebuilding:  # as while another thread is rebuilding
            assert recent.get() is first
        assert len(recent.get().batch) == 4
