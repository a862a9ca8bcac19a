"""Gridledger finance console: `make console` (streamlit run tools/console/app.py).

What finance opens every morning: bills and adjustments per month, retailer margin, alerts, VEE
quality per meter and load curves, all read from the BI snapshot (`<stem>.bi.duckdb`,
`$GRIDLEDGER_BI_SNAPSHOT`) with a read-only connection that lives for one page render; the
warehouse is never opened, so the console and the jobs never wait for each other.
"""

from __future__ import annotations

import streamlit as st

from foundation.paths import bi_snapshot_path
from tools.console import queries as q

st.set_page_config(page_title="Gridledger console", layout="wide")
st.title("Gridledger · finance console")

SNAPSHOT = bi_snapshot_path()
if not SNAPSHOT.exists():
    st.error(f"No BI snapshot at {SNAPSHOT}: it is written by every daily and monthly run "
             "(`make demo` makes one); set GRIDLEDGER_BI_SNAPSHOT to open another.")
    st.stop()


def metric_row(values: dict[str, str | int]) -> None:
    """One row of st.metric figures."""
    for column, (label, value) in zip(st.columns(len(values)), values.items(), strict=True):
        column.metric(label, value)


def bills_tab(con, period: str) -> None:
    totals = q.month_totals(con, period)
    metric_row({"Bills": totals.bills, "Billed (元)": q.yuan(totals.billed_yuan),
                "Billed kWh": f"{totals.billed_kwh:,.3f}"})
    metric_row({"Held bills": totals.held, "Held (元)": q.yuan(totals.held_yuan),
                "Adjustment lines": totals.adjustments,
                "Adjustments (元)": q.yuan(totals.adjustments_yuan)})
    st.caption("Sums of finance.bills (held bills included in Billed) and finance.adjustments "
               "for the month.")
    st.subheader("Per month")
    st.table(q.months_overview(con).set_index("month"))
    st.subheader(f"Bills of {period}")
    st.dataframe(q.bills(con, period), hide_index=True)
    st.subheader(f"Adjustments of {period} (追退补)")
    lines = q.adjustments(con, period)
    if lines.empty:
        st.write("No adjustments for this month.")
    else:
        st.dataframe(lines, hide_index=True)


def margin_tab(con, period: str) -> None:
    margin = q.retailer_margin(con, period)
    if margin.empty:
        st.write("No retailer margin for this month.")
        return
    st.table(margin.set_index("retailer"))


def alerts_tab(con, period: str) -> None:
    counts = q.alert_counts(con, period)
    if counts.empty:
        st.write("No alerts for this month.")
        return
    metric_row({"Alerts": int(counts["alerts"].sum())})
    st.table(counts.set_index("alert type"))
    st.dataframe(q.alerts(con, period), hide_index=True)


def needs(con, relation: str) -> bool:
    """Whether the snapshot has `relation`; says so when it does not (an older snapshot)."""
    if q.has_table(con, relation):
        return True
    st.warning(f"{relation} is not in this snapshot yet: the next daily run adds it.")
    return False


def quality_tab(con, period: str) -> None:
    if not needs(con, "marts.meter_vee_quality"):
        return
    st.table(q.vee_flag_totals(con, period))
    st.caption("Intervals of the kWh channel per meter: one column per quality flag and per "
               "estimation method (marts.meter_vee_quality).")
    st.dataframe(q.vee_quality(con, period), hide_index=True)


def load_tab(con, period: str) -> None:
    if not (needs(con, "marts.meter_daily_load") and needs(con, "marts.meter_load_profile")):
        return
    pairs = q.meters(con, period)
    if not pairs:
        st.write("No validated load for this month.")
        return
    labels = {f"{customer or '(no customer)'} · {meter}": meter for meter, customer in pairs}
    meter = labels[st.selectbox("Customer · meter", list(labels))]
    daily = q.daily_load(con, meter, period)
    st.subheader(f"Daily kWh of {meter}")
    st.line_chart(daily, x="day", y="kwh")
    profile = q.load_profile(con, meter, period)
    st.subheader(f"Load profile of {meter}, {period} ({len(profile)} points)")
    st.line_chart(profile, x="time_of_day", y=["average", "minimum", "maximum"])


with q.open_snapshot(SNAPSHOT) as con:
    info = q.snapshot_info(con)
    st.info(f"BI snapshot {SNAPSHOT.name} taken at {info.taken_at:%Y-%m-%d %H:%M:%S} by run "
            f"{info.run_id} ({info.tables} tables, {info.rows:,} rows). It is refreshed by every "
            "daily and monthly run; reload the page to see the newest.")
    months = q.periods(con)
    if not months:
        st.warning("The snapshot holds no bills yet: run the monthly job.")
        st.stop()
    period = st.sidebar.selectbox("Month", months)
    tabs = st.tabs(["Bills", "Margin", "Alerts", "VEE quality", "Load"])
    for tab, render in zip(tabs, (bills_tab, margin_tab, alerts_tab, quality_tab, load_tab),
                           strict=True):
        with tab:
            render(con, period)
