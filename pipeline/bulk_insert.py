"""Multi-row INSERTs for the ingest and delivery paths, without building a model instance
per row.

``bulk_create`` spends most of an ingest request's time making and preparing model
instances (about 60 µs a row); the Tracking API stores hundreds of rows per request, and
almost every column holds the same value in all of them (the source, the arrival time,
the defaults). Here the columns common to all rows are prepared once, by their fields,
and only the varying ones come per row, already in database form.

On PostgreSQL the varying columns go as one array each, unnested by the server, in
binary, on a cursor of psycopg's own that binds on the server: Django's cursor binds on
the client, where psycopg composes every value into the statement in Python, which cost
more than the insert itself. The statement's text no longer depends on the number of
rows either, so psycopg parses it once. Storing 100 events (their seen messageIds,
events and jobs) took 14.3 ms that way, 8.6 ms this way, on the bench machine. (These
statements do not go through Django's cursor: DEBUG's ``connection.queries`` omits them.)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeAlias

import psycopg
from django.db import connection, models

# Rows per statement: far below SQLite's (32,766) and PostgreSQL's (65,535) limits on
# parameters for the widest table here.
ROWS_PER_STATEMENT = 500


Fields: TypeAlias = "list[models.Field[Any, Any]]"  # (django-stubs' generics, not at run time)


def _columns(
    model: type[models.Model], constant: Mapping[str, Any], varying: Sequence[str]
) -> tuple[Fields, list[Any], Fields]:
    """(constant fields, their prepared values, varying fields), in the order the
    statement lists them. A field with neither a value nor a default is a
    programming error, caught here rather than by a NOT NULL failure at ingest."""
    fixed: Fields = []
    values: list[Any] = []
    for field in model._meta.concrete_fields:
        if field.primary_key or field.attname in varying:
            continue
        if field.attname in constant:
            value = constant[field.attname]
        elif field.has_default():
            value = field.get_default()
        elif field.null:
            value = None
        else:
            raise ValueError(f"{model.__name__}.{field.attname} needs a value")
        fixed.append(field)
        values.append(field.get_db_prep_save(value, connection))
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    return fixed, values, [by_attname[name] for name in varying]


def _adding_tail(
    model: type[models.Model], table: str, keys: Sequence[str], added: Sequence[str]
) -> str:
    column = {f.attname: connection.ops.quote_name(f.column) for f in model._meta.concrete_fields}
    sums = ", ".join(f"{column[a]} = {table}.{column[a]} + excluded.{column[a]}" for a in added)
    return f" ON CONFLICT ({', '.join(column[k] for k in keys)}) DO UPDATE SET {sums}"


def _replacing_tail(
    model: type[models.Model],
    table: str,
    keys: Sequence[str],
    replaced: Sequence[str],
    same: Sequence[str],
) -> str:
    column = {f.attname: connection.ops.quote_name(f.column) for f in model._meta.concrete_fields}
    sets = ", ".join(f"{column[a]} = excluded.{column[a]}" for a in replaced)
    where = " AND ".join(f"{table}.{column[a]} = excluded.{column[a]}" for a in same)
    return f" ON CONFLICT ({', '.join(column[k] for k in keys)}) DO UPDATE SET {sets}" + (
        f" WHERE {where}" if where else ""
    )


def rows_insert(
    model: type[models.Model],
    *,
    constant: Mapping[str, Any],
    varying: Sequence[str],
    rows: Iterable[Sequence[Any]],
    ignore_conflicts: bool = False,
    returning: Sequence[str] = (),
    add_on_conflict: tuple[Sequence[str], Sequence[str]] | None = None,
    replace_on_conflict: tuple[Sequence[str], Sequence[str], Sequence[str]] | None = None,
) -> list[tuple[Any, ...]]:
    """Insert one row per item of ``rows`` (values of the ``varying`` attnames, ready for
    the database); every other column gets its ``constant`` value or its default.
    Returns the ``returning`` columns of the rows inserted (with ``ignore_conflicts``,
    only those that met no unique constraint), in no particular order.

    ``add_on_conflict=(keys, added)``: a row whose ``keys`` (the columns of a unique
    constraint) meet an existing row adds its ``added`` columns to that row's instead
    (counters: PostgreSQL and SQLite both take ``ON CONFLICT (...) DO UPDATE``). One
    statement must not carry the same keys twice: sum such rows first.

    ``replace_on_conflict=(keys, replaced, same)``: a row whose ``keys`` meet an existing
    row sets that row's ``replaced`` columns to its own instead, where the two agree on
    the ``same`` columns (elsewhere the existing row is kept)."""
    fixed_fields, fixed_values, varying_fields = _columns(model, constant, varying)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in [*varying_fields, *fixed_fields])
    table = quote(model._meta.db_table)
    tail = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    if add_on_conflict is not None:
        tail = _adding_tail(model, table, *add_on_conflict)
    if replace_on_conflict is not None:
        tail = _replacing_tail(model, table, *replace_on_conflict)
    if returning:
        tail += " RETURNING " + ", ".join(quote(name) for name in returning)
    batch = list(rows)
    if not batch:
        return []
    if connection.vendor == "postgresql":
        return _insert_unnested(table, columns, tail, varying_fields, fixed_fields, fixed_values,
                                batch, returning=bool(returning))  # fmt: skip
    width = len(varying_fields) + len(fixed_fields)
    row_sql = "(" + ", ".join(["%s"] * width) + ")"
    inserted: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for start in range(0, len(batch), ROWS_PER_STATEMENT):
            chunk = batch[start : start + ROWS_PER_STATEMENT]
            params: list[Any] = []
            for row in chunk:
                params.extend(row)
                params.extend(fixed_values)
            sql = f"INSERT INTO {table} ({columns}) VALUES {', '.join([row_sql] * len(chunk))}"
            cursor.execute(sql + tail, params)
            if returning:
                inserted.extend(tuple(r) for r in cursor.fetchall())
    return inserted


def _insert_unnested(
    table: str,
    columns: str,
    tail: str,
    varying_fields: Fields,
    fixed_fields: Fields,
    fixed_values: Sequence[Any],
    batch: Sequence[Sequence[Any]],
    *,
    returning: bool,
) -> list[tuple[Any, ...]]:
    """PostgreSQL: one statement for all rows, each varying column one array parameter.
    Every parameter is cast to its column's type: in a SELECT list PostgreSQL would read
    an untyped value as text."""
    arrays = ", ".join(f"%b::{f.db_type(connection)}[]" for f in varying_fields)
    fixed = "".join(f", %s::{f.db_type(connection)}" for f in fixed_fields)
    sql = f"INSERT INTO {table} ({columns}) SELECT v.*{fixed} FROM unnest({arrays}) AS v" + tail
    by_varying = [list(values) for values in zip(*batch, strict=True)]
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, [*fixed_values, *by_varying])
        return [tuple(r) for r in cursor.fetchall()] if returning else []
