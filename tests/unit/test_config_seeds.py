"""Checks on the configuration seeds (transforms/seeds/config/*.csv) against hand-written values
from docs/domain.md. The CSVs are the source of truth at run time, so these tests read
them directly; expected numbers are typed in, never derived from the build script."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest

CONFIG_DIR = Path(__file__).resolve().parents[2] / "transforms" / "seeds" / "config"


def read_seed(name: str) -> list[dict[str, str]]:
    with (CONFIG_DIR / f"{name}.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# --- power factor -------------------------------------------------------------------------

PF_BOUNDARIES = [
    ("0.90", 88, "1.0"),
    ("0.90", 70, "10"),
    ("0.90", 65, "15"),
    ("0.90", 64, "17"),
    ("0.90", 95, "-0.75"),
    ("0.90", 92, "-0.30"),
    ("0.90", 90, "0"),
    ("0.85", 90, "-0.5"),
    ("0.85", 91, "-0.65"),
    ("0.85", 93, "-0.95"),
    ("0.85", 94, "-1.10"),
    ("0.85", 100, "-1.10"),
    ("0.85", 65, "10"),
    ("0.85", 60, "15"),
    ("0.85", 59, "17"),
    ("0.85", 85, "0"),
    ("0.80", 90, "-1.0"),
    ("0.80", 91, "-1.15"),
    ("0.80", 92, "-1.30"),
    ("0.80", 100, "-1.30"),
    ("0.80", 60, "10"),
    ("0.80", 55, "15"),
    ("0.80", 54, "17"),
    ("0.80", 80, "0"),
]


@pytest.fixture(scope="module")
def pf_rates() -> dict[tuple[str, int], Decimal]:
    return {
        (row["pf_standard"], int(row["pf_hundredths"])): Decimal(row["rate_pct"])
        for row in read_seed("pf_adjustment_rates")
    }


@pytest.mark.parametrize(("standard", "hundredths", "expected"), PF_BOUNDARIES)
def test_pf_rate_matches_the_1983_table(pf_rates, standard, hundredths, expected):
    assert pf_rates[(standard, hundredths)] == Decimal(expected)


def test_pf_table_has_one_row_per_hundredth_for_each_standard(pf_rates):
    rows = read_seed("pf_adjustment_rates")
    assert len(rows) == 3 * 101
    for standard in ("0.90", "0.85", "0.80"):
        assert {h for (s, h) in pf_rates if s == standard} == set(range(101))
    assert {row["valid_from"] for row in rows} == {"1983-12-02"}
    assert all("〔83〕水电财字第215号" in row["source"] for row in rows)


def test_pf_rate_never_decreases_as_power_factor_falls(pf_rates):
    for standard in ("0.90", "0.85", "0.80"):
        rates = [pf_rates[(standard, h)] for h in range(100, -1, -1)]
        assert rates == sorted(rates)


# --- time of use --------------------------------------------------------------------------


def tou_versions() -> dict[tuple[str, str], list[dict[str, str]]]:
    versions: dict[tuple[str, str], list[dict[str, str]]] = {}
    for row in read_seed("tou_periods"):
        versions.setdefault((row["calendar_id"], row["valid_from"]), []).append(row)
    return versions


def test_tou_has_the_two_jibei_versions_and_the_hebei_south_one():
    versions = tou_versions()
    assert set(versions) == {("jibei", "2023-07-01"), ("jibei", "2025-12-01"),
                             ("hebei_south", "2025-12-01")}
    old = versions[("jibei", "2023-07-01")]
    assert {row["valid_to"] for row in old} == {"2025-11-30"}
    assert {row["valid_to"] for row in versions[("jibei", "2025-12-01")]} == {""}


@pytest.mark.parametrize("version", [("jibei", "2023-07-01"), ("jibei", "2025-12-01"),
                                     ("hebei_south", "2025-12-01")])
@pytest.mark.parametrize("month", range(1, 13))
def test_every_tou_month_covers_the_day_exactly_once(version, month):
    rows = tou_versions()[version]
    periods = sorted(
        (int(r["start_minute"]), int(r["end_minute"]))
        for r in rows
        if str(month) in r["months"].split(";")
    )
    assert periods, f"month {month} has no periods"
    minutes_covered = [0] * 1440
    for start, end in periods:
        assert 0 <= start < end <= 1440
        for minute in range(start, end):
            minutes_covered[minute] += 1
    assert set(minutes_covered) == {1}


def block_at(version: tuple[str, str], month: int, hour: int) -> str:
    minute = hour * 60
    for row in tou_versions()[version]:
        if str(month) in row["months"].split(";"):
            if int(row["start_minute"]) <= minute < int(row["end_minute"]):
                return row["block"]
    raise AssertionError(f"no block for month {month} hour {hour}")


@pytest.mark.parametrize(
    ("version_from", "month", "hour", "expected"),
    [
        ("2025-12-01", 7, 18, "sharp"),
        ("2025-12-01", 7, 20, "sharp"),
        ("2025-12-01", 7, 21, "peak"),
        ("2025-12-01", 7, 23, "valley"),
        ("2025-12-01", 1, 12, "deep_valley"),
        ("2025-12-01", 12, 17, "sharp"),
        ("2025-12-01", 2, 13, "deep_valley"),
        ("2025-12-01", 4, 13, "valley"),
        ("2025-12-01", 4, 0, "flat"),
        ("2023-07-01", 7, 17, "sharp"),
        ("2023-07-01", 7, 20, "peak"),
        ("2023-07-01", 1, 18, "sharp"),
        ("2023-07-01", 4, 18, "peak"),
        ("2023-07-01", 4, 12, "valley"),
    ],
)
def test_tou_blocks_match_the_published_tables(version_from, month, hour, expected):
    assert block_at(("jibei", version_from), month, hour) == expected


# 冀发改能价〔2025〕1115号 (河北南网), as transcribed in domain.md [S8]
@pytest.mark.parametrize(
    ("month", "hour", "expected"),
    [
        (4, 13, "deep_valley"),   # spring 深谷 12—15
        (4, 11, "valley"),        # spring 低谷 11—12
        (4, 16, "peak"),          # spring 高峰 16—24
        (8, 19, "sharp"),         # summer 尖峰 19—22
        (8, 22, "peak"),          # summer 高峰 22—24
        (8, 12, "valley"),        # summer 低谷 12—14
        (8, 0, "flat"),           # summer 平段 0—1
        (10, 14, "valley"),       # autumn 低谷 14—15
        (10, 12, "deep_valley"),  # autumn 深谷 12—14
        (1, 17, "sharp"),         # winter 尖峰 17—19
        (2, 7, "peak"),           # winter 高峰 7—9
        (12, 23, "flat"),         # winter 平段 23—24
    ],
)
def test_hebei_south_tou_blocks_match_1115(month, hour, expected):
    assert block_at(("hebei_south", "2025-12-01"), month, hour) == expected


def test_every_region_maps_to_a_grid_with_a_tou_calendar():
    calendars = {row["calendar_id"] for row in read_seed("tou_periods")}
    grids = {row["grid"] for row in read_seed("tariffs")}
    regions = {row["region"]: row for row in read_seed("grid_regions")}
    for region in ("唐山", "张家口", "秦皇岛", "承德", "廊坊"):
        assert regions[region]["grid"] == "jibei"
    for region in ("石家庄", "保定", "邢台", "邯郸", "衡水", "沧州"):
        assert regions[region]["grid"] == "hebei_south"
    for row in regions.values():
        assert row["tou_calendar_id"] in calendars
        assert row["grid"] in grids


# --- retail packages ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def packages() -> dict[str, dict[str, str]]:
    return {row["package_id"]: row for row in read_seed("retail_packages")}


def test_all_generator_packages_exist(packages):
    assert set(packages) == {
        "PKG_FIXED_TOU",
        "PKG_LINKED",
        "PKG_SPREAD",
        "PKG_SINGLE",
        "PKG_TIERED_RES",
        "PKG_GREEN",
    }


@pytest.mark.parametrize(
    ("ratio_column", "expected_price"),
    [
        ("sharp_ratio", "0.816"),
        ("peak_ratio", "0.680"),
        ("valley_ratio", "0.120"),
        ("deep_valley_ratio", "0.096"),
    ],
)
def test_worked_bill_prices_come_out_of_fixed_tou_ratios(packages, ratio_column, expected_price):
    package = packages["PKG_FIXED_TOU"]
    assert Decimal(package["flat_price"]) == Decimal("0.400")
    assert Decimal(package["flat_price"]) * Decimal(package[ratio_column]) == Decimal(
        expected_price
    )


def test_package_terms(packages):
    linked = packages["PKG_LINKED"]
    assert (linked["model_code"], linked["linked_ratio"], linked["linked_target"]) == (
        "LINKED",
        "0.3",
        "agency_price",
    )
    spread = packages["PKG_SPREAD"]
    assert spread["reference_type"] == "market_avg"
    assert Decimal(spread["spread"]) == Decimal("0.030")
    assert Decimal(spread["sharing_ratio"]) == Decimal("0.5")
    assert Decimal(spread["cap_price"]) == Decimal("0.49716")
    single = packages["PKG_SINGLE"]
    assert Decimal(single["flat_price"]) == Decimal("0.455")
    assert {single[c] for c in ("sharp_ratio", "peak_ratio", "valley_ratio")} == {"1"}
    tiered = packages["PKG_TIERED_RES"]
    assert (tiered["tier1_kwh"], tiered["tier2_kwh"]) == ("180", "280")
    assert Decimal(tiered["tier3_markup"]) == Decimal("0.30")
    green = packages["PKG_GREEN"]
    assert Decimal(green["green_value"]) == Decimal("0.015")
    assert Decimal(green["flat_price"]) * Decimal(green["peak_ratio"]) == Decimal("0.697")


def test_index_targets_exist_for_every_month(packages):
    prices = read_seed("market_index_prices")
    periods = {(row["index_code"], row["period"]) for row in prices}
    assert len(prices) == 72
    for code in ("market_avg", "agency_price"):
        for year in (2025, 2026, 2027):
            for month in range(1, 13):
                assert (code, f"{year}-{month:02d}") in periods


# --- tariffs ------------------------------------------------------------------------------

TD_ENERGY_4TH_PERIOD = {
    ("lt_1kv", "single_part"): "0.1803",
    ("kv_1_10", "single_part"): "0.1583",
    ("kv_35", "single_part"): "0.1363",
    ("kv_110", "single_part"): "0.1143",
    ("kv_220_plus", "single_part"): "0.1023",
    ("lt_1kv", "two_part"): "0.1585",
    ("kv_1_10", "two_part"): "0.1365",
    ("kv_35", "two_part"): "0.1145",
    ("kv_110", "two_part"): "0.0925",
    ("kv_220_plus", "two_part"): "0.0705",
}


def tariff_price(code: str, voltage: str, tariff_type: str, day: str,
                 grid: str = "jibei") -> Decimal:
    matches = [
        row
        for row in read_seed("tariffs")
        if row["tariff_code"] == code
        and row["grid"] == grid
        and row["voltage_level"] == voltage
        and row["tariff_type"] == tariff_type
        and row["valid_from"] <= day
        and (row["valid_to"] == "" or day <= row["valid_to"])
    ]
    assert len(matches) == 1, (code, voltage, tariff_type, day, matches)
    return Decimal(matches[0]["price"])


@pytest.mark.parametrize("day", ["2025-01-01", "2026-07-31", "2026-08-01", "2027-12-31"])
@pytest.mark.parametrize(("key", "expected"), sorted(TD_ENERGY_4TH_PERIOD.items()))
def test_td_energy_matches_domain_for_every_voltage(day, key, expected):
    voltage, tariff_type = key
    assert tariff_price("td_energy", voltage, tariff_type, day) == Decimal(expected)


# 发改价格〔2026〕1077号, 河北电网 (河北南网) table: 单一制 0.2150 0.1900 0.1650 0.1400 0.1150;
# 两部制 0.1726 0.1476 0.1226 0.0976 0.0726 (<1 kV, 1–10 kV, 35 kV, 110 kV, ≥220 kV)
TD_ENERGY_HEBEI_SOUTH = dict(zip(
    [(v, t) for t in ("single_part", "two_part")
     for v in ("lt_1kv", "kv_1_10", "kv_35", "kv_110", "kv_220_plus")],
    ["0.2150", "0.1900", "0.1650", "0.1400", "0.1150", "0.1726", "0.1476", "0.1226", "0.0976",
     "0.0726"], strict=True))


@pytest.mark.parametrize(("key", "expected"), sorted(TD_ENERGY_HEBEI_SOUTH.items()))
def test_hebei_south_td_energy_matches_1077(key, expected):
    voltage, tariff_type = key
    price = tariff_price("td_energy", voltage, tariff_type, "2026-08-01", grid="hebei_south")
    assert price == Decimal(expected)
    loss = tariff_price("line_loss_rate", "*", "*", "2026-08-01", grid="hebei_south")
    assert loss == Decimal("0.0408")  # 河北电网 省内线损率 4.08% (1077号 note)


def test_pre_4th_period_td_rows_are_labelled_placeholders():
    rows = [r for r in read_seed("tariffs") if r["tariff_code"] == "td_energy"
            and r["grid"] == "jibei"]
    old = [r for r in rows if r["valid_to"] == "2026-07-31"]
    new = [r for r in rows if r["valid_from"] == "2026-08-01"]
    assert len(old) == len(new) == 10
    assert all(r["source"].startswith("PLACEHOLDER") for r in old)
    assert all("发改价格〔2026〕1077号" in r["source"] for r in new)


def test_non_td_tariffs():
    day = "2025-07-15"
    assert tariff_price("line_loss_rate", "*", "*", day) == Decimal("0.0287")
    assert tariff_price("government_funds", "*", "*", day) == Decimal("0.02406875")
    assert tariff_price("system_operation", "*", "*", day) == Decimal("0.0250")
    for voltage in ("lt_1kv", "kv_1_10", "kv_35", "kv_110", "kv_220_plus"):
        assert tariff_price("basic_demand", voltage, "two_part", day) == Decimal("36.1")
        assert tariff_price("basic_capacity", voltage, "two_part", day) == Decimal("22.6")


# --- holidays and deviation ---------------------------------------------------------------


def test_holidays_published_dates():
    days = {row["day"]: row["day_type"] for row in read_seed("holidays")}
    assert days["2025-01-28"] == "holiday"
    assert days["2025-02-04"] == "holiday"
    assert days["2025-01-26"] == "adjusted_workday"
    assert days["2025-10-08"] == "holiday"
    assert days["2025-10-11"] == "adjusted_workday"
    assert days["2026-02-23"] == "holiday"
    assert days["2026-02-28"] == "adjusted_workday"
    assert days["2026-09-20"] == "adjusted_workday"
    assert days["2024-02-18"] == "adjusted_workday"
    assert days["2027-01-01"] == "holiday"
    assert "2025-02-05" not in days


def test_deviation_tiers():
    tiers = {
        (r["deviation_clause_id"], r["tier_no"]): (
            r["lower_ratio"],
            r["upper_ratio"],
            r["coefficient"],
        )
        for r in read_seed("deviation_clauses")
    }
    assert tiers == {
        ("DEV_DEFAULT", "1"): ("0", "0.03", "0"),
        ("DEV_DEFAULT", "2"): ("0.03", "0.10", "0.10"),
        ("DEV_DEFAULT", "3"): ("0.10", "", "0.20"),
        ("DEV_STRICT", "1"): ("0", "0.02", "0"),
        ("DEV_STRICT", "2"): ("0.02", "0.05", "0.15"),
        ("DEV_STRICT", "3"): ("0.05", "", "0.30"),
    }
