"""What the finance console shows, read from the BI snapshot only (never the warehouse).

Every function takes a read-only connection to the snapshot (`open_snapshot`) and returns rows or
a DataFrame. Money stays Decimal until it is formatted (`yuan`): totals equal `finance.bills` to
the fen. The console opens the snapshot for one page render and closes it, so the next render
sees the newest snapshot the platform renamed into place.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd


@contextmanager
def open_snapshot(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the snapshot file, closed after the block."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        yield con
    finally:
        con.close()


def yuan(amount: Decimal | None) -> str:
    """Money as finance reads it: thousands separators, 2 dp, exact (Decimal, no float)."""
    return "—" if amount is None else f"{amount:,.2f}"


def has_table(con: duckdb.DuckDBPyConnection, relation: str) -> bool:
    """Whether `schema.table` is in the snapshot."""
    schema, table = relation.split(".")
    return con.execute("select count(*) from information_schema.tables "
                       "where table_schema = ? and table_name = ?", [schema, table]
                       ).fetchone()[0] > 0


@dataclass(frozen=True)
class SnapshotInfo:
    """When the snapshot was taken, by which run, and what it holds."""

    taken_at: datetime
    run_id: str
    tables: int
    rows: int


def snapshot_info(con: duckdb.DuckDBPyConnection) -> SnapshotInfo:
    """From `_snapshot.tables`, which the platform writes with every snapshot."""
    taken_at, run_id, tables, rows = con.execute(
        "select max(taken_at), max(run_id), count(*), sum(row_count) from _snapshot.tables"
    ).fetchone()
    return SnapshotInfo(taken_at, run_id, tables, int(rows or 0))


def periods(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Months with bills or adjustments, newest first."""
    return [row[0] for row in con.execute(
        "select period from finance.bills union select period from finance.adjustments "
        "order by period desc").fetchall()]


@dataclass(frozen=True)
class MonthTotals:
    """One month of `finance.bills` and `finance.adjustments`."""

    bills: int
    billed_yuan: Decimal
    held: int
    held_yuan: Decimal
    billed_kwh: Decimal
    adjustments: int
    adjustments_yuan: Decimal


def month_totals(con: duckdb.DuckDBPyConnection, period: str) -> MonthTotals:
    """Bills (all statuses), held bills, kWh and adjustments of the month."""
    bills, billed, held, held_yuan, kwh = con.execute("""
        select count(*), coalesce(sum(total_yuan), 0),
               count(*) filter (where bill_status = 'held'),
               coalesce(sum(total_yuan) filter (where bill_status = 'held'), 0),
               coalesce(sum(billed_kwh), 0)
        from finance.bills where period = ?""", [period]).fetchone()
    adjustments, adjusted = con.execute(
        "select count(*), coalesce(sum(amount_delta_yuan), 0) from finance.adjustments "
        "where period = ?", [period]).fetchone()
    return MonthTotals(bills, billed, held, held_yuan, kwh, adjustments, adjusted)


