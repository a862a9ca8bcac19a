"""Load forecasting (issue 10) in-process: the forecast group's assets and check materialized
by Dagster on a warehouse holding only what they read (validated energy per customer, day and
block; the calendar; customer classes; VEE's like-day setting), generated with a known weekday
signal that the like-day rule cannot see (Monday's ramp-up, Friday's early close), a known
temperature signal (cooling above 22 °C, heating below 12 °C, on a temperature that wanders
from day to day: no calendar can know it), a holiday week, a customer with 3 days of history
and a failed day. The weather reaches the forecast as raw.weather_daily rows (observed up to
the last day, forecast after it), as the landing `weather_*` files load them."""

from __future__ import annotations

import json
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from dagster import DagsterInstance, materialize

from assets.forecast.assets import forecast_assets, forecast_checks
from assets.forecast.series import read_series
from foundation.resources import Gridledger
from foundation.warehouse import connect
from orchestration.dbt import dbt_resource, forecast_input_assets
from tools.bench_forecast import write_inputs

START, DAYS, CUSTOMERS = date(2026, 1, 1), 400, 40
HOLIDAYS = {date(2026, 5, 1) + timedelta(days=k) for k in range(5)}
FAILED = ("CU0003", date(2026, 3, 10))


def _day_type(day: date) -> str:
    return "holiday" if day in HOLIDAYS else "weekend" if day.weekday() >= 5 else "workday"


def temperatures(days: int) -> np.ndarray:
    """Daily mean °C: a season (−2 °C in January, 28 °C in July) plus a day-to-day wander
    (AR(1), σ 4 °C), for the read days and 60 days after."""
    rng = np.random.default_rng(4)
    wander = np.zeros(days + 60)
    for d in range(1, days + 60):
        wander[d] = 0.7 * wander[d - 1] + rng.normal(0, 4 * np.sqrt(1 - 0.49))
    season = 13 - 15 * np.cos(2 * np.pi * (np.arange(days + 60) - 15) / 365)
    return np.round(season + wander, 1)


def temperature_factor(t: float) -> float:
    """Load × (1 + 3 % per °C above 22, 2 % per °C below 12)."""
    return 1 + 0.03 * max(0.0, t - 22) + 0.02 * max(0.0, 12 - t)


