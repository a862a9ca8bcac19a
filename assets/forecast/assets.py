"""Dagster assets of the `forecast` group (issue 10): the rolling-origin backtest of the daily
load models and the served forecast with P10/P50/P90 (docs/forecasting.md). Unpartitioned:
each run reads all validated days in core.int_customer_day_blocks (orchestration/jobs.py:
`forecast_job`).

No `from __future__ import annotations` here: Dagster rejects string annotations on `context`.
"""

import json

import duckdb
import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    MaterializeResult,
    asset,
    asset_check,
    multi_asset,
)

from assets.analytics.tables import read_table, replace_tables
from foundation.resources import Gridledger
from foundation.warehouse import connect, table_exists

from .backtest import HORIZON, MODEL, choose_models, forecast, origins, run_backtest
from .gbm import MIN_WEATHER_AHEAD
from .monthly import monthly_forecast
from .series import DailySeries, read_calendar, read_series, weather_coverage

GROUP = "forecast"
BACKTEST_KEY = AssetKey(["analytics", "forecast_backtest"])
FORECAST_KEY = AssetKey(["analytics", "load_forecast_daily"])
MONTHLY_KEY = AssetKey(["analytics", "load_forecast_monthly"])
DAILY_COLUMNS = ["customer_id", "customer_class", "origin_day", "target_day", "horizon_days",
                 "model", "p10_kwh", "p50_kwh", "p90_kwh"]
MONTHLY_COLUMNS = ["customer_id", "customer_class", "period", "origin_day", "method",
                   "p10_kwh", "p50_kwh", "p90_kwh"]
INPUTS = [AssetKey(["core", "int_customer_day_blocks"]), AssetKey(["core", "dim_calendar"]),
          AssetKey(["master", "customers"]), AssetKey(["core", "int_customer_like_day_levels"])]
CALENDAR_ONLY = "calendar only: no weather_* file loaded"
KWH = "decimal(18, 3)"
CHOICE_COLUMNS = ["customer_class", "best_baseline", "baseline_wape", "model_wape", "chosen",
                  "improvement"]


def weather_note(series: DailySeries | None, first: int, last: int) -> str:
    """What the model had of the weather over columns [first, last] of the series."""
    share = weather_coverage(series, first, last) if series is not None else 0.0
    if share == 0:
        return CALENDAR_ONLY
    fallback = (" (under half: the model used the calendar only)"
                if share < MIN_WEATHER_AHEAD else "")
    return f"temperature on {share:.0%} of the customer-days{fallback}"


def _series(con: duckdb.DuckDBPyConnection) -> DailySeries | None:
    if not table_exists(con, "core", "int_customer_day_blocks"):
        return None
    return read_series(con, HORIZON)


@asset(key=BACKTEST_KEY, group_name=GROUP, deps=INPUTS,
       description="Rolling-origin backtest of the daily load models (seasonal naive, like-day "
                   "average, LightGBM quantile): per model, horizon (1-35 days), customer class "
                   "and weekly origin: MAPE, WAPE, bias, pinball loss, P10-P90 coverage; and "
                   "analytics.forecast_model_choice, the model used per class.")
def forecast_backtest(context: AssetExecutionContext, gridledger: Gridledger) -> MaterializeResult:
    """Backtest on every validated day; too short a history gives empty tables and says so."""
    with connect(gridledger.warehouse_path) as con:
        series = _series(con)
        used = origins(series) if series is not None else []
        table = run_backtest(series) if used else pd.DataFrame()
        choice = choose_models(table)
        if table.empty:
            table = pd.DataFrame(columns=["model", "horizon_days", "customer_class",
                                          "origin_day", "targets", "actual_kwh",
                                          "abs_error_kwh", "mape", "wape", "bias",
                                          "pinball_kwh", "coverage_p10_p90"])
        replace_tables(con, {
            "forecast_backtest": (table, {"origin_day": "date", "horizon_days": "integer",
                                          "targets": "integer", "actual_kwh": KWH,
                                          "abs_error_kwh": KWH, "mape": "double",
                                          "wape": "double", "bias": "double",
                                          "pinball_kwh": "double",
                                          "coverage_p10_p90": "double"}),
            "forecast_model_choice": (choice[CHOICE_COLUMNS], {
                "baseline_wape": "double", "model_wape": "double", "improvement": "double"}),
        })
    history = (f"{series.last + 1} days ({series.days[0].date()} to "
               f"{series.days[series.last].date()})" if series is not None else "none")
    reason = "" if used else (
        f"history too short for a backtest: {history}; an origin needs 55 days before it and "
        f"{HORIZON} after it")
    context.log.info(f"forecast backtest: {len(used)} origins, {len(table)} rows {reason}")
    return MaterializeResult(metadata={
        "dagster/row_count": len(table), "history": history,
        "origins": ", ".join(str(series.days[o].date()) for o in used) or "none",
        "weather_history": weather_note(series, 0, series.last if series else -1),
        "weather_backtest_targets": weather_note(
            series, min(used) + 1 if used else 0, series.last if series else -1),
        **({"not_run": reason} if reason else {}),
        "model_choice": json.dumps(_choice_summary(choice)),
    })


