"""The fictional company behind the demo: Northwind Analytics, a B2B analytics SaaS vendor.

Everything here is a fixed table (tuples, never dicts iterated for randomness) so the
generator's output depends only on the seed, the end date and the sizes.
"""

from __future__ import annotations

from dataclasses import dataclass

COMPANY = "Northwind Analytics"

SEGMENTS = ("Enterprise", "Mid-Market", "SMB")
SEGMENT_SHARE = (0.18, 0.32, 0.50)
# Median deal size (USD) before the product mix (Platform 1.15x, Add-on 0.55x, Services 0.4x;
# the blended medians land near $150k / $40k / $12k), lognormal sigma, rounding step (USD).
SEGMENT_MEDIAN_AMOUNT = (180_000.0, 48_000.0, 14_400.0)
SEGMENT_AMOUNT_SIGMA = (0.50, 0.55, 0.60)
SEGMENT_AMOUNT_ROUND = (500, 100, 10)
# Upper clip on a generated amount, as a multiple of the segment median (real tails are
# long, but the demo keeps accidental outliers out of the data-trust checks).
SEGMENT_AMOUNT_CLIP = (4.0, 4.0, 4.0)

REGIONS = ("North America", "EMEA", "APAC", "LATAM")

# Median days spent in each open stage (Prospecting, Discovery, Solution, Proposal,
# Negotiation), by segment. Enterprise cycles run ~5 months, SMB ~6 weeks.
STAGE_DAYS = (
    (14.0, 28.0, 42.0, 35.0, 28.0),
    (10.0, 18.0, 24.0, 20.0, 14.0),
    (6.0, 9.0, 12.0, 9.0, 7.0),
)
STAGE_DAYS_SIGMA = 0.6
# Chance of being lost in each open stage instead of advancing.
STAGE_LOSS = (0.30, 0.22, 0.20, 0.18, 0.12)
SEGMENT_LOSS_MULT = (1.10, 1.0, 0.95)
# Close-date push step (median days) by segment.
PUSH_DAYS = (45.0, 30.0, 18.0)

LOSS_REASONS = (
    "No Budget",
    "Not a Fit",
    "Unresponsive",
    "No Decision",
    "Timing",
    "Competitor",
    "Lost to Status Quo",
    "Price",
    "Legal / Procurement",
)
# For each open stage: (reason index, weight) pairs.
STAGE_LOSS_REASONS = (
    ((0, 0.35), (1, 0.35), (2, 0.30)),
    ((3, 0.35), (1, 0.25), (4, 0.25), (0, 0.15)),
    ((5, 0.35), (6, 0.30), (3, 0.25), (4, 0.10)),
    ((7, 0.40), (5, 0.35), (4, 0.15), (3, 0.10)),
    ((7, 0.40), (5, 0.30), (8, 0.20), (4, 0.10)),
)

SOURCES = ("Marketing", "SDR Outbound", "Partner", "AE Self-sourced", "Customer Expansion")
# Source mix by segment (rows follow SEGMENTS).
SOURCE_SHARE = (
    (0.25, 0.25, 0.15, 0.25, 0.10),
    (0.38, 0.24, 0.12, 0.14, 0.12),
    (0.50, 0.18, 0.10, 0.08, 0.14),
)
SOURCE_LOSS_MULT = (1.05, 1.15, 0.85, 0.90, 0.60)
# Share of deals from each source that start at Discovery instead of Prospecting.
SOURCE_START_QUALIFIED = (0.10, 0.05, 0.40, 0.25, 0.50)

LEAD_SOURCES = (
    "Paid Search",
    "Webinar",
    "Event",
    "Content Syndication",
    "Organic Search",
    "Outbound Email",
    "Cold Call",
    "Partner Referral",
    "AE Prospecting",
    "Customer Success",
)
# For each source: (lead_source index, weight).
SOURCE_LEAD_SOURCES = (
    ((0, 0.28), (1, 0.22), (2, 0.15), (3, 0.15), (4, 0.20)),
    ((5, 0.60), (6, 0.40)),
    ((7, 1.0),),
    ((8, 1.0),),
    ((9, 1.0),),
)

PRODUCTS = ("Platform", "Analytics Add-on", "Services")
PRODUCT_SHARE = (0.60, 0.25, 0.15)
PRODUCT_SHARE_EXPANSION = (0.20, 0.55, 0.25)
PRODUCT_AMOUNT_MULT = (1.15, 0.55, 0.40)


