"""Money: every package type, basic-charge mode, power factor, deviation, decomposition,
retailer margin and re-settlement of a closed month.

One hand-built month (January 2026, plus a December history for one customer) runs once
through the real Dagster jobs; every expected value below is the hand computation of these
inputs with the seed prices in force in January 2026, written out here, never read back from
the pipeline. Property tests (hypothesis) run the compiled SQL of the settlement models on a
copy of that prepared warehouse, one example in milliseconds, never the Dagster flow.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from decimal import ROUND_HALF_UP, Context, Decimal
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from foundation.warehouse import copy_warehouse
from tests.builders import (
    READ_HEADER,
    CaseCustomer,
    end_label,
    slots,
    write_case_master,
    write_case_reads,
    write_csv,
    write_profile_history,
)

D = Decimal
PERIOD = "2026-01"
FIRST_DAY, LAST_DAY = date(2025, 12, 1), date(2026, 1, 31)

# January slots (15 min): sharp 248, peak 744, flat 992, valley 620, deep valley 372
INDUSTRIAL_BLOCKS = {"sharp": D(24800), "peak": D(59520), "flat": D(79360), "valley": D(31000),
                     "deep_valley": D(18600)}  # 100 / 80 / 80 / 50 / 50 kWh per quarter hour

CUSTOMERS = [
    # FIXED, capacity basic charge, PF standard 0.90 at cos φ 0.9501 → 0.95 → −0.75 %
    CaseCustomer("C_FIXED", "PKG_FIXED_TOU", INDUSTRIAL_BLOCKS, D(70000), pf_standard="0.90",
                 basic_charge_mode="capacity", transformer_kva=1000),
    # LINKED, contract demand 500 kW, MD 520 kW within the 1.05 band; 0.85 at 0.844999 → +0.5 %
    CaseCustomer("C_LINKED", "PKG_LINKED", INDUSTRIAL_BLOCKS, D(134977), pf_standard="0.85",
                 basic_charge_mode="contract_demand", contract_demand_kw=500, transformer_kva=1000,
                 peak_interval_kwh=D(130)),
    # SPREAD, contract demand 300 kW but C_eff = 0.40 × 1000 kVA = 400 kW, MD 450 kW > 420 kW;
    # 0.85 at cos φ 0.9400 → −1.10 %
    CaseCustomer("C_SPREAD", "PKG_SPREAD", INDUSTRIAL_BLOCKS, D(77410), pf_standard="0.85",
                 basic_charge_mode="contract_demand", contract_demand_kw=300, transformer_kva=1000,
                 peak_interval_kwh=D("112.5")),
    # GREEN, actual demand MD 600 kW, contracted 200,000 kWh (green value and deviation);
    # PF standard 0.80 at cos φ 0.91999984 → 0.92 → −1.30 %
    CaseCustomer("C_GREEN", "PKG_GREEN", INDUSTRIAL_BLOCKS, D(90857), pf_standard="0.80",
                 basic_charge_mode="actual_demand", transformer_kva=1000,
                 peak_interval_kwh=D(150), contracted_kwh={PERIOD: D(200000)}),
    # SINGLE, <1 kV single-part, 10 kWh every quarter hour; the late file raises 15 January
    CaseCustomer("C_SINGLE", "PKG_SINGLE",
                 {"sharp": D(2480), "peak": D(7440), "flat": D(9920), "valley": D(6200),
                  "deep_valley": D(3720)}, D(5000), customer_class="commercial",
                 voltage_level="lt_1kv", tariff_type="single_part", capacity_kva=100),
    # TIERED residential: 350 kWh = 180 + 100 + 70 over the tiers
    CaseCustomer("C_TIERED", "PKG_TIERED_RES",
                 {"sharp": D(20), "peak": D(100), "flat": D(120), "valley": D(80),
                  "deep_valley": D(30)}, D(50), customer_class="residential",
                 voltage_level="lt_1kv", tariff_type="single_part", capacity_kva=8),
    # FIXED below 1 kV on a 30-minute meter: sharp and deep-valley kWh are billed as peak/valley
    CaseCustomer("C_LT1KV", "PKG_FIXED_TOU",
                 {"sharp": D(12400), "peak": D(18600), "flat": D(24800), "valley": D(15500),
                  "deep_valley": D(9300)}, D(20000), customer_class="commercial",
                 voltage_level="lt_1kv", tariff_type="single_part", capacity_kva=250,
                 interval_minutes=30),
    # deviation (domain.md §4): contract 300 MWh, actual 330 MWh at an average energy price of
    # exactly 0.4484 元/kWh; retailer R02; December history for the like-day profile
    CaseCustomer("C_DEV", "PKG_FIXED_TOU",
                 {"sharp": D(49500), "peak": D(77000), "flat": D("110077.143"),
                  "valley": D("92522.857"), "deep_valley": D(900)}, D(100000),
                 retailer_id="R02", tariff_type="single_part", capacity_kva=2000,
                 contracted_kwh={PERIOD: D(300000)}, start_month="2025-12",
                 valid_from="2025-12-01"),
]
RETAILERS = [("R01", "1000000"), ("R02", "500")]

DECEMBER_WORKDAYS = {date(2025, 12, d) for d in range(1, 32)
                     if date(2025, 12, d).isoweekday() <= 5}  # no holiday in December 2025
HISTORY_WORKDAY_KWH = {12: D(30), 13: D(30), 14: D(30)}  # else 10 → 1,200 kWh per workday
HISTORY_NON_WORKDAY_KWH = D(5)  # 480 kWh per weekend day → non-workday factor 0.4

LATE_DAY = date(2026, 1, 15)
LATE_FILE = "reads_20260210_01.csv"


def write_case(data_dir: Path) -> None:
    """Master data, the December history of C_DEV and the January reads of everyone."""
    write_case_master(data_dir, CUSTOMERS, RETAILERS)
    write_profile_history(data_dir, "MC_DEV", 2025, 12, HISTORY_WORKDAY_KWH,
                          HISTORY_NON_WORKDAY_KWH, DECEMBER_WORKDAYS, "reads_20260101_01.csv")
    write_case_reads(data_dir, CUSTOMERS, 2026, 1, "reads_20260201_01.csv")


def write_late_file(data_dir: Path) -> Path:
    """Corrected reads of C_SINGLE for 15 January: 20 kWh instead of 10 in all 96 quarter hours
    (+960 kWh). kWh channel only; the reactive reads stay as they were."""
    rows = []
    for slot in slots(LATE_DAY.year, LATE_DAY.month, [(0, 24)]):
        if slot.date() != LATE_DAY:
            continue
        rows.append(["MC_SINGLE", "kwh_imp", end_label(slot), 15, "20.000", "kWh", 1])
    return write_csv(data_dir / "landing" / "reads" / LATE_FILE, READ_HEADER, rows)


# ---------------------------------------------------------------------------------------------
# Hand computation. Prices in force in January 2026: T&D 1–10 kV two-part 0.1365, 1–10 kV
# single-part 0.1583, <1 kV single-part 0.1803; system operation 0.0250; funds 0.02406875;
# line loss r = 0.0287 → price = average energy price × r/(1−r); basic demand 36.1 元/kW,
# capacity 22.6 元/kVA. Packages: FIXED 0.400 × (2.04 / 1.70 / 1 / 0.30 / 0.24) =
# 0.816 / 0.680 / 0.400 / 0.120 / 0.096; LINKED (1−0.3)·0.390 + 0.3·0.439 (agency 2026-01) =
# 0.4047 × ratios; SPREAD R = 0.390 (market_avg 2026-01): R·ratio − 0.030·0.5 = 0.7806 / 0.648 /
# 0.375 / 0.102 / 0.0786 (ratio enforcement keeps them: 0.7806 ≥ 2.04·0.375 = 0.765 …);
# GREEN 0.410 × ratios + 0.015 value; SINGLE 0.455; TIERED 0.52 / +0.05 / +0.30 at 180 / 280 kWh.
# Each line = round(quantity × price, 2) half up; PF base = energy + line loss + T&D + system
# operation + basic (never green value, deviation or funds).

LINES = {  # customer -> line_code -> (quantity, unit_price, amount_yuan)
    "C_FIXED": {
        "energy_sharp": ("24800", "0.816", "20236.80"),  # 24,800 × 0.816
        "energy_peak": ("59520", "0.680", "40473.60"),
        "energy_flat": ("79360", "0.400", "31744.00"),
        "energy_valley": ("31000", "0.120", "3720.00"),
        "energy_deep_valley": ("18600", "0.096", "1785.60"),
        # average 97,960.00 / 213,280 = 0.459302 → × 0.0287/0.9713 = 0.013571
        "line_loss": ("213280", "0.013571", "2894.42"),
        "td_energy": ("213280", "0.1365", "29112.72"),
        "system_operation": ("213280", "0.0250", "5332.00"),
        "basic_capacity": ("1000", "22.6", "22600.00"),  # 1,000 kVA × 22.6
        # cos φ = 213,280 / √(213,280² + 70,000²) = 0.95013 → 0.95: −0.75 % of 157,899.14
        "pf_adjustment": ("157899.14", "-0.0075", "-1184.24"),
        "government_funds": ("213280", "0.02406875", "5133.38"),
    },
    "C_LINKED": {
        "energy_sharp": ("24800", "0.825588", "20474.58"),  # 0.4047 × 2.04
        "energy_peak": ("59520", "0.687990", "40949.16"),
        "energy_flat": ("79360", "0.404700", "32116.99"),
        "energy_valley": ("31000", "0.121410", "3763.71"),
        "energy_deep_valley": ("18600", "0.097128", "1806.58"),
        "line_loss": ("213280", "0.013731", "2928.55"),  # average 0.464699
        "td_energy": ("213280", "0.1365", "29112.72"),
        "system_operation": ("213280", "0.0250", "5332.00"),
        "basic_demand": ("500", "36.1", "18050.00"),  # MD 520 ≤ 1.05 × 500: C_eff × p
        # cos φ = 0.8449987 → 0.84 under standard 0.85: +0.5 %
        "pf_adjustment": ("154534.29", "0.005", "772.67"),
        "government_funds": ("213280", "0.02406875", "5133.38"),
    },
    "C_SPREAD": {
        "energy_sharp": ("24800", "0.780600", "19358.88"),
        "energy_peak": ("59520", "0.648000", "38568.96"),
        "energy_flat": ("79360", "0.375000", "29760.00"),
        "energy_valley": ("31000", "0.102000", "3162.00"),
        "energy_deep_valley": ("18600", "0.078600", "1461.96"),
        "line_loss": ("213280", "0.012789", "2727.64"),  # average 0.432820
        "td_energy": ("213280", "0.1365", "29112.72"),
        "system_operation": ("213280", "0.0250", "5332.00"),
        # C_eff = max(300, 0.40 × 1,000) = 400; MD 450 > 420: 420 × 36.1 + 30 × 72.2
        "basic_demand": ("420", "36.1", "15162.00"),
        "basic_demand_excess": ("30", "72.2", "2166.00"),
        # cos φ 0.9400004 → 0.94 under 0.85: −1.10 % (not the −1.0 % of one implementation)
        "pf_adjustment": ("146812.16", "-0.011", "-1614.93"),
        "government_funds": ("213280", "0.02406875", "5133.38"),
    },
    "C_GREEN": {
        "energy_sharp": ("24800", "0.836400", "20742.72"),
        "energy_peak": ("59520", "0.697000", "41485.44"),
        "energy_flat": ("79360", "0.410000", "32537.60"),
        "energy_valley": ("31000", "0.123000", "3813.00"),
        "energy_deep_valley": ("18600", "0.098400", "1830.24"),
        # environmental value on min(contracted 200,000, consumed 213,280) kWh
        "green_value": ("200000", "0.015", "3000.00"),
        "line_loss": ("213280", "0.013911", "2966.94"),  # average 100,409.00 / 213,280 = 0.470785
        "td_energy": ("213280", "0.1365", "29112.72"),
        "system_operation": ("213280", "0.0250", "5332.00"),
        "basic_demand_actual": ("600", "36.1", "21660.00"),  # MD 600 kW × 36.1
        # base without the green value: 100,409.00 + 2,966.94 + 29,112.72 + 5,332 + 21,660
        "pf_adjustment": ("159480.66", "-0.013", "-2073.25"),
        # ΔQ = 13,280 = 6.64 %: 6,000 free, 7,280 × 0.10 × 0.470785
        "deviation_tier2": ("7280", "0.047079", "342.74"),
        "government_funds": ("213280", "0.02406875", "5133.38"),
    },
    "C_SINGLE": {
        "energy_single": ("29760", "0.455", "13540.80"),
        "line_loss": ("29760", "0.013444", "400.09"),  # 0.455 × 0.0287 / 0.9713
        "td_energy": ("29760", "0.1803", "5365.73"),  # 5,365.728
        "system_operation": ("29760", "0.0250", "744.00"),
        "government_funds": ("29760", "0.02406875", "716.29"),  # 716.286
    },
    "C_TIERED": {
        "energy_tier1": ("180", "0.52", "93.60"),
        "energy_tier2": ("100", "0.57", "57.00"),
        "energy_tier3": ("70", "0.82", "57.40"),
        "line_loss": ("350", "0.017560", "6.15"),  # average 208 / 350 = 0.594286
        "td_energy": ("350", "0.1803", "63.11"),  # 63.105 → 63.11
        "system_operation": ("350", "0.0250", "8.75"),
        "government_funds": ("350", "0.02406875", "8.42"),
    },
    "C_LT1KV": {  # sharp 12,400 billed as peak, deep valley 9,300 billed as valley
        "energy_peak": ("31000", "0.680", "21080.00"),
        "energy_flat": ("24800", "0.400", "9920.00"),
        "energy_valley": ("24800", "0.120", "2976.00"),
        "line_loss": ("80600", "0.012456", "1003.95"),  # average 33,976 / 80,600 = 0.421538
        "td_energy": ("80600", "0.1803", "14532.18"),
        "system_operation": ("80600", "0.0250", "2015.00"),
        "government_funds": ("80600", "0.02406875", "1939.94"),
    },
    "C_DEV": {
        "energy_sharp": ("49500", "0.816", "40392.00"),
        "energy_peak": ("77000", "0.680", "52360.00"),
        "energy_flat": ("110077.143", "0.400", "44030.86"),
        "energy_valley": ("92522.857", "0.120", "11102.74"),
        "energy_deep_valley": ("900", "0.096", "86.40"),
        "line_loss": ("330000", "0.013249", "4372.17"),  # average 147,972 / 330,000 = 0.4484
        "td_energy": ("330000", "0.1583", "52239.00"),
        "system_operation": ("330000", "0.0250", "8250.00"),
        # domain.md §4: 300 MWh contracted, 330 MWh used, p_ref 448.4 元/MWh: 9 MWh free,
        # 21 MWh × 0.10 × 448.4 = 941.64 元
        "deviation_tier2": ("21000", "0.044840", "941.64"),
        "government_funds": ("330000", "0.02406875", "7942.69"),
    },
}
TOTALS = {"C_FIXED": "161848.28", "C_LINKED": "160440.34", "C_SPREAD": "150330.61",
          "C_GREEN": "165883.53", "C_SINGLE": "20766.91", "C_TIERED": "294.43",
          "C_LT1KV": "53467.07", "C_DEV": "221717.50"}
PF = {"C_FIXED": "0.95", "C_LINKED": "0.84", "C_SPREAD": "0.94", "C_GREEN": "0.92"}
MAX_DEMAND = {"C_LINKED": "520.000", "C_SPREAD": "450.000", "C_GREEN": "600.000"}


# ---------------------------------------------------------------------------------------------
# The month through the real Dagster jobs (reference, daily Dec–Jan, monthly Dec, monthly Jan).

@pytest.fixture(scope="module")
def settled(module_flow):
    write_case(module_flow.data_dir)
    results = module_flow.run(FIRST_DAY, LAST_DAY)
    assert [r.success for r in results] == [True, True, True, True]
    module_flow.issued = {
        table: module_flow.sql(f"select * from finance.{table} where period = ? order by all",
                               [PERIOD])
        for table in ("bills", "bill_lines")
    }
    return module_flow


def lines_of(flow, customer_id: str) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    rows = flow.sql("select line_code, quantity, unit_price, amount_yuan from finance.bill_lines "
                    "where customer_id = ? and period = ?", [customer_id, PERIOD])
    return {code: (q, p, a) for code, q, p, a in rows}


@pytest.mark.parametrize("customer_id", list(LINES))
def test_each_bill_matches_the_hand_computation(settled, customer_id):
    got = lines_of(settled, customer_id)
    expected = {code: tuple(D(v) for v in values) for code, values in LINES[customer_id].items()}
    assert got == expected
    (total,), = settled.sql("select total_yuan from finance.bills where customer_id = ? "
                            "and period = ?", [customer_id, PERIOD])
    assert total == D(TOTALS[customer_id]) == sum(a for _, _, a in expected.values())


def test_every_package_type_is_billed(settled):
    models = settled.sql("select customer_id, package_model from finance.bills "
                         "where period = ? order by 1", [PERIOD])
    assert dict(models) == {
        "C_DEV": "FIXED", "C_FIXED": "FIXED", "C_GREEN": "GREEN", "C_LINKED": "LINKED",
        "C_LT1KV": "FIXED", "C_SINGLE": "SINGLE", "C_SPREAD": "SPREAD", "C_TIERED": "TIERED"}


def test_power_factor_and_maximum_demand_of_the_month(settled):
    rows = dict(settled.sql("select customer_id, power_factor from finance.bills "
                            "where period = ?", [PERIOD]))
    assert {c: rows[c] for c in PF} == {c: D(v) for c, v in PF.items()}
    demand = dict(settled.sql("select customer_id, max_demand_kw from finance.bills "
                              "where period = ?", [PERIOD]))
    assert {c: demand[c] for c in MAX_DEMAND} == {c: D(v) for c, v in MAX_DEMAND.items()}


def test_thirty_minute_reads_map_to_the_blocks_they_cover(settled):
    rows = settled.sql("select block, kwh from core.int_customer_month_blocks "
                       "where customer_id = 'C_LT1KV' and period = ?", [PERIOD])
    assert dict(rows) == {"sharp": D(12400), "peak": D(18600), "flat": D(24800),
                          "valley": D(15500), "deep_valley": D(9300)}


def test_below_1_kv_bills_no_sharp_or_deep_valley_block(settled):
    codes = set(lines_of(settled, "C_LT1KV")) | set(lines_of(settled, "C_SINGLE"))
    assert not codes & {"energy_sharp", "energy_deep_valley"}
    assert {"energy_sharp", "energy_deep_valley"} <= set(lines_of(settled, "C_FIXED"))


def test_deviation_tiers_follow_the_clause(settled):
    rows = settled.sql("select tier_no, tier_kwh, coefficient from core.fct_deviation_tiers "
                       "where customer_id = 'C_DEV' and period = ? order by tier_no", [PERIOD])
    assert rows == [(1, D("9000.000"), D("0.0000")), (2, D("21000.000"), D("0.1000")),
                    (3, D("0.000"), D("0.2000"))]


def test_bills_record_the_run_and_the_config_versions(settled):
    bill = settled.sql(
        "select run_id, data_version, tariff_valid_from, package_valid_from, "
        "pf_table_valid_from, tou_valid_from, parameters_valid_from from finance.bills "
        "where customer_id = 'C_FIXED' and period = ?", [PERIOD])[0]
    (max_file,), = settled.sql(
        "select max(file_id) from raw.file_ledger where file_name = 'reads_20260201_01.csv'")
    assert bill[1:] == (max_file, date(2025, 1, 1), date(2025, 1, 1), date(1983, 12, 2),
                        date(2025, 12, 1), date(2025, 1, 1))
    run = settled.sql(
        "select run_id, run_type, data_version, tariff_versions, pf_table_versions, "
        "tou_calendar_version, customers, total_yuan from finance.settlement_runs "
        "where period = ?", [PERIOD])
    assert run == [(bill[0], "initial", max_file, "2025-01-01", "1983-12-02", date(2025, 12, 1),
                    8, sum(D(v) for v in TOTALS.values()))]
    lines_runs = settled.sql("select distinct run_id from finance.bill_lines where period = ?",
                             [PERIOD])
    assert lines_runs == [(bill[0],)]


def test_contracted_volume_is_decomposed_by_like_days(settled):
    # December history: 1,200 kWh per workday, 480 per weekend day → factor 0.4. January 2026:
    # 21 workdays (4 Jan is an adjusted workday), 10 non-workdays (1–3 Jan holidays, weekends):
    # Σw = 21 + 10 × 0.4 = 25 → Q_d = 300,000 / 25 = 12,000 (workday), 4,800 (non-workday).
    days = settled.sql("select like_day, count(*), min(contracted_kwh), max(contracted_kwh), "
                       "sum(contracted_kwh), min(day_weight) from core.int_contract_daily_volumes "
                       "where customer_id = 'C_DEV' group by all order by 1")
    assert days == [("non_workday", 10, D("4800.000"), D("4800.000"), D("48000.000"), 0.4),
                    ("workday", 21, D("12000.000"), D("12000.000"), D("252000.000"), 1.0)]
    # workday profile of the 23 December workdays: 30/1,200 at 12:00–15:00, 10/1,200 else
    slots_ = settled.sql(
        "select like_day, profile_source, contracted_kwh, count(*) "
        "from core.contract_interval_profile where customer_id = 'C_DEV' group by all "
        "order by all")
    assert slots_ == [("non_workday", "like_days", D("50.000"), 960),
                      ("workday", "like_days", D("100.000"), 21 * 84),
                      ("workday", "like_days", D("300.000"), 21 * 12)]
    used = settled.sql("select distinct like_day, like_days_used from "
                       "core.int_customer_like_day_profile where customer_id = 'C_DEV' order by 1")
    assert used == [("non_workday", 8), ("workday", 23)]


def test_without_history_the_profile_is_flat_and_sums_stay_exact(settled):
    # C_GREEN: 200,000 kWh over 31 equal days → 6,451.613, the last day 6,451.610; a day's 96
    # quarter hours 67.204 each, the last one taking the remainder
    rows = settled.sql("select day, contracted_kwh from core.int_contract_daily_volumes "
                       "where customer_id = 'C_GREEN' and day in ('2026-01-01', '2026-01-31') "
                       "order by day")
    assert rows == [(date(2026, 1, 1), D("6451.613")), (date(2026, 1, 31), D("6451.610"))]
    sums = settled.sql("select profile_source, count(*), sum(contracted_kwh), "
                       "max(contracted_kwh) filter (where day = '2026-01-01') "
                       "from core.contract_interval_profile where customer_id = 'C_GREEN' "
                       "group by all")
    assert sums == [("flat", 31 * 96, D("200000.000"), D("67.233"))]  # 6,451.613 − 95 × 67.204


def test_retailer_margin_spread_deviation_and_risk(settled):
    # R02 = C_DEV only, no wholesale row: bought = 300,000 contracted kWh at market_avg 0.390 =
    # 117,000.00; revenue = energy lines 147,972.00; spread 30,972.00 (0.093855 元/kWh);
    # portfolio ΔQ = 30,000 (10 %), DEV_PORTFOLIO: 21,000 × 0.10 × 0.390 = 819.00 > guarantee 500
    row = settled.sql(
        "select retail_revenue_yuan, wholesale_kwh, wholesale_cost_yuan, wholesale_cost_source, "
        "spread_yuan, spread_yuan_per_kwh, portfolio_deviation_kwh, portfolio_deviation_ratio, "
        "forecast_deviation_cost_yuan, margin_guarantee_yuan, risk_exposure_yuan, is_at_risk "
        "from finance.retailer_margin where retailer_id = 'R02' and period = ?", [PERIOD])
    assert row == [(D("147972.00"), D("300000.000"), D("117000.00"), "derived_market_avg",
                    D("30972.00"), D("0.093855"), D("30000.000"), D("0.100000"), D("819.00"),
                    D("500.00"), D("819.00"), True)]
    alerts = settled.sql("select alert_id, metric_value, threshold from marts.alerts "
                         "where alert_type = 'retail_risk' and period = ?", [PERIOD])
    assert alerts == [("retail_risk:R02:2026-01:margin", 819.0, 500.0)]
    columns = {c for (c,) in settled.sql(
        "select column_name from information_schema.columns where table_schema = 'finance'")}
    assert not {c for c in columns if "bank" in c or "account" in c}


@pytest.mark.parametrize(("standard", "hundredths", "rate"), [
    ("0.90", 100, "-0.75"), ("0.90", 95, "-0.75"), ("0.90", 94, "-0.60"), ("0.90", 91, "-0.15"),
    ("0.90", 90, "0"), ("0.90", 89, "0.50"), ("0.90", 70, "10"), ("0.90", 69, "11"),
    ("0.90", 65, "15"), ("0.90", 64, "17"),
    ("0.85", 94, "-1.10"), ("0.85", 93, "-0.95"), ("0.85", 92, "-0.80"), ("0.85", 91, "-0.65"),
    ("0.85", 90, "-0.50"), ("0.85", 86, "-0.10"), ("0.85", 85, "0"), ("0.85", 84, "0.50"),
    ("0.85", 65, "10"), ("0.85", 64, "11"), ("0.85", 60, "15"), ("0.85", 59, "17"),
    ("0.80", 92, "-1.30"), ("0.80", 91, "-1.15"), ("0.80", 90, "-1.00"), ("0.80", 81, "-0.10"),
    ("0.80", 80, "0"), ("0.80", 79, "0.50"), ("0.80", 60, "10"), ("0.80", 59, "11"),
    ("0.80", 55, "15"), ("0.80", 54, "17"),
])
def test_power_factor_tables_at_their_boundaries(settled, standard, hundredths, rate):
    rows = settled.sql("select rate_pct from config.pf_adjustment_rates where pf_standard = ? "
                       "and pf_hundredths = ? and valid_to is null", [standard, hundredths])
    assert rows == [(D(rate),)]


# ---------------------------------------------------------------------------------------------
# The settlement models' compiled SQL on a copy of the prepared warehouse: the real lookups and
# formulas, re-run on edited inputs in milliseconds (each case inside a rolled-back transaction).

DBT_DIR = Path(__file__).resolve().parents[2] / "transforms"
WINDOW = {"min_date": "2026-01-01", "max_date": "2026-02-01"}
CHAIN = ["int_customer_month", "fct_settlement_lines", "int_settlement_run", "bill_lines",
         "bills", "adjustments"]


class Compiled:
    """A scratch warehouse and the compiled SELECT of each settlement model for January."""

    def __init__(self, warehouse: Path, sql: dict[str, str]) -> None:
        self.warehouse, self.sql = warehouse, sql

    def rebuild(self, con: duckdb.DuckDBPyConnection, model: str, schema: str) -> None:
        """What a monthly run does to a window-incremental model: replace the window."""
        con.execute(f"delete from {schema}.{model} where period_start >= date '2026-01-01' "
                    "and period_start < date '2026-02-01'")
        con.execute(f"insert into {schema}.{model} {self.sql[model]}")

    def settle(self, con: duckdb.DuckDBPyConnection) -> None:
        """Customer months, lines, the run and the (open month's) bills, as the monthly job."""
        for model in ("int_customer_month", "fct_settlement_lines", "int_settlement_run"):
            self.rebuild(con, model, "core")
        self.rebuild(con, "bill_lines", "finance")
        self.rebuild(con, "bills", "finance")


@pytest.fixture(scope="module")
def compiled(settled, tmp_path_factory) -> Compiled:
    root = tmp_path_factory.mktemp("compiled")
    warehouse = root / "warehouse.duckdb"  # same file name: the same DuckDB catalog
    copy_warehouse(settled.warehouse, warehouse)
    target = root / "target"
    dbt = Path(sys.executable).parent / "dbt"
    subprocess.run(
        [str(dbt), "compile", "--quiet", "--project-dir", str(DBT_DIR), "--profiles-dir",
         str(DBT_DIR), "--target-path", str(target), "--vars", json.dumps(WINDOW),
         "--select", *CHAIN],
        check=True, capture_output=True,
        env={**os.environ, "GRIDLEDGER_WAREHOUSE": str(warehouse)},
    )
    sql = {m: next((target / "compiled").rglob(f"{m}.sql")).read_text() for m in CHAIN}
    return Compiled(warehouse, sql)


@pytest.fixture
def scratch(compiled):
    con = duckdb.connect(str(compiled.warehouse))
    con.begin()
    try:
        yield con
    finally:
        con.rollback()
        con.close()


def add_customer_month(con, customer_id: str, pf_standard: str, kwh: str, kvarh: str) -> None:
    """A customer (copy of C_SINGLE) with one month of block totals, straight into the inputs."""
    con.execute("insert into master.customers by name select ? as customer_id, ? as pf_standard, "
                "* exclude (customer_id, pf_standard) from master.customers "
                "where customer_id = 'C_SINGLE'", [customer_id, pf_standard])
    con.execute("insert into core.int_customer_month_blocks (customer_id, period_start, period, "
                "block, kwh, kvarh, estimated_kwh, failed_intervals, data_version) values "
                "(?, date '2026-01-01', '2026-01', 'flat', ?, ?, 0, 0, 1)",
                [customer_id, kwh, kvarh])
    # in service all month, like C_SINGLE
    con.execute("insert into core.int_customer_service_days by name select ? as customer_id, "
                "* exclude (customer_id) from core.int_customer_service_days "
                "where customer_id = 'C_SINGLE'", [customer_id])


# P = 1,000,000 kWh and Q a few thousandths of a kvarh either side of each rounding boundary
# (cos φ within 1e-9 of x.xx5): hundredths and rate of the standard's table, by hand.
PF_BOUNDARIES = [
    ("0.90", "498397.922", 89, "0.50"), ("0.90", "498397.918", 90, "0"),
    ("0.90", "440933.159", 91, "-0.15"), ("0.90", "346106.170", 94, "-0.60"),
    ("0.90", "346106.166", 95, "-0.75"), ("0.90", "310581.986", 96, "-0.75"),
    ("0.90", "1034546.384", 69, "11"), ("0.90", "1034546.380", 70, "10"),
    ("0.90", "1184779.180", 64, "17"), ("0.90", "1184779.176", 65, "15"),
    ("0.85", "632859.533", 84, "0.50"), ("0.85", "632859.529", 85, "0"),
    ("0.85", "470068.030", 90, "-0.50"), ("0.85", "470068.026", 91, "-0.65"),
    ("0.85", "379302.368", 93, "-0.95"), ("0.85", "379302.364", 94, "-1.10"),
    ("0.85", "1184779.180", 64, "11"), ("0.85", "1184779.176", 65, "10"),
    ("0.85", "1350799.497", 59, "17"), ("0.85", "1350799.493", 60, "15"),
    ("0.80", "763030.731", 79, "0.50"), ("0.80", "763030.727", 80, "0"),
    ("0.80", "470068.030", 90, "-1.00"), ("0.80", "440933.159", 91, "-1.15"),
    ("0.80", "440933.155", 92, "-1.30"),
    ("0.80", "1350799.497", 59, "11"), ("0.80", "1350799.493", 60, "10"),
    ("0.80", "1538414.762", 54, "17"), ("0.80", "1538414.758", 55, "15"),
]


def test_power_factor_rounding_and_lookup_at_every_boundary(compiled, scratch):
    for n, (standard, kvarh, _, _) in enumerate(PF_BOUNDARIES):
        add_customer_month(scratch, f"C_PF{n:02d}", standard, "1000000.000", kvarh)
    model = compiled.sql["int_customer_month"]
    got = scratch.execute(
        f"select customer_id, pf_hundredths, pf_rate_pct from ({model}) "
        "where customer_id like 'C_PF%' order by customer_id").fetchall()
    assert got == [(f"C_PF{n:02d}", h, D(rate))
                   for n, (_, _, h, rate) in enumerate(PF_BOUNDARIES)]


def test_config_variants_are_effective_dated_rows(compiled, scratch):
    """From 2026-01: the contract-demand variant (C_eff·p + 2p·excess) and the <1 kV rule off."""
    scratch.execute("""
        update config.settlement_parameters set valid_to = date '2025-12-31'
        where parameter in ('contract_demand_band_billed_at_base', 'lt_1kv_no_sharp_deep_blocks');
        insert into config.settlement_parameters values
            ('contract_demand_band_billed_at_base', 0, date '2026-01-01', null, 'test variant'),
            ('lt_1kv_no_sharp_deep_blocks', 0, date '2026-01-01', null, 'test variant');
    """)
    compiled.rebuild(scratch, "int_customer_month", "core")
    lines = {(c, code): (q, a) for c, code, q, a in scratch.execute(
        f"select customer_id, line_code, quantity, amount_yuan from "
        f"({compiled.sql['fct_settlement_lines']}) where customer_id in ('C_SPREAD', 'C_LT1KV')"
    ).fetchall()}
    # C_SPREAD: 400 × 36.1 (instead of 420 × 36.1) + the same 30 kW excess at 72.2
    assert lines["C_SPREAD", "basic_demand"] == (D("400.000"), D("14440.00"))
    assert lines["C_SPREAD", "basic_demand_excess"] == (D("30.000"), D("2166.00"))
    # C_LT1KV keeps its five blocks: 12,400 × 0.816, 18,600 × 0.68, 24,800 × 0.4,
    # 15,500 × 0.12, 9,300 × 0.096
    energy = {code: v for (c, code), v in lines.items()
              if c == "C_LT1KV" and code.startswith("energy_")}
    assert energy == {
        "energy_sharp": (D("12400.000"), D("10118.40")),
        "energy_peak": (D("18600.000"), D("12648.00")),
        "energy_flat": (D("24800.000"), D("9920.00")),
        "energy_valley": (D("15500.000"), D("1860.00")),
        "energy_deep_valley": (D("9300.000"), D("892.80")),
    }
    versions = scratch.execute("select distinct parameters_valid_from from core.int_customer_month "
                               "where period = '2026-01'").fetchall()
    assert versions == [(date(2026, 1, 1),)]


def half_up(value: Decimal, places: str = "0.01") -> Decimal:
    return value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


kwh_3dp = st.decimals(min_value=0, max_value=5_000_000, places=3, allow_nan=False,
                      allow_infinity=False)
BLOCKS = ["sharp", "peak", "flat", "valley", "deep_valley"]
PROPERTY_SETTINGS = settings(max_examples=20, deadline=None,
                             suppress_health_check=[HealthCheck.function_scoped_fixture])


@PROPERTY_SETTINGS
@given(customer=st.sampled_from(["C_FIXED", "C_SPREAD", "C_GREEN", "C_TIERED", "C_LT1KV"]),
       blocks=st.lists(kwh_3dp, min_size=5, max_size=5), kvarh=kwh_3dp)
def test_property_lines_are_exact_sum_to_the_bill_and_settle_the_validated_kwh(
        compiled, customer, blocks, kvarh):
    if sum(blocks) == 0:
        blocks[2] = D("0.001")
    con = duckdb.connect(str(compiled.warehouse))
    con.begin()
    try:
        con.execute("delete from core.int_customer_month_blocks where customer_id = ? "
                    "and period = '2026-01'", [customer])
        for block, kwh in zip(BLOCKS, blocks, strict=True):
            con.execute("insert into core.int_customer_month_blocks values "
                        "(?, date '2026-01-01', '2026-01', ?, ?, ?, 0, 0, 1)",
                        [customer, block, kwh, kvarh if block == "flat" else 0])
        set_one_segment(con, compiled, customer, blocks, kvarh)
        compiled.settle(con)
        first = con.execute("select * from finance.bill_lines where customer_id = ? "
                            "and period = '2026-01' order by line_code", [customer]).fetchall()
        lines = con.execute("select line_code, quantity, unit_price, amount_yuan "
                            "from finance.bill_lines where customer_id = ? and period = '2026-01'",
                            [customer]).fetchall()
        (total, billed_kwh, pf), = con.execute(
            "select total_yuan, billed_kwh, power_factor from finance.bills "
            "where customer_id = ? and period = '2026-01'", [customer]).fetchall()
        # every amount is round(quantity × price, 2) half up, exactly
        assert all(a == half_up(q * p) for _, q, p, a in lines)
        # the bill total is the sum of its lines
        assert total == sum(a for *_, a in lines)
        # settled kWh = validated kWh, on the energy lines and the per-kWh lines
        kwh = sum(blocks)
        assert billed_kwh == kwh
        assert sum(q for c, q, _, _ in lines if c.startswith("energy_")) == kwh
        assert {q for c, q, _, _ in lines if c in ("td_energy", "government_funds")} == {kwh}
        # cos φ rounded half up from exact arithmetic
        exact = kwh / (kwh * kwh + kvarh * kvarh).sqrt(Context(prec=50))
        assert pf == half_up(exact)
        # re-running the settlement on the same inputs changes nothing, run id included
        compiled.settle(con)
        again = con.execute("select * from finance.bill_lines where customer_id = ? "
                            "and period = '2026-01' order by line_code", [customer]).fetchall()
        assert again == first
    finally:
        con.rollback()
        con.close()


def set_one_segment(con, compiled: Compiled, customer: str, blocks: list, kvarh) -> None:
    """The lines price core.int_customer_month_segments: the customer's one January segment gets
    the same block kWh / kvarh, and the power factor and rate of the month computed from them."""
    con.execute(
        "update core.int_customer_month_segments set " + ", ".join(
            f"kwh_{b} = ?" for b in BLOCKS) + ", kwh = ?, kvarh = ? "
        "where customer_id = ? and period = '2026-01'", [*blocks, sum(blocks), kvarh, customer])
    con.execute(
        "update core.int_customer_month_segments s set pf_hundredths = m.pf_hundredths, "
        f"pf_rate_pct = m.pf_rate_pct from ({compiled.sql['int_customer_month']}) m "
        "where m.customer_id = s.customer_id and m.period = s.period "
        "and s.customer_id = ? and s.period = '2026-01'", [customer])


edit = st.tuples(st.integers(min_value=0, max_value=10_000),  # which line (mod line count)
                 st.decimals(min_value=-5000, max_value=5000, places=3),  # quantity delta
                 st.decimals(min_value=-2000, max_value=2000, places=2))  # amount delta


@PROPERTY_SETTINGS
@given(rounds=st.lists(st.lists(edit, min_size=1, max_size=4), min_size=1, max_size=3),
       drop=st.booleans())
def test_property_locked_bill_plus_adjustments_equals_the_current_settlement(
        compiled, rounds, drop):
    con = duckdb.connect(str(compiled.warehouse))
    con.begin()
    try:
        con.execute("insert into finance.period_close values "
                    "('2026-01', date '2026-02-10', 'test', 'closed', now())")
        issued = con.execute("select * from finance.bill_lines where period = '2026-01' "
                             "order by all").fetchall()
        keys = con.execute("select customer_id, line_code from core.fct_settlement_lines "
                           "where period = '2026-01' order by all").fetchall()
        for n, edits in enumerate(rounds):
            # a re-computation differs from the issued lines: quantities and amounts move, a line
            # may disappear and a new one appear
            for which, dq, da in edits:
                customer_id, code = keys[which % len(keys)]
                con.execute("update core.fct_settlement_lines set quantity = quantity + ?, "
                            "amount_yuan = amount_yuan + ? where period = '2026-01' "
                            "and customer_id = ? and line_code = ?", [dq, da, customer_id, code])
            if drop and n == 0:
                con.execute("delete from core.fct_settlement_lines where period = '2026-01' "
                            "and customer_id = 'C_SINGLE' and line_code = 'system_operation'")
                con.execute("insert into core.fct_settlement_lines values ('C_SINGLE', '2026-01', "
                            "date '2026-01-01', 1, date '2026-01-01', date '2026-01-31', 99, "
                            "'late_fee', 1, '元', 12.5, 12.50)")
            compiled.rebuild(con, "int_settlement_run", "core")
            con.execute(f"insert into finance.adjustments {compiled.sql['adjustments']}")
            # issued + Σ adjustments = current, line by line
            diff = con.execute("""
                with settled as (
                    select customer_id, line_code, sum(q) as q, sum(a) as a from (
                        select customer_id, line_code, quantity as q, amount_yuan as a
                        from finance.bill_lines where period = '2026-01'
                        union all
                        select customer_id, line_code, quantity_delta, amount_delta_yuan
                        from finance.adjustments where period = '2026-01')
                    group by all)
                select count(*) from settled s
                full join (select * from core.fct_settlement_lines where period = '2026-01') c
                    using (customer_id, line_code)
                where coalesce(s.q, 0) <> coalesce(c.quantity, 0)
                   or coalesce(s.a, 0) <> coalesce(c.amount_yuan, 0)""").fetchone()[0]
            assert diff == 0
            # the same run again adds nothing; the issued lines never move
            again = con.execute(f"select count(*) from ({compiled.sql['adjustments']})").fetchone()
            assert again == (0,)
            assert con.execute(f"select count(*) from ({compiled.sql['bill_lines']}) "
                               "where period = '2026-01'").fetchone() == (0,)
            assert con.execute("select * from finance.bill_lines where period = '2026-01' "
                               "order by all").fetchall() == issued
    finally:
        con.rollback()
        con.close()


# ---------------------------------------------------------------------------------------------
# Re-settlement through the real jobs: January is closed, a late file raises C_SINGLE's
# 15 January by 960 kWh (96 × 10 kWh), and the next run writes adjustments, not a new bill.
# Hand computation: 30,720 kWh × 0.455 = 13,977.60 (was 13,540.80): +436.80; line loss
# 30,720 × 0.013444 = 413.00 (400.09): +12.91; T&D 30,720 × 0.1803 = 5,538.82 (5,365.73):
# +173.09; system operation +960 × 0.025 = +24.00; funds 739.39 (716.29): +23.10.

ADJUSTMENTS = {
    "energy_single": ("960", "436.80"),
    "line_loss": ("960", "12.91"),
    "td_energy": ("960", "173.09"),
    "system_operation": ("960", "24.00"),
    "government_funds": ("960", "23.10"),
}


@pytest.fixture(scope="module")
def resettled(settled):
    from dagster import DagsterInstance

    from foundation.warehouse import connect
    from orchestration.runner import RANGE_END, RANGE_START, run_job

    with connect(settled.warehouse) as con:
        con.execute("insert into finance.period_close values "
                    "('2026-01', date '2026-02-10', 'finance', 'WD8 final', now())")
    write_late_file(settled.data_dir)
    day = LATE_DAY.isoformat()
    with DagsterInstance.ephemeral() as instance:
        defs = settled.defs()
        assert run_job(defs, "daily_job", instance, {RANGE_START: day, RANGE_END: day}).success
        assert run_job(defs, "monthly_job", instance, partition_key="2026-01-01").success
        settled.after_first = {t: settled.sql(f"select * from finance.{t} order by all")
                               for t in ("adjustments", "settlement_runs")}
        assert run_job(defs, "monthly_job", instance, partition_key="2026-01-01").success
    return settled


def test_a_closed_month_keeps_its_bills_byte_identical(resettled):
    for table, rows in resettled.issued.items():
        assert resettled.sql(f"select * from finance.{table} where period = ? order by all",
                             [PERIOD]) == rows


def test_a_late_file_in_a_closed_month_becomes_adjustment_lines(resettled):
    (bill_run,), = resettled.sql("select run_id from finance.bills where customer_id = "
                                 "'C_SINGLE' and period = ?", [PERIOD])
    rows = resettled.sql("select customer_id, period, original_bill_ref, line_code, "
                         "quantity_delta, amount_delta_yuan, reason, run_id "
                         "from finance.adjustments")
    assert {r[3]: (r[4], r[5]) for r in rows} == {
        code: (D(q), D(a)) for code, (q, a) in ADJUSTMENTS.items()}
    assert {(r[0], r[1], r[2]) for r in rows} == {
        ("C_SINGLE", PERIOD, f"C_SINGLE:{PERIOD}:{bill_run}")}
    assert all("validated consumption changed" in r[6] for r in rows)
    (run_id, run_type), = resettled.sql("select run_id, run_type from finance.settlement_runs "
                                        "where period = ? and run_id <> ?", [PERIOD, bill_run])
    assert run_type == "resettlement" and {r[7] for r in rows} == {run_id}


def test_settled_kwh_still_equals_validated_kwh(resettled):
    (validated,), = resettled.sql("select sum(value) from core.int_interval_validated where "
                                  "customer_id = 'C_SINGLE' and channel = 'kwh_imp'")
    (billed,), = resettled.sql("select billed_kwh from finance.bills where customer_id = "
                               "'C_SINGLE' and period = ?", [PERIOD])
    (adjusted,), = resettled.sql("select sum(quantity_delta) from finance.adjustments where "
                                 "customer_id = 'C_SINGLE' and line_code = 'td_energy'")
    assert (billed, adjusted, validated) == (D("29760.000"), D("960.000"), D("30720.000"))


def test_re_running_a_settled_month_changes_nothing(resettled):
    for table, rows in resettled.after_first.items():
        assert resettled.sql(f"select * from finance.{table} order by all") == rows
    runs = resettled.sql("select period, run_type from finance.settlement_runs order by all")
    assert runs == [("2025-12", "initial"), (PERIOD, "initial"), (PERIOD, "resettlement")]


def test_retailer_revenue_includes_the_adjustment(resettled):
    (revenue,), = resettled.sql("select retail_revenue_yuan from finance.retailer_margin "
                                "where retailer_id = 'R01' and period = ?", [PERIOD])
    energy = sum(D(a) for c, lines in LINES.items() if c != "C_DEV"
                 for code, (_, _, a) in lines.items() if code.startswith("energy_"))
    assert revenue == energy + D("436.80")
