"""A full-text index for the /papers/ search box, on PostgreSQL only.

The expression must be exactly the one papers.selectors.paper_search builds (weighted title and
abstract vectors, 'english' configuration), or PostgreSQL will not use the index. SQLite searches
with substring matching and needs nothing.
"""

from django.db import migrations

INDEX_NAME = "paper_search_document_gin"
CREATE_SQL = f"""
CREATE INDEX IF NOT EXISTS {INDEX_NAME} ON papers_paper USING gin ((
    setweight(to_tsvector('english'::regconfig, COALESCE(title, '')), 'A')
    || setweight(to_tsvector('english'::regconfig, COALESCE(abstract, '')), 'B')
))
"""


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE_SQL)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX_NAME}")


class Migration(migrations.Migration):
    dependencies = [("papers", "0001_initial")]

    operations = [migrations.RunPython(create_index, drop_index)]
