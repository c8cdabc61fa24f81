"""SearchTermsField: a set of word forms per row, stored the way each database can search it.

PostgreSQL stores a `text[]`, searched through a GIN index on `array_to_tsvector(search_terms)`
with one tsquery (`'llm' | 'larg' & 'languag' & 'model'`, `'agent':*`): array_to_tsvector takes
each element as a lexeme as it is, with no parsing, stemming or stop words. SQLite stores
" a b c " (one space around every form) and searches it with LIKE. In Python the value is a sorted
list of strings either way. papers.search explains what the forms are and why searching them is safe.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Lookup


class SearchTermsField(models.Field):
    description = "Search terms (text[] on PostgreSQL, space-separated text elsewhere)"

    def db_type(self, connection: Any) -> str:
        return "text[]" if connection.vendor == "postgresql" else "text"

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> list[str]:
        return self.to_python(value)

    def to_python(self, value: Any) -> list[str]:
        if value is None:
            return []
        return value.split() if isinstance(value, str) else list(value)

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        terms = self.to_python(value)
        if connection.vendor == "postgresql":
            return terms
        return f" {' '.join(terms)} " if terms else ""


class _Like(Lookup):
    """LIKE over the space-separated text. On SQLite LIKE also ignores ASCII case, which can only add
    rows (the forms are case-folded already)."""

    prepare_rhs = False  # the right-hand side is one form, not a value of the field

    def pattern(self, escaped: str) -> str:
        raise NotImplementedError

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        pattern = self.pattern(connection.ops.prep_for_like_query(self.rhs))
        return f"{lhs} LIKE %s ESCAPE '\\'", [*lhs_params, pattern]


@SearchTermsField.register_lookup
class HasTerm(_Like):
    """The row holds this exact form (not for PostgreSQL: use `tsquery`)."""

    lookup_name = "has_term"

    def pattern(self, escaped: str) -> str:
        return f"% {escaped} %"


@SearchTermsField.register_lookup
class HasPrefix(_Like):
    """The row holds a form starting with this prefix (not for PostgreSQL: use `tsquery`)."""

    lookup_name = "has_prefix"

    def pattern(self, escaped: str) -> str:
        return f"% {escaped}%"


@SearchTermsField.register_lookup
class MatchesTsquery(Lookup):
    """PostgreSQL only: the row's forms, as lexemes, match this tsquery text (served by the GIN index
    `paper_search_terms_gin` on exactly this expression)."""

    lookup_name = "tsquery"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"array_to_tsvector({lhs}) @@ %s::tsquery", [*lhs_params, self.rhs]
