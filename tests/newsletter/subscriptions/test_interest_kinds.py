"""`~ description` and `like:ARXIV_ID` lines through the forms, the preferences page and the live
preview, with the real embedding model on real corpus papers."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from newsletter.models import Interest
from newsletter.subscriptions.forms import SignupForm
from papers.embeddings import embed_texts, vector_from_bytes
from tests.newsletter.relevance_data import make_embedded_papers, profile, relevant_arxiv_ids
from tests.newsletter.subscriptions.test_forms import VALID_SIGNUP
from tests.newsletter.subscriptions.test_views import confirmed

pytestmark = pytest.mark.django_db

PREVIEW_URL = "/interests/preview/"
DESCRIPTION = "~ " + profile("gaussian-splatting")["descriptions"][0]


@pytest.fixture
def papers():
    return make_embedded_papers(limit=80, first_seen_at=dt.datetime(2026, 11, 20, tzinfo=dt.UTC))


def errors_for(interests: str) -> list[str]:
    form = SignupForm({**VALID_SIGNUP, "interests": interests})
    assert not form.is_valid()
    return form.errors["interests"]


def test_bad_description_and_unknown_example_are_named_with_what_to_do(papers):
    errors = errors_for('~\nlike:2401.99999\nlike:2611.00053\nlike:not-an-id\n"unclosed')
    assert errors[0].startswith("Line 1 (“~”): a description is needed after “~”")
    assert errors[1].startswith("Line 4 (“like:not-an-id”): “not-an-id” is not an arXiv id")
    assert errors[2].startswith('Line 5 (“"unclosed”): unclosed quote')
    assert errors[3].startswith("Line 2 (“like:2401.99999”): no paper 2401.99999 in Paperbox.")
    assert len(errors) == 4  # line 3's paper exists


def test_lines_of_each_kind_are_stored_with_their_vector_or_paper_and_deduplicated(client, papers):
    subscriber, preferences_path = confirmed(client)
    response = client.post(
        preferences_path,
        {"interests": f"{DESCRIPTION}\nlike:arXiv:2611.00053v2\nlike:2611.00053\n{DESCRIPTION.upper()}\nsplat*",
         "frequency": "daily", "weekday": "0", "send_hour": "7", "time_zone": "UTC", "papers_per_digest": "10"},
    )  # fmt: skip
    assert response.status_code == 302
    lines = list(subscriber.interests.order_by("position"))
    assert [(line.kind, line.text) for line in lines] == [
        ("meaning", DESCRIPTION),
        ("example", "like:arXiv:2611.00053v2"),
        ("keyword", "splat*"),
    ]
    description = vector_from_bytes(bytes(lines[0].vector))
    expected = embed_texts([DESCRIPTION.removeprefix("~ ")])[0]
    assert float(np.dot(description, expected)) == pytest.approx(1.0, abs=1e-4)
    assert lines[1].example == papers["2611.00053"] and lines[1].vector is None
    assert lines[0].compiled is None and lines[2].compiled is not None

    html = client.get(preferences_path).content.decode()
    title = papers["2611.00053"].title
    assert f"<code>like:arXiv:2611.00053v2</code>: “{title}”" in html.replace("&#x27;", "'")


def test_preview_of_a_description_counts_the_close_papers_with_the_closest_titles(client, papers):
    data = client.get(PREVIEW_URL, {"q": DESCRIPTION}).json()
    assert data["papers"] == 80 and data["days"] == 30
    assert data["matches"] >= 3
    relevant_titles = {
        papers[arxiv_id].title for arxiv_id in relevant_arxiv_ids("gaussian-splatting") if arxiv_id in papers
    }
    assert len(data["examples"]) == 3 and set(data["examples"]) <= relevant_titles


def test_preview_of_an_example_leaves_the_paper_out_and_bad_lines_are_explained(client, papers):
    data = client.get(PREVIEW_URL, {"q": "like:2611.00053"}).json()
    assert data["matches"] >= 1 and papers["2611.00053"].title not in data["examples"]

    unknown = client.get(PREVIEW_URL, {"q": "like:2401.99999"})
    assert unknown.status_code == 400 and unknown.json()["error"] == "No paper 2401.99999 in Paperbox."
    empty = client.get(PREVIEW_URL, {"q": "~ "})
    assert empty.status_code == 400 and "a description is needed after “~”" in empty.json()["error"]


def test_a_deleted_example_paper_is_said_on_the_preferences_page(client, papers):
    subscriber, preferences_path = confirmed(client)
    Interest.objects.create(
        subscriber=subscriber, text="like:2611.00054", canonical="like:2611.00054", kind="example", position=9
    )
    html = client.get(preferences_path).content.decode()
    assert "this paper is no longer in Paperbox" in html
