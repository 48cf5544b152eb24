"""Loading the big streams — stage changes, field changes, activities — through staging.

Each stream is staged in full on the database side, then matched against what is
already there in one statement per table, so a million rows cost a million cheap
appends and a handful of joins, not a query per batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import polars as pl

from stagecoach.pipeline.importers import columnar
from stagecoach.pipeline.importers.columnar import FrameWriter
from stagecoach.pipeline.importers.records import MAX_ID
from stagecoach.pipeline.importers.staging import DirectInsert, StagingTable
from stagecoach.pipeline.models import Activity, FieldChange, StageChange

ACTIVITY_KEYS = ("source", "source_id")

if TYPE_CHECKING:
    from stagecoach.pipeline.importers.canonical import FrameChunk
    from stagecoach.pipeline.importers.loader import Loader


def load_stage_changes(loader: Loader) -> None:
    frames = getattr(loader.reader, "stage_change_frames", lambda: None)()
    if frames is not None:
        load_stage_change_frames(loader, frames)
        return
    counts = loader.report.table("stage_changes")
    columns = ("opportunity_id", "stage_id", "changed_at")
    moved: set[int] = set()
    fresh = not StageChange.objects.filter(opportunity__source=loader.source).exists()
    table = StageChange._meta.db_table
    types = ("int8", "int8", "timestamptz")
    latest = loader.latest_change
    with (
        DirectInsert(table, columns, types=types)
        if fresh
        else StagingTable(table, columns, types=types)
    ) as staging:
        for record in loader.reader.stage_changes():
            opp_id = loader.opportunity_id(record.opportunity_source_id)
            if opp_id is None:
                problem = "opportunity_id", loader.missing_opportunity(record.opportunity_source_id)
                loader.report.reject_record("stage_changes", record, *problem)
                continue
            stage = loader.stage_for(
                record.pipeline,
                record.stage,
                table="stage_changes",
                file=record.file,
                line=record.line,
                raw=record.raw,
            )
            if stage is None:
                continue
            if record.changed_at > latest:
                problem = "changed_at", loader.future_change_reason(record.changed_at)
                loader.report.reject_record("stage_changes", record, *problem)
                continue
            staging.add((opp_id, stage.pk, loader.db_time(record.changed_at)))
            moved.add(opp_id)
            loader.tick(1)
        created = staging.finish()
    counts.created += created
    counts.unchanged += staging.staged - created
    if created:
        loader.touched |= moved


def load_field_changes(loader: Loader) -> None:
    counts = loader.report.table("field_changes")
    columns = ("opportunity_id", "field", "old_value", "new_value", "changed_at")
    people = loader.people.ids
    fresh = not FieldChange.objects.filter(opportunity__source=loader.source).exists()
    table = FieldChange._meta.db_table
    types = ("int8", "varchar", "varchar", "varchar", "timestamptz")
    with (
        DirectInsert(table, columns, types=types)
        if fresh
        else StagingTable(table, columns, types=types)
    ) as staging:
        for record in loader.reader.field_changes():
            opp_id = loader.opportunity_id(record.opportunity_source_id)
            if opp_id is None:
                loader.report.reject(
                    table="field_changes",
                    file=record.file,
                    line=record.line,
                    column="opportunity_id",
                    reason=loader.missing_opportunity(record.opportunity_source_id),
                    row=record.raw,
                )
                continue
            old, new = record.old_value, record.new_value
            if record.field == "owner":
                # Stored as person ids, so renaming someone later changes nothing here.
                old = str(people.get(old, old)) if old else ""
                new = str(people.get(new, new)) if new else ""
            staging.add(
                (
                    opp_id,
                    record.field,
                    loader.report.cut(old, 200, "old values", file=record.file, line=record.line),
                    loader.report.cut(new, 200, "new values", file=record.file, line=record.line),
                    loader.db_time(record.changed_at),
                )
            )
            loader.tick(1)
        created = staging.finish()
    counts.created += created
    counts.unchanged += staging.staged - created


def load_activities(loader: Loader) -> None:
    frames = getattr(loader.reader, "activity_frames", lambda: None)()
    if frames is not None:
        load_activity_frames(loader, frames)
        return
    columns = (
        "source",
        "source_id",
        "owner_id",
        "type",
        "occurred_at",
        "opportunity_id",
        "subject",
    )
    source = loader.source
    had_any = Activity.objects.filter(source=source).exists()
    missing_opportunities = 0
    table = Activity._meta.db_table
    types = ("varchar", "varchar", "int8", "varchar", "timestamptz", "int8", "varchar")
    with (
        StagingTable(table, columns, types=types)
        if had_any
        else DirectInsert(table, columns, types=types)
    ) as staging:
        for record in loader.reader.activities():
            too_long = next(
                (
                    column
                    for column, value in (
                        ("activity_id", record.source_id),
                        ("owner_id", record.owner_source_id),
                    )
                    if len(value) > MAX_ID
                ),
                None,
            )
            if too_long is not None:
                loader.report.reject(
                    table="activities",
                    file=record.file,
                    line=record.line,
                    column=too_long,
                    reason=f"the id is longer than {MAX_ID} characters",
                    row=record.raw,
                )
                continue
            owner = loader.people.owner(record.owner_source_id, file=record.file, line=record.line)
            opp_id: Any = None
            if record.opportunity_source_id:
                opp_id = loader.opportunity_id(record.opportunity_source_id)
                if opp_id is None:
                    missing_opportunities += 1
            staging.add(
                (
                    source,
                    record.source_id,
                    owner,
                    record.type,
                    loader.db_time(record.occurred_at),
                    opp_id,
                    loader.report.cut(
                        record.subject,
                        300,
                        "activity subjects",
                        file=record.file,
                        line=record.line,
                    ),
                )
            )
            loader.tick(1)
        if isinstance(staging, StagingTable):
            repeats = staging.drop_repeats(ACTIVITY_KEYS)
            created = staging.finish()
            updated = staging.update_changed(
                keys=ACTIVITY_KEYS,
                values=("owner_id", "type", "occurred_at", "opportunity_id", "subject"),
            )
        else:
            # A first import of this source has nothing to compare against; it inserts
            # the first row of each id and skips repeats.
            created, updated = staging.finish(), 0
            repeats = staging.staged - created
    _count_activities(loader, staging.staged, created, updated, repeats)
    if missing_opportunities:
        loader.report.warn(
            f"{missing_opportunities:,} activities name an opportunity that is not in the "
            "data; they were kept without it"
        )


def _count_activities(
    loader: Loader, staged: int, created: int, updated: int, repeats: int
) -> None:
    """Of the ``staged`` rows, ``repeats`` repeat an earlier id: skipped, with a warning."""
    counts = loader.report.table("activities")
    counts.created += created
    counts.updated += updated
    counts.unchanged += staged - created - updated - repeats
    counts.skipped += repeats
    if repeats:
        loader.report.warn(
            f"{repeats:,} activities repeat the id of an activity read before them; "
            "the first row of each id was kept"
        )


# -- column-wise path (plain canonical files) ----------------------------------------------


def reject_rows(
    loader: Loader,
    chunk: FrameChunk,
    rows: pl.DataFrame,
    *,
    table: str,
    column: str,
    reason: Callable[[dict[str, Any]], str],
) -> None:
    """Report each of ``rows`` rejected: its cells as written when the chunk kept them
    (``_raw``), else as read."""
    for row in rows.iter_rows(named=True):
        raw = row.get("_raw")
        loader.report.reject(
            table=table,
            file=chunk.file,
            line=row["_line"],
            column=column,
            reason=reason(row),
            row=list(raw)
            if raw is not None
            else [str(row.get(c) or "") for c in chunk.raw_columns],
        )


def _with_opportunities(loader: Loader, frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``opp``: each row's opportunity id, looking up earlier imports when needed."""
    frame = columnar.lookup(frame, "opportunity_id", loader.opportunity_ids, "opp")
    unmatched = frame.filter(pl.col("opp").is_null() & (pl.col("opportunity_id") != ""))
    if unmatched.height:
        for source_id in unmatched["opportunity_id"].unique().to_list():
            loader.opportunity_id(source_id)  # remembers what an earlier import stored
        frame = columnar.lookup(frame.drop("opp"), "opportunity_id", loader.opportunity_ids, "opp")
    return frame