def write_warehouse(path, days: int = DAYS, weather: bool = True) -> None:
    """`CUSTOMERS` customers (industrial and commercial) with kWh = size × weekday factor (holiday
    0.4) × temperature factor × 6 % noise, in two blocks; CUSHORT has its last 3 days only.
    `weather`: raw.weather_daily of their region (observed to the last day, forecast for the
    35 after)."""
    rng = np.random.default_rng(10)
    dates = [START + timedelta(days=d) for d in range(days)]
    weekday = (0.8, 1.0, 1.0, 1.0, 0.9, 0.55, 0.5)
    temps = temperatures(days)
    rows = []
    for c in range(CUSTOMERS):
        size = rng.uniform(200, 6000)
        for d, day in enumerate(dates):
            kwh = (size * (0.4 if day in HOLIDAYS else weekday[day.weekday()])
                   * temperature_factor(temps[d]) * rng.normal(1, 0.06))
            failed = int((f"CU{c:04d}", day) == FAILED)
            rows += [(f"CU{c:04d}", day, "peak", round(kwh * 0.6, 3), failed),
                     (f"CU{c:04d}", day, "valley", round(kwh * 0.4, 3), 0)]
    rows += [("CUSHORT", day, "flat", 100.0, 0) for day in dates[-3:]]
    blocks = pd.DataFrame(rows, columns=["customer_id", "reading_date", "block", "kwh",
                                         "failed_intervals"])
    calendar = pd.DataFrame({"day": [START + timedelta(days=d) for d in range(days + 60)]})
    calendar["day_type"] = calendar["day"].map(_day_type)
    customers = pd.DataFrame({"customer_id": [f"CU{c:04d}" for c in range(CUSTOMERS)] + ["CUSHORT"],
                              "customer_class": ["industrial", "commercial"] * (CUSTOMERS // 2)
                              + ["commercial"],
                              "region": "唐山", "valid_from": date(2020, 1, 1)})
    weather_rows = pd.DataFrame({
        "file_id": 1, "source_row": np.arange(days + 35) + 2, "region": "唐山",
        "day": [START + timedelta(days=d) for d in range(days + 35)],
        "temperature_c": temps[: days + 35],
        "source": ["observed"] * days + ["forecast"] * 35})
    write_inputs(path, blocks, calendar, customers, weather_rows if weather else None)


def _materialize(tmp_path, days: int = DAYS, weather: bool = True):
    warehouse = tmp_path / "warehouse.duckdb"
    write_warehouse(warehouse, days, weather)
    result = materialize([forecast_input_assets(), *forecast_assets, *forecast_checks],
                         instance=DagsterInstance.ephemeral(), resources={
                             "gridledger": Gridledger(warehouse=str(warehouse),
                                                      data_dir=str(tmp_path)),
                             "dbt": dbt_resource()})
    assert result.success
    metadata = {e.asset_key.to_user_string(): {k: v.value for k, v in
                                               e.materialization.metadata.items()}
                for e in result.get_asset_materialization_events()}
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    with connect(warehouse, read_only=True) as con:
        tables = {t: con.execute(f"select * from analytics.{t}").df()
                  for t in ("forecast_backtest", "forecast_model_choice", "load_forecast_daily",
                            "load_forecast_monthly")}
        tables["open_month_check"] = con.execute("""
            select m.customer_id, m.p50_kwh,
                   (select sum(kwh) from core.int_customer_day_blocks b
                    where b.customer_id = m.customer_id
                      and b.reading_date between '2027-02-01' and '2027-02-04')
                   + (select sum(p50_kwh) from analytics.load_forecast_daily d
                      where d.customer_id = m.customer_id and d.target_day >= '2027-02-05'
                        and d.target_day <= '2027-02-28') as by_hand
            from analytics.load_forecast_monthly m where m.period = '2027-02'""").df()
        series = read_series(con, 35)
    return metadata, checks, tables, series


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return _materialize(tmp_path_factory.mktemp("forecast"))


@pytest.fixture(scope="module")
def run_without_weather(tmp_path_factory):
    """The same loads with no weather file loaded."""
    return _materialize(tmp_path_factory.mktemp("forecast_calendar"), weather=False)


def test_the_series_sums_the_blocks_and_leaves_a_failed_day_out(run):
    *_, series = run
    c = list(series.customers).index("CU0003")
    day = (pd.Timestamp(FAILED[1]) - series.days[0]).days
    assert np.isnan(series.kwh[c, day])
    assert not np.isnan(series.kwh[c, day + 1])
    assert series.last == DAYS - 1 and len(series.days) == DAYS + 35


def test_the_backtest_has_every_model_horizon_class_and_weekly_origin(run):
    metadata, _, tables, _ = run
    backtest = tables["forecast_backtest"]
    assert set(backtest["model"]) == {"seasonal_naive", "like_day_average", "lightgbm"}
    assert set(backtest["horizon_days"]) == set(range(1, 36))
    assert set(backtest["customer_class"]) == {"industrial", "commercial"}
    # latest origin: 35 days before the last day (2026-07-29); weekly before it
    last = START + timedelta(days=DAYS - 1)
    assert sorted(backtest["origin_day"].dt.date.unique()) == [
        last - timedelta(days=35 + 7 * k) for k in (3, 2, 1, 0)]
    assert backtest[["mape", "wape", "pinball_kwh", "coverage_p10_p90"]].notna().all().all()
    assert metadata["analytics/forecast_backtest"]["weather_backtest_targets"] == \
        "temperature on 100% of the customer-days"


def test_on_the_known_signal_the_model_beats_both_baselines_with_a_calibrated_band(run):
    _, checks, tables, _ = run
    choice = tables["forecast_model_choice"].set_index("customer_class")
    assert (choice["chosen"] == "lightgbm").all()
    assert (choice["model_wape"] < choice["baseline_wape"]).all()
    model = tables["forecast_backtest"].query("model == 'lightgbm'")
    coverage = (model["coverage_p10_p90"] * model["targets"]).sum() / model["targets"].sum()
    assert 0.70 <= coverage <= 0.90
    check = checks["model_beats_best_baseline"]
    assert check.passed
    assert check.metadata["model_won_for"].value == "commercial, industrial"
    assert json.loads(check.metadata["by_class"].value)["industrial"]["chosen"] == "lightgbm"


def test_every_customer_with_a_week_of_history_gets_35_ordered_days(run):
    metadata, _, tables, _ = run
    daily = tables["load_forecast_daily"]
    counts = daily.groupby("customer_id").size()
    assert len(counts) == CUSTOMERS and (counts == 35).all()
    assert (daily["p10_kwh"] <= daily["p50_kwh"]).all()
    assert (daily["p50_kwh"] <= daily["p90_kwh"]).all()
    assert set(daily["origin_day"].dt.date) == {START + timedelta(days=DAYS - 1)}
    assert set(daily["model"]) == {"lightgbm"}
    assert set(daily["inputs"]) == {"calendar+temperature"}
    meta = metadata["analytics/load_forecast_daily"]
    assert meta["customers_left_out"] == 1
    assert json.loads(meta["left_out_reasons"]) == {
        "CUSHORT": "3 complete days of history; a forecast needs 7"}


def test_the_temperature_signal_is_learnt_and_without_weather_the_model_is_calendar_only(
        run, run_without_weather):
    wape = {}
    for name, (_, _, tables, _) in {"weather": run,
                                     "calendar": run_without_weather}.items():
        model = tables["forecast_backtest"].query("model == 'lightgbm'")
        wape[name] = model["abs_error_kwh"].sum() / model["actual_kwh"].sum()
    assert wape["weather"] < 0.9 * wape["calendar"]  # the temperature is worth > 10 % WAPE
    metadata, _, tables, _ = run_without_weather
    assert metadata["analytics/forecast_backtest"]["weather_history"] == \
        "calendar only: no weather_* file loaded"
    assert set(tables["load_forecast_daily"]["inputs"]) == {"calendar"}


def test_without_forecast_temperatures_the_served_forecast_uses_the_calendar_only(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    write_warehouse(warehouse)
    with connect(warehouse) as con:  # the weather file of the days ahead never came
        con.execute("delete from raw.weather_daily where source = 'forecast'")
    result = materialize([forecast_input_assets(), *forecast_assets],
                         instance=DagsterInstance.ephemeral(), resources={
                             "gridledger": Gridledger(warehouse=str(warehouse),
                                                      data_dir=str(tmp_path)),
                             "dbt": dbt_resource()})
    assert result.success
    daily = next(e for e in result.get_asset_materialization_events()
                 if e.asset_key.to_user_string() == "analytics/load_forecast_daily")
    assert daily.materialization.metadata["weather_ahead"].value == \
        "calendar only: no weather_* file loaded"
    with connect(warehouse, read_only=True) as con:
        assert con.execute("select distinct inputs from analytics.load_forecast_daily"
                           ).fetchall() == [("calendar",)]


def test_a_month_of_history_gives_no_backtest_a_warning_and_like_day_forecasts(tmp_path):
    metadata, checks, tables, _ = _materialize(tmp_path, days=30, weather=False)
    assert tables["forecast_backtest"].empty and tables["forecast_model_choice"].empty
    assert "history too short for a backtest: 30 days" in \
        metadata["analytics/forecast_backtest"]["not_run"]
    assert not checks["model_beats_best_baseline"].passed
    daily = tables["load_forecast_daily"]
    assert set(daily["model"]) == {"like_day_average"}
    assert daily["customer_id"].nunique() == CUSTOMERS


def test_the_monthly_forecast_runs_from_the_open_month_for_twelve_months(run):
    metadata, _, tables, _ = run
    monthly = tables["load_forecast_monthly"]
    # origin 2027-02-04: February is open (4 days validated + 24 forecast); March reaches past
    # the 35 days (to 2027-03-11), so it and the months after are like-day levels × day types
    # × the season of the same month a year before (all in the history)
    assert monthly.groupby("customer_id").size().eq(12).all()
    assert len(monthly) == CUSTOMERS * 12
    methods = monthly.groupby("period")["method"].agg(set).to_dict()
    assert methods["2027-02"] == {"daily_sum"}
    assert methods["2027-03"] == methods["2028-01"] == {"like_day_season"}
    opened = tables["open_month_check"]
    assert (opened["p50_kwh"] == opened["by_hand"]).all() and len(opened) == CUSTOMERS
    assert (monthly["p10_kwh"] <= monthly["p50_kwh"]).all()
    assert (monthly["p50_kwh"] <= monthly["p90_kwh"]).all()
    # the band widens with the lead time
    width = (monthly.assign(w=(monthly["p90_kwh"] - monthly["p10_kwh"]) / monthly["p50_kwh"])
             .groupby("period")["w"].mean())
    assert width["2028-01"] > width["2027-03"]
    assert metadata["analytics/load_forecast_monthly"]["dagster/row_count"] == CUSTOMERS * 12
