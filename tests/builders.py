"""Hand-built inputs for tests: master data and interval files with known totals."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from foundation.paths import TRANSFORMS_DIR
from orchestration import dbt_launcher
from tools.sample_data.writer import write_csv

JULY_BLOCKS = {  # Jun–Aug Jibei 2025 table, hours [start, end)
    "sharp": [(18, 21)],
    "peak": [(10, 12), (16, 18), (21, 22)],
    "flat": [(7, 10), (12, 16), (22, 23)],
    "valley": [(0, 7), (23, 24)],
}


def spread(total: Decimal, slots: list[datetime]) -> dict[datetime, Decimal]:
    """Spread a total over slots in 0.001 steps; the remainder goes to the first slot."""
    base = (total / len(slots)).quantize(Decimal("0.001"), rounding="ROUND_DOWN")
    values = {slot: base for slot in slots}
    values[slots[0]] += total - base * len(slots)
    return values


def block_slots(year: int, month: int, hours: list[tuple[int, int]]) -> list[datetime]:
    """Interval starts (15 min) of a month falling in the given hour ranges."""
    day, slots = date(year, month, 1), []
    while day.month == month:
        for start, end in hours:
            for minute in range(start * 60, end * 60, 15):
                slots.append(datetime(day.year, day.month, day.day) + timedelta(minutes=minute))
        day += timedelta(days=1)
    return sorted(slots)


def end_label(start: datetime, minutes: int = 15) -> str:
    """End-of-interval label, `24:00` for the day's last interval."""
    end = start + timedelta(minutes=minutes)
    if end.hour == 0 and end.minute == 0:
        return f"{start:%Y-%m-%d} 24:00"
    return f"{end:%Y-%m-%d %H:%M}"


MASTER_HEADERS = {
    "retailers": ["retailer_id", "retailer_name", "bank_name", "bank_account", "account_holder",
                  "margin_guarantee_yuan", "valid_from", "valid_to"],
    "customers": ["customer_id", "customer_name", "retailer_id", "customer_class", "voltage_level",
                  "region", "industry", "tariff_type", "contract_capacity_kva", "pf_standard",
                  "basic_charge_mode", "contract_demand_kw", "transformer_kva", "valid_from",
                  "valid_to"],
    "metering_points": ["meter_id", "customer_id", "ct_ratio", "pt_ratio", "multiplier",
                        "register_digits", "interval_minutes", "valid_from", "valid_to"],
    "contracts": ["contract_id", "customer_id", "retailer_id", "package_id", "start_month",
                  "end_month", "deviation_clause_id", "termination_rate_yuan_per_mwh",
                  "termination_cap_yuan", "status"],
    "contract_volumes": ["contract_id", "period", "contracted_kwh"],
}


def write_worked_bill_case(data_dir: Path, year: int = 2026) -> None:
    """domain.md §1 worked bill: Tangshan 10 kV two-part customer, July, contract demand 800 kW.

    Sharp 45,000, peak 70,000, flat 100,000, valley 85,000 kWh; 160,000 kvarh; one flat
    interval of 215 kWh makes the maximum demand 860 kW.
    """
    master = data_dir / "master"
    write_csv(master / "retailers.csv", MASTER_HEADERS["retailers"],
              [["R01", "冀北示范售电", "工商银行唐山分行", "0402000000000001234",
                "冀北示范售电有限公司", "1000000", "2025-01-01", ""]])
    write_csv(master / "customers.csv", MASTER_HEADERS["customers"],
              [["C_WORKED", "唐山示范钢铁", "R01", "industrial", "kv_1_10", "唐山", "钢铁",
                "two_part", "1600", "0.90", "contract_demand", "800", "1600", "2025-01-01", ""]])
    write_csv(master / "metering_points.csv", MASTER_HEADERS["metering_points"],
              [["M_WORKED", "C_WORKED", "200", "100", "20000", "8", "15", "2025-01-01", ""]])
    write_csv(master / "contracts.csv", MASTER_HEADERS["contracts"],
              [["K_WORKED", "C_WORKED", "R01", "PKG_FIXED_TOU", f"{year}-01", f"{year}-12",
                "DEV_DEFAULT", "20", "50000", "active"]])
    write_csv(master / "contract_volumes.csv", MASTER_HEADERS["contract_volumes"],
              [["K_WORKED", f"{year}-07", "300000"]])

    totals = {"sharp": Decimal(45000), "peak": Decimal(70000), "flat": Decimal(100000),
              "valley": Decimal(85000)}
    kwh: dict[datetime, Decimal] = {}
    for block, hours in JULY_BLOCKS.items():
        slots = block_slots(year, 7, hours)
        if block == "flat":
            peak_slot = slots[-1]
            kwh.update(spread(totals[block] - Decimal(215), slots[:-1]))
            kwh[peak_slot] = Decimal(215)
        else:
            kwh.update(spread(totals[block], slots))
    all_slots = sorted(kwh)
    kvarh = spread(Decimal(160000), all_slots)
    rows = []
    for slot in all_slots:
        rows.append(["M_WORKED", "kwh_imp", end_label(slot), 15, f"{kwh[slot]:.3f}", "kWh", 20000])
        rows.append(["M_WORKED", "kvarh_imp", end_label(slot), 15, f"{kvarh[slot]:.3f}", "kvarh",
                     20000])
    write_csv(data_dir / "landing" / "reads" / f"reads_{year}0801_01.csv",
              ["meter_id", "channel", "interval_end", "interval_minutes", "value", "unit",
               "multiplier"], rows)


