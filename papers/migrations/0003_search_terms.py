"""The search box's pre-filter (papers.search) and the author pages.

- search_terms: the word forms the matcher can look a paper up by, written by papers.search_terms; on
  PostgreSQL a text[] with a GIN index on array_to_tsvector(search_terms), which answers a tsquery
  of these forms and their prefixes (papers.fields.MatchesTsquery builds the same expression).
- The full-text index of migration 0002 goes: the search box no longer uses PostgreSQL's stemmer.
- authors: a GIN (jsonb_path_ops) index on PostgreSQL for the author pages' `authors @> '["name"]'`.
- Existing papers get their search_terms here, in batches, with today's tokenizer. Rows written by
  another tokenizer later are still searched (never filtered out) until `refresh_search_terms`.
SQLite needs no index: it pre-filters with LIKE over the column.
"""

from importlib import import_module

from django.db import migrations, models

import papers.fields

TERMS_INDEX = "paper_search_terms_gin"
AUTHORS_INDEX = "paper_authors_gin"
CREATE_SQL = [
    f"CREATE INDEX IF NOT EXISTS {TERMS_INDEX} ON papers_paper USING gin (array_to_tsvector(search_terms))",
    f"CREATE INDEX IF NOT EXISTS {AUTHORS_INDEX} ON papers_paper USING gin (authors jsonb_path_ops)",
    "DROP INDEX IF EXISTS paper_search_document_gin",
]
DROP_SQL = [f"DROP INDEX IF EXISTS {TERMS_INDEX}", f"DROP INDEX IF EXISTS {AUTHORS_INDEX}"]
BATCH = 1000


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in CREATE_SQL:
            schema_editor.execute(statement)


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in DROP_SQL:
            schema_editor.execute(statement)
        # Back to 0002's full-text index, with 0002's own statement.
        schema_editor.execute(import_module("papers.migrations.0002_paper_search_gin").CREATE_SQL)


def fill_search_terms(apps, schema_editor):
    from papers.search_terms import SEARCH_TERMS_VERSION, paper_search_terms_of

    Paper = apps.get_model("papers", "Paper")
    last_id = 0
    while batch := list(Paper.objects.filter(id__gt=last_id).order_by("id")[:BATCH]):
        for paper in batch:
            paper.search_terms = paper_search_terms_of(paper)
            paper.search_terms_version = SEARCH_TERMS_VERSION
        Paper.objects.bulk_update(batch, ["search_terms", "search_terms_version"])
        last_id = batch[-1].id


class Migration(migrations.Migration):
    dependencies = [("papers", "0002_paper_search_gin")]

    operations = [
        migrations.AddField(
            model_name="paper",
            name="search_terms",
            field=papers.fields.SearchTermsField(blank=True, default=list, editable=False),
        ),
        migrations.AddField(
            model_name="paper",
            name="search_terms_version",
            field=models.CharField(blank=True, default="", editable=False, max_length=16),
        ),
        migrations.AddIndex(
            model_name="paper",
            index=models.Index(fields=["search_terms_version"], name="paper_search_version_idx"),
        ),
        migrations.RunPython(create_indexes, drop_indexes),
        migrations.RunPython(fill_search_terms, migrations.RunPython.noop),
    ]
