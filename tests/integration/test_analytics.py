"""Customer analytics (issue 11) in-process: the analytics assets materialized by Dagster on a
generated 6-year history of 300 active customers (no meter data needed), with two bad inputs
added: a complaint for an unknown customer and a customer signed in the last month (no bill
due yet, so no payment records for its credit rating)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dagster import DagsterInstance, materialize

from assets.analytics.assets import analytics_assets
from assets.analytics.config import measures, notified_pairs
from foundation.paths import restricted_path
from foundation.resources import Gridledger
from foundation.warehouse import connect
from notifications.resource import OutboxDelivery
from tools.sample_data.history import simulate_history, write_history

AS_OF = "2026-09"
ACTIVE = [f"CU{i:06d}" for i in range(1, 301)]


def _append(path: Path, row: list[str]) -> None:
    with path.open("a", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerow(row)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("analytics")
    write_history(data_dir, simulate_history(np.random.default_rng([3, 6]), ACTIVE, 6, AS_OF))
    master = data_dir / "master"
    _append(master / "contract_history.csv", ["HCNEW", "CUNEW", AS_OF, AS_OF, AS_OF, "active",
                                              "3.0", "0.00", "120.000", "18.00", "1.000"])
    _append(master / "service_tickets.csv", ["TKX1", "CU999999", "2026-09-03", "complaint",
                                             "who is this"])
    _append(master / "service_tickets.csv", ["TKX2", "CUMASTER", "2026-09-04", "service", ""])
    warehouse = data_dir / "warehouse.duckdb"
    with connect(warehouse) as con:  # a customer known only from master data; a resident
        # whose name master data did not mask (the BI mart must); no contacts loaded
        con.execute("create schema master; create table master.customers as "
                    "select * from (values ('CUMASTER', 'R1', '燕山化工有限公司', 'industrial'),"
                    " ('CU000001', 'R1', '李雷', 'residential'),"
                    " ('CU000002', 'R1', '唐山建材有限公司', 'industrial')) as t(customer_id,"
                    " retailer_id, customer_name, customer_class), (select '唐山' as region,"
                    " null::varchar as industry, date '2020-01-01' as valid_from,"
                    " null::date as valid_to)")
    lines = {name: len((master / name).read_text(encoding="utf-8").splitlines()) - 1
             for name in ("contract_history.csv", "service_tickets.csv", "payments.csv")}
    result = materialize(analytics_assets, instance=DagsterInstance.ephemeral(), resources={
        "gridledger": Gridledger(warehouse=str(warehouse), data_dir=str(data_dir)),
        "delivery": OutboxDelivery()})
    metadata = {e.asset_key.to_user_string(): {k: v.value for k, v in
                                               e.materialization.metadata.items()}
                for e in result.get_asset_materialization_events()}
    with connect(warehouse, read_only=True) as con:
        tables = {t: con.execute(f"select * from analytics.{t}").df() for t in (
            "contract_history", "service_tickets", "quarantine_rows", "churn_risk",
            "customer_value", "customer_measures", "payments", "credit_rating")}
        types = dict(con.execute("select column_name, data_type from information_schema.columns"
                                 " where table_name = 'credit_rating'").fetchall())
    return result, metadata, tables, lines, types, warehouse


def test_inputs_load_and_the_unknown_customer_is_quarantined(run):
    result, metadata, tables, lines, _, _ = run
    assert result.success
    quarantine = tables["quarantine_rows"]
    assert quarantine[["file_name", "source_row", "rule"]].values.tolist() == [
        ["service_tickets.csv", lines["service_tickets.csv"], "unknown_customer"]]
    assert "CU999999" in quarantine["reason"].iloc[0]
    assert "CUMASTER" in set(tables["service_tickets"]["customer_id"])
    # nothing lost: every data row is loaded or quarantined
    assert len(tables["contract_history"]) == lines["contract_history.csv"]
    assert len(tables["service_tickets"]) + 1 == lines["service_tickets.csv"]
    assert metadata["analytics/service_tickets"]["quarantined_by_rule"] == \
        json.dumps({"unknown_customer": 1})


def test_churn_risk_scores_every_active_customer_with_its_band(run):
    _, metadata, tables, _, _, _ = run
    risk = tables["churn_risk"]
    latest = risk[risk["month"] == AS_OF]
    assert sorted(latest["customer_id"]) == sorted([*ACTIVE, "CUNEW"])
    assert risk["month"].nunique() == 12
    p = latest["churn_probability_90d"]
    expected = np.where(p >= 0.30, "high", np.where(p >= 0.15, "medium", "low"))
    assert list(latest["risk_band"]) == list(expected)
    new = latest[latest["customer_id"] == "CUNEW"].iloc[0]
    assert new["months_in_force"] == 1 and new["caveat"].startswith("short_history: 1 month")
    meta = metadata["analytics/churn_risk"]
    assert meta["as_of_month"] == AS_OF and meta["short_history_customers"] >= 1
    assert 0.65 < meta["held_out_concordance"] < 0.95
    assert set(json.loads(meta["ph_test_p_values"])) == {
        "complaints_12m", "price_gap_yuan_per_mwh", "tenure_years", "penalties_10k_yuan",
        "credit_shortfall_10pts"}
    coefficients = json.loads(meta["coefficients"])
    assert coefficients["complaints_12m"]["lower_95"] <= 0.8 <= \
        coefficients["complaints_12m"]["upper_95"]


def test_value_grades_and_one_measure_per_customer(run):
    _, metadata, tables, _, _, _ = run
    value = tables["customer_value"]
    assert len(value) == 301 and value["value_score"].max() == 100.0
    counts = value["value_grade"].value_counts().to_dict()
    # shares above < 0.20 → A: ranks 1..61 of 301 (60/301 < 0.2 ≤ 61/301), < 0.50 → B
    assert counts == {"A": 61, "B": 90, "C": 150}
    weights = json.loads(metadata["analytics/customer_value"]["indicator_weights"])
    assert sum(w["weight"] for w in weights.values()) == pytest.approx(1, abs=1e-3)
    table = tables["customer_measures"].merge(tables["churn_risk"], on=["month", "customer_id"],
                                              suffixes=("", "_risk"))
    assert len(table) == 301 and table["measure_code"].notna().all()
    matrix = measures(date(2026, 9, 1))
    assert all(matrix[(b, g)][0] == m for b, g, m in
               zip(table["risk_band"], table["value_grade"], table["measure_code"], strict=True))


def test_credit_rating_per_customer_and_month_with_points_and_grades(run):
    _, metadata, tables, lines, types, _ = run
    assert len(tables["payments"]) == lines["payments.csv"]
    credit, risk = tables["credit_rating"], tables["churn_risk"]
    assert credit["month"].nunique() == 12 and credit["month"].max() == AS_OF
    assert not credit.duplicated(["month", "customer_id"]).any()
    latest = credit[credit["month"] == AS_OF].set_index("customer_id")
    # every customer scored for churn in the month is rated (churn_risk leaves out a contract
    # that churned in the month; the rating keeps it)
    assert set(risk[risk["month"] == AS_OF]["customer_id"]) <= set(latest.index)
    assert len(credit) == metadata["analytics/credit_rating"]["dagster/row_count"]
    assert set(latest["credit_grade"].dropna()) == {"good", "fair", "poor"}
    graded = latest.dropna(subset=["credit_grade"])
    score = graded["credit_score"].astype(float)
    expected = np.where(score >= 80, "good", np.where(score >= 60, "fair", "poor"))
    assert list(graded["credit_grade"]) == list(expected)
    points = graded[[c for c in graded.columns if c.startswith("points_")]].astype(float)
    assert (points.sum(axis=1).round(2) == score.round(2)).all()
    assert latest.loc["CUNEW", "caveat"].startswith("no_payment_records")
    assert pd.isna(latest.loc["CUNEW", "credit_grade"])
    assert types["arrears_yuan"] == "DECIMAL(18,2)" and types["credit_score"] == "DECIMAL(9,2)"
    meta = metadata["analytics/credit_rating"]
    assert meta["as_of_month"] == AS_OF and meta["payment_records"] == lines["payments.csv"]
    assert json.loads(meta["customers_by_grade"]) == \
        latest["credit_grade"].value_counts().to_dict()
    assert json.loads(meta["caveats"])["no_payment_records"] >= 1
    assert metadata["analytics/payments"]["quarantined_rows"] == 0
    measures = tables["customer_measures"].set_index("customer_id")
    assert (measures["credit_grade"].dropna() == latest.loc[
        measures["credit_grade"].dropna().index, "credit_grade"]).all()


def test_the_churn_covariate_is_the_credit_score_of_the_month_before_signing(run):
    """A contract signed inside the rated months (its month before is rated) carries
    (100 − that month's credit score) / 10; a customer without a rating then carries 0."""
    _, _, tables, _, _, _ = run
    risk, credit = tables["churn_risk"], tables["credit_rating"]
    latest = risk[risk["month"] == AS_OF].copy()
    first = pd.Period(AS_OF, "M") - latest["months_in_force"] + 1
    latest["rated_month"] = [str(m - 1) for m in first]
    signed = latest[latest["rated_month"] >= credit["month"].min()].merge(
        credit[["month", "customer_id", "credit_score"]], how="left",
        left_on=["rated_month", "customer_id"], right_on=["month", "customer_id"])
    assert len(signed) > 20
    expected = [0.0 if pd.isna(s) else (100 - float(s)) / 10 for s in signed["credit_score"]]
    assert list(signed["credit_shortfall_10pts"]) == pytest.approx(expected)
    assert signed["credit_score"].notna().sum() > 10


def test_without_payments_file_the_inputs_load_and_nobody_is_graded(tmp_path):
    """master/payments.csv is optional: the inputs asset names it missing in its metadata,
    analytics.payments is empty and every rating is no_payment_records."""
    from assets.analytics.assets import churn_inputs, credit_rating

    write_history(tmp_path, simulate_history(np.random.default_rng([3, 6]), ACTIVE[:20], 2,
                                             AS_OF))
    (tmp_path / "master" / "payments.csv").unlink()
    warehouse = tmp_path / "warehouse.duckdb"
    result = materialize([churn_inputs, credit_rating], instance=DagsterInstance.ephemeral(),
                         resources={"gridledger": Gridledger(warehouse=str(warehouse),
                                                             data_dir=str(tmp_path))})
    assert result.success
    metadata = {e.asset_key.to_user_string(): {k: v.value for k, v in
                                               e.materialization.metadata.items()}
                for e in result.get_asset_materialization_events()}
    assert metadata["analytics/payments"]["missing_file"].startswith(
        "master/payments.csv not found")
    assert metadata["analytics/credit_rating"]["payment_records"].startswith("none")
    with connect(warehouse, read_only=True) as con:
        assert con.execute("select count(*) from analytics.payments").fetchone() == (0,)
        credit = con.execute("select credit_grade, caveat from analytics.credit_rating").df()
    assert len(credit) > 0 and credit["credit_grade"].isna().all()
    assert credit["caveat"].str.startswith("no_payment_records").all()


def test_without_contacts_the_measure_notices_count_no_recipient(run):
    """No contacts in the warehouse: every actionable measure is counted, nothing is sent."""
    _, metadata, tables, _, _, _ = run
    meta = metadata["analytics/measure_notices"]
    latest = tables["customer_measures"]
    pairs = notified_pairs(date(2026, 9, 1))
    actionable = sum((b, g) in pairs for b, g in zip(latest["risk_band"], latest["value_grade"],
                                                      strict=True))
    assert 0 < actionable < len(latest)
    assert meta["customers_actionable"] == meta["customers_no_recipient"] == actionable
    assert meta["notices_sent"] == 0 and meta["month"] == AS_OF


def test_the_bi_mart_shows_bands_grades_and_measures_with_masked_names(run, tmp_path):
    """marts.customer_analytics (tag analytics) built by dbt over the analytics tables: one row
    per customer, the resident's name masked, the seed's notify flag beside the measure."""
    *_, warehouse = run
    scratch = tmp_path / "warehouse.duckdb"  # a copy: the module's warehouse stays as it is
    for source, target in ((warehouse, scratch),
                           (restricted_path(warehouse), restricted_path(scratch))):
        if source.exists():
            shutil.copy(source, target)
    project = Path(__file__).parents[2] / "transforms"
    done = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "build", "--select",
         "customer_measures stg_customers customer_analytics customer_credit",
         "--indirect-selection",
         "buildable", "--project-dir", str(project),
         "--profiles-dir", str(project), "--target-path", str(tmp_path / "target"),
         "--log-path", str(tmp_path / "logs")],
        capture_output=True, text=True, env={**os.environ, "GRIDLEDGER_WAREHOUSE": str(scratch)})
    assert done.returncode == 0, done.stdout[-3000:]
    with connect(scratch, read_only=True) as con:
        mart = con.execute("select * from marts.customer_analytics").df().set_index(
            "customer_id").sort_index()
    measures_table = run[2]["customer_measures"].set_index("customer_id").sort_index()
    assert list(mart.index) == list(measures_table.index)
    assert (mart["risk_band"] == measures_table["risk_band"]).all()
    assert (mart["measure_code"] == measures_table["measure_code"]).all()
    assert mart.loc["CU000001", "customer_name_masked"] == "李**"
    assert mart.loc["CU000002", "customer_name_masked"] == "唐山建材有限公司"
    pairs = notified_pairs(date(2026, 9, 1))
    assert list(mart["notify_account_manager"]) == [
        (b, g) in pairs for b, g in zip(mart["risk_band"], mart["value_grade"], strict=True)]
    assert not any("李雷" in str(v) for v in mart.astype(str).to_numpy().ravel())
    # the finance mart of the credit rating: every rating row, with the customer's retailer
    with connect(scratch, read_only=True) as con:
        finance = con.execute("select * from finance.customer_credit").df()
        types = dict(con.execute("select column_name, data_type from information_schema.columns"
                                 " where table_schema = 'finance'"
                                 " and table_name = 'customer_credit'").fetchall())
    rating = run[2]["credit_rating"]
    assert len(finance) == len(rating)
    keyed = finance.set_index(["month", "customer_id"]).sort_index()
    rated = rating.set_index(["month", "customer_id"]).sort_index()
    assert (keyed["credit_grade"].fillna("-") == rated["credit_grade"].fillna("-")).all()
    assert (keyed["credit_score"].astype(float).fillna(-1)
            == rated["credit_score"].astype(float).fillna(-1)).all()
    assert set(finance["retailer_id"].dropna()) == {"R1"}  # CU000001, CU000002 in master
    assert (types["arrears_yuan"], types["credit_score"]) == ("DECIMAL(18,2)", "DECIMAL(9,2)")


