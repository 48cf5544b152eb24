"""Pipedrive: a deals export (CSV or XLSX) whose labels start with ``Deal - ``.

Pipedrive leaves a won or lost deal in the last open stage it reached and says
how it ended in ``Deal - Status``; stagecoach gives each pipeline a ``Won`` and a
``Lost`` stage and moves closed deals there at their won or lost time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from stagecoach.lib.sources import Source
from stagecoach.pipeline.importers.csvutil import (
    CsvRow,
    parse_amount,
    parse_currency,
    parse_date,
)
from stagecoach.pipeline.importers.labels import (
    BadCell,
    DealPass,
    OwnerScanReader,
    Sheet,
    StageBook,
    estimate_rows,
    find_export,
    label,
    open_sheet,
    parse_cell,
    require,
    text,
    warn_extra,
)
from stagecoach.pipeline.importers.records import (
    OpportunityRecord,
    PersonRecord,
    StageChangeRecord,
)

WON = "Won"
LOST = "Lost"
STATUSES = ("open", "won", "lost", "deleted")

# Pipedrive writes labels and status values in the user's interface language. A
# deals-and-more export prefixes each label with its entity ("Deal - Title",
# "Negócio - Título"); a deals-only export does not. Labels below are without it.
DEAL_PREFIXES = ("deal - ", "negócio - ", "negocio - ", "trato - ", "affaire - ", "oportunidad - ")
COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("id", "deal id", "negócio id", "id do negócio", "id del trato", "deal-id"),
    "title": ("title", "título", "titulo", "titel", "titre", "name"),
    "owner": (
        "owner", "deal owner", "proprietário", "proprietario", "responsável",
        "propietario", "besitzer", "inhaber", "propriétaire",
    ),
    "value": ("value", "valor", "wert", "valeur"),
    "currency": ("currency", "moeda", "moneda", "währung", "devise"),
    "stage": ("stage", "etapa", "phase", "fase", "étape", "etape"),
    "status": ("status", "estado", "statut"),
    "created": (
        "deal created", "add time", "created", "negócio criado", "negocio criado",
        "data de criação", "criado em", "trato creado", "fecha de creación", "creado",
        "deal erstellt", "erstellt", "erstellt am", "affaire créée", "date de création", "créé",
    ),
    "won": (
        "won time", "won on", "data de ganho", "hora de ganho", "horário de ganho",
        "ganho em", "fecha de ganado", "hora de ganado", "ganado el", "gewonnen am",
        "zeitpunkt gewonnen", "gewonnen zeit", "date de gain", "heure de gain", "gagné le",
    ),
    "lost": (
        "lost time", "lost on", "data de perda", "hora de perda", "horário de perda",
        "perdido em", "fecha de pérdida", "hora de pérdida", "perdido el", "verloren am",
        "zeitpunkt verloren", "verloren zeit", "date de perte", "heure de perte", "perdu le",
    ),
    "expected": (
        "expected close date", "data de fechamento esperada", "data prevista de fechamento",
        "data esperada de fechamento", "fecha de cierre prevista", "fecha prevista de cierre",
        "fecha de cierre esperada", "erwartetes abschlussdatum",
        "voraussichtliches abschlussdatum", "date de clôture prévue",
        "date de clôture attendue", "date de conclusion prévue",
    ),
    "pipeline": ("pipeline", "funil", "funil de vendas", "embudo", "embudo de ventas"),
    "account": (
        "organization", "organization - name", "organização", "organização - nome",
        "organizacao", "organización", "organización - nombre", "organisation",
        "organisation - name", "organisation - nom",
    ),
    "lost_reason": (
        "lost reason", "motivo da perda", "motivo de pérdida", "motivo de perdida",
        "verlustgrund", "grund für verlust", "raison de la perte", "motif de perte",
    ),
    "order": ("stage - order nr", "stage order", "order nr", "stage order nr"),
    "modified": (
        "update time", "last updated", "horário de atualização", "data de atualização",
        "hora de actualización", "fecha de actualización", "aktualisierungszeit",
        "aktualisiert am", "heure de mise à jour", "date de mise à jour",
    ),
}  # fmt: skip
STATUS_WORDS: dict[str, str] = {
    **dict.fromkeys(("open", "aberto", "aberta", "abierto", "offen", "ouvert"), "open"),
    **dict.fromkeys(("won", "ganho", "ganha", "ganado", "gewonnen", "gagné", "gagne"), "won"),
    **dict.fromkeys(("lost", "perdido", "perdida", "verloren", "perdu"), "lost"),
    **dict.fromkeys(
        ("deleted", "excluído", "excluido", "eliminado", "borrado", "gelöscht", "supprimé"),
        "deleted",
    ),
}


# Each language's labels for ID, title, owner, value, stage and status: enough to say
# which language an export is in.
LANGUAGES: dict[str, tuple[str, ...]] = {
    "en": ("id", "title", "owner", "value", "stage", "status"),
    "pt-BR": ("id", "título", "proprietário", "valor", "etapa", "status"),
    "es": ("id", "título", "propietario", "valor", "etapa", "estado"),
    "de": ("id", "titel", "besitzer", "wert", "phase", "status"),
    "fr": ("id", "titre", "propriétaire", "valeur", "étape", "statut"),
}


def language(columns: list[str]) -> str:
    """The interface language an export's labels are in (``en`` when unsure)."""
    bare = {strip_prefix(c) for c in columns}
    return max(LANGUAGES, key=lambda code: sum(label in bare for label in LANGUAGES[code]))


