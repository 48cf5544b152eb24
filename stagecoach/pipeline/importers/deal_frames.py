"""The deals of a first import from a plain file, a chunk of columns at a time.

The same checks, in the same order, with the same rejects and warnings as
``Loader.load_opportunities`` gives each record (its ``_values`` and ``_money``): a
repeated id, an id too long, an amount too large, an unknown stage, no exchange rate,
an amount too large in the organisation's currency, then the owner (created when
unknown, in the order the rows name them) and the descriptive text cut to its column.
Only a first import of the source comes here: with no deal stored there is nothing to
compare, update or hold back, and ids are handed out in line order as the rows are.
Distinct values (stages, currencies, amounts, owners) are worked out once each.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

import polars as pl
from django.db import connection

from stagecoach.pipeline.importers import columnar
from stagecoach.pipeline.importers.canonical import FrameChunk
from stagecoach.pipeline.importers.history import reject_rows
from stagecoach.pipeline.importers.records import CENT, MAX_AMOUNT, MAX_ID, MAX_NAME
from stagecoach.pipeline.models import Opportunity

if TYPE_CHECKING:
    from stagecoach.pipeline.importers.loader import Loader

# Each distinct (pipeline, stage) or (currency, amount) is a key of its parts.
SEPARATOR = "\x1f"


def load_opportunity_frames(loader: Loader, chunks: Iterator[FrameChunk], next_id: int) -> set[str]:
    """Write the deals; return the ids read (the first row of each), as the row path does."""
    seen: set[str] = set()
    for chunk in chunks:
        frame = chunk.frame.sort("_line")  # the careful parser's rows come last
        loader.tick(frame.height)
        frame = _first_of_each(loader, chunk, frame, seen)
        frame, amounts = _checked_ids_and_amounts(loader, chunk, frame)
        frame, stages = _with_stages(loader, chunk, frame)
        frame, money = _with_money(loader, chunk, frame, amounts)
        _owners_and_long_text(loader, chunk, frame)
        next_id += _write(loader, frame, next_id, stages, money)
    return seen


def _first_of_each(
    loader: Loader, chunk: FrameChunk, frame: pl.DataFrame, seen: set[str]
) -> pl.DataFrame:
    """A deal read again is rejected; the first row of each id is kept."""
    ids = frame["opportunity_id"]
    earlier = [i for i in ids.unique().to_list() if i in seen]  # read in an earlier chunk
    first = ids.is_first_distinct() & ~ids.is_in(earlier)
    reject_rows(
        loader,
        chunk,
        frame.filter(~first),
        table="opportunities",
        column="opportunity_id",
        reason=lambda row: (
            f"opportunity {row['opportunity_id']!r} appears twice; the first row was kept"
        ),
    )
    frame = frame.filter(first)
    seen.update(frame["opportunity_id"].to_list())
    return frame


def _checked_ids_and_amounts(
    loader: Loader, chunk: FrameChunk, frame: pl.DataFrame
) -> tuple[pl.DataFrame, dict[str, Decimal]]:
    """Ids the columns cannot hold and amounts out of range, rejected; each distinct
    amount's value."""
    amounts = {text: Decimal(text) for text in frame["amount"].unique().to_list() if text}
    big = [text for text, value in amounts.items() if abs(value) >= MAX_AMOUNT]
    negative = [text for text, value in amounts.items() if value < 0]
    for failing, column, reason in (
        (
            pl.col("opportunity_id").str.len_chars() > MAX_ID,
            "opportunity_id",
            lambda row: f"the id is longer than {MAX_ID} characters",
        ),
        (
            pl.col("owner_id").str.len_chars() > MAX_ID,
            "owner_id",
            lambda row: f"the owner's id is longer than {MAX_ID} characters",
        ),
        (
            pl.col("amount").is_in(big),
            "amount",
            lambda row: f"amount {amounts[row['amount']]} is too large",
        ),
        (
            pl.col("amount").is_in(negative),
            "amount",
            lambda row: f"amount {amounts[row['amount']]} is negative",
        ),
    ):
        frame = _check(loader, chunk, frame, failing, column, reason)
    return frame, amounts


def _with_stages(
    loader: Loader, chunk: FrameChunk, frame: pl.DataFrame
) -> tuple[pl.DataFrame, dict[str, tuple[int, int]]]:
    """Each distinct (pipeline, stage) resolved once and counted for every row; rows
    of an unknown stage rejected. Returns (pipeline id, stage id) by ``_stage_key``."""
    stages: dict[str, tuple[int, int]] = {}
    for pipeline, stage, rows in frame.group_by("pipeline", "stage").len().iter_rows():
        resolved = loader.stage_map.resolve(pipeline, stage, rows=rows)
        if resolved is not None:
            stages[f"{pipeline}{SEPARATOR}{stage}"] = (resolved.pipeline_id, resolved.pk)
    frame = frame.with_columns(
        pl.concat_str("pipeline", pl.lit(SEPARATOR), "stage").alias("_stage_key")
    )
    frame = _check(
        loader,
        chunk,
        frame,
        ~pl.col("_stage_key").is_in(list(stages)),
        "stage",
        lambda row: loader.unknown_stage_reason(row["pipeline"], row["stage"]),
    )
    return frame, stages


Money = tuple[str | None, str | None, str]  # amount, in the organisation's currency, rate


