"""``field__any_of=[...]``: ``field IN (...)`` for many hashable values (ids), which on
PostgreSQL is ``field = ANY(%s)`` with the values as one array.

Django binds parameters on the client (psycopg's ``ClientCursor``), composing each value
into the statement in Python, and PostgreSQL then parses a statement as long as the list.
A delivery round reads and updates its 400 jobs by id several times: with ``IN``, an
update of 400 jobs took 9.7-11.1 ms, with ``ANY`` 7.1-8.8; a read 2.6-4.0 ms against 1.0
(medians of 30, the bench machine). Elsewhere it is Django's own ``__in``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field
from django.db.models.lookups import In
from django.db.models.sql.compiler import SQLCompiler
from django.utils.datastructures import OrderedSet


@Field.register_lookup
class AnyOf(In):
    lookup_name = "any_of"

    def as_postgresql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, Any]:
        if not self.rhs_is_direct_value():  # a subquery: as IN
            return super().as_sql(compiler, connection)
        values = OrderedSet(self.rhs)  # ids: hashable
        values.discard(None)  # as IN: NULL matches nothing
        if not values:
            raise EmptyResultSet  # as IN: the query is not run
        lhs, lhs_params = self.process_lhs(compiler, connection)
        _, params = self.batch_process_rhs(compiler, connection, values)
        return f"{lhs} = ANY(%s)", [*lhs_params, list(params)]
