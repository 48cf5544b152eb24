"""The values CRMs write in optional, descriptive columns, read as stagecoach's kinds.

Rule: an optional, descriptive field never rejects a row. A value a CRM standard names
(Salesforce's Type picklist, HubSpot's internal values, Pipedrive's activity types…)
maps to its kind whatever its case, spacing or punctuation; anything else is kept as
``other``, and the import says so once per distinct value. Only the fields a metric
cannot do without (ids, owner, stage, the dates a metric needs) may reject a row.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from stagecoach.pipeline.importers.records import (
    ACTIVITY_TYPES,
    OPPORTUNITY_TYPES,
    ROLES,
    STAGE_KINDS,
)
from stagecoach.pipeline.importers.report import ImportReport

_SEPARATORS = re.compile(r"[\s_\-–—:/.,()]+")


def key(value: str) -> str:
    """Case, spacing, hyphens, underscores and punctuation ignored: "Up-Sell" = "upsell "."""
    return _SEPARATORS.sub("", value).casefold()


OPPORTUNITY_TYPE_NAMES = {
    "new": ("new", "new business", "newbusiness", "new customer", "new logo", "new deal"),
    "expansion": (
        "expansion",
        "existing business",
        "existingbusiness",
        "existing customer - upgrade",
        "existing customer - expansion",
        "upgrade",
        "upsell",
        "up-sell",
        "cross-sell",
        "crosssell",
        "add-on",
        "add on business",
    ),
    "renewal": (
        "renewal",
        "renewals",
        "existing customer - replacement",
        "existing customer - renewal",
        "replacement",
        "contract renewal",
    ),
    "other": ("other",),
}
ACTIVITY_TYPE_NAMES = {
    "call": ("call", "phone call", "phone", "log a call", "outbound call", "inbound call"),
    "email": ("email", "e-mail", "mail", "send email", "sent email", "outbound email"),
    "meeting": ("meeting", "event", "lunch", "visit", "video call", "video meeting"),
    "demo": ("demo", "demonstration", "product demo"),
    "proposal": ("proposal", "quote", "send quote", "proposal sent"),
    "other": ("other", "task", "to-do", "todo", "note", "deadline"),
}

ROLE_NAMES = {
    "rep": (
        "rep",
        "sales rep",
        "sales representative",
        "seller",
        "salesperson",
        "account executive",
        "ae",
        "sdr",
        "bdr",
        "account manager",
        "sales agent",
        "agent",
    ),
    "manager": (
        "manager",
        "sales manager",
        "first line manager",
        "team lead",
        "team leader",
        "regional manager",
        "country manager",
    ),
    "leader": (
        "leader",
        "vp",
        "vp sales",
        "vice president",
        "director",
        "sales director",
        "head of sales",
        "cro",
        "executive",
    ),
    "ops": ("ops", "sales ops", "sales operations", "revops", "revenue operations", "admin"),
}
# A stage's kind is not optional (win rates rest on it), so unknown kinds still reject;
# these are only the ways CRMs and admins write the three kinds.
STAGE_KIND_NAMES = {
    "open": ("open", "in progress", "active", "pipeline"),
    "won": (
        "won",
        "closed won",
        "closedwon",
        "win",
        "closed - won",
        "ganho",
        "gewonnen",
        "gagné",
        "ganado",
    ),
    "lost": (
        "lost",
        "closed lost",
        "closedlost",
        "loss",
        "closed - lost",
        "perdido",
        "verloren",
        "perdu",
    ),
}


def _table(names: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {key(name): kind for kind, spellings in names.items() for name in spellings}


_OPPORTUNITY = _table(OPPORTUNITY_TYPE_NAMES)
_ACTIVITY = _table(ACTIVITY_TYPE_NAMES)
_ROLE = _table(ROLE_NAMES)
_STAGE_KIND = _table(STAGE_KIND_NAMES)
assert set(_OPPORTUNITY.values()) <= set(OPPORTUNITY_TYPES)
assert set(_ACTIVITY.values()) <= set(ACTIVITY_TYPES)
assert set(_ROLE.values()) <= set(ROLES)
assert set(_STAGE_KIND.values()) <= set(STAGE_KINDS)


def opportunity_type(value: str) -> str | None:
    """new, renewal, expansion (or other when written so); None for a value no CRM
    standard names. An empty value is a new deal, as Salesforce and HubSpot mean it."""
    if not value.strip():
        return "new"
    found = _OPPORTUNITY.get(key(value))
    if found is not None:
        return found
    compact = key(value)
    if "renew" in compact:
        return "renewal"
    if any(word in compact for word in ("upsell", "upgrade", "expansion", "crosssell")):
        return "expansion"
    return None


def activity_type(value: str) -> str | None:
    """call, email, meeting, demo, proposal, other; None for a value it cannot place.
    An empty value is ``other``."""
    if not value.strip():
        return "other"
    return _ACTIVITY.get(key(value))


def role(value: str) -> str | None:
    """rep, manager, leader, ops; an empty value is a rep."""
    if not value.strip():
        return "rep"
    return _ROLE.get(key(value))


def stage_kind(value: str) -> str | None:
    """open, won, lost; an empty value is open; None for anything else."""
    if not value.strip():
        return "open"
    return _STAGE_KIND.get(key(value))


def kind_or_other(
    value: str,
    read: Callable[[str], str | None],
    *,
    report: ImportReport,
    file: str,
    column: str,
    line: int | None = None,
    fallback: str = "other",
) -> str:
    """``read(value)``, else ``fallback`` with one warning per distinct value and file."""
    kind = read(value)
    if kind is not None:
        return kind
    shown = " ".join(value.split())[:60]
    report.warn(
        f"{column} {shown!r} is not a value stagecoach knows: kept as {fallback}",
        file=file,
        line=line,
    )
    return fallback


# Words that, in a stage's name, say the stage is closed. The CRM's own word for a
# stage (a closed flag, a stage id, a status) always comes first; the name is the
# last thing read, and a name that says nothing leaves the kind to the stage mapping.
_WON_WORDS = re.compile(r"\b(won|win|gewonnen|ganho|ganha|ganado|ganada|gagnée?|gagne|vinto)\b")
_LOST_WORDS = re.compile(
    r"\b(lost|lose|dead|abandoned|disqualified|unqualified|cancell?ed|churned|declined|"
    r"rejected|no decision|no go|perdido|perdida|perdu|perdue|verloren|perso|"
    r"cancelado|cancelada|annulé|storniert)\b"
)
_CLOSED_WORDS = re.compile(r"\b(closed|fechado|cerrado|geschlossen|fermé|clos)\b")


def kind_from_stage_name(name: str) -> str | None:
    """What a stage's name says it is: "Closed Won - Paid" won, "Dead Deals" and
    "Closed: abandoned" lost, "Closed" alone lost; None when the name says nothing.

    HubSpot's stage ids (``closedwon``, ``closedlost``) are names too.
    """
    lowered = " ".join(name.casefold().replace("_", " ").split())
    compact = key(name)
    if _LOST_WORDS.search(lowered) or compact == "closedlost":
        return "lost"
    if (_WON_WORDS.search(lowered) and "won't" not in lowered) or compact == "closedwon":
        return "won"
    if _CLOSED_WORDS.search(lowered):
        return "lost"
    return None