def _choice_summary(choice: pd.DataFrame) -> dict[str, dict[str, object]]:
    return {row.customer_class: {
        "chosen": row.chosen, "best_baseline": row.best_baseline,
        "baseline_wape": round(row.baseline_wape, 4),
        "model_wape": None if pd.isna(row.model_wape) else round(row.model_wape, 4),
        "improvement": None if pd.isna(row.improvement) else round(row.improvement, 4)}
        for row in choice.itertuples()}


@asset_check(asset=BACKTEST_KEY, name="model_beats_best_baseline",
             description="Reports, per customer class, whether the LightGBM model beat the best "
                         "baseline in the backtest (WAPE) and by how much; warns when no "
                         "backtest could run.")
def model_beats_best_baseline(gridledger: Gridledger) -> AssetCheckResult:
    with connect(gridledger.warehouse_path, read_only=True) as con:
        choice = read_table(con, "forecast_model_choice")
    summary = _choice_summary(choice)
    won = sorted(c for c, s in summary.items() if s["chosen"] == MODEL)
    return AssetCheckResult(
        passed=not choice.empty, severity=AssetCheckSeverity.WARN,
        description=(f"{MODEL} used for {', '.join(won) or 'no class'}; the best baseline "
                     "elsewhere" if not choice.empty else
                     "no backtest: the history is too short (see the asset's metadata)"),
        metadata={"by_class": json.dumps(summary), "model_won_for": ", ".join(won) or "none"})


@multi_asset(
    specs=[
        AssetSpec(FORECAST_KEY, group_name=GROUP, deps=[BACKTEST_KEY, *INPUTS],
                  description="Daily kWh per customer for the 35 days after the last validated "
                              "day, P10 / P50 / P90, from the model the backtest chose for the "
                              "customer's class (like-day average where none was chosen)."),
        AssetSpec(MONTHLY_KEY, group_name=GROUP, deps=[BACKTEST_KEY, *INPUTS],
                  description="Monthly kWh per customer for the open month and the 11 after "
                              "it, P10 / P50 / P90: validated + daily forecast while the 35 "
                              "days cover the month, then like-day levels × the month's day "
                              "types × last year's season (docs/forecasting.md)."),
    ],
    name="load_forecasts",
)
def load_forecasts(context: AssetExecutionContext, gridledger: Gridledger):
    """Forecast every customer with at least a week of complete days; name the others."""
    with connect(gridledger.warehouse_path) as con:
        series = _series(con)
        chosen = {}
        if table_exists(con, "analytics", "forecast_model_choice"):
            choice = read_table(con, "forecast_model_choice")
            chosen = dict(zip(choice["customer_class"], choice["chosen"], strict=True))
        rows, left_out, monthly = pd.DataFrame(columns=DAILY_COLUMNS), {}, pd.DataFrame(
            columns=MONTHLY_COLUMNS)
        if series is not None:
            rows, left_out, served = forecast(series, chosen)
            origin_day = series.days[series.last]
            calendar = read_calendar(con, series.days[0].date(),  # the history: seasons
                                     (origin_day + pd.DateOffset(months=13)).date())
            monthly = monthly_forecast(series, served, calendar)
        ahead = (weather_coverage(series, series.last + 1, series.last + HORIZON)
                 if series is not None else 0.0)
        inputs = "calendar+temperature" if ahead >= MIN_WEATHER_AHEAD else "calendar"
        replace_tables(con, {
            "load_forecast_daily": ((rows if len(rows) else pd.DataFrame(columns=DAILY_COLUMNS))
                                    .assign(inputs=inputs), {
                "origin_day": "date", "target_day": "date", "horizon_days": "integer",
                "p10_kwh": KWH, "p50_kwh": KWH, "p90_kwh": KWH}),
            "load_forecast_monthly": (
                monthly if len(monthly) else pd.DataFrame(columns=MONTHLY_COLUMNS),
                {"origin_day": "date", "p10_kwh": KWH, "p50_kwh": KWH, "p90_kwh": KWH}),
        })
    customers = rows["customer_id"].nunique()
    context.log.info(f"load forecast: {customers} customers, {len(left_out)} left out")
    yield MaterializeResult(asset_key=FORECAST_KEY, metadata={
        "dagster/row_count": len(rows), "customers": customers,
        "origin_day": str(rows["origin_day"].iloc[0]) if len(rows) else "none",
        "models_used": json.dumps(rows.drop_duplicates("customer_id")["model"]
                                  .value_counts().to_dict()),
        "weather_ahead": weather_note(series, series.last + 1, series.last + HORIZON)
        if series is not None else CALENDAR_ONLY,
        "customers_left_out": len(left_out),
        "left_out_reasons": json.dumps(dict(list(left_out.items())[:50]), ensure_ascii=False),
    })
    yield MaterializeResult(asset_key=MONTHLY_KEY, metadata={
        "dagster/row_count": len(monthly), "customers": monthly["customer_id"].nunique(),
        "months": ", ".join(sorted(monthly["period"].unique())) if len(monthly) else "none",
        "rows_by_method": json.dumps(monthly["method"].value_counts().to_dict()
                                     if len(monthly) else {}),
    })


forecast_assets = [forecast_backtest, load_forecasts]
forecast_checks = [model_beats_best_baseline]