def load_stage_change_frames(loader: Loader, chunks: Iterator[FrameChunk]) -> None:
    counts = loader.report.table("stage_changes")
    fresh = not StageChange.objects.filter(opportunity__source=loader.source).exists()
    moved: set[int] = set()
    columns = ("opportunity_id", "stage_id", "changed_at")
    latest = loader.latest_change
    with FrameWriter(StageChange._meta.db_table, columns, fresh=fresh) as writer:
        for chunk in chunks:
            frame = _with_opportunities(loader, chunk.frame)
            stage_ids: dict[str, int] = {}
            for pipeline, stage, rows in frame.group_by("pipeline", "stage").len().iter_rows():
                resolved = loader.stage_map.resolve(pipeline, stage, rows=rows)
                if resolved is not None:
                    stage_ids[f"{pipeline}\x1f{stage}"] = resolved.pk
            frame = columnar.lookup(
                frame.with_columns(
                    pl.concat_str("pipeline", pl.lit("\x1f"), "stage").alias("_key")
                ),
                "_key",
                stage_ids,
                "stage_id",
            )
            reject_rows(
                loader,
                chunk,
                frame.filter(pl.col("opp").is_null()),
                table="stage_changes",
                column="opportunity_id",
                reason=lambda row: loader.missing_opportunity(row["opportunity_id"]),
            )
            reject_rows(
                loader,
                chunk,
                frame.filter(pl.col("opp").is_not_null() & pl.col("stage_id").is_null()),
                table="stage_changes",
                column="stage",
                reason=lambda row: loader.unknown_stage_reason(row["pipeline"], row["stage"]),
            )
            known = frame.filter(pl.col("opp").is_not_null() & pl.col("stage_id").is_not_null())
            future = pl.col("changed_at") > pl.lit(latest)
            reject_rows(
                loader,
                chunk,
                known.filter(future),
                table="stage_changes",
                column="changed_at",
                reason=lambda row: loader.future_change_reason(row["changed_at"]),
            )
            good = known.filter(~future)
            writer.add(good.select(pl.col("opp").alias("opportunity_id"), "stage_id", "changed_at"))
            moved.update(good["opp"].unique().to_list())
            loader.tick(chunk.frame.height)
        created = writer.finish()
    counts.created += created
    counts.unchanged += writer.staged - created
    if created:
        loader.touched |= moved


