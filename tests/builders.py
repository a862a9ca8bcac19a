"""Hand-built inputs for tests: master data and interval files with known totals."""

from __future__ import annotations

import csv
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

JULY_BLOCKS = {  # Jun–Aug Jibei 2025 table, hours [start, end)
    "sharp": [(18, 21)],
    "peak": [(10, 12), (16, 18), (21, 22)],
    "flat": [(7, 10), (12, 16), (22, 23)],
    "valley": [(0, 7), (23, 24)],
}


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    """Write a CSV file with a header."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


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
              [["R01", "冀北示范售电", "工商银行唐山分行", "0402000000000001234", "冀北示范售电有限公司",
                "1000000", "2025-01-01", ""]])
    write_csv(master / "customers.csv", MASTER_HEADERS["customers"],
              [["C_WORKED", "唐山示范钢铁", "R01", "industrial", "kv_1_10", "唐山", "钢铁", "two_part",
                "1600", "0.90", "contract_demand", "800", "1600", "2025-01-01", ""]])
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
