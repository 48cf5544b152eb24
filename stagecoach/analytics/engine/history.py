"""Deals' fields as they were known at ``as_of``, rebuilt from their field history.

The CRM hands over each deal's *current* amount, close date and owner. A figure as of a
past day must use what was known that day, or a back-test reads the future: a deal
whose amount was raised after as-of would count at the new amount in the pipeline and
the forecast of a day that never saw it.

A field's value at as-of is the old value of its first change after as-of (the value it
had until then), else its current value. Changes whose old value is unknown (null: a
source that does not record it) leave the field as it is; an empty old value means the
field was empty (an owner is never empty: it stays). An old value that cannot be read (an owner who is not a person, text
that is not an amount or a date) leaves the current value. The deal's type has no
history and is read as it is now.

One join per field against the changes after as-of, never a query per deal; when no
change is later than as-of (figures as of today) the data is returned untouched.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import polars as pl

from stagecoach.analytics.engine.frames import Data

# FieldChange.field → the opportunities column it rewinds.
FIELDS = {"amount": "amount", "close_date": "close_date", "owner": "owner_id"}


def known_at(data: Data, as_of: datetime) -> Data:
    """``data`` with each deal's amount, close date and owner as they stood at ``as_of``."""
    changes = data.field_changes
    if changes.is_empty() or "old_value" not in changes.columns:
        return data
    last = changes.get_column("changed_at").max()
    if last is None or last <= as_of:  # type: ignore[operator]
        return data
    later = changes.filter(
        (pl.col("changed_at") > as_of)
        & pl.col("old_value").is_not_null()
        & pl.col("field").is_in(list(FIELDS))
    )
    if later.is_empty():
        return data
    # The first change of each field after as-of; ties at one moment keep the first row.
    first = later.group_by("opportunity_id", "field").agg(
        pl.col("old_value").get(pl.col("changed_at").arg_min())
    )
    opportunities = data.opportunities
    for field, column in FIELDS.items():
        old = first.filter(pl.col("field") == field).select(
            "opportunity_id", pl.col("old_value").alias("_old")
        )
        if old.is_empty():
            continue
        opportunities = opportunities.join(
            old, left_on="id", right_on="opportunity_id", how="left"
        ).with_columns(_rewound(field, column, data).alias(column))
        opportunities = opportunities.drop("_old")
    return replace(data, opportunities=opportunities)


def _rewound(field: str, column: str, data: Data) -> pl.Expr:
    text = pl.col("_old").str.strip_chars()
    if field == "amount":
        # Recorded in the deal's own currency: converted as its current amount was.
        parsed = text.cast(pl.Float64, strict=False) / pl.col("fx_rate")
    elif field == "close_date":
        parsed = text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
    else:
        people = data.people.get_column("id").implode()
        number = text.cast(pl.Int64, strict=False)
        parsed = pl.when(number.is_in(people)).then(number)
    current = pl.col(column)
    if field == "owner":  # a deal always has an owner: an empty one is not known
        return parsed.fill_null(current)
    return pl.when(text == "").then(None).otherwise(parsed.fill_null(current))
