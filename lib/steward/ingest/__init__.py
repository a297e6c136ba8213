"""Importing CRM exports into the snapshot store.

    prepared = ingest.prepare("opportunities_2026-11-20.csv", defs)   # parse + validate
    print(prepared.summary())
    ingest.commit(db, prepared, replace=False)                        # one transaction

Modules: readers (bytes -> cells), parse (dates, money, booleans, probabilities),
presets (known export formats), mapping (TOML mappings), validate (row checks),
importer (prepare/commit), tables (targets/touches/leads), reconstruct (weekly snapshots
from OpportunityHistory).
"""

from steward.ingest.importer import commit, date_from_name, prepare
from steward.ingest.mapping import Mapping
from steward.ingest.model import Issue, Prepared
from steward.ingest.presets import PRESETS, detect_preset, suggest_columns
from steward.ingest.readers import read_table
from steward.ingest.reconstruct import reconstruct
from steward.ingest.tables import TABLE_KINDS, prepare_table

__all__ = [
    "PRESETS",
    "TABLE_KINDS",
    "Issue",
    "Mapping",
    "Prepared",
    "commit",
    "date_from_name",
    "detect_preset",
    "prepare",
    "prepare_table",
    "read_table",
    "reconstruct",
    "suggest_columns",
]
