"""Data trust & definitions: checks and score, loaded weeks, import log, definitions."""

from __future__ import annotations

import streamlit as st

from dashboard import auth, data, state, widgets
from steward import charts, fmt, listings

view = state.current()
who = auth.current()
d = data.defs()
st.title("Data trust & definitions")

if view is not None:
    data.prefetch_page("trust", view.query)
    st.caption(
        f"**{view.period}** · as of {fmt.board_date(view.as_of)} · {view.query.filters.describe()}"
    )
    with widgets.guard("the trust checks"):
        score = data.metric("trust_score", view.query)
        checks = data.metric("trust_checks", view.query)
        # The score as a tile, the checks full width below it so their descriptions
        # can be read without scrolling sideways.
        st.columns(4)[0].metric("Trust score", fmt.score(score.value), border=True, help=score.note)
        table = checks.table
        if table is not None and len(table):
            wanted = ["label", "count", "amount", "severity", "description"]
            table = table[[c for c in wanted if c in table.columns]]
        widgets.table(table, key="trust_checks", metric_id="trust_checks")
else:
    st.info("No snapshots loaded yet: the checks appear after the first import.")

with widgets.guard("the snapshot calendar"):
    st.subheader("Snapshot calendar")
    dates = data.snapshot_dates()
    widgets.chart(charts.snapshot_calendar(dates), key="trust_calendar")
    snaps = data.snapshots(who.scope)
    with st.expander(f"{len(snaps)} snapshots loaded"):
        widgets.table(snaps, key="trust_snapshots", columns=listings.SNAPSHOT_COLUMNS)

st.subheader("Definitions in force")
st.caption(d.stamp)
with widgets.guard("the definitions"):
    import pandas as pd

    st.dataframe(
        pd.DataFrame(d.as_rows(), columns=["Setting", "Value"]).astype(str),
        key="trust_definitions",
        hide_index=True,
        width="stretch",
    )

if not who.is_admin:
    st.caption("The import history and the audit are shown to admins.")
else:
    with widgets.guard("the import log"):
        st.subheader("Import history")
        log = data.import_log()
        if len(log):
            log = log[[c.name for c in listings.TRUST_IMPORT_LOG]]
        widgets.table(log, key="trust_import_log", columns=listings.TRUST_IMPORT_LOG)

    with widgets.guard("the audit"):
        st.subheader("Audit")
        st.caption("Who imported, replaced, deleted or exported what, when, and under which scope.")
        widgets.table(data.audit_log(), key="trust_audit")