def test_the_platforms_own_contracts_continue_the_exported_history(tmp_path):
    """After the export (to 2026-09) the platform billed 2026-10. CUA's contract was ended by the
    termination workflow from 2026-11: its spell 2026-10 … 2026-10 is an early termination and
    its exported active spell is renewed. CUB continues (its exported spell renewed; active,
    censored at 2026-10) with the
    platform's settled deviation charges of the 12 months before (2025-10 … 2026-09: 300.00 元,
    not the 99.00 of 2025-09, not October's, not a credit). CUD is new to the platform
    (customer since 2026-10, nothing carried: gap 0, margin 0, on time 1). CUC's platform
    contract starts inside its exported spell: left out and named. CUE's starts after the last
    billed month. Annual MWh = October's kWh × 12 / 1,000."""
    from assets.analytics.assets import churn_inputs
    from assets.analytics.inputs import HISTORY_COLUMNS, TICKET_COLUMNS
    from tools.sample_data.writer import write_csv

    master = tmp_path / "master"
    master.mkdir()
    write_csv(master / "contract_history.csv", list(HISTORY_COLUMNS), [
        ["HA1", "CUA", "2022-01", "2024-10", "2026-09", "active", "5.0", "0.00", "90.000",
         "12.00", "0.950"],
        ["HB1", "CUB", "2023-01", "2025-01", "2026-09", "active", "-2.0", "0.00", "50.000",
         "8.00", "0.900"],
        ["HC1", "CUC", "2024-01", "2024-01", "2026-09", "active", "1.0", "0.00", "10.000",
         "5.00", "1.000"]])
    write_csv(master / "service_tickets.csv", list(TICKET_COLUMNS), [])
    warehouse = tmp_path / "warehouse.duckdb"
    with connect(warehouse) as con:
        con.execute("""
            create schema master; create schema finance; create schema workflow;
            create table master.contracts as select * from (values
                ('CONA', 'CUA', '2026-10', '2027-09'), ('CONB', 'CUB', '2026-10', '2027-09'),
                ('CONC', 'CUC', '2026-09', '2027-08'), ('COND', 'CUD', '2026-10', '2027-09'),
                ('CONE', 'CUE', '2026-11', '2027-10'))
                as t(contract_id, customer_id, start_month, end_month);
            create table workflow.contract_terminations as
                select 'CONA' as contract_id, '2026-11' as effective_month;
            create table finance.bills as select * from (values
                ('CUA', '2026-10', 10000.000::decimal(18, 3)),
                ('CUB', '2026-10', 5000.000), ('CUD', '2026-10', 2500.000))
                as t(customer_id, period, billed_kwh);
            create table finance.bill_lines as select * from (values
                ('CUB', '2026-09', 'deviation_tier2', 300.00::decimal(18, 2)),
                ('CUB', '2025-09', 'deviation_tier3', 99.00),
                ('CUB', '2026-10', 'deviation_tier2', 40.00),
                ('CUB', '2026-08', 'deviation_credit', -15.00))
                as t(customer_id, period, line_code, amount_yuan)""")
    result = materialize([churn_inputs], instance=DagsterInstance.ephemeral(), resources={
        "gridledger": Gridledger(warehouse=str(warehouse), data_dir=str(tmp_path))})
    assert result.success
    with connect(warehouse, read_only=True) as con:
        rows = con.execute(
            "select contract_id, customer_since, start_month, end_month, outcome, source,"
            " price_gap_yuan_per_mwh, deviation_penalties_12m_yuan, annual_mwh,"
            " margin_yuan_per_mwh, on_time_payment_rate"
            " from analytics.contract_history order by customer_id, start_month").fetchall()
    D = Decimal
    assert rows == [
        ("HA1", "2022-01", "2024-10", "2026-09", "renewed", "export", D("5.00"), D("0.00"),
         D("90.000"), D("12.00"), D("0.9500")),
        ("CONA", "2022-01", "2026-10", "2026-10", "early_termination", "platform", D("5.00"),
         D("0.00"), D("120.000"), D("12.00"), D("0.9500")),
        ("HB1", "2023-01", "2025-01", "2026-09", "renewed", "export", D("-2.00"), D("0.00"),
         D("50.000"), D("8.00"), D("0.9000")),
        ("CONB", "2023-01", "2026-10", "2026-10", "active", "platform", D("-2.00"),
         D("300.00"), D("60.000"), D("8.00"), D("0.9000")),
        ("HC1", "2024-01", "2024-01", "2026-09", "active", "export", D("1.00"), D("0.00"),
         D("10.000"), D("5.00"), D("1.0000")),
        ("COND", "2026-10", "2026-10", "2026-10", "active", "platform", D("0.00"), D("0.00"),
         D("30.000"), D("0.00"), D("1.0000"))]
    (history,) = [e for e in result.get_asset_materialization_events()
                  if e.asset_key.to_user_string() == "analytics/contract_history"]
    meta = {k: v.value for k, v in history.materialization.metadata.items()}
    assert (meta["platform_spells"], meta["platform_early_terminations"],
            meta["last_billed_month"], meta["platform_contracts_overlapping_the_export"],
            meta["dagster/row_count"]) == (3, 1, "2026-10", "CONC", 6)
