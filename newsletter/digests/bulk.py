"""Writing many rows at once: a day's planning inserts millions of digest items.

On PostgreSQL the rows are sent as one COPY, formatted here as COPY's text format (cheaper than
adapting each value through the driver). They go straight into the table inside a savepoint; if
some already exist (another run got there first), the savepoint is undone and the rows go through a
temporary table and one `INSERT … SELECT … ON CONFLICT DO NOTHING`, which keeps theirs and adds the
rest. Elsewhere (SQLite, the embedded default) it is bulk_create with ignore_conflicts.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable

from django.db import IntegrityError, connection, transaction
from django.db.models import JSONField, Model

INSERT_BATCH = 5000
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def insert_ignoring_conflicts(model: type[Model], columns: list[str], rows: list[tuple]) -> None:
    """INSERT … ON CONFLICT DO NOTHING for many rows; JSON columns are passed already encoded.

    Call it inside a transaction on PostgreSQL (the staging table lives until the commit).
    """
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(
            [model(**_decoded(model, dict(zip(columns, row, strict=True)))) for row in rows],
            batch_size=INSERT_BATCH,
            ignore_conflicts=True,
        )
        return
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(model._meta.get_field(c).column) for c in columns)
    text = copy_text(rows)
    try:
        with transaction.atomic():  # a savepoint: a conflict undoes this attempt only
            _copy(table, names, text)
    except IntegrityError:
        _copy_ignoring_conflicts(model, table, names, text)


def _copy(table: str, names: str, text: str) -> None:
    # The driver's own cursor does the COPY; Django's wrapper turns its errors into Django's
    # (IntegrityError above), as for any query.
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
    ):
        copy.write(text)


def _copy_ignoring_conflicts(model: type[Model], table: str, names: str, text: str) -> None:
    staging = connection.ops.quote_name(f"staging_{model._meta.db_table}")
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {staging} ON COMMIT DROP AS SELECT {names} FROM {table} WITH NO DATA"  # noqa: S608 - names come from the model
        )
        with cursor.cursor.copy(f"COPY {staging} ({names}) FROM STDIN") as copy:
            copy.write(text)
        cursor.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {staging} ON CONFLICT DO NOTHING")  # noqa: S608 - names come from the model
        cursor.execute(f"DROP TABLE {staging}")


def copy_text(rows: Iterable[tuple]) -> str:
    """Rows in COPY's text format: tab-separated, \\N for NULL, backslash escapes in text."""
    return "".join("\t".join(map(_field, row)) + "\n" for row in rows)


def _field(value: object) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value).translate(_ESCAPES)


def _decoded(model: type[Model], values: dict) -> dict:
    for name, value in values.items():
        if isinstance(model._meta.get_field(name), JSONField) and isinstance(value, str):
            values[name] = json.loads(value)
    return values