def load_activity_frames(loader: Loader, chunks: Iterator[FrameChunk]) -> None:
    had_any = Activity.objects.filter(source=loader.source).exists()
    columns = (
        "source",
        "source_id",
        "owner_id",
        "type",
        "occurred_at",
        "opportunity_id",
        "subject",
    )
    missing_opportunities = 0
    with FrameWriter(Activity._meta.db_table, columns, fresh=not had_any) as writer:
        for chunk in chunks:
            frame = chunk.frame
            for column in ("activity_id", "owner_id"):
                too_long = pl.col(column).str.len_chars() > MAX_ID
                reject_rows(
                    loader,
                    chunk,
                    frame.filter(too_long),
                    table="activities",
                    column=column,
                    reason=lambda row: f"the id is longer than {MAX_ID} characters",
                )
                frame = frame.filter(~too_long)
            for owner in frame["owner_id"].unique().to_list():
                if owner not in loader.people.ids:
                    line = frame.filter(pl.col("owner_id") == owner)["_line"][0]
                    loader.people.owner(owner, file=chunk.file, line=line)
            frame = columnar.lookup(frame, "owner_id", loader.people.ids, "owner")
            frame = _with_opportunities(loader, frame)
            missing_opportunities += frame.filter(
                pl.col("opp").is_null() & (pl.col("opportunity_id") != "")
            ).height
            long_subjects = frame.filter(pl.col("subject").str.len_chars() > 300)
            for line in long_subjects.get_column("_line").to_list():
                loader.report.warn(
                    "activity subjects longer than 300 characters cut to 300 (the CRM keeps "
                    "the rest)",
                    file=chunk.file,
                    line=line,
                )
            writer.add(
                frame.select(
                    pl.lit(loader.source).alias("source"),
                    pl.col("activity_id").alias("source_id"),
                    pl.col("owner").alias("owner_id"),
                    "type",
                    "occurred_at",
                    pl.col("opp").alias("opportunity_id"),
                    pl.col("subject").str.slice(0, 300),
                )
            )
            loader.tick(frame.height)
        repeats = writer.drop_repeats(ACTIVITY_KEYS)
        created = writer.finish()
        updated = writer.update_changed(
            keys=ACTIVITY_KEYS,
            values=("owner_id", "type", "occurred_at", "opportunity_id", "subject"),
        )
        if writer.staging is None:
            repeats = writer.staged - created
    _count_activities(loader, writer.staged, created, updated, repeats)
    if missing_opportunities:
        loader.report.warn(
            f"{missing_opportunities:,} activities name an opportunity that is not in the "
            "data; they were kept without it"
        )