# ---------------------------------------------------------------------------------------------
# Settlement cases: several customers in one month, one per package type / basic-charge mode.

JANUARY_BLOCKS = {  # Jan, Nov, Dec — Jibei 2025 table (from 2025-12-01), hours [start, end)
    "flat": [(0, 1), (6, 7), (9, 12), (15, 16), (22, 24)],
    "valley": [(1, 6)],
    "peak": [(7, 9), (16, 17), (19, 22)],
    "deep_valley": [(12, 15)],
    "sharp": [(17, 19)],
}


@dataclass
class CaseCustomer:
    """One customer with one meter and its month of reads, given as kWh per TOU block.

    `peak_interval_kwh` replaces the last flat interval of the month (and is taken from the
    flat total) so the month's maximum demand is known: MD = value × 60 / interval minutes.
    """

    customer_id: str
    package_id: str
    block_kwh: dict[str, Decimal]
    kvarh: Decimal
    retailer_id: str = "R01"
    customer_class: str = "industrial"
    voltage_level: str = "kv_1_10"
    tariff_type: str = "two_part"
    capacity_kva: int = 1000
    pf_standard: str = "none"
    basic_charge_mode: str = "none"
    contract_demand_kw: int | None = None
    transformer_kva: int | None = None
    interval_minutes: int = 15
    peak_interval_kwh: Decimal | None = None
    contracted_kwh: dict[str, Decimal] = field(default_factory=dict)  # period -> kWh
    deviation_clause_id: str = "DEV_DEFAULT"
    start_month: str = "2026-01"
    valid_from: str = "2026-01-01"
    region: str = "唐山"  # selects grid and TOU calendar (config seed grid_regions)

    @property
    def meter_id(self) -> str:
        return "M" + self.customer_id


def slots(year: int, month: int, hours: list[tuple[int, int]], minutes: int = 15) -> list[datetime]:
    """Interval starts of a month falling in the given hour ranges, for any interval length."""
    day, found = date(year, month, 1), []
    while day.month == month:
        for start, end in hours:
            for minute in range(start * 60, end * 60, minutes):
                found.append(datetime(day.year, day.month, day.day) + timedelta(minutes=minute))
        day += timedelta(days=1)
    return sorted(found)


def case_interval_values(customer: CaseCustomer, year: int, month: int,
                         blocks: dict[str, list[tuple[int, int]]]) -> dict[datetime, Decimal]:
    """kWh per interval start: each block total spread evenly (remainder on its first slot)."""
    values: dict[datetime, Decimal] = {}
    for block, total in customer.block_kwh.items():
        block_slots = slots(year, month, blocks[block], customer.interval_minutes)
        if block == "flat" and customer.peak_interval_kwh is not None:
            values.update(spread(total - customer.peak_interval_kwh, block_slots[:-1]))
            values[block_slots[-1]] = customer.peak_interval_kwh
        else:
            values.update(spread(total, block_slots))
    return values


