"""Weekly review: the Monday bottleneck agenda, decisions and their follow-through."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from dashboard import data, review, state, widgets
from steward import fmt
from steward.review import DecisionRejected

STATUS_ICON = {"done": "✅", "slipping": "⚠️", "overdue": "🛑", "recorded": "📝"}

view = state.open_page(
    "weekly_review", "Weekly review", lambda _: "each rule and threshold is in the glossary"
)
q = view.query

with widgets.guard("the agenda"):
    agenda = review.agenda(q)

    st.subheader("Last week's decisions")
    rate = data.metric("decision_follow_through_rate", q)
    st.metric(
        "Decision follow-through rate",
        fmt.pct(rate.value) if rate.value is not None else "—",
        help="Decisions due by this snapshot whose metric moved the intended way by the due "
        "date (decision_follow_through_rate).",
    )
    if rate.note:
        st.caption(rate.note)
    if not agenda.decisions:
        st.caption("No decision was recorded before this snapshot.")
    for f in agenda.decisions:
        d = f.decision
        st.markdown(
            f"{STATUS_ICON.get(f.status, '')} **{f.status.upper()}** · {d.what} "
            f"— *{d.owner}, due {fmt.board_date(d.due_date)}, recorded {fmt.board_date(d.as_of)}*  \n{f.summary}"
        )

    st.subheader("This week's bottlenecks")
    st.caption("Ranked by dollar impact; each found by a declared rule (see the glossary).")
    if not agenda.items:
        st.info("No agenda rule fired this week.")
    for i, item in enumerate(agenda.items, 1):
        impact = f" · {fmt.money(item.impact_usd)} at stake" if item.impact_usd > 0 else ""
        st.markdown(f"**{i}. {item.title}**{impact} · owner: {item.owner_role}  \n"
                    f"{item.evidence.text}")  # fmt: skip
        st.caption(
            "Numbers from: "
            + ", ".join(sorted({n.fact.metric_id for n in item.evidence.numbers}))
            + f" · a decision here should move: {item.reading.describe()}"
            + "".join(f" · {note}" for note in item.notes)
        )
        if item.drill is not None:
            # Lazy: the deal list is read when the expander is opened, not on every run
            # (a closed expander's content still runs; the drills cost as much as the agenda)
            box = st.expander(
                f"The deals behind item {i}: {item.drill.label}",
                key=f"review_deals_open_{item.key}",
                on_change="rerun",
            )
            if box.open:
                with box:
                    widgets.deal_table(
                        review.item_deals(q, item.key),
                        key=f"review_deals_{i}",
                        file_name=f"agenda_{item.rule_id}.csv",
                    )

with widgets.guard("recording a decision"):
    st.subheader("Record a decision")
    if agenda.items:
        keys = [it.key for it in agenda.items]
        titles = {it.key: it.title for it in agenda.items}
        with st.form("decision_form", clear_on_submit=True):
            key = st.selectbox(
                "Agenda item", keys, format_func=lambda k: titles[k], key="decision_item"
            )
            what = st.text_input("What will be done", key="decision_what")
            who = st.text_input("Decision owner (who does it)", key="decision_owner")
            due = st.date_input("Due", value=q.as_of + timedelta(days=7), key="decision_due")
            if st.form_submit_button("Record decision", key="decision_submit"):
                try:
                    new_id = review.record(q, key, what, who, due)
                    st.success(f"Decision {new_id} recorded on “{titles[key]}”.")
                except DecisionRejected as exc:
                    st.error(" ".join([str(exc), *exc.details]))
    recorded = review.recorded_at(q.as_of, q.filters.scope)
    if recorded:
        st.markdown("**Recorded at this snapshot** (follow-through shows from the next one)")
        for d in recorded:
            st.markdown(
                f"- {d.what} — *{d.owner}, due {fmt.board_date(d.due_date)}* ({d.item_title})"
            )
