"""Dagster assets of the `analytics` group (issue 11): churn inputs (with payment records),
churn risk, customer value, credit rating, the measure per customer and its notice to the
account managers (notices.py). Unpartitioned: each
run scores the last 12 months of the contract history in `<data_dir>/master/`
(orchestration/jobs.py: `analytics_job`).

No `from __future__ import annotations` here: Dagster rejects string annotations on `context`.
"""

import json
from datetime import date

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    MaterializeResult,
    asset,
    multi_asset,
)

from foundation.months import add_months
from foundation.resources import Gridledger
from foundation.warehouse import connect, table_exists

from . import config
from .churn import FEATURES, HORIZON_MONTHS, build_spells, fit_churn_model, score_months
from .credit import TABLE_COLUMNS as CREDIT_COLUMNS
from .credit import credit_rows, customers_in_month, scores_at_signing
from .inputs import (
    PAYMENT_COLUMNS,
    PAYMENTS_FILE,
    QUARANTINE_COLUMNS,
    Loaded,
    load_history,
    load_payments,
    load_tickets,
)
from .notices import measure_notices
from .platform_history import with_platform_spells
from .scoring import band_rows, customer_measures, customer_value
from .tables import read_table, replace_tables

GROUP = "analytics"
HISTORY_KEY = AssetKey(["analytics", "contract_history"])
TICKETS_KEY = AssetKey(["analytics", "service_tickets"])
CHURN_KEY = AssetKey(["analytics", "churn_risk"])
VALUE_KEY = AssetKey(["analytics", "customer_value"])
MEASURES_KEY = AssetKey(["analytics", "customer_measures"])
PAYMENTS_KEY = AssetKey(["analytics", "payments"])
CREDIT_KEY = AssetKey(["analytics", "credit_rating"])
SCORED_MONTHS = 12
MONEY = "decimal(18, 2)"
PAYMENT_TYPES = {"due_on": "date", "paid_on": "date", "amount_due_yuan": MONEY,
                 "amount_paid_yuan": MONEY}


@multi_asset(
    specs=[
        AssetSpec(HISTORY_KEY, group_name=GROUP,
                  deps=[AssetKey(["master", "customers"]), AssetKey(["master", "contracts"]),
                        AssetKey(["workflow", "contract_terminations"]),
                        AssetKey(["finance", "bills"])],
                  description="Contract spells from master/contract_history.csv (outcome, "
                              "price gap, penalties, value indicators; bad rows in "
                              "analytics.quarantine_rows), continued by the platform's own "
                              "contracts up to its last billed month (early terminations of the "
                              "termination workflow, settled deviation penalties; "
                              "platform_history.py)."),
        AssetSpec(TICKETS_KEY, group_name=GROUP,
                  description="Complaints and service tickets from master/service_tickets.csv;"
                              " a ticket of an unknown customer is quarantined."),
        AssetSpec(PAYMENTS_KEY, group_name=GROUP,
                  description="Bills and their payments from master/payments.csv (optional: "
                              "without it the table is empty and the credit rating has no "
                              "payment records); bad rows quarantined."),
    ],
    name="churn_inputs",
)
def churn_inputs(context: AssetExecutionContext, gridledger: Gridledger):
    """Check and load the files; replace their tables and the quarantine in one go."""
    history = load_history(gridledger.master_dir)
    with connect(gridledger.warehouse_path) as con:
        platform = with_platform_spells(con, history.rows)
        known = set(platform.rows["customer_id"])
        if table_exists(con, "master", "customers"):
            known |= {r[0] for r in con.execute("select customer_id from master.customers")
                      .fetchall()}
        tickets = load_tickets(gridledger.master_dir, known)
        found = load_payments(gridledger.master_dir, known)
        payments = found or Loaded(pd.DataFrame(columns=list(PAYMENT_COLUMNS)))
        quarantined = pd.DataFrame(history.quarantined + tickets.quarantined
                                   + payments.quarantined, columns=QUARANTINE_COLUMNS)
        replace_tables(con, {
            "contract_history": (platform.rows, {
                "deviation_penalties_12m_yuan": MONEY, "price_gap_yuan_per_mwh": "decimal(18, 2)",
                "annual_mwh": "decimal(18, 3)", "margin_yuan_per_mwh": "decimal(18, 2)",
                "on_time_payment_rate": "decimal(9, 4)"}),
            "service_tickets": (tickets.rows, {"opened_on": "date"}),
            "payments": (payments.rows, PAYMENT_TYPES),
            "quarantine_rows": (quarantined, {"source_row": "bigint"}),
        })
    missing = {"missing_file": f"master/{PAYMENTS_FILE} not found: analytics.payments is "
                               "empty and every credit rating is no_payment_records"
               } if found is None else {}
    continued = {
        "platform_spells": platform.platform_spells,
        "platform_early_terminations": platform.terminations,
        "last_billed_month": platform.last_billed_month or "none: no bills yet",
        "platform_contracts_overlapping_the_export": ", ".join(platform.overlapping) or "none"}
    for key, loaded, extra in ((HISTORY_KEY, history, continued), (TICKETS_KEY, tickets, {}),
                               (PAYMENTS_KEY, payments, missing)):
        by_rule = pd.Series([q["rule"] for q in loaded.quarantined]).value_counts()
        rows = len(platform.rows) if key == HISTORY_KEY else len(loaded.rows)
        context.log.info(f"{key.to_user_string()}: {rows} rows, "
                         f"{len(loaded.quarantined)} quarantined {extra.get('missing_file', '')}")
        yield MaterializeResult(asset_key=key, metadata={
            "dagster/row_count": rows, "quarantined_rows": len(loaded.quarantined),
            "quarantined_by_rule": json.dumps({str(k): int(v) for k, v in by_rule.items()}),
            **extra})


