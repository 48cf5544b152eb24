"""One writer at a time for work that must not interleave, on either database."""

from __future__ import annotations

from django.db import connection

# Keys of the transaction locks, the same in every process (Python's hash() is not).
ON_DEMAND_CLAIMS = 7_421_001
IMPORTS = 7_421_002


def hold_until_commit(key: int) -> None:
    """Wait for, then hold until the current transaction ends, the lock named ``key``.

    PostgreSQL: a transaction-level advisory lock. SQLite: nothing to do, since every
    write transaction there is IMMEDIATE and so already one at a time.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