def _with_money(
    loader: Loader, chunk: FrameChunk, frame: pl.DataFrame, amounts: dict[str, Decimal]
) -> tuple[pl.DataFrame, dict[str, Money]]:
    """The currency (the organisation's when empty), the amount to the cent and in the
    organisation's currency at the stored rate, by ``_money_key``; a warning a row for
    a currency without a rate; rows too large once converted rejected."""
    frame = frame.with_columns(
        pl.when(pl.col("currency") == "")
        .then(pl.lit(loader.org_currency))
        .otherwise(pl.col("currency"))
        .alias("currency")
    )
    money: dict[str, Money] = {}
    too_large: list[str] = []
    for currency, amount in frame.select("currency", "amount").unique().iter_rows():
        key = f"{currency}{SEPARATOR}{amount}"
        rate = loader.rates.get(currency)
        value = amounts.get(amount)
        cents = value.quantize(CENT, ROUND_HALF_UP) if value is not None else None
        in_org = None
        if rate is not None and cents is not None:
            in_org = (cents / rate).quantize(CENT, ROUND_HALF_UP)
            if in_org >= MAX_AMOUNT:
                too_large.append(key)
        money[key] = (
            None if cents is None else str(cents),
            None if in_org is None else str(in_org),
            str(rate if rate is not None else Decimal(1)),
        )
    for currency, rows in frame.group_by("currency", maintain_order=True).len().iter_rows():
        if currency not in loader.rates:
            for _ in range(rows):
                loader.report.warn(
                    f"no exchange rate for {currency}: amounts kept in {currency} only; "
                    "add the rate (CurrencyType or rates.csv) and import again",
                    file=chunk.file,
                )
    frame = frame.with_columns(
        pl.concat_str("currency", pl.lit(SEPARATOR), "amount").alias("_money_key")
    )
    frame = _check(
        loader,
        chunk,
        frame,
        pl.col("_money_key").is_in(too_large),
        "amount",
        lambda row: (
            f"amount {amounts[row['amount']]} {row['currency']} is too large in "
            f"{loader.org_currency}"
        ),
    )
    return frame, money


def _owners_and_long_text(loader: Loader, chunk: FrameChunk, frame: pl.DataFrame) -> None:
    """Unknown owners created in the order the rows first name them; a warning for each
    name or account cut to its column."""
    firsts = frame.group_by("owner_id", maintain_order=True).agg(pl.col("_line").first())
    for owner, line in firsts.iter_rows():
        if owner not in loader.people.ids:
            loader.people.owner(owner, file=chunk.file, line=line)
    for column, what in (("name", "deal names"), ("account", "account names")):
        long_text = frame.filter(pl.col(column).str.len_chars() > MAX_NAME)
        for value, line in long_text.select(column, "_line").iter_rows():
            loader.report.cut(value, MAX_NAME, what, file=chunk.file, line=line)


def _write(
    loader: Loader,
    frame: pl.DataFrame,
    next_id: int,
    stages: dict[str, tuple[int, int]],
    money: dict[str, Money],
) -> int:
    """COPY the chunk's deals with ids from ``next_id``; return how many."""
    count = frame.height
    if not count:
        return 0
    keys = frame["_money_key"].to_list()
    pipeline_ids = {key: ids[0] for key, ids in stages.items()}
    stage_ids = {key: ids[1] for key, ids in stages.items()}
    rows = frame.select(
        pl.int_range(next_id, next_id + count, dtype=pl.Int64).alias("id"),
        pl.lit(loader.source).alias("source"),
        pl.col("opportunity_id").alias("source_id"),
        pl.col("owner_id")
        .replace_strict(loader.people.ids, return_dtype=pl.Int64)
        .alias("owner_id"),
        pl.col("_stage_key")
        .replace_strict(pipeline_ids, return_dtype=pl.Int64)
        .alias("pipeline_id"),
        pl.col("_stage_key").replace_strict(stage_ids, return_dtype=pl.Int64).alias("stage_id"),
        pl.col("name").str.slice(0, MAX_NAME),
        pl.col("account").str.slice(0, MAX_NAME),
        "type",
        pl.Series("amount", [money[k][0] for k in keys], dtype=pl.String),
        "currency",
        pl.Series("amount_org", [money[k][1] for k in keys], dtype=pl.String),
        pl.Series("fx_rate", [money[k][2] for k in keys], dtype=pl.String),
        "created_at",
        "close_date",
        "modified_at",
        pl.lit(None, dtype=pl.Datetime("us", "UTC")).alias("closed_at"),
        pl.lit(loader.now).cast(pl.Datetime("us", "UTC")).alias("updated_at"),
    )
    table = connection.ops.quote_name(Opportunity._meta.db_table)
    columns = ("id", "source", "source_id", *loader._FIELDS, "closed_at", "updated_at")
    with connection.cursor() as cursor:
        columnar.copy_frame(cursor.cursor, table, columnar.db_text(rows, columns))
    loader.opportunity_ids.update(
        zip(rows["source_id"].to_list(), rows["id"].to_list(), strict=True)
    )
    loader.touched.update(rows["id"].to_list())
    loader.report.table("opportunities").created += count
    return count


def _check(
    loader: Loader,
    chunk: FrameChunk,
    frame: pl.DataFrame,
    failing: pl.Expr,
    column: str,
    reason: Any,
) -> pl.DataFrame:
    """Reject the rows ``failing`` picks (remembering their lines); keep the rest."""
    bad = frame.filter(failing)
    if bad.height:
        reject_rows(loader, chunk, bad, table="opportunities", column=column, reason=reason)
        loader.rejected_opportunities.update(
            zip(bad["opportunity_id"].to_list(), bad["_line"].to_list(), strict=True)
        )
        return frame.filter(~failing)
    return frame
