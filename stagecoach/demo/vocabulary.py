"""Names for the demo organisation: people, accounts, deals and teams (fictional)."""

# fmt: off
FIRST_NAMES = (
    "Ava", "Ben", "Chloe", "Daniel", "Elena", "Farid", "Grace", "Hugo", "Isla", "Jonas", "Kira",
    "Liam", "Maya", "Noah", "Olivia", "Pablo", "Quinn", "Rosa", "Samir", "Tara", "Umar", "Vera",
    "Wes", "Xenia", "Yusuf", "Zoe", "Aditi", "Bruno", "Carmen", "Dmitri", "Esther", "Felix",
    "Gita", "Hannah", "Ivan", "Jade", "Kofi", "Lena", "Marco", "Nadia", "Oscar", "Priya",
    "Rafael", "Sofia", "Tomas", "Una", "Victor", "Wendy", "Yara", "Zain", "Amara", "Bilal",
    "Cora", "Diego", "Emil", "Freya", "Gabriel", "Helena", "Ines", "Jamal",
)

LAST_NAMES = (
    "Adler", "Baptiste", "Castillo", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito",
    "Jensen", "Kowalski", "Larsen", "Moreau", "Nakamura", "Okafor", "Petrov", "Quint", "Rossi",
    "Silva", "Tanaka", "Urban", "Varga", "Weber", "Xu", "Yilmaz", "Zimmer", "Abbott", "Brennan",
    "Carver", "Delgado", "Ellis", "Foster", "Greer", "Hale", "Ibarra", "Jordan", "Keller",
    "Lindqvist", "Mercer", "Novak", "Ortega", "Price", "Reyes", "Sato", "Thorne", "Ueda",
    "Vance", "Wolfe", "Young", "Zhou", "Ambrose", "Bishop", "Cho", "Dalton", "Evans",
)

ACCOUNT_PREFIXES = (
    "Acorn", "Blue", "Cedar", "Delta", "Ember", "Falcon", "Granite", "Harbor", "Iris",
    "Juniper", "Keystone", "Lumen", "Maple", "Nimbus", "Orbit", "Pioneer", "Quarry", "Redwood",
    "Summit", "Tidal", "Union", "Vertex", "Willow", "Zenith", "Atlas", "Beacon", "Cobalt",
    "Drift",
)

ACCOUNT_SUFFIXES = (
    "Logistics", "Health", "Foods", "Energy", "Systems", "Retail", "Labs", "Bank", "Motors",
    "Media", "Insurance", "Pharma", "Networks", "Hotels", "Partners", "Manufacturing",
)

DEAL_TOPICS = (
    "Analytics rollout", "Platform renewal", "Team expansion", "Pilot", "Enterprise licence",
    "Data migration", "Regional rollout", "Upgrade", "Integration", "Annual plan",
)

# fmt: on

# The first teams get familiar names and currencies; larger organisations number the rest.
STANDARD_TEAM_NAMES = (
    ("Commercial East", "USD"),
    ("Enterprise North America", "USD"),
    ("Commercial West", "USD"),
    ("Enterprise EMEA", "EUR"),
    ("Commercial Central", "USD"),
    ("Enterprise Strategic", "USD"),
)
