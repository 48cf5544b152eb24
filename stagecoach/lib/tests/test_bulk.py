from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from django.db import connection

from stagecoach.accounts.models import Team
from stagecoach.lib.bulk import (
    BulkWriter,
    db_datetime,
    db_datetimes,
    next_free_id,
    sync_id_sequence,
)

pytestmark = pytest.mark.django_db


def test_vectorised_timestamps_match_the_scalar_ones() -> None:
    epochs = np.array([0, 1_700_000_000, 1_800_000_123], dtype=np.int64)
    for vendor in ("sqlite", "postgresql"):
        assert db_datetimes(epochs, vendor) == [db_datetime(int(e), vendor) for e in epochs]


def test_bulk_rows_read_back_through_the_orm() -> None:
    table = Team._meta.db_table
    first = next_free_id(connection, table)
    with BulkWriter(
        connection, table, ("id", "name", "parent_id", "manager_id"), batch_size=7
    ) as w:
        for i in range(25):
            w.add((first + i, f'Team\t{i}\\ "quoted"\n', None, None))
    sync_id_sequence(connection, table)
    assert w.written == 25
    assert Team.objects.get(pk=first + 3).name == 'Team\t3\\ "quoted"\n'
    # The ORM carries on above the bulk-written ids (SQLite may go further: its
    # AUTOINCREMENT also remembers ids that earlier tests used and deleted).
    assert Team.objects.create(name="after").pk > first + 24


def test_timestamps_written_in_bulk_read_back_exactly() -> None:
    from stagecoach.accounts.models import Person
    from stagecoach.pipeline.models import Activity

    person = Person.objects.create(name="P")
    epoch = 1_750_000_000
    table = Activity._meta.db_table
    first = next_free_id(connection, table)
    with BulkWriter(
        connection,
        table,
        (
            "id",
            "source",
            "source_id",
            "owner_id",
            "type",
            "occurred_at",
            "opportunity_id",
            "subject",
        ),
    ) as w:
        w.add(
            (
                first,
                "manual",
                "a1",
                person.pk,
                "call",
                db_datetime(epoch, connection.vendor),
                None,
                "",
            )
        )
    sync_id_sequence(connection, table)
    activity = Activity.objects.get(source_id="a1")
    assert activity.occurred_at == datetime.fromtimestamp(epoch, tz=UTC)
    assert (
        Activity.objects.filter(occurred_at__gte=datetime.fromtimestamp(epoch, tz=UTC)).count() == 1
    )
