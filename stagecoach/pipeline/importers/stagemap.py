"""Mapping a CRM's stage names onto the sales process.

Resolution order for a CRM stage (per source, per CRM pipeline):

1. an alias an ops admin set (``StageAlias``, or a row of the mapping file);
2. a stage of the same name in the matching pipeline (case-insensitive);
3. for a closed stage ("Closed Won - Paid"), the pipeline's only stage of that kind —
   reported as a warning, and written to the mapping file for review;
4. otherwise the name is unknown: rows that use it are rejected, never guessed.

When no process exists yet, one is built from the export: stages in the order the
CRM gives (sort order, probability) or, failing that, the order the stage history
implies.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from stagecoach.lib.csvexport import defused
from stagecoach.pipeline.importers import values
from stagecoach.pipeline.importers.base import ImportFileError
from stagecoach.pipeline.importers.labels import stage_kind
from stagecoach.pipeline.importers.records import StageChangeRecord, StageRecord
from stagecoach.pipeline.importers.report import ImportReport, StageNote
from stagecoach.process.models import Pipeline, Stage, StageAlias, StageKind

MAPPING_COLUMNS = ["crm_pipeline", "crm_stage", "pipeline", "stage", "kind", "how", "kind_from"]
MAPPING_FILE = "the stage mapping file"
# What the process tables hold (Pipeline.name, Stage.name, StageAlias.crm_pipeline).
MAX_NAME = 120


def name_too_long(crm_pipeline: str, crm_stage: str) -> str | None:
    """Why a CRM stage cannot be a stage of the process, when its name is too long."""
    if len(crm_stage) > MAX_NAME:
        return f"the stage name is longer than {MAX_NAME} characters"
    if len(crm_pipeline) > MAX_NAME:
        return f"the pipeline name is longer than {MAX_NAME} characters"
    return None


@dataclass
class Resolution:
    stage: Stage | None
    how: str  # alias | name | kind | new | unknown


def infer_order(sequences: Iterable[list[str]]) -> dict[str, float]:
    """Each stage's mean relative position in deals' histories (0 first, 1 last).

    Robust to skips and the odd regression: a stage that is usually early stays
    early even if some deals went back to it.
    """
    total: dict[str, float] = defaultdict(float)
    seen: dict[str, int] = defaultdict(int)
    for sequence in sequences:
        if len(sequence) < 2:
            continue
        last = len(sequence) - 1
        for position, name in enumerate(sequence):
            total[name] += position / last
            seen[name] += 1
    return {name: total[name] / seen[name] for name in total}


class StageMap:
    def __init__(self, *, source: str, report: ImportReport) -> None:
        self.source = source
        self.report = report
        self._cache: dict[tuple[str, str], Resolution] = {}
        self._kinds: dict[tuple[str, str], str] = {}
        self.unknown: dict[tuple[str, str], int] = defaultdict(int)
        self.created_process = False
        # Kinds an ops admin set in the mapping file's kind column, by CRM stage.
        self._overrides: dict[tuple[str, str], str] = {}

    # -- setup ---------------------------------------------------------------------------

    def apply_mapping_file(self, path: Path) -> int:
        """Store the admin's reviewed mapping as aliases. Returns rows applied."""
        applied = 0
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in ("crm_stage", "stage") if c not in (reader.fieldnames or [])]
            if missing:
                raise ImportFileError(path.name, f"missing column(s): {', '.join(missing)}")
            for line, row in enumerate(reader, start=2):
                crm_stage = (row.get("crm_stage") or "").strip()
                target = (row.get("stage") or "").strip()
                written_kind = (row.get("kind") or "").strip()
                kind = values.stage_kind(written_kind) if written_kind else None
                if written_kind and kind is None:
                    raise ImportFileError(
                        path.name,
                        f"line {line}, column kind: {written_kind!r} is not open, won or lost",
                    )
                if crm_stage and kind is not None:
                    crm_pipeline = (row.get("crm_pipeline") or "").strip()
                    self._overrides[(crm_pipeline, crm_stage)] = kind
                    applied += not target
                if not crm_stage or not target:
                    continue
                if kind is not None and not Pipeline.objects.exists():
                    continue  # the process is built from the export, with this kind
                pipeline_name = (row.get("pipeline") or "").strip()
                pipeline = (
                    Pipeline.objects.filter(name__iexact=pipeline_name).first()
                    if pipeline_name
                    else _default_pipeline()
                )
                if pipeline is None:
                    raise ImportFileError(
                        path.name, f"line {line}, column pipeline: no pipeline {pipeline_name!r}"
                    )
                stage = pipeline.stages.filter(name__iexact=target).first()
                if stage is None:
                    raise ImportFileError(
                        path.name,
                        f"line {line}, column stage: pipeline {pipeline.name!r} has no stage "
                        f"{target!r}",
                    )
                StageAlias.objects.update_or_create(
                    source=self.source,
                    crm_pipeline=(row.get("crm_pipeline") or "").strip(),
                    crm_name=crm_stage,
                    defaults={"stage": stage},
                )
                if kind is not None and stage.kind != kind:
                    self.report.warn(
                        f"stage {stage.name!r} of pipeline {pipeline.name!r} is now {kind} "
                        f"(was {stage.kind}), as the stage mapping file says",
                        file=path.name,
                        line=line,
                    )
                    stage.kind = kind
                    stage.save(update_fields=["kind"])
                applied += 1
        return applied

    def note_kinds(self, records: Iterable[StageRecord]) -> list[StageRecord]:
        """Remember what the CRM says each stage is (won, lost, open), or what the
        mapping file's kind column says instead."""
        kept = list(records)
        for record in kept:
            override = self._overrides.get((record.pipeline, record.name)) or self._overrides.get(
                ("", record.name)
            )
            if override is not None:
                record.kind, record.kind_from = override, MAPPING_FILE
            self._kinds[(record.pipeline, record.name)] = record.kind
            self.report.stage(record.pipeline, record.name, record.kind, record.kind_from)
        return kept

    def kind_of_unlisted(self, pipeline: str, name: str) -> tuple[str, str]:
        """The kind of a stage the export names only in deals or history, and why."""
        override = self._overrides.get((pipeline, name)) or self._overrides.get(("", name))
        if override is not None:
            return override, MAPPING_FILE
        kind, kind_from = stage_kind(name)
        return kind, kind_from

    def check_kinds(self, records: list[StageRecord]) -> None:
        """With a process in place, its stages' kinds count; say where the export differs."""
        for record in records:
            stage = self.lookup(record.pipeline, record.name)
            if stage is None:
                continue
            why = f"the sales process's stage {stage.name!r}"
            if record.kind_from and stage.kind != record.kind:
                why += f"; the export says {record.kind}"
                self.report.warn(
                    f"the export says CRM stage {record.name!r} is {record.kind} "
                    f"({record.kind_from}) but its process stage {stage.name!r} is {stage.kind}: "
                    f"its deals count as {stage.kind}. If the export is right, change the "
                    "stage's kind in the admin or in the kind column of the stage mapping file"
                )
            self.report.stages[(record.pipeline, record.name)] = StageNote(
                record.pipeline, record.name, stage.kind, why
            )

    def build_process_if_missing(
        self,
        records: list[StageRecord],
        names_in_use: dict[tuple[str, str], int],
        history: Iterable[StageChangeRecord],
    ) -> bool:
        """Create pipelines and stages from the export when the process is empty."""
        if Pipeline.objects.exists():
            return False
        # One pass over the history (when given): every stage name in use, and each
        # deal's sequence of stages for inferring the order. Memory grows with the
        # number of deals, not of history rows.
        sequences: dict[str, list[str]] = {}
        deal_pipeline: dict[str, str] = {}
        for change in history:
            names_in_use.setdefault((change.pipeline, change.stage), len(names_in_use))
            sequence = sequences.setdefault(change.opportunity_source_id, [])
            if not sequence or sequence[-1] != change.stage:
                sequence.append(change.stage)
            deal_pipeline[change.opportunity_source_id] = change.pipeline

        by_pipeline: dict[str, dict[str, StageRecord]] = defaultdict(dict)
        for record in records:
            # Too long a name cannot be stored; rows in such a stage are rejected.
            if name_too_long(record.pipeline, record.name) is None:
                by_pipeline[record.pipeline][record.name] = record
        if records:
            # The export defines its stages: a name outside them is unknown, not new.
            names_in_use = {}
        for (pipeline_name, name), _ in sorted(names_in_use.items(), key=lambda kv: kv[1]):
            if pipeline_name == "" and len(by_pipeline) == 1:
                pipeline_name = next(iter(by_pipeline))
            if name_too_long(pipeline_name, name) is not None:
                continue
            if name not in by_pipeline[pipeline_name]:
                kind, kind_from = self.kind_of_unlisted(pipeline_name, name)
                by_pipeline[pipeline_name][name] = StageRecord(
                    name=name, kind=kind, pipeline=pipeline_name, kind_from=kind_from
                )
                self.report.stage(pipeline_name, name, kind, kind_from)
        if not by_pipeline:
            return False

        needs_history = any(
            r.order is None for stages in by_pipeline.values() for r in stages.values()
        )
        positions: dict[tuple[str, str], float] = {}
        grouped: dict[str, list[list[str]]] = defaultdict(list)
        for opp, sequence in sequences.items():
            grouped[deal_pipeline[opp]].append(sequence)
        for pipeline_name, seqs in grouped.items():
            for name, position in infer_order(seqs).items():
                positions[(pipeline_name, name)] = position

        first_appearance = {key: i for i, key in enumerate(names_in_use)}
        # The CRM's unnamed pipeline is "Sales", unless the CRM has a "Sales" of its own.
        unnamed, number = "Sales", 1
        while unnamed in by_pipeline:
            number += 1
            unnamed = f"Sales {number}"
        for index, (pipeline_name, stages) in enumerate(sorted(by_pipeline.items())):
            pipeline = Pipeline.objects.create(name=pipeline_name or unnamed, is_default=index == 0)

            def sort_key(
                record: StageRecord, pipeline_name: str = pipeline_name
            ) -> tuple[int, float, float, int]:
                closed = {"open": 0, "won": 1, "lost": 2}[record.kind]
                given = float(record.order) if record.order is not None else float("inf")
                inferred = positions.get((pipeline_name, record.name), float("inf"))
                if (
                    record.order is None
                    and inferred == float("inf")
                    and record.probability is not None
                ):
                    inferred = 1 + record.probability / 100
                appearance = first_appearance.get((pipeline_name, record.name), 10**9)
                return (closed, given, inferred, appearance)

            ordered = sorted(stages.values(), key=sort_key)
            for order, record in enumerate(ordered, start=1):
                stage = Stage.objects.create(
                    pipeline=pipeline,
                    name=record.name,
                    order=order,
                    kind=record.kind,
                    default_probability=record.probability,
                    is_required=False,
                )
                StageAlias.objects.get_or_create(
                    source=self.source,
                    crm_pipeline=pipeline_name,
                    crm_name=record.name,
                    defaults={"stage": stage},
                )
            how = "the CRM's stage order" if not needs_history else "the order deals moved through"
            self.report.warn(
                f"no sales process existed: built pipeline {pipeline.name!r} with "
                f"{len(ordered)} stages in {how}; review them in the admin"
            )
        self.created_process = True
        return True

    # -- resolution ----------------------------------------------------------------------

    def resolve(self, crm_pipeline: str, crm_stage: str, *, rows: int = 1) -> Stage | None:
        """The process stage for a CRM stage; ``rows`` rows use it (for the unknown count)."""
        stage = self.lookup(crm_pipeline, crm_stage)
        if stage is None:
            self.unknown[(crm_pipeline, crm_stage)] += rows
        return stage

    def lookup(self, crm_pipeline: str, crm_stage: str) -> Stage | None:
        """The process stage for a CRM stage, counting no rows as unknown."""
        key = (crm_pipeline, crm_stage)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._resolve(crm_pipeline, crm_stage)
            self._cache[key] = cached
        return cached.stage

    def _resolve(self, crm_pipeline: str, crm_stage: str) -> Resolution:
        if name_too_long(crm_pipeline, crm_stage) is not None:
            return Resolution(None, "unknown")
        aliases = StageAlias.objects.select_related("stage", "stage__pipeline").filter(
            source=self.source, crm_name=crm_stage
        )
        for alias in aliases:
            if alias.crm_pipeline == crm_pipeline:
                return Resolution(alias.stage, "alias")
        for alias in aliases:
            if alias.crm_pipeline == "":
                return Resolution(alias.stage, "alias")
        pipeline = self._pipeline_for(crm_pipeline)
        if pipeline is None:
            return Resolution(None, "unknown")
        stage = pipeline.stages.filter(name__iexact=crm_stage).first()
        if stage is not None:
            return Resolution(stage, "name")
        kind = (
            self._kinds.get((crm_pipeline, crm_stage))
            or self.kind_of_unlisted(crm_pipeline, crm_stage)[0]
        )
        if kind in (StageKind.WON, StageKind.LOST):
            candidates = list(pipeline.stages.filter(kind=kind))
            if len(candidates) == 1:
                self.report.warn(
                    f"CRM stage {crm_stage!r} mapped to {candidates[0].name!r} because both are "
                    f"{kind}; change it in the mapping file if that is wrong"
                )
                StageAlias.objects.get_or_create(
                    source=self.source,
                    crm_pipeline=crm_pipeline,
                    crm_name=crm_stage,
                    defaults={"stage": candidates[0]},
                )
                return Resolution(candidates[0], "kind")
        return Resolution(None, "unknown")

    def _pipeline_for(self, crm_pipeline: str) -> Pipeline | None:
        if crm_pipeline:
            named = Pipeline.objects.filter(name__iexact=crm_pipeline).first()
            if named is not None:
                return named
            self.report.warn(
                f"CRM pipeline {crm_pipeline!r} has no process pipeline of that name; "
                "its stages are matched against the default pipeline"
            )
        return _default_pipeline()

    # -- the file the admin reviews ------------------------------------------------------

    def write_mapping(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="", encoding="utf-8") as handle:
            out = csv.writer(handle)
            out.writerow(defused(MAPPING_COLUMNS))
            for (crm_pipeline, crm_stage), resolution in sorted(self._cache.items()):
                stage = resolution.stage
                how = "new" if self.created_process and stage is not None else resolution.how
                out.writerow(
                    defused(
                        [
                            crm_pipeline,
                            crm_stage,
                            stage.pipeline.name if stage else "",
                            stage.name if stage else "",
                            stage.kind if stage else self._kinds.get((crm_pipeline, crm_stage), ""),
                            how,
                            self._kind_from(crm_pipeline, crm_stage),
                        ]
                    )
                )
        return path

    def _kind_from(self, crm_pipeline: str, crm_stage: str) -> str:
        note = self.report.stages.get((crm_pipeline, crm_stage))
        if note is None:
            return ""
        return note.why or "nothing in the export says: taken as open"

    def unsaid(self) -> list[StageNote]:
        """Stages the export gave no kind for, taken as open: the admin should say."""
        return [note for note in self.report.stages.values() if not note.why]


def _default_pipeline() -> Pipeline | None:
    return (
        Pipeline.objects.filter(is_default=True).first() or Pipeline.objects.order_by("id").first()
    )