@dataclass(frozen=True)
class Owner:
    name: str
    segment: int  # index into SEGMENTS
    region: int  # index into REGIONS
    weight: float  # share of the segment's deals
    probability_bias: float  # 0 = uses stage defaults; otherwise overrides by this much


OWNERS = (
    Owner("Maya Chen", 0, 0, 0.32, 0.0),
    Owner("Daniel Okafor", 0, 0, 0.28, 0.10),  # the optimist: overrides probabilities up
    Owner("Sofia Lindqvist", 0, 1, 0.25, 0.0),
    Owner("Kenji Watanabe", 0, 2, 0.15, 0.0),
    Owner("Priya Raman", 1, 0, 0.32, 0.0),
    Owner("Marcus Hill", 1, 0, 0.26, 0.0),
    Owner("Lucas Moreau", 1, 1, 0.27, -0.10),  # the sandbagger: overrides probabilities down
    Owner("Diego Alvarez", 1, 3, 0.15, 0.0),
    Owner("Jordan Miles", 2, 0, 0.45, 0.0),
    Owner("Emma Novak", 2, 1, 0.27, 0.0),
    Owner("Arjun Mehta", 2, 2, 0.16, 0.0),
    Owner("Camila Rocha", 2, 3, 0.12, 0.0),
)

# Lead owners (SDRs) and their median hours to first contact.
SDRS = (
    ("Ava Thompson", 5.0),
    ("Noah Patel", 8.0),
    ("Zoe Martins", 11.0),
    ("Ethan Kim", 15.0),
    ("Lena Vogel", 21.0),
    ("Mateo Silva", 30.0),
)
LEAD_STATUSES = ("Converted", "Working", "Nurture", "Disqualified", "Open")

TOUCH_CHANNELS = ("Paid Search", "Webinar", "Event", "Content", "Email", "Partner")
TOUCH_CHANNEL_SHARE = (0.24, 0.20, 0.12, 0.18, 0.20, 0.06)
# Which touch channel a lead source's first touch uses.
LEAD_SOURCE_CHANNEL = (0, 1, 2, 3, 3, 4, 4, 5, 4, 4)
CAMPAIGN_THEMES = (
    (
        "Brand - Pipeline Analytics",
        "Competitor - Forecasting Tools",
        "Non-brand - Revenue Dashboards",
    ),
    (
        "Forecasting with Confidence",
        "The CFO's Pipeline Review",
        "From MQL to Pipeline",
    ),
    (
        "RevOps Summit",
        "SaaStr Booth",
        "Executive Dinner Series",
    ),
    (
        "State of Pipeline Report",
        "Coverage Benchmark Guide",
        "Board Deck Templates",
    ),
    (
        "Nurture - Analytics Buyers",
        "Product Newsletter",
        "Renewal Upsell Sequence",
    ),
    (
        "Partner Co-marketing",
        "Marketplace Listing",
        "SI Partner Workshop",
    ),
)

ACCOUNT_WORDS_A = (
    "Aster", "Birch", "Cobalt", "Delta", "Ember", "Fjord", "Granite", "Harbor", "Iris",
    "Juniper", "Kestrel", "Lumen", "Meridian", "Nimbus", "Onyx", "Pioneer", "Quarry",
    "Redwood", "Summit", "Tidal", "Umber", "Vertex", "Willow", "Xenon", "Yarrow", "Zephyr",
    "Atlas", "Beacon", "Cedar", "Dune", "Echo", "Falcon", "Glacier", "Helix", "Indigo",
    "Jasper", "Keystone", "Lattice", "Mosaic", "Northgate", "Orchid", "Prairie", "Quill",
    "Rook", "Sable", "Thistle", "Upland", "Vale", "Wren", "Yukon", "Zenith", "Alder",
    "Basalt", "Canyon", "Drift", "Elm", "Flint", "Grove", "Heron", "Ivory",
)  # fmt: skip
ACCOUNT_WORDS_B = (
    "Logistics", "Health", "Capital", "Foods", "Energy", "Robotics", "Retail", "Media",
    "Labs", "Freight", "Insurance", "Pharma", "Systems", "Textiles", "Analytics", "Mobility",
    "Bank", "Telecom", "Hospitality", "Software", "Manufacturing", "Biotech", "Aerospace",
    "Education", "Outdoor", "Marine", "Realty", "Payments", "Security", "Agritech",
)  # fmt: skip
ACCOUNT_WORDS_C = ("Inc.", "Group", "Ltd", "Co.", "GmbH", "Holdings", "LLC", "S.A.", "Partners")
