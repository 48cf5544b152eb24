"""A default B2B sales process: stages, exit criteria, key activities and skills.

Plain data, no Django: the demo generator reads it, and ``load_default_process``
writes it for an organisation that wants a starting point to edit.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class StageSpec:
    name: str
    kind: str  # "open", "won" or "lost"
    target_days: int | None = None
    probability: int | None = None
    required: bool = True
    description: str = ""
    exit_criteria: tuple[str, ...] = ()
    key_activities: tuple[tuple[str, str, int], ...] = ()  # (type, description, minimum)
    skills: tuple[str, ...] = ()


@dataclass(frozen=True)
class SkillSpec:
    name: str
    category: str  # "stage" or "general"
    description: str
    behaviours: tuple[str, ...] = field(default_factory=tuple)


PIPELINE_NAME = "New business"

SKILLS: tuple[SkillSpec, ...] = (
    SkillSpec(
        "Prospecting",
        "stage",
        "Finding and opening conversations with accounts that fit the ideal customer profile.",
        (
            "Works a named target list every week",
            "Personalises first touches",
            "Follows a multi-touch cadence before giving up",
        ),
    ),
    SkillSpec(
        "Qualification",
        "stage",
        "Establishing need, budget, authority and timing before investing time.",
        (
            "Confirms a compelling event",
            "Names the economic buyer",
            "Disqualifies early and without regret",
        ),
    ),
    SkillSpec(
        "Discovery questioning",
        "stage",
        "Understanding the customer's situation, pains and desired outcomes through questions.",
        (
            "Asks open questions and listens more than talks",
            "Quantifies the cost of the problem",
            "Summarises back what was heard",
        ),
    ),
    SkillSpec(
        "Mapping buying influences",
        "stage",
        "Knowing everyone who influences the decision and where each stands.",
        ("Identifies economic, technical and user buyers", "Finds a coach inside the account"),
    ),
    SkillSpec(
        "Value proposition",
        "stage",
        "Connecting the solution to the customer's stated outcomes in their own numbers.",
        ("Builds the business case with the customer", "Ties each capability to a stated pain"),
    ),
    SkillSpec(
        "Solution presentation",
        "stage",
        "Demonstrating what matters to this customer, not every feature.",
        ("Tailors the demo to discovery notes", "Checks for agreement during the demo"),
    ),
    SkillSpec(
        "Negotiation",
        "stage",
        "Trading concessions for value and protecting price.",
        ("Never gives a concession without getting one", "Knows the walk-away point"),
    ),
    SkillSpec(
        "Closing",
        "stage",
        "Agreeing a mutual plan to a signed contract and securing commitment.",
        ("Agrees a mutual close plan with dates", "Confirms the paper process early"),
    ),
    SkillSpec(
        "Pipeline management",
        "general",
        "Keeping a healthy, honest pipeline: enough early-stage deals, stale ones closed out.",
        ("Adds new opportunities every week", "Closes out dead deals", "Keeps close dates real"),
    ),
    SkillSpec(
        "Time management",
        "general",
        "Spending selling time on the activities and deals that matter most.",
        ("Blocks prospecting time", "Prioritises by value at stake"),
    ),
    SkillSpec(
        "CRM discipline",
        "general",
        "Recording what happened, when it happened, so the data can be trusted.",
        ("Updates stages on the day they change", "Logs every customer meeting"),
    ),
)

STAGES: tuple[StageSpec, ...] = (
    StageSpec(
        "Prospecting",
        "open",
        target_days=10,
        probability=5,
        required=False,
        description="A target account has shown interest; first conversation booked.",
        exit_criteria=(
            "First meeting held with a contact in the target account",
            "Account fits the ideal customer profile",
        ),
        key_activities=(("call", "Prospecting calls", 3), ("email", "Outreach emails", 3)),
        skills=("Prospecting",),
    ),
    StageSpec(
        "Qualification",
        "open",
        target_days=14,
        probability=10,
        description="Need, budget, authority and timing are being established.",
        exit_criteria=(
            "Business need confirmed by the customer",
            "Budget range known",
            "Decision maker identified",
            "Compelling event or timeline known",
        ),
        key_activities=(("meeting", "Qualification meeting", 1),),
        skills=("Qualification",),
    ),
    StageSpec(
        "Discovery",
        "open",
        target_days=21,
        probability=25,
        description="Understanding the customer's situation, pains and decision process.",
        exit_criteria=(
            "Pains quantified in the customer's numbers",
            "Buying influences mapped",
            "Decision process and criteria documented",
        ),
        key_activities=(("meeting", "Discovery meeting", 2),),
        skills=("Discovery questioning", "Mapping buying influences"),
    ),
    StageSpec(
        "Proposal",
        "open",
        target_days=18,
        probability=50,
        description="A tailored solution and business case are in front of the customer.",
        exit_criteria=(
            "Demo tailored to discovery held",
            "Proposal with business case sent",
            "Economic buyer has seen the proposal",
        ),
        key_activities=(("demo", "Tailored demo", 1), ("proposal", "Proposal sent", 1)),
        skills=("Value proposition", "Solution presentation"),
    ),
    StageSpec(
        "Negotiation",
        "open",
        target_days=14,
        probability=75,
        description="Terms, price and paperwork are being agreed.",
        exit_criteria=(
            "Mutual close plan agreed",
            "Legal and procurement engaged",
            "Final terms accepted verbally",
        ),
        key_activities=(("meeting", "Negotiation meeting", 1),),
        skills=("Negotiation", "Closing"),
    ),
    StageSpec("Closed Won", "won", probability=100, description="Contract signed."),
    StageSpec("Closed Lost", "lost", probability=0, description="The customer chose otherwise."),
)


ROLE_EXPECTATIONS: dict[str, dict[str, object]] = {
    "rep": {
        "quota_amount": 120_000,
        "quota_period": "quarter",
        "new_opportunities_per_week": 2,
        "new_logos_per_period": 3,
        "renewal_rate_target": 90,
        "expansion_amount_per_period": 25_000,
        "selling_time_pct": 55,
        "prospecting_time_pct": 25,
        "admin_time_pct": 10,
        "development_time_pct": 10,
        "activity_targets": {"call": 15, "email": 20, "meeting": 5, "demo": 1},
    },
}


PIPELINE_CRITERIA: tuple[tuple[str, dict[str, object], str], ...] = (
    ("has_amount", {}, "Has an amount"),
    ("has_close_date", {}, "Has a close date"),
    (
        "reached_stage",
        {"stage": "Qualification"},
        "Qualified: reached Qualification (prospects are not pipeline yet)",
    ),
    ("max_days_in_stage", {"days": 90}, "Moved in the last 90 days"),
)