def months_overview(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per month: bills, billed 元, held, adjustments 元, billed + adjustments."""
    rows = con.execute("""
        with b as (select period, count(*) as bills, sum(total_yuan) as billed,
                          count(*) filter (where bill_status = 'held') as held
                   from finance.bills group by period),
             a as (select period, count(*) as lines, sum(amount_delta_yuan) as adjusted
                   from finance.adjustments group by period)
        select period, coalesce(bills, 0), billed, coalesce(held, 0), coalesce(lines, 0),
               coalesce(adjusted, 0), coalesce(billed, 0) + coalesce(adjusted, 0)
        from b full join a using (period) order by period desc""").fetchall()
    return pd.DataFrame([
        {"month": p, "bills": n, "billed (元)": yuan(billed), "held": held,
         "adjustment lines": lines, "adjustments (元)": yuan(adjusted),
         "billed + adjustments (元)": yuan(net)}
        for p, n, billed, held, lines, adjusted, net in rows])


def bills(con: duckdb.DuckDBPyConnection, period: str) -> pd.DataFrame:
    """The month's bills, largest first."""
    rows = con.execute("""
        select customer_id, retailer_id, package_model, coalesce(bill_status, 'issued'),
               billed_kwh, max_demand_kw, power_factor, total_yuan, average_price_yuan_per_kwh,
               estimated_kwh_share
        from finance.bills where period = ? order by total_yuan desc, customer_id""",
                       [period]).fetchall()
    return pd.DataFrame([
        {"customer": c, "retailer": r, "package": p, "status": s, "kWh": float(kwh),
         "max kW": _float(kw), "PF": _float(pf), "total (元)": yuan(total),
         "元/kWh": _float(price), "estimated kWh share": _float(share)}
        for c, r, p, s, kwh, kw, pf, total, price, share in rows])


def adjustments(con: duckdb.DuckDBPyConnection, period: str) -> pd.DataFrame:
    """The month's adjustment lines (追退补), per customer and line."""
    rows = con.execute("""
        select customer_id, line_code, quantity_delta, unit_price, amount_delta_yuan, reason,
               original_bill_ref, created_at
        from finance.adjustments where period = ?
        order by customer_id, segment_no, line_no""", [period]).fetchall()
    return pd.DataFrame([
        {"customer": c, "line": line, "quantity Δ": _float(q), "unit price": _float(price),
         "amount Δ (元)": yuan(amount), "reason": reason, "original bill": ref,
         "created": created}
        for c, line, q, price, amount, reason, ref, created in rows])


def retailer_margin(con: duckdb.DuckDBPyConnection, period: str) -> pd.DataFrame:
    """The month's margin per retailer (finance.retailer_margin)."""
    rows = con.execute("""
        select retailer_id, customers, settled_kwh, retail_revenue_yuan, wholesale_cost_yuan,
               spread_yuan, spread_yuan_per_kwh, forecast_deviation_cost_yuan,
               margin_guarantee_yuan, risk_exposure_yuan, is_at_risk
        from finance.retailer_margin where period = ? order by retailer_id""",
                       [period]).fetchall()
    return pd.DataFrame([
        {"retailer": r, "customers": n, "kWh": f"{kwh:,.3f}", "revenue (元)": yuan(revenue),
         "wholesale cost (元)": yuan(cost), "spread (元)": yuan(spread),
         "spread 元/kWh": "—" if per_kwh is None else f"{per_kwh:.6f}",
         "deviation cost (元)": yuan(deviation), "guarantee (元)": yuan(guarantee),
         "risk exposure (元)": yuan(exposure), "at risk": "yes" if risk else "no"}
        for r, n, kwh, revenue, cost, spread, per_kwh, deviation, guarantee, exposure, risk
        in rows])


def alert_counts(con: duckdb.DuckDBPyConnection, period: str) -> pd.DataFrame:
    """Alerts of the month per type."""
    rows = con.execute("select alert_type, count(*) from marts.alerts where period = ? "
                       "group by alert_type order by alert_type", [period]).fetchall()
    return pd.DataFrame([{"alert type": t, "alerts": n} for t, n in rows])


def alerts(con: duckdb.DuckDBPyConnection, period: str) -> pd.DataFrame:
    """The month's alerts, by type and subject."""
    return con.execute("""
        select alert_type as "alert type", rule, customer_id as customer, meter_id as meter,
               metric_value as value, threshold, detail
        from marts.alerts where period = ? order by alert_type, customer_id, meter_id, rule""",
                       [period]).df()


def vee_quality(con: duckdb.DuckDBPyConnection, period: str) -> pd.DataFrame:
    """Intervals per meter, quality flag and method in the month (kWh channel), wide: one row
    per meter, one column per flag and per method."""
    long = con.execute("""
        select meter_id, customer_id, quality_flag, method, intervals
        from marts.meter_vee_quality where period = ? and channel = 'kwh_imp'""",
                       [period]).df()
    if long.empty:
        return long
    flags = long.pivot_table(index=["meter_id", "customer_id"], columns="quality_flag",
                             values="intervals", aggfunc="sum", fill_value=0)
    methods = long[long["method"] != "actual"].pivot_table(
        index=["meter_id", "customer_id"], columns="method", values="intervals", aggfunc="sum",
        fill_value=0)
    wide = flags.join(methods, how="left").fillna(0).astype(int).reset_index()
    sort = [c for c in ("FAILED", "ESTIMATED", "EDITED") if c in wide.columns]
    return wide.sort_values(sort + ["meter_id"], ascending=[False] * len(sort) + [True])


def vee_flag_totals(con: duckdb.DuckDBPyConnection, period: str) -> pd.DataFrame:
    """Intervals and energy per quality flag and method in the month (kWh channel)."""
    rows = con.execute("""
        select quality_flag, method, sum(intervals), count(distinct meter_id), sum(energy)
        from marts.meter_vee_quality where period = ? and channel = 'kwh_imp'
        group by all order by 1, 2""", [period]).fetchall()
    return pd.DataFrame([
        {"flag": flag, "method": method, "intervals": n, "meters": meters,
         "kWh": "—" if kwh is None else f"{kwh:,.3f}"}
        for flag, method, n, meters, kwh in rows])


def meters(con: duckdb.DuckDBPyConnection, period: str) -> list[tuple[str, str | None]]:
    """(meter, customer) pairs with a load profile in the month, by customer then meter."""
    return con.execute("""
        select distinct meter_id, customer_id from marts.meter_load_profile where period = ?
        order by customer_id nulls last, meter_id""", [period]).fetchall()


def daily_load(con: duckdb.DuckDBPyConnection, meter_id: str, period: str) -> pd.DataFrame:
    """The meter's validated kWh per day of the month."""
    return con.execute("""
        select reading_date as day, kwh::double as kwh, estimated_intervals, failed_intervals
        from marts.meter_daily_load where meter_id = ? and period = ? order by day""",
                       [meter_id, period]).df()


def load_profile(con: duckdb.DuckDBPyConnection, meter_id: str, period: str) -> pd.DataFrame:
    """The meter's average, minimum and maximum kWh per time of day (96 points at 15 min)."""
    return con.execute("""
        select time_of_day, avg_kwh::double as average, min_kwh::double as minimum,
               max_kwh::double as maximum
        from marts.meter_load_profile where meter_id = ? and period = ? order by slot""",
                       [meter_id, period]).df()


def _float(value: Decimal | float | None) -> float | None:
    return None if value is None else float(value)
