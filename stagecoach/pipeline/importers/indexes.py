"""A first import into an empty table builds its secondary indexes once, after the rows.

Keeping a B-tree up to date row by row costs PostgreSQL more than the COPY itself (the
stage changes: 4.2 s into their keyed table against 1.1 s into a bare one); sorting the
finished table once per index costs a fraction of that. Only an empty table qualifies:
rebuilding indexes over rows already stored would cost more than it saves.

The indexes are read from the catalogue and built again from their own definitions, so
their names and columns stay exactly what the migrations made. DDL is transactional in
PostgreSQL: an import that fails gets them back with its rollback. Dropping an index
locks the table against readers until the import commits, which on an empty table
keeps nobody from anything they could have read. SQLite keeps its indexes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection, transaction

# The server's memory for sorting one index; the default (64 MB) spills millions of
# rows to disk. It lasts until the import's transaction ends.
SORT_MEMORY = "256MB"


@dataclass
class DeferredIndexes:
    """Drop ``table``'s secondary indexes, unique constraints and foreign keys if it is
    empty; put them back with :meth:`rebuild`, which keeps the first row (lowest id) of any rows that
    repeat a unique key, as inserting with the key in place would have."""

    table: str
    active: bool = False
    _primary_key: str = ""
    _foreign_keys: list[tuple[str, str]] = field(default_factory=list)
    _indexes: list[str] = field(default_factory=list)
    _uniques: list[tuple[str, str, list[str]]] = field(default_factory=list)

    def drop_if_empty(self) -> bool:
        if connection.vendor != "postgresql":
            return False
        quoted = connection.ops.quote_name(self.table)
        with connection.cursor() as cursor:
            # Others may read, not write, until the import commits: the table stays empty.
            cursor.execute(f"LOCK TABLE {quoted} IN SHARE ROW EXCLUSIVE MODE")
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {quoted})")  # noqa: S608
            if cursor.fetchone()[0]:
                return False
            cursor.execute(
                "SELECT c.conname, pg_get_constraintdef(c.oid), ARRAY("
                "  SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY AS k(num, pos)"
                "  JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.num"
                "  ORDER BY k.pos) "
                "FROM pg_constraint c WHERE c.conrelid = %s::regclass AND c.contype = 'u' "
                "ORDER BY c.conname",
                [quoted],
            )
            self._uniques = [(name, text, list(cols)) for name, text, cols in cursor.fetchall()]
            cursor.execute(
                "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
                "JOIN pg_class i ON i.oid = x.indexrelid "
                "WHERE x.indrelid = %s::regclass AND NOT x.indisprimary "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) "
                "ORDER BY i.relname",
                [quoted],
            )
            named = cursor.fetchall()
            self._indexes = [text for _, text in named]
            # Even the primary key: keeping it costs as much as the COPY, building it
            # once a fifth of that. Not when another table's foreign key needs it.
            cursor.execute(
                "SELECT c.conname FROM pg_constraint c WHERE c.conrelid = %s::regclass "
                "AND c.contype = 'p' AND NOT EXISTS (SELECT 1 FROM pg_constraint f "
                "WHERE f.contype = 'f' AND f.confrelid = c.conrelid)",
                [quoted],
            )
            primary = cursor.fetchone()
            self._primary_key = primary[0] if primary else ""
            # A foreign key checks each row with a query of its own (at commit, being
            # deferred); added back, it checks them all with one join.
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname",
                [quoted],
            )
            self._foreign_keys = cursor.fetchall()
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # see rebuild()
            for name, _ in self._foreign_keys:
                cursor.execute(
                    f"ALTER TABLE {quoted} DROP CONSTRAINT {connection.ops.quote_name(name)}"
                )
            for name, _, _ in self._uniques:
                cursor.execute(
                    f"ALTER TABLE {quoted} DROP CONSTRAINT {connection.ops.quote_name(name)}"
                )
            for name, _ in named:
                cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
            if self._primary_key:
                cursor.execute(
                    f"ALTER TABLE {quoted} DROP CONSTRAINT "
                    f"{connection.ops.quote_name(self._primary_key)}"
                )
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        self.active = True
        return True

    def rebuild(self) -> int:
        """Build the indexes again; return how many repeated rows were removed first."""
        if not self.active:
            return 0
        self.active = False
        quoted = connection.ops.quote_name(self.table)
        removed = 0
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL maintenance_work_mem = '{SORT_MEMORY}'")
            # PostgreSQL alters no table with foreign-key checks pending on its rows:
            # they run now instead of at commit, and later rows are deferred again
            # (every constraint that can be deferred is, by Django's default).
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for name, definition, columns in self._uniques:
                add = (
                    f"ALTER TABLE {quoted} ADD CONSTRAINT "
                    f"{connection.ops.quote_name(name)} {definition}"
                )
                try:
                    with transaction.atomic():
                        cursor.execute(add)
                except IntegrityError:
                    # The rows repeat a key: what inserting with the key in place would
                    # have skipped goes now, and the second build cannot fail.
                    removed += _delete_repeats(cursor, quoted, columns)
                    cursor.execute(add)
            if self._primary_key:
                cursor.execute(
                    f"ALTER TABLE {quoted} ADD CONSTRAINT "
                    f"{connection.ops.quote_name(self._primary_key)} PRIMARY KEY (id)"
                )
            for definition in self._indexes:
                cursor.execute(definition)
            for name, definition in self._foreign_keys:
                cursor.execute(
                    f"ALTER TABLE {quoted} ADD CONSTRAINT "
                    f"{connection.ops.quote_name(name)} {definition}"
                )
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            cursor.execute(f"ANALYZE {quoted}")
        return removed


def _delete_repeats(cursor: Any, quoted: str, columns: list[str]) -> int:
    cols = [connection.ops.quote_name(c) for c in columns]
    # A unique key never matches NULL to NULL: such rows are no repeats.
    known = " AND ".join(f"{c} IS NOT NULL" for c in cols)
    cursor.execute(
        f"DELETE FROM {quoted} WHERE id IN (SELECT id FROM ("  # noqa: S608
        f"SELECT id, row_number() OVER (PARTITION BY {', '.join(cols)} ORDER BY id) AS n "
        f"FROM {quoted} WHERE {known}) r WHERE n > 1)"
    )
    return int(cursor.rowcount)
