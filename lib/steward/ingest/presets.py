"""Known export formats: which source header feeds which canonical column.

A preset lists, for each canonical column, the headers that may hold it, best first
(matched ignoring case and extra spaces). Detection is automatic only when exactly one
preset's signature fits the headers; otherwise the user names one (--preset) or gives a
mapping file. Columns a preset does not know are ignored and listed in the summary.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from steward.definitions import normalize_label
from steward.store import SNAPSHOT_COLUMNS

Candidates = dict[str, tuple[str, ...]]

CANONICAL: Candidates = {c: (c,) for c in SNAPSHOT_COLUMNS}

SALESFORCE_REPORT: Candidates = {
    "snapshot_date": ("Snapshot Date", "As Of Date", "As of Date"),
    "opportunity_id": ("Opportunity ID", "Opportunity.Id", "Opportunity Id", "Opportunity ID (18)"),
    "opportunity_name": ("Opportunity Name", "Opportunity.Name"),
    "account_id": ("Account ID", "Account.Id", "Opportunity.AccountId"),
    "account_name": ("Account Name", "Account.Name"),
    "segment": ("Segment", "Account Segment", "Account.Segment__c", "Opportunity.Segment__c"),
    "region": ("Region", "Sales Region", "Account.Region__c", "Opportunity.Region__c"),
    "owner": ("Opportunity Owner", "Owner.Name", "Owner Name", "Owner Full Name", "Owner"),
    "source": ("Source", "Opportunity Source", "Lead Source", "Opportunity.LeadSource"),
    "lead_source": ("Lead Source", "Opportunity.LeadSource", "Channel"),
    "stage": ("Stage", "StageName", "Opportunity.StageName"),
    "amount": ("Amount", "Opportunity.Amount", "Amount (converted)"),
    "currency": ("Opportunity Currency", "Amount Currency", "Currency", "CurrencyIsoCode"),
    "probability": ("Probability (%)", "Probability", "Opportunity.Probability"),
    "forecast_category": (
        "Forecast Category",
        "ForecastCategoryName",
        "ForecastCategory",
        "Opportunity.ForecastCategory",
    ),
    "close_date": ("Close Date", "CloseDate", "Opportunity.CloseDate"),
    "created_date": ("Created Date", "CreatedDate", "Opportunity.CreatedDate"),
    "is_closed": ("Closed", "IsClosed", "Opportunity.IsClosed"),
    "is_won": ("Won", "IsWon", "Opportunity.IsWon"),
    "loss_reason": ("Loss Reason", "Closed Lost Reason", "Loss_Reason__c"),
    "product": ("Product", "Product Name", "Primary Product"),
}

SALESFORCE_DATA_EXPORT: Candidates = {
    "opportunity_id": ("Id",),
    "opportunity_name": ("Name",),
    "account_id": ("AccountId",),
    "segment": ("Segment__c",),
    "region": ("Region__c",),
    "owner": ("OwnerId",),
    "source": ("Source__c", "LeadSource"),
    "lead_source": ("LeadSource",),
    "stage": ("StageName",),
    "amount": ("Amount",),
    "currency": ("CurrencyIsoCode",),
    "probability": ("Probability",),
    "forecast_category": ("ForecastCategoryName", "ForecastCategory"),
    "close_date": ("CloseDate",),
    "created_date": ("CreatedDate",),
    "is_closed": ("IsClosed",),
    "is_won": ("IsWon",),
    "loss_reason": ("Loss_Reason__c",),
    "product": ("Product__c",),
}

HUBSPOT_DEALS: Candidates = {
    "snapshot_date": ("Snapshot Date",),
    "opportunity_id": ("Record ID", "Deal ID", "hs_object_id"),
    "opportunity_name": ("Deal Name",),
    "account_id": ("Associated Company IDs", "Associated Company ID"),
    "account_name": (
        "Associated Company",
        "Associated Company Name",
        "Associated Company (Primary)",
        "Company name",
    ),
    "segment": ("Segment", "Company Segment"),
    "region": ("Region",),
    "owner": ("Deal owner", "Deal Owner", "HubSpot Owner"),
    "source": ("Original Source Type", "Original Source", "Original Traffic Source", "Source"),
    "lead_source": ("Original Source Drill-Down 1", "Original Traffic Source Drill-Down 1"),
    "stage": ("Deal Stage", "Stage"),
    "amount": ("Amount", "Amount in company currency"),
    "currency": ("Currency", "Deal Currency Code"),
    "probability": ("Deal probability", "Deal Stage Probability", "Probability"),
    "forecast_category": ("Forecast category", "Forecast Category"),
    "close_date": ("Close Date",),
    "created_date": ("Create Date", "Created Date"),
    "is_closed": ("Is Closed", "Is Deal Closed?"),
    "is_won": ("Is Closed Won", "Is closed won"),
    "loss_reason": ("Closed Lost Reason",),
    "product": ("Product",),
}

PRESETS: dict[str, str] = {
    "canonical": "Pipeline Steward's own columns (snapshot_date, opportunity_id, stage, ...)",
    "salesforce_report": "Salesforce opportunity report export (human or dotted API headers)",
    "salesforce_data_export": "Salesforce weekly Data Export Opportunity.csv (API field names)",
    "hubspot_deals": "HubSpot deals export (Record ID / Deal Name / Deal Stage / ...)",
}

COLUMNS: dict[str, Candidates] = {
    "canonical": CANONICAL,
    "salesforce_report": SALESFORCE_REPORT,
    "salesforce_data_export": SALESFORCE_DATA_EXPORT,
    "hubspot_deals": HUBSPOT_DEALS,
}

# How each preset writes probability: Salesforce 0-100, HubSpot 0-1, others decided per column.
PROBABILITY_SCALE = {
    "salesforce_report": "percent",
    "salesforce_data_export": "percent",
    "hubspot_deals": "fraction",
}

# Forecast category spellings seen in exports -> the governed label (Salesforce API values).
FORECAST_SPELLINGS = {"bestcase": "Best Case", "forecast": "Commit", "omitted": "Omitted"}


def _keys(headers: Iterable[str]) -> set[str]:
    return {normalize_label(h) for h in headers}


def _has(keys: set[str], *names: str) -> bool:
    return any(normalize_label(n) in keys for n in names)


def _canonical(k: set[str]) -> bool:
    return _has(k, "opportunity_id") and _has(k, "stage") and _has(k, "close_date")


def _sf_export(k: set[str]) -> bool:
    return _has(k, "id") and _has(k, "stagename") and _has(k, "closedate") and _has(k, "accountid")


def _sf_report(k: set[str]) -> bool:
    stage = _has(k, "stage", "stagename", "opportunity.stagename")
    close = _has(k, "close date", "closedate", "opportunity.closedate")
    opp = _has(
        k,
        "opportunity name",
        "opportunity.name",
        "opportunity id",
        "opportunity.id",
        "opportunity owner",
    )
    return stage and close and opp and not _has(k, "id") and not _has(k, "deal stage")


def _hubspot(k: set[str]) -> bool:
    return _has(k, "deal stage") and _has(k, "deal name", "record id", "deal id")


SIGNATURES: dict[str, Callable[[set[str]], bool]] = {
    "canonical": _canonical,
    "salesforce_report": _sf_report,
    "salesforce_data_export": _sf_export,
    "hubspot_deals": _hubspot,
}


def matching_presets(headers: Iterable[str]) -> list[str]:
    keys = _keys(headers)
    return [name for name, sig in SIGNATURES.items() if sig(keys)]


def detect_preset(headers: Iterable[str]) -> str | None:
    """The one preset whose signature fits the headers, or None (none or several fit)."""
    found = matching_presets(headers)
    return found[0] if len(found) == 1 else None


def resolve_columns(headers: list[str], candidates: Candidates) -> dict[str, str]:
    """canonical column -> the file's header (as written) for each column found."""
    by_key = {normalize_label(h): h for h in headers}
    out: dict[str, str] = {}
    for canonical, names in candidates.items():
        for n in names:
            hit = by_key.get(normalize_label(n))
            if hit is not None:
                out[canonical] = hit
                break
    return out


def suggest_columns(headers: list[str]) -> dict[str, str]:
    """A first guess of canonical column -> header, to pre-fill an interactive mapping:
    the detected preset's columns, else the first preset candidate found for each column."""
    detected = detect_preset(headers)
    if detected:
        return resolve_columns(headers, COLUMNS[detected])
    out: dict[str, str] = {}
    for preset in COLUMNS.values():
        for canonical, header in resolve_columns(headers, preset).items():
            out.setdefault(canonical, header)
    return out
