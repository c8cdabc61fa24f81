"""The live interest preview endpoint used by the signup and preferences pages."""

from __future__ import annotations

import datetime as dt

import pytest

from papers.models import Paper

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


def test_preview_sees_papers_ingested_after_the_first_request(client, papers):
    assert client.get(PREVIEW_URL, {"q": "robot"}).json()["matches"] == 1
    Paper.objects.create(arxiv_id="2605.00004", title="Robot learning", featured_on=dt.date(2026, 5, 7))
    assert client.get(PREVIEW_URL, {"q": "robot"}).json()["matches"] == 2


def test_preview_reports_syntax_errors_with_position(client, papers):
    response = client.get(PREVIEW_URL, {"q": 'gaussian "splatting'})
    assert response.status_code == 400
    assert "unclosed quote at" in response.json()["error"]
    assert response.json()["position"] == 9


def test_preview_rejects_empty_and_overlong_interests(client, papers):
    assert client.get(PREVIEW_URL, {"q": "  "}).status_code == 400
    response = client.get(PREVIEW_URL, {"q": "a" * 201})
    assert response.status_code == 400
    assert "at most 200 characters" in response.json()["error"]


def test_preview_is_rate_limited_per_client(client, papers):
    statuses = [client.get(PREVIEW_URL, {"q": "robot"}).status_code for _ in range(41)]
    assert statuses[:40] == [200] * 40
    assert statuses[40] == 429
    assert client.get(PREVIEW_URL, {"q": "robot"}, REMOTE_ADDR="10.0.0.9").status_code == 200


def test_preview_answers_get_only(client, papers):
    assert client.post(PREVIEW_URL, {"q": "robot"}).status_code == 405