def _as_of(history: pd.DataFrame) -> str:
    return str(history["end_month"].max())


def read_credit_inputs(con) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The contract history, complaint tickets and payments as the credit rating reads them:
    penalties and amounts as Decimal, dates as `date` (None when unpaid)."""
    history = read_table(con, "contract_history", ("deviation_penalties_12m_yuan",))
    tickets = read_table(con, "service_tickets")
    payments = read_table(con, "payments", ("amount_due_yuan", "amount_paid_yuan"))
    for frame, column in ((payments, "due_on"), (payments, "paid_on"), (tickets, "opened_on")):
        frame[column] = [None if pd.isna(v) else v.date() for v in frame[column]]
    return history, tickets[tickets["category"] == "complaint"], payments


@asset(key=CHURN_KEY, group_name=GROUP, deps=[HISTORY_KEY, TICKETS_KEY, PAYMENTS_KEY],
       description="P(churn within 90 days) per customer and month (last 12 months of the "
                   "history) from a Cox model of contract spells (covariates at signing, the "
                   "credit rating's score among them); band from the churn_risk_bands seed.")
def churn_risk(context: AssetExecutionContext, gridledger: Gridledger) -> MaterializeResult:
    """Fit, check (held-out concordance, proportional hazards), score and band."""
    with connect(gridledger.warehouse_path) as con:
        history, complaints, payments = read_credit_inputs(con)
        scores = scores_at_signing(history, payments if len(payments) else None, complaints)
        spells = build_spells(history, complaints, scores)
        model = fit_churn_model(spells)
        as_of = _as_of(history)
        months = [add_months(as_of, k) for k in range(1 - SCORED_MONTHS, 1)]
        risk = band_rows(score_months(model, spells, months),
                         config.bands(date.fromisoformat(f"{as_of}-01")))
        coefficients = model.coefficients()
        replace_tables(con, {"churn_risk": (risk, {}),
                             "churn_model": (coefficients.reset_index(), {})})
    latest = risk[risk["month"] == as_of]
    violated = sorted(k for k, p in model.ph_p_values.items() if p < 0.05)
    return MaterializeResult(metadata={
        "dagster/row_count": len(risk), "as_of_month": as_of, "horizon_months": HORIZON_MONTHS,
        "spells": len(spells), "churn_events": int(spells["event"].sum()),
        "held_out_concordance": round(model.held_out_concordance, 4),
        "held_out_spells": model.held_out_spells,
        "coefficients": json.dumps({k: {c: round(float(v), 4) for c, v in row.items()}
                                    for k, row in coefficients.iterrows()}),
        "ph_test_p_values": json.dumps({k: round(v, 4) for k, v in model.ph_p_values.items()}),
        "ph_assumption_suspect": ", ".join(violated) or "none (all p >= 0.05)",
        "customers_by_band": json.dumps(latest["risk_band"].value_counts().to_dict()),
        "short_history_customers": int(latest["caveat"].notna().sum()),
        "features": ", ".join(FEATURES),
    })


@asset(key=VALUE_KEY, group_name=GROUP, deps=[HISTORY_KEY],
       description="Value score (coefficient-of-variation weights, domain.md §9) and grade of "
                   "each active customer at the history's last month.")
def customer_value_asset(context: AssetExecutionContext,
                         gridledger: Gridledger) -> MaterializeResult:
    """Indicators from each customer's contract in force at the last month."""
    with connect(gridledger.warehouse_path) as con:
        history = read_table(con, "contract_history")
        as_of = _as_of(history)
        day = date.fromisoformat(f"{as_of}-01")
        current = history[(history["end_month"] == as_of)
                          & history["outcome"].isin(["active", "renewed"])]
        current = current.sort_values("start_month").drop_duplicates("customer_id", keep="last")
        table, weights = customer_value(current, as_of, config.indicators(day),
                                        config.grades(day))
        replace_tables(con, {"customer_value": (table, {})})
    return MaterializeResult(metadata={
        "dagster/row_count": len(table), "as_of_month": as_of,
        "indicator_weights": json.dumps(weights),
        "customers_by_grade": json.dumps(table["value_grade"].value_counts().to_dict()),
    })


