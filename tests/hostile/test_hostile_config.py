"""Hostile config and master data: rejected at load with file, line, column and value."""

from __future__ import annotations

import csv
import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from assets.meters.master_data import MasterDataError, load_master_data
from quality.config_rules import SEEDS_DIR, ConfigError, validate_config
from tests.builders import CaseCustomer, write_case_master, write_csv


def seeds_copy(tmp_path: Path) -> Path:
    target = tmp_path / "seeds"
    shutil.copytree(SEEDS_DIR, target)
    return target


def edit_row(path: Path, match: dict[str, str], column: str, value: str) -> int:
    """Set `column` on the first row matching `match`; return that row's physical line."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    fields = list(rows[0])
    index = next(i for i, row in enumerate(rows) if all(row[k] == v for k, v in match.items()))
    rows[index][column] = value
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return index + 2


def test_the_shipped_config_passes():
    assert validate_config() > 700


def test_a_negative_government_funds_price_is_named_by_file_and_line(tmp_path):
    seeds = seeds_copy(tmp_path)
    line = edit_row(seeds / "tariffs.csv", {"tariff_code": "government_funds"}, "price",
                    "-0.02406875")
    with pytest.raises(ConfigError) as failure:
        validate_config(seeds)
    assert str(failure.value) == (
        f"tariffs.csv line {line}: column price = '-0.02406875' is outside the allowed range "
        "[0, 100]")


def test_an_unknown_package_model_is_named(tmp_path):
    seeds = seeds_copy(tmp_path)
    line = edit_row(seeds / "retail_packages.csv", {"package_id": "PKG_LINKED"}, "model_code",
                    "MAGIC")
    with pytest.raises(ConfigError, match=rf"retail_packages.csv line {line}: column model_code "
                                          r"= 'MAGIC' is not one of"):
        validate_config(seeds)


def load(tmp_path: Path, **changes) -> None:
    customer = CaseCustomer("C1", "PKG_FIXED_TOU", {}, Decimal(0), **changes)
    write_case_master(tmp_path, [customer], [("R01", "0")])
    load_master_data(duckdb.connect(), tmp_path / "master")


def test_an_unknown_voltage_level_names_customers_csv(tmp_path):
    with pytest.raises(MasterDataError, match=r"customers\.csv line 2: column voltage_level = "
                                              r"'kv_999' is not one of .*enumeration"):
        load(tmp_path, voltage_level="kv_999")


@pytest.mark.parametrize("rate", ["-500", "1000000000", "1e3"])
def test_termination_rates_out_of_range_are_rejected(tmp_path, rate):
    load(tmp_path)  # the shipped case loads
    path = tmp_path / "master" / "contracts.csv"
    line = edit_row(path, {"contract_id": "KC1"}, "termination_rate_yuan_per_mwh", rate)
    with pytest.raises(MasterDataError, match=rf"contracts\.csv line {line}: column "
                                              r"termination_rate_yuan_per_mwh = .* range"):
        load_master_data(duckdb.connect(), tmp_path / "master")


DR_HEADER = ["customer_id", "dr_package_id", "committed_kw", "valid_from", "valid_to"]


@pytest.mark.parametrize(("rows", "message"), [
    ([["C1", "DR_REDUCTION", "-5", "2026-01-01", ""]],
     r"dr_enrollments\.csv line 2: column committed_kw = '-5' is outside the allowed range "
     r"\[0, 10000000\] \(rule: range\)"),
    ([["C_GHOST", "DR_REDUCTION", "50", "2026-01-01", ""]],
     r"dr_enrollments\.csv: customer_id = 'C_GHOST' has no row in customers\.csv "
     r"\(rule: reference\)"),
    ([["C1", "DR_REDUCTION", "50", "2026-01-01", ""],
      ["C1", "DR_DISCOUNT", "50", "2026-01-01", ""]],
     r"dr_enrollments\.csv lines 2 and 3: duplicate key"),
    ([["C1", "DR_REDUCTION", "fifty", "2026-01-01", ""]],
     r"dr_enrollments\.csv line 2: column committed_kw = 'fifty' breaks rule"),
])
def test_bad_demand_response_enrollments_are_refused_with_file_line_and_rule(tmp_path, rows,
                                                                             message):
    load(tmp_path)  # the case loads without the optional file
    write_csv(tmp_path / "master" / "dr_enrollments.csv", DR_HEADER, rows)
    with pytest.raises(MasterDataError, match=message):
        load_master_data(duckdb.connect(), tmp_path / "master")


def test_a_negative_dr_incentive_is_named_by_file_and_line(tmp_path):
    seeds = seeds_copy(tmp_path)
    line = edit_row(seeds / "dr_packages.csv", {"dr_package_id": "DR_REDUCTION"},
                    "incentive_yuan_per_kwh", "-3")
    with pytest.raises(ConfigError) as failure:
        validate_config(seeds)
    assert str(failure.value) == (
        f"dr_packages.csv line {line}: column incentive_yuan_per_kwh = '-3' is outside the "
        "allowed range [0, 100]")
