from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from papers.models import Paper, PaperEmbedding

pytestmark = pytest.mark.django_db


def load() -> str:
    out = io.StringIO()
    call_command("load_demo_papers", stdout=out)
    return out.getvalue()


def test_load_demo_papers_loads_the_bundled_day_into_an_empty_database():
    assert load().splitlines() == [
        "Loaded 37 demo papers (Hugging Face Daily Papers, 2026-05-08).",
        "Embedded 37 demo papers for their similar papers.",
    ]
    assert Paper.objects.count() == 37
    assert PaperEmbedding.objects.count() == 37
    assert Paper.objects.get(arxiv_id="2605.05242").upvotes == 86


def test_load_demo_papers_does_nothing_when_papers_exist():
    Paper.objects.create(arxiv_id="2401.12345", title="Mine")

    assert load().strip() == "1 papers exist already; demo papers not loaded."
    assert list(Paper.objects.values_list("arxiv_id", flat=True)) == ["2401.12345"]
