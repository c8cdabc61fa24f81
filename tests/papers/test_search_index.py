"""The /papers/ search query must stay index-backed on PostgreSQL (migration 0002's GIN index)."""

from __future__ import annotations

import pytest
from django.db import connection

from papers.models import Paper
from papers.selectors import paper_search


@pytest.mark.django_db
def test_search_query_uses_the_full_text_index():
    if connection.vendor != "postgresql":
        pytest.skip("The full-text index exists on PostgreSQL only; SQLite searches by substring.")
    Paper.objects.create(arxiv_id="2605.00001", title="Gaussian splatting for cities", abstract="Splats.")
    with connection.cursor() as cursor:
        # With a handful of rows a sequential scan is cheaper; forbid it to see which index the query can use.
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = paper_search(query="gaussian splatting").explain()
    assert "paper_search_document_gin" in plan, plan
    assert [p.arxiv_id for p in paper_search(query="gaussian splats")] == ["2605.00001"]
