"""Maven Analytics' "CRM Sales Opportunities" data set (MavenTech, 2016-17).

A folder of four CSVs: ``sales_pipeline.csv`` (one row per deal),
``sales_teams.csv`` (agent → manager → regional office), ``products.csv`` (list
prices) and ``accounts.csv``. It has no created dates, no currency and no stage
history beyond the engage and close dates.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from stagecoach.lib.sources import Source
from stagecoach.pipeline.importers.base import ImportFileError
from stagecoach.pipeline.importers.csvutil import (
    CsvRow,
    count_data_lines,
    date_to_datetime,
    parse_amount,
    parse_date,
)
from stagecoach.pipeline.importers.labels import (
    BadCell,
    DealPass,
    DealRowsReader,
    Sheet,
    open_sheet,
    parse_cell,
    pick,
    require,
    text,
    warn_extra,
)
from stagecoach.pipeline.importers.records import (
    OpportunityRecord,
    PersonRecord,
    StageChangeRecord,
    StageRecord,
    TeamRecord,
)

PIPELINE_FILE = "sales_pipeline.csv"
TEAMS_FILE = "sales_teams.csv"
PRODUCTS_FILE = "products.csv"
ACCOUNTS_FILE = "accounts.csv"

STAGES = (
    StageRecord("Prospecting", "open", 1, file=PIPELINE_FILE),
    StageRecord("Engaging", "open", 2, file=PIPELINE_FILE),
    StageRecord("Won", "won", 3, file=PIPELINE_FILE),
    StageRecord("Lost", "lost", 4, file=PIPELINE_FILE),
)
_STAGE_NAMES = {s.name.casefold(): s for s in STAGES}
_STAGE_LIST = "Prospecting, Engaging, Won or Lost"


def product_key(name: str) -> str:
    """The pipeline writes "GTXPro" where products.csv has "GTX Pro"."""
    return re.sub(r"\s+", "", name).casefold()


def team_name(manager: str) -> str:
    return f"{manager}'s team"


@dataclass(frozen=True, slots=True)
class Product:
    name: str
    price: Decimal | None


@dataclass(slots=True)
class MavenDeal:
    opportunity: OpportunityRecord
    changes: list[StageChangeRecord]


class MavenReader(DealRowsReader[MavenDeal]):
    source = Source.MAVEN

    def open(self) -> None:
        folder = self.path.parent if self.path.is_file() else self.path
        if not folder.is_dir():
            raise ImportFileError(self.path.name, "folder not found")
        for required in (PIPELINE_FILE, TEAMS_FILE):
            if not (folder / required).is_file():
                raise ImportFileError(required, f"file not found in {folder}")
        self.pipeline_file = open_sheet(folder / PIPELINE_FILE)
        sheet = self.pipeline_file
        self.report.header(sheet.name, sheet.header)
        self.col_id = pick(sheet, "opportunity_id")
        self.col_agent = pick(sheet, "sales_agent")
        self.col_stage = pick(sheet, "deal_stage")
        require(
            sheet,
            opportunity_id=self.col_id,
            sales_agent=self.col_agent,
            deal_stage=self.col_stage,
        )
        self.col_product = pick(sheet, "product")
        self.col_account = pick(sheet, "account")
        self.col_engage = pick(sheet, "engage_date")
        self.col_close = pick(sheet, "close_date")
        self.col_value = pick(sheet, "close_value")
        warn_extra(
            self.report,
            sheet,
            [
                self.col_id,
                self.col_agent,
                self.col_stage,
                self.col_product,
                self.col_account,
                self.col_engage,
                self.col_close,
                self.col_value,
            ],
        )
        self._people = self._read_teams(folder / TEAMS_FILE)
        self._agents = {p.source_id for p in self._people if p.role == "rep"}
        products = folder / PRODUCTS_FILE
        self._products = self._read_products(products) if products.is_file() else None
        if self._products is None:
            self.report.warn(
                f"no {PRODUCTS_FILE}: open and lost deals are imported without an amount",
                file=sheet.name,
            )
        accounts = folder / ACCOUNTS_FILE
        self._accounts = self._read_accounts(accounts) if accounts.is_file() else None
        self.report.warn(
            "the data set has no currency: amounts are taken in the organisation's currency",
            file=sheet.name,
        )

    def total_rows(self) -> int:
        return count_data_lines(self.pipeline_file.path)

    # -- the small files ---------------------------------------------------------------

    def _read_teams(self, path: Path) -> list[PersonRecord]:
        teams = open_sheet(path)
        self.report.header(teams.name, teams.header)
        missing = teams.require(["sales_agent", "manager"])
        if missing:
            raise ImportFileError(teams.name, f"required column missing: {', '.join(missing)}")
        warn_extra(self.report, teams, ["sales_agent", "manager", "regional_office"])
        managers: dict[str, PersonRecord] = {}
        agents: dict[str, PersonRecord] = {}
        for row in teams.rows():
            agent, manager, office = (
                row.get("sales_agent"),
                row.get("manager"),
                row.get("regional_office") or None,
            )
            problem = None
            if not agent:
                problem = ("sales_agent", "the row has no sales agent")
            elif agent in agents:
                problem = (
                    "sales_agent",
                    f"{agent!r} is listed twice: first on line {agents[agent].line}",
                )
            if problem:
                self.report.table("people").read += 1
                self.report.reject(
                    table="people",
                    file=teams.name,
                    line=row.line,
                    column=problem[0],
                    reason=problem[1],
                    row=row.cells,
                )
                continue
            if manager and manager not in managers:
                managers[manager] = PersonRecord(
                    source_id=manager,
                    name=manager,
                    role="manager",
                    team=team_name(manager),
                    parent_team=office,
                    file=teams.name,
                    line=row.line,
                    raw=row.cells,
                )
            elif manager and managers[manager].parent_team != office:
                self.report.warn(
                    f"{manager} manages agents in more than one regional office; "
                    f"the team stays under {managers[manager].parent_team}",
                    file=teams.name,
                    line=row.line,
                )
            agents[agent] = PersonRecord(
                source_id=agent,
                name=agent,
                role="rep",
                manager_source_id=manager or None,
                team=team_name(manager) if manager else None,
                parent_team=office if manager else None,
                file=teams.name,
                line=row.line,
                raw=row.cells,
            )
        return [*managers.values(), *agents.values()]

    def _read_products(self, path: Path) -> dict[str, Product]:
        products = open_sheet(path)
        self.report.header(products.name, products.header)
        missing = products.require(["product", "sales_price"])
        if missing:
            raise ImportFileError(products.name, f"required column missing: {', '.join(missing)}")
        found: dict[str, Product] = {}
        for row in products.rows():
            name = row.get("product")
            if not name:
                continue
            try:
                price = parse_amount(row.get("sales_price"))
            except ValueError as error:
                self.report.warn(
                    f"{error}: deals of {name!r} get no list price",
                    file=products.name,
                    line=row.line,
                )
                price = None
            found.setdefault(product_key(name), Product(name, price))
        return found

    def _read_accounts(self, path: Path) -> set[str]:
        accounts = open_sheet(path)
        self.report.header(accounts.name, accounts.header)
        if accounts.require(["account"]):
            self.report.warn('no "account" column: accounts are not checked', file=accounts.name)
            return set()
        return {name for row in accounts.rows() if (name := row.get("account"))}

    # -- streams -----------------------------------------------------------------------

    def teams(self) -> Iterator[TeamRecord]:
        offices: dict[str, TeamRecord] = {}
        teams: list[TeamRecord] = []
        for manager in (p for p in self._people if p.role == "manager"):
            office = manager.parent_team
            if office and office not in offices:
                offices[office] = TeamRecord(office, file=manager.file, line=manager.line)
            teams.append(
                TeamRecord(
                    team_name(manager.name),
                    parent=office,
                    manager_source_id=manager.source_id,
                    file=manager.file,
                    line=manager.line,
                    raw=manager.raw,
                )
            )
        for team in (*offices.values(), *teams):
            self.report.table("teams").read += 1
            yield team

    def people(self) -> Iterator[PersonRecord]:
        for person in self._people:
            self.report.table("people").read += 1
            yield person

    def stages(self) -> Iterator[StageRecord]:
        for stage in STAGES:
            self.report.table("stages").read += 1
            yield StageRecord(
                stage.name,
                stage.kind,
                stage.order,
                file=stage.file,
                kind_from="the data set's own stages",
            )

    def opportunities(self) -> Iterator[OpportunityRecord]:
        for _, deal in self._deals(loud=True):
            yield deal.opportunity

    def stage_changes(self) -> Iterator[StageChangeRecord]:
        for _, deal in self._deals(loud=False):
            for change in deal.changes:
                self.report.table("stage_changes").read += 1
                yield change

    # -- deals -------------------------------------------------------------------------

    def _deals_sheet(self) -> Sheet:
        return self.pipeline_file

    def _deals_id_label(self) -> str:
        return "opportunity_id"

    def _product(self, written: str, deal_pass: DealPass, line: int) -> Product | None:
        if self._products is None or not written:
            return None
        product = self._products.get(product_key(written))
        if product is None:
            deal_pass.warn(
                f"product {written!r} is not in {PRODUCTS_FILE}: its deals have no list price",
                line=line,
                once=True,
            )
        elif product.name != written:
            deal_pass.warn(
                f"product {written!r} read as {product.name!r} from {PRODUCTS_FILE} "
                "(spaces and case ignored)",
                once=True,
            )
        return product

    def _parse_deal(self, row: CsvRow, deal_pass: DealPass) -> MavenDeal | None:
        sheet = self.pipeline_file
        source_id = text(row, self.col_id)
        if not source_id:
            raise BadCell("opportunity_id", "the deal has no opportunity_id")
        deal_pass.seen.check(source_id, row.line)
        written_stage = text(row, self.col_stage)
        known = _STAGE_NAMES.get(written_stage.casefold())
        if known is None:
            reason = f"unknown stage {written_stage!r}: expected {_STAGE_LIST}"
            raise BadCell("deal_stage", reason if written_stage else "the deal has no stage")
        engaged = parse_cell(sheet, row, self.col_engage, parse_date)
        closed = parse_cell(sheet, row, self.col_close, parse_date)
        value = parse_cell(sheet, row, self.col_value, parse_amount)

        agent = text(row, self.col_agent)
        if not agent:
            deal_pass.warn("the deal has no sales_agent", line=row.line)
        elif agent not in self._agents:
            deal_pass.warn(f"sales agent {agent!r} is not in {TEAMS_FILE}", once=True)
        account = text(row, self.col_account)
        if account and self._accounts and account not in self._accounts:
            deal_pass.warn(f"account {account!r} is not in {ACCOUNTS_FILE}", once=True)
        written_product = text(row, self.col_product)
        product = self._product(written_product, deal_pass, row.line)
        list_price = product.price if product else None

        is_closed = known.kind != "open"
        if known.kind == "won":
            amount = value
            if value is None:
                deal_pass.warn("won deal without close_value: no amount", line=row.line)
        elif known.kind == "lost" and not value:
            # The data set writes 0 for every lost deal; what was at stake is the
            # product's list price.
            amount = list_price
            deal_pass.warn(
                "lost deals have close_value 0: their amount is the product's sales_price "
                f"from {PRODUCTS_FILE}",
                once=True,
            )
        elif known.kind == "lost":
            amount = value
        else:
            amount = list_price
        closed_at = date_to_datetime(closed, assume=self.time_zone) if closed else None
        if is_closed and closed is None:
            deal_pass.warn(f"{known.name} deal without close_date: no close time", line=row.line)

        changes: list[StageChangeRecord] = []
        if engaged and known.name == "Prospecting":
            deal_pass.warn(
                "Prospecting deal with an engage_date: the engage date is ignored", line=row.line
            )
        elif engaged:
            changes.append(self._change(source_id, "Engaging", engaged, row))
        if is_closed and closed:
            changes.append(self._change(source_id, known.name, closed, row))
        opportunity = OpportunityRecord(
            source_id=source_id,
            owner_source_id=agent,
            name=f"{product.name if product else written_product or 'no product'}"
            f" — {account or 'no account'}",
            stage=known.name,
            account=account,
            amount=amount,
            currency=None,
            created_at=None,
            close_date=closed,
            closed_at=closed_at if is_closed else None,
            file=sheet.name,
            line=row.line,
            raw=row.cells,
        )
        return MavenDeal(opportunity, changes)

    def _change(self, source_id: str, stage: str, day: date, row: CsvRow) -> StageChangeRecord:
        return StageChangeRecord(
            opportunity_source_id=source_id,
            stage=stage,
            changed_at=date_to_datetime(day, assume=self.time_zone),
            file=self.pipeline_file.name,
            line=row.line,
            raw=row.cells,
        )