def write_case_master(data_dir: Path, customers: list[CaseCustomer],
                      retailers: list[tuple[str, str]]) -> None:
    """Master CSVs for the case: retailers (id, margin guarantee), customers, meters, contracts."""
    master = data_dir / "master"
    write_csv(master / "retailers.csv", MASTER_HEADERS["retailers"], [
        [rid, f"测试售电{rid}", "测试银行", "6222000000000000", f"测试售电{rid}有限公司", guarantee,
         "2025-01-01", ""] for rid, guarantee in retailers])
    write_csv(master / "customers.csv", MASTER_HEADERS["customers"], [
        [c.customer_id, f"测试用户{c.customer_id}", c.retailer_id, c.customer_class,
         c.voltage_level, c.region, "测试", c.tariff_type, c.capacity_kva, c.pf_standard,
         c.basic_charge_mode,
         c.contract_demand_kw if c.contract_demand_kw is not None else "",
         c.transformer_kva if c.transformer_kva is not None else "", c.valid_from, ""]
        for c in customers])
    write_csv(master / "metering_points.csv", MASTER_HEADERS["metering_points"], [
        [c.meter_id, c.customer_id, 1, 1, 1, 8, c.interval_minutes, c.valid_from, ""]
        for c in customers])
    write_csv(master / "contracts.csv", MASTER_HEADERS["contracts"], [
        ["K" + c.customer_id, c.customer_id, c.retailer_id, c.package_id, c.start_month, "2026-12",
         c.deviation_clause_id, "20", "50000", "active"] for c in customers])
    write_csv(master / "contract_volumes.csv", MASTER_HEADERS["contract_volumes"], [
        ["K" + c.customer_id, period, f"{kwh}"]
        for c in customers for period, kwh in sorted(c.contracted_kwh.items())])


READ_HEADER = ["meter_id", "channel", "interval_end", "interval_minutes", "value", "unit",
               "multiplier"]


def read_rows(meter_id: str, minutes: int, kwh: dict[datetime, Decimal],
              kvarh: dict[datetime, Decimal]) -> list[list]:
    """Landing rows (end-of-interval labels) for one meter, kWh and kvarh channels."""
    rows = []
    for slot in sorted(kwh):
        label = end_label(slot, minutes)
        rows.append([meter_id, "kwh_imp", label, minutes, f"{kwh[slot]:.3f}", "kWh", 1])
        rows.append([meter_id, "kvarh_imp", label, minutes, f"{kvarh[slot]:.3f}", "kvarh", 1])
    return rows


def write_case_reads(data_dir: Path, customers: list[CaseCustomer], year: int, month: int,
                     name: str, blocks: dict[str, list[tuple[int, int]]] = JANUARY_BLOCKS) -> Path:
    """One landing file with the month of every customer (kvarh spread evenly over the month)."""
    rows = []
    for c in customers:
        kwh = case_interval_values(c, year, month, blocks)
        kvarh = spread(c.kvarh, sorted(kwh))
        rows += read_rows(c.meter_id, c.interval_minutes, kwh, kvarh)
    return write_csv(data_dir / "landing" / "reads" / name, READ_HEADER, rows)


def write_profile_history(data_dir: Path, meter_id: str, year: int, month: int,
                          workday_kwh: dict[int, Decimal], non_workday_kwh: Decimal,
                          workdays: set[date], name: str) -> Path:
    """A history month: on workdays kWh by hour of day (`workday_kwh[hour]` per quarter hour,
    default 10), on other days a flat `non_workday_kwh` per quarter hour; kvarh = kWh / 2."""
    kwh: dict[datetime, Decimal] = {}
    for slot in slots(year, month, [(0, 24)]):
        if slot.date() in workdays:
            kwh[slot] = workday_kwh.get(slot.hour, Decimal(10))
        else:
            kwh[slot] = non_workday_kwh
    kvarh = {slot: value / 2 for slot, value in kwh.items()}
    return write_csv(data_dir / "landing" / "reads" / name, READ_HEADER,
                     read_rows(meter_id, 15, kwh, kvarh))


def run_dbt_cli(target: Path, *args: str, warehouse: Path | None = None,
                dbt_vars: dict[str, str] | None = None,
                executable: str | None = None) -> subprocess.CompletedProcess:
    """`dbt <args>` on the project with its target and log folder `target` (transforms/target is
    left alone), on `warehouse` (default: warehouse.duckdb beside `target`), through the launcher
    the platform runs (orchestration/dbt_launcher.py; its kept parse seeds the folder) unless
    another `executable` is given."""
    args = [*args, *(["--vars", json.dumps(dbt_vars)] if dbt_vars else [])]
    if executable is None:
        dbt_launcher.seed_parse(target, args)
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
           "GRIDLEDGER_WAREHOUSE": str(warehouse or target.parent / "warehouse.duckdb")}
    return subprocess.run(
        [executable or dbt_launcher.launcher(), *args, "--project-dir", str(TRANSFORMS_DIR),
         "--profiles-dir", str(TRANSFORMS_DIR), "--target-path", str(target),
         "--log-path", str(target)],
        cwd=target.parent, env=env, capture_output=True, text=True,
    )
