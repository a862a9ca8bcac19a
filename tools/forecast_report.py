"""The forecast backtest on any warehouse with validated days, as a report.

    python -m tools.forecast_report --warehouse var/real/warehouse.duckdb
                                    [--report docs/real_data_forecast.md]

Materializes the forecast group's Python assets (the rolling-origin backtest, the model choice
and the served forecast; docs/forecasting.md) on the warehouse in-process, then prints, and
with `--report` writes as Markdown: the history, the origins, each model's measures over all
origins and by horizon (1-7, 8-14, 15-35 days) and the model chosen per class. Used for the
real SGSC households (after `python -m tools.real_data --data-dir var/real --run`) and by
tools.bench_forecast for its figures.

`--from-intervals` is for data that predate every TOU calendar of the config seeds (SGSC is
2012-2014): the daily run then builds no energy by TOU block, so the report works on a copy
of the warehouse whose core.int_customer_day_blocks it fills from the validated intervals
(kWh of channel kwh_imp per customer and day, one block `all`, FAILED intervals counted), the
table's shape and meaning otherwise.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import duckdb

BUCKETS = "case when horizon_days <= 7 then '1-7' when horizon_days <= 14 then '8-14' " \
          "else '15-35' end"
MEASURES = """
select model, {group} as grp,
       round(sum(abs_error_kwh) / sum(actual_kwh), 4) as wape,
       round(sum(mape * targets) / sum(targets), 4) as mape,
       round(sum(bias * actual_kwh) / sum(actual_kwh), 4) as bias,
       round(sum(pinball_kwh * targets) / sum(targets), 4) as pinball_kwh,
       round(sum(coverage_p10_p90 * targets) / sum(targets), 3) as coverage,
       sum(targets) as targets
from analytics.forecast_backtest
group by all order by min(horizon_days), wape
"""


def measures(con: duckdb.DuckDBPyConnection, by_horizon: bool = False) -> list[tuple]:
    """(model, group, WAPE, MAPE, bias, pinball kWh, coverage, targets) per model, over all
    origins and horizons or per horizon bucket. MAPE is weighted by targets (each row's MAPE
    is over its non-zero actuals), bias by kWh."""
    return con.execute(MEASURES.format(group=BUCKETS if by_horizon else "'all'")).fetchall()


def materialize_forecast(warehouse: Path) -> dict[str, dict]:
    """Build the like-day levels, run the backtest and the forecast on `warehouse`; their
    metadata by asset."""
    from dagster import DagsterInstance, materialize

    from assets.forecast.assets import forecast_assets, forecast_checks
    from foundation.resources import Gridledger
    from orchestration.dbt import dbt_resource, forecast_input_assets

    result = materialize([forecast_input_assets(), *forecast_assets, *forecast_checks],
                         instance=DagsterInstance.ephemeral(), resources={
                             "gridledger": Gridledger(warehouse=str(warehouse),
                                                      data_dir=str(warehouse.parent)),
                             "dbt": dbt_resource()})
    return {e.asset_key.to_user_string(): {k: v.value for k, v in
                                           e.materialization.metadata.items()}
            for e in result.get_asset_materialization_events()}


def report_lines(con: duckdb.DuckDBPyConnection, metadata: dict[str, dict]) -> list[str]:
    """The report as Markdown lines."""
    backtest = metadata.get("analytics/forecast_backtest", {})
    lines = [f"- history: {backtest.get('history', 'n/a')}",
             f"- backtest origins: {backtest.get('origins', 'n/a')}",
             f"- weather: {backtest.get('weather_backtest_targets', 'n/a')}", "",
             "| model | horizon (days) | WAPE | MAPE | bias | pinball (kWh) | P10–P90 coverage "
             "| targets |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for by_horizon in (False, True):
        for model, group, *values in measures(con, by_horizon):
            lines.append(f"| {model} | {group} | " + " | ".join(str(v) for v in values) + " |")
    lines += ["", "| class | chosen | best baseline | baseline WAPE | model WAPE | improvement |",
              "|---|---|---|---:|---:|---:|"]
    for row in con.execute("select customer_class, chosen, best_baseline, round(baseline_wape, "
                           "4), round(model_wape, 4), round(improvement, 4) from "
                           "analytics.forecast_model_choice order by 1").fetchall():
        lines.append("| " + " | ".join(str(v) for v in row) + " |")
    daily = metadata.get("analytics/load_forecast_daily", {})
    lines += ["", f"- served forecast: {daily.get('customers', 0)} customers from "
              f"{daily.get('origin_day', 'n/a')}, models {daily.get('models_used', '{}')}, "
              f"left out {daily.get('customers_left_out', 0)}: "
              f"{json.loads(daily.get('left_out_reasons', '{}')) or 'none'}"]
    return lines


def blocks_from_intervals(source: Path, target: Path) -> Path:
    """A copy of `source` whose core.int_customer_day_blocks is the validated intervals summed
    per customer and day (see the module docstring)."""
    from foundation.warehouse import connect, copy_warehouse

    copy_warehouse(source, target)
    with connect(target) as con:
        con.execute("""
            create or replace table core.int_customer_day_blocks as
            select customer_id, reading_date, 'all' as block,
                   cast(sum(value) filter (where quality_flag <> 'FAILED') as decimal(18, 3))
                       as kwh,
                   count(*) filter (where quality_flag = 'FAILED') as failed_intervals
            from core.int_interval_validated
            where channel = 'kwh_imp'
            group by all""")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.forecast_report",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--report", type=Path, default=None)
    parser.add_argument("--from-intervals", action="store_true",
                        help="sum the validated intervals per day on a copy (data before the "
                             "config's TOU calendars)")
    args = parser.parse_args(argv)
    warehouse = (blocks_from_intervals(args.warehouse, args.warehouse.with_name(
        f"{args.warehouse.stem}.forecast.duckdb")) if args.from_intervals else args.warehouse)
    metadata = materialize_forecast(warehouse)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        lines = report_lines(con, metadata)
    print("\n".join(lines))
    if args.report:
        args.report.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
