"""The dbt unit tests (`unit_tests:` given/expect in transforms/models/**/_*.yml) on a fresh DuckDB.

Inputs given as rows need their relation to exist (dbt reads its column types): the test makes
an empty warehouse with the raw tables, one customer's master data, the seeds and the few
upstream models the VEE tests give (`dbt run --select ...` on empty data), then runs
`dbt test --select test_type:unit`. Target and log folders are temporary, so transforms/target
(Dagster's manifest) is never touched.
"""

from __future__ import annotations

import json
import subprocess
from decimal import Decimal
from pathlib import Path

import duckdb

from assets.meters.manual_edits import ensure_edits_schema
from assets.meters.master_data import load_master_data
from tests.builders import CaseCustomer, run_dbt_cli, write_case_master

GIVEN_MODELS = ("stg_customers", "stg_metering_points", "dim_calendar", "vee_register_days",
                "dim_tou_minutes")

UNIT_TESTS = {  # model.test; hand-computed expectations in the model's YAML
    "fct_settlement_lines.tiered_package_splits_kwh_into_volume_tiers",
    "int_customer_month.power_factor_rate_from_table_in_force",
    "fct_deviation_tiers.deviation_split_into_clause_tiers",
    "int_interval_validated.vee_linear_interpolation",
    "int_interval_validated.vee_like_day_average",
    "int_interval_validated.vee_spike_rule",
    "dim_tou_minutes.tou_day_types_expand_per_day_type",
    "int_package_block_prices.absolute_block_prices_without_index_row",
    "retailer_recommendation.retailers_ranked_by_recommendation_value",
    "deviation_projection.projection_through_the_clause_tiers_by_hand",
    "purchase_adjustment.purchase_volume_with_a_known_optimum",
    "portfolio_projection.portfolio_projection_against_the_volume_bought",
    "trading_capacity.pre_signed_capacity_by_forecast_or_history",
    "retail_risk_projection.retail_risk_on_the_projection_by_hand",
    "load_forecast_profile.day_ahead_profile_from_the_like_days",
    "int_customer_like_day_levels.like_day_levels_at_the_weekly_origins",
    "load_forecast_meter_daily.meter_forecast_by_the_meters_share",
    "portfolio_purchase_adjustment.portfolio_volume_with_a_known_optimum",
    "retailer_margin.open_month_margin_from_the_projection",
}


def dbt(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    """dbt on tmp/warehouse.duckdb, target and logs in tmp/target."""
    return run_dbt_cli(tmp / "target", *args)


def test_dbt_unit_tests_pass_on_a_fresh_warehouse(tmp_path):
    write_case_master(tmp_path, [CaseCustomer("C1", "PKG_FIXED_TOU", {}, Decimal(0))],
                      [("R01", "0")])
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        load_master_data(con, tmp_path / "master")
        ensure_edits_schema(con)
    seeded = dbt(tmp_path, "seed")
    assert seeded.returncode == 0, seeded.stdout[-3000:]
    built = dbt(tmp_path, "run", "--select", *GIVEN_MODELS)
    assert built.returncode == 0, built.stdout[-3000:]

    result = dbt(tmp_path, "test", "--select", "test_type:unit")
    assert result.returncode == 0, result.stdout[-5000:]

    results = [r for r in json.loads((tmp_path / "target" / "run_results.json").read_text())[
        "results"] if r["unique_id"].startswith("unit_test.")]  # not the on-run-start hook
    assert len(results) == len(UNIT_TESTS) == 19
    assert {r["unique_id"] for r in results} == {f"unit_test.gridledger.{t}" for t in UNIT_TESTS}
    assert {r["status"] for r in results} == {"pass"}
