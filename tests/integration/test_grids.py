"""Tariffs for any grid (issue 9, item 5): the customer's region selects its grid, TOU calendar
and tariff rows (config seed grid_regions); no grid or calendar id is written in the SQL.

One hand-built August 2026 (31 days) with one customer in each grid runs once through the real
Dagster jobs. Both customers have the same load and the same package, so every difference on
their bills comes from the grid:

- C_JIBEI in 唐山 → jibei: TOU 冀北 2025 table, Jun–Aug: sharp 18–21, peak 10–12 16–18 21–22,
  flat 7–10 12–16 22–23, valley 0–7 23–24; T&D 发改价格〔2026〕1077号 冀北 1–10 kV single-part
  0.1583; line loss 2.87%.
- C_HEBEI in 石家庄 → hebei_south: TOU 冀发改能价〔2025〕1115号 (河北南网) summer: sharp 19–22,
  peak 16–19 22–24, flat 0–1 7–12 14–16, valley 1–7 12–14; T&D 1077号 河北电网 1–10 kV
  single-part 0.1900; line loss 4.08%.

Load (both): 10 kWh every quarter hour, 30 kWh in 12:00–14:00. Per day: 3 sharp hours × 40 =
120, 5 peak hours × 40 = 200; the 12–14 extra 2 × 4 × 20 = 160 kWh falls in flat (jibei) or
valley (hebei_south): 8 × 40 + 160 = 480 in that block, 8 × 40 = 320 in the other. × 31 days:

| block  | C_JIBEI | C_HEBEI |
|--------|---------|---------|
| sharp  |   3,720 |   3,720 |
| peak   |   6,200 |   6,200 |
| flat   |  14,880 |   9,920 |
| valley |   9,920 |  14,880 |
| total  |  34,720 |  34,720 |

Package PKG_FIXED_TOU (flat 0.400 × ratios 2.04 / 1.70 / 0.30): sharp 0.816, peak 0.680, valley
0.120. System operation 0.0250 and funds 0.02406875 in both grids (sample config). Single-part,
no power-factor standard: no basic charge, no PF line.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests.builders import (
    READ_HEADER,
    CaseCustomer,
    read_rows,
    slots,
    spread,
    write_case_master,
    write_csv,
)

D = Decimal
PERIOD = "2026-08"
FIRST_DAY, LAST_DAY = date(2026, 8, 1), date(2026, 8, 31)

CUSTOMERS = [
    CaseCustomer("C_JIBEI", "PKG_FIXED_TOU", {}, D(10000), tariff_type="single_part",
                 region="唐山", start_month="2026-08", valid_from="2026-08-01"),
    CaseCustomer("C_HEBEI", "PKG_FIXED_TOU", {}, D(10000), tariff_type="single_part",
                 region="石家庄", start_month="2026-08", valid_from="2026-08-01"),
]

EXPECTED_BLOCKS = {
    "C_JIBEI": {"sharp": D(3720), "peak": D(6200), "flat": D(14880), "valley": D(9920)},
    "C_HEBEI": {"sharp": D(3720), "peak": D(6200), "flat": D(9920), "valley": D(14880)},
}

EXPECTED_LINES = {
    # line_code: (quantity, unit_price, amount_yuan)
    "C_JIBEI": {
        "energy_sharp": ("3720", "0.816", "3035.52"),
        "energy_peak": ("6200", "0.680", "4216.00"),
        "energy_flat": ("14880", "0.400", "5952.00"),
        "energy_valley": ("9920", "0.120", "1190.40"),
        # energy 14,393.92 / 34,720 = 0.4145714… → 0.414571; × 0.0287 / 0.9713 = 0.0122497… →
        # 0.012250; 34,720 × 0.012250 = 425.32
        "line_loss": ("34720", "0.012250", "425.32"),
        "td_energy": ("34720", "0.1583", "5496.18"),  # 5,496.176
        "system_operation": ("34720", "0.0250", "868.00"),
        "government_funds": ("34720", "0.02406875", "835.67"),  # 835.667
    },
    "C_HEBEI": {
        "energy_sharp": ("3720", "0.816", "3035.52"),
        "energy_peak": ("6200", "0.680", "4216.00"),
        "energy_flat": ("9920", "0.400", "3968.00"),
        "energy_valley": ("14880", "0.120", "1785.60"),
        # energy 13,005.12 / 34,720 = 0.3745714… → 0.374571; × 0.0408 / 0.9592 = 0.0159325… →
        # 0.015933; 34,720 × 0.015933 = 553.19376 → 553.19
        "line_loss": ("34720", "0.015933", "553.19"),
        "td_energy": ("34720", "0.1900", "6596.80"),
        "system_operation": ("34720", "0.0250", "868.00"),
        "government_funds": ("34720", "0.02406875", "835.67"),
    },
}
# totals: jibei 3,035.52 + 4,216.00 + 5,952.00 + 1,190.40 + 425.32 + 5,496.18 + 868.00 + 835.67
# = 22,019.09; hebei_south 3,035.52 + 4,216.00 + 3,968.00 + 1,785.60 + 553.19 + 6,596.80
# + 868.00 + 835.67 = 21,858.78
EXPECTED_TOTALS = {"C_JIBEI": D("22019.09"), "C_HEBEI": D("21858.78")}


def write_case(data_dir) -> None:
    write_case_master(data_dir, CUSTOMERS, [("R01", "1000000")])
    rows = []
    for c in CUSTOMERS:
        kwh = {slot: D(30) if 12 <= slot.hour < 14 else D(10)
               for slot in slots(2026, 8, [(0, 24)])}
        rows += read_rows(c.meter_id, 15, kwh, spread(c.kvarh, sorted(kwh)))
    write_csv(data_dir / "landing" / "reads" / "reads_20260901_01.csv", READ_HEADER, rows)


@pytest.fixture(scope="module")
def settled(module_flow):
    write_case(module_flow.data_dir)
    results = module_flow.run(FIRST_DAY, LAST_DAY)
    assert all(r.success for r in results)
    return module_flow


def test_each_customer_gets_its_grid_and_calendar(settled):
    rows = settled.sql("select customer_id, grid, tou_calendar_id, unbilled_reason "
                       "from core.int_customer_month where period = ? order by 1", [PERIOD])
    assert rows == [("C_HEBEI", "hebei_south", "hebei_south", None),
                    ("C_JIBEI", "jibei", "jibei", None)]


def test_same_load_splits_into_each_grids_tou_blocks(settled):
    rows = settled.sql("select customer_id, block, kwh from core.int_customer_month_blocks "
                       "where period = ?", [PERIOD])
    got: dict[str, dict[str, Decimal]] = {}
    for customer_id, block, kwh in rows:
        got.setdefault(customer_id, {})[block] = kwh
    assert got == EXPECTED_BLOCKS


@pytest.mark.parametrize("customer_id", ["C_JIBEI", "C_HEBEI"])
def test_bill_lines_use_the_grids_tariffs(settled, customer_id):
    rows = settled.sql("select line_code, quantity, unit_price, amount_yuan "
                       "from finance.bill_lines where customer_id = ? and period = ?",
                       [customer_id, PERIOD])
    got = {code: (q, p, a) for code, q, p, a in rows}
    expected = {code: (D(q), D(p), D(a)) for code, (q, p, a) in EXPECTED_LINES[customer_id].items()}
    assert got == expected
    ((total,),) = settled.sql("select total_yuan from finance.bills where customer_id = ? "
                              "and period = ?", [customer_id, PERIOD])
    assert total == EXPECTED_TOTALS[customer_id]


def test_bill_documents_show_each_customers_calendar(settled):
    from assets.bills.data import load_bills
    from foundation.warehouse import connect

    with connect(settled.warehouse, read_only=True) as con:
        bills = {b.customer_id: b for b in load_bills(con, PERIOD)}
    # 12:00 is flat in the jibei summer table, valley in the 河北南网 one; 19:00 sharp in both
    assert bills["C_JIBEI"].tou_bands[12 * 60] == "flat"
    assert bills["C_HEBEI"].tou_bands[12 * 60] == "valley"
    assert bills["C_JIBEI"].tou_bands[18 * 60] == "sharp"
    assert bills["C_HEBEI"].tou_bands[18 * 60] == "peak"
    assert "1115号" in bills["C_HEBEI"].tou_source
    assert "1115号" not in bills["C_JIBEI"].tou_source
