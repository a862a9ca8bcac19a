"""A month is published whole or not at all (issue 9, item 4).

The worked-bill month (July 2026, one FIXED-package customer of retailer R01, which has no
wholesale_costs row: its wholesale cost is derived from the market_avg index) is re-run through
the real monthly job after a price change, twice failing and then succeeding:

- a missing market_avg row: the config preflight fails naming file, key and period, before any
  model is built;
- a gate failing after the new bills were built (retailer_margin's relationship test, the
  retailer removed from restricted.retailers): the new bills exist in finance_staging only;

each time every finance table keeps its checksum (ordered rows hashed). Once the config is
fixed the rerun publishes the new month: system operation at 0.035 instead of 0.025 元/kWh on
300,000 kWh = 10,500.00 (+3,000.00), and the power-factor adjustment (1 % of a base that
includes system operation) +30.00: 228,120.46 + 3,030.00 = 231,150.46.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest

from tests.scenarios import Flow, scenario_fixture

PARTITION, PERIOD = "2026-07-01", "2026-07"
NEW_TOTAL = Decimal("231150.46")

worked = scenario_fixture("worked_bill_month", "worked")


def finance_checksums(flow: Flow) -> dict[str, str]:
    """Table -> SHA-256 of its rows in order, for every table of the finance schema."""
    tables = [t for (t,) in flow.sql("select table_name from information_schema.tables "
                                     "where table_schema = 'finance' order by 1")]
    return {t: hashlib.sha256(repr(flow.sql(f'select * from finance."{t}" order by all'))
                              .encode()).hexdigest() for t in tables}


def execute(flow: Flow, sql: str) -> None:
    from foundation.warehouse import connect

    with connect(flow.warehouse) as con:
        con.execute(sql)


def run_month(flow: Flow, *selection: str):
    """The monthly job for July (or a job of only the named assets), failures returned."""
    from dagster import AssetKey, AssetSelection, DagsterInstance, Definitions, define_asset_job

    from orchestration.runner import run_job

    defs, name = flow.defs(), "monthly_job"
    if selection:
        name = "selected_assets"
        job = define_asset_job(name, AssetSelection.assets(*(AssetKey(s.split("/"))
                                                             for s in selection)))
        defs = Definitions.merge(defs, Definitions(jobs=[job]))
    with DagsterInstance.ephemeral() as instance:
        return run_job(defs, name, instance, partition_key=PARTITION, raise_on_error=False)


def failures(result) -> str:
    return "\n".join(e.step_failure_data.error.to_string() for e in result.all_events
                     if e.is_step_failure)


def started_steps(result) -> set[str]:
    return {e.step_key for e in result.all_events if e.is_step_start}


def raise_system_operation_price(flow: Flow) -> None:
    execute(flow, "update config.tariffs set price = price + 0.01 "
                  "where tariff_code = 'system_operation'")


def assert_new_month_published(flow: Flow, before: dict[str, str]) -> None:
    assert flow.sql("select total_yuan from finance.bills where period = ?", [PERIOD]) == [
        (NEW_TOTAL,)]
    assert flow.sql("select quantity, unit_price, amount_yuan from finance.bill_lines "
                    "where period = ? and line_code = 'system_operation'", [PERIOD]) == [
        (Decimal("300000.000"), Decimal("0.035"), Decimal("10500.00"))]
    assert flow.sql("select run_type, total_yuan from finance.settlement_runs "
                    "where period = ? order by run_at", [PERIOD]) == [
        ("initial", Decimal("228120.46")), ("rebill", NEW_TOTAL)]
    after = finance_checksums(flow)
    assert {t for t in after if after[t] != before[t]} >= {"bills", "bill_lines",
                                                          "settlement_runs"}
    assert flow.sql("select count(*) from information_schema.schemata "
                    "where schema_name = 'finance_staging'") == [(0,)]


@pytest.mark.writes
def test_missing_config_fails_before_anything_is_written(worked):
    before = finance_checksums(worked)
    assert set(before) >= {"bills", "bill_lines", "adjustments", "settlement_runs",
                           "retailer_margin", "period_close"}
    raise_system_operation_price(worked)
    execute(worked, "create table main.index_backup as select * from config.market_index_prices "
                    f"where period = '{PERIOD}'; "
                    f"delete from config.market_index_prices where period = '{PERIOD}'")

    result = run_month(worked)

    assert not result.success
    text = failures(result)
    assert ("transforms/seeds/config/market_index_prices.csv: no row "
            "period=2026-07, index_code=market_avg in force for 2026-07") in text
    assert "retailer R01" in text
    # a FIXED package and line_loss_base_agency_price = 0 need no agency_price row
    assert "agency_price" not in text
    assert "settlement__config_preflight" in started_steps(result)
    assert "dbt_monthly" not in started_steps(result)
    assert finance_checksums(worked) == before

    execute(worked, "insert into config.market_index_prices select * from main.index_backup")
    assert run_month(worked).success
    assert_new_month_published(worked, before)


@pytest.mark.writes
def test_a_gate_failing_after_the_bills_leaves_the_published_month(worked):
    before = finance_checksums(worked)
    raise_system_operation_price(worked)
    execute(worked, "update restricted.retailers set retailer_id = 'R01_GONE' "
                    "where retailer_id = 'R01'")

    result = run_month(worked)

    assert not result.success
    assert "dbt_monthly" in started_steps(result)
    assert "finance__publish" not in started_steps(result)
    # the new bill was built and tested in staging, then held back with everything else
    assert worked.sql("select total_yuan from finance_staging.bills") == [(NEW_TOTAL,)]
    assert finance_checksums(worked) == before

    execute(worked, "update restricted.retailers set retailer_id = 'R01' "
                    "where retailer_id = 'R01_GONE'")
    assert run_month(worked).success
    assert_new_month_published(worked, before)


@pytest.mark.writes
def test_publish_alone_publishes_nothing(worked):
    before = finance_checksums(worked)
    result = run_month(worked, "finance/publish")
    assert not result.success
    assert "was not built and tested by run" in failures(result)
    assert finance_checksums(worked) == before