CREDIT_TYPES = {"arrears_yuan": MONEY, "penalties_12m_yuan": MONEY,
                "on_time_share": "decimal(9, 4)", "avg_days_late": "decimal(9, 1)",
                "arrears_months": "decimal(9, 2)", "complaints_12m": "integer",
                "payment_months": "integer", "credit_score": "decimal(9, 2)",
                **{c: "decimal(9, 2)" for c in CREDIT_COLUMNS if c.startswith("points_")},
                "credit_grade": "varchar", "credit_grade_zh": "varchar", "caveat": "varchar"}


@asset(key=CREDIT_KEY, group_name=GROUP, deps=[HISTORY_KEY, TICKETS_KEY, PAYMENTS_KEY],
       description="Credit rating good / fair / poor (良好 / 一般 / 较差, seed 001) per customer "
                   "and month (last 12 months of the history) from payment timeliness, "
                   "arrears, deviation penalties and complaints; points by the "
                   "credit_rating_rules seed, grades by credit_grades. Ids only, no personal "
                   "data: the BI-facing table.")
def credit_rating(context: AssetExecutionContext, gridledger: Gridledger) -> MaterializeResult:
    """Indicators, points per indicator, score and grade per customer in force each month."""
    with connect(gridledger.warehouse_path) as con:
        history, complaints, payments = read_credit_inputs(con)
        as_of = _as_of(history)
        frames = []
        for month in (add_months(as_of, k) for k in range(1 - SCORED_MONTHS, 1)):
            day = date.fromisoformat(f"{month}-01")
            frames.append(credit_rows(month, customers_in_month(history, month),
                                      payments if len(payments) else None, complaints,
                                      config.credit_rules(day), config.credit_grades(day),
                                      config.credit_grade_labels(day)))
        table = pd.concat(frames, ignore_index=True)
        replace_tables(con, {"credit_rating": (table, CREDIT_TYPES)})
    latest = table[table["month"] == as_of]
    caveats = latest["caveat"].dropna().str.split(":").str[0].value_counts()
    scores = latest["credit_score"].dropna()
    return MaterializeResult(metadata={
        "dagster/row_count": len(table), "as_of_month": as_of,
        "payment_records": len(payments) or f"none: master/{PAYMENTS_FILE} missing or empty",
        "customers_by_grade": json.dumps(latest["credit_grade"].value_counts().to_dict()),
        "caveats": json.dumps({str(k): int(v) for k, v in caveats.items()}),
        "median_score": str(scores.median()) if len(scores) else "none",
    })


@asset(key=MEASURES_KEY, group_name=GROUP, deps=[CHURN_KEY, VALUE_KEY, CREDIT_KEY],
       description="The measure for each customer from its churn band × value grade "
                   "(customer_measures seed), with its credit grade beside, at the history's "
                   "last month.")
def customer_measures_asset(context: AssetExecutionContext,
                            gridledger: Gridledger) -> MaterializeResult:
    with connect(gridledger.warehouse_path) as con:
        risk, value = read_table(con, "churn_risk"), read_table(con, "customer_value")
        credit = read_table(con, "credit_rating", ("credit_score",))
        month = str(value["month"].iloc[0])
        table = customer_measures(risk, value,
                                  config.measures(date.fromisoformat(f"{month}-01")), credit)
        replace_tables(con, {"customer_measures": (table, {"credit_score": "decimal(9, 2)"})})
    return MaterializeResult(metadata={
        "dagster/row_count": len(table), "month": month,
        "customers_by_measure": json.dumps(table["measure_code"].value_counts().to_dict()),
        "customers_without_measure": int(table["measure_code"].isna().sum()),
    })


analytics_assets = [churn_inputs, churn_risk, customer_value_asset, credit_rating,
                    customer_measures_asset, measure_notices]