def strip_prefix(column: str) -> str:
    """A normalised label without its deal-entity prefix ("deal - title" → "title")."""
    for prefix in DEAL_PREFIXES:
        if column.startswith(prefix):
            return column[len(prefix) :]
    return column


def find_columns(columns: list[str]) -> dict[str, str | None]:
    """Each field's column in a Pipedrive export, in any of its languages."""
    bare: dict[str, str] = {}
    for column in columns:
        bare.setdefault(strip_prefix(column), column)
    return {
        key: next((bare[label] for label in labels if label in bare), None)
        for key, labels in COLUMNS.items()
    }


@dataclass(slots=True)
class PipedriveDeal:
    opportunity: OpportunityRecord
    closed: StageChangeRecord | None


class PipedriveReader(OwnerScanReader[PipedriveDeal]):
    source = Source.PIPEDRIVE

    def open(self) -> None:
        self.sheet: Sheet = open_sheet(find_export(self.path, hint="deal"))
        sheet = self.sheet
        self.report.header(sheet.name, sheet.header)
        found = find_columns(sheet.columns)
        self.col_id = found["id"]
        self.col_stage = found["stage"]
        require(sheet, **{"Deal - ID": self.col_id, "Deal - Stage": self.col_stage})
        self.col_title = found["title"]
        self.col_value = found["value"]
        self.col_currency = found["currency"]
        self.col_status = found["status"]
        self.col_owner = found["owner"]
        self.col_created = found["created"]
        self.col_won = found["won"]
        self.col_lost = found["lost"]
        self.col_expected = found["expected"]
        self.col_pipeline = found["pipeline"]
        self.col_account = found["account"]
        self.col_order = found["order"]
        self.col_lost_reason = found["lost_reason"]
        self.col_modified = found["modified"]
        self.export_name = sheet.name
        warn_extra(
            self.report,
            sheet,
            [
                self.col_id,
                self.col_stage,
                self.col_title,
                self.col_value,
                self.col_currency,
                self.col_status,
                self.col_owner,
                self.col_created,
                self.col_won,
                self.col_lost,
                self.col_lost_reason,
                self.col_modified,
                self.col_expected,
                self.col_pipeline,
                self.col_account,
                self.col_order,
            ],
        )
        if self.col_status is None:
            self.report.warn(
                'no "Deal - Status" column: every deal is imported as open', file=sheet.name
            )
        self._scanned = False
        self._owners: dict[str, PersonRecord] = {}
        self.book = StageBook()

    def total_rows(self) -> int:
        return estimate_rows(self.sheet)

    def _deals_sheet(self) -> Sheet:
        return self.sheet

    def _deals_id_label(self) -> str:
        return label(self.sheet, self.col_id or "")

    def _status(self, row: CsvRow) -> str:
        written = text(row, self.col_status)
        status = STATUS_WORDS.get(" ".join(written.split()).casefold() or "open")
        if status is None:
            raise BadCell(
                label(self.sheet, self.col_status or ""),
                f"unknown status {written!r}: expected open, won, lost or deleted",
            )
        return status

    # -- people and stages: a first look at the whole file ---------------------------

    def _scan(self) -> None:
        if self._scanned:
            return
        self._scanned = True
        highest: dict[str, int] = {}
        pipelines: dict[str, str] = {}
        for row in self.sheet.rows():
            self._note_modified(row)
            try:
                if self._status(row) == "deleted":
                    continue
            except BadCell:
                pass
            owner = text(row, self.col_owner)
            if owner and owner not in self._owners:
                self._owners[owner] = PersonRecord(
                    source_id=owner, name=owner, file=self.sheet.name, line=row.line, raw=row.cells
                )
            written = text(row, self.col_pipeline)
            pipeline = pipelines.setdefault(written.casefold(), written)
            stage = text(row, self.col_stage)
            if not stage:
                continue
            order = self._order(row)
            self.book.add(
                pipeline,
                stage,
                kind="open",
                kind_from="Pipedrive: a deal stays in an open stage, its status says how it ended",
                order=order,
                file=self.sheet.name,
                line=row.line,
                raw=row.cells,
            )
            if order is not None:
                highest[pipeline] = max(highest.get(pipeline, 0), order)
        for pipeline in list(pipelines.values()) or [""]:
            last = highest.get(pipeline)
            for offset, (name, kind) in enumerate(((WON, "won"), (LOST, "lost")), start=1):
                order = None if last is None else last + offset
                self.book.add(
                    pipeline,
                    name,
                    kind=kind,
                    kind_from="Pipedrive's deal status",
                    order=order,
                    file=self.sheet.name,
                )

    def _order(self, row: CsvRow) -> int | None:
        value = text(row, self.col_order)
        if not value:
            return None
        try:
            return int(float(value))
        except ValueError:
            self.report.warn(
                f"{label(self.sheet, self.col_order or '')}: not a number: {value!r}; ignored",
                file=self.sheet.name,
                line=row.line,
            )
            return None

    # -- deals -------------------------------------------------------------------------

    def _parse_deal(self, row: CsvRow, deal_pass: DealPass) -> PipedriveDeal | None:
        self._scan()
        sheet = self.sheet
        status = self._status(row)
        if status == "deleted":
            deal_pass.skipped += 1
            return None
        source_id = text(row, self.col_id)
        if not source_id:
            raise BadCell(label(sheet, self.col_id or ""), "the deal has no ID")
        deal_pass.seen.check(source_id, row.line)
        pipeline = self.book.pipeline(text(row, self.col_pipeline))
        written_stage = text(row, self.col_stage)
        if not written_stage and status == "open":
            raise BadCell(label(sheet, self.col_stage or ""), "the open deal has no stage")
        amount = parse_cell(sheet, row, self.col_value, parse_amount)
        currency = parse_cell(sheet, row, self.col_currency, parse_currency)
        created_at = self._moment(row, self.col_created)
        won_at = self._moment(row, self.col_won)
        lost_at = self._moment(row, self.col_lost)
        expected = parse_cell(sheet, row, self.col_expected, parse_date)
        owner = text(row, self.col_owner)
        if not owner:
            deal_pass.warn("the deal has no owner", line=row.line)

        stage = self.book.name(pipeline, written_stage)
        closed_at = None
        if status == "won":
            stage, closed_at = self.book.name(pipeline, WON), won_at
        elif status == "lost":
            stage, closed_at = self.book.name(pipeline, LOST), lost_at
        if status != "open" and closed_at is None:
            found = self.col_won if status == "won" else self.col_lost
            column = label(self.sheet, found) if found else f"Deal - {status.title()} time"
            deal_pass.warn(
                f"{status} deal without {column}: imported with no close time", line=row.line
            )
        closed = None
        if closed_at is not None:
            closed = StageChangeRecord(
                opportunity_source_id=source_id,
                stage=stage,
                changed_at=closed_at,
                pipeline=pipeline,
                file=sheet.name,
                line=row.line,
                raw=row.cells,
            )
        opportunity = OpportunityRecord(
            source_id=source_id,
            owner_source_id=owner,
            name=text(row, self.col_title) or f"Deal {source_id}",
            stage=stage,
            pipeline=pipeline,
            account=text(row, self.col_account),
            amount=amount,
            currency=currency,
            created_at=created_at,
            # A closed deal's expected close date is the last forecast, not the
            # day it closed.
            close_date=closed_at.astimezone(self.time_zone).date() if closed_at else expected,
            closed_at=closed_at,
            modified_at=self._modified(row),
            file=sheet.name,
            line=row.line,
            raw=row.cells,
        )
        return PipedriveDeal(opportunity, closed)

    def _end_of_pass(self, deal_pass: DealPass) -> None:
        if deal_pass.skipped:
            deal_pass.warn(f"{deal_pass.skipped:,} deleted deals were skipped")

    def opportunities(self) -> Iterator[OpportunityRecord]:
        for _, deal in self._deals(loud=True):
            yield deal.opportunity

    def stage_changes(self) -> Iterator[StageChangeRecord]:
        for _, deal in self._deals(loud=False):
            if deal.closed is not None:
                self.report.table("stage_changes").read += 1
                yield deal.closed
