"""Partial months and completeness (issue 9): customers that start or end inside a month are
billed for their days in service, with the basic charge prorated; every validated kWh is on a
bill or in finance.unbilled with a reason, which raises an alert.

One hand-built January 2026 (31 days) runs once through the real Dagster jobs. Expected values
are the hand computation below with the seed prices in force in January 2026 (the same ones as
test_settlement.py): PKG_SINGLE 0.455 元/kWh; T&D 1–10 kV two-part 0.1365; system operation
0.0250; funds 0.02406875; line loss r = 0.0287 → 0.455 × 0.0287 / 0.9713 = 0.01344435… →
0.013444; basic capacity 22.6 元/kVA·month; settlement_parameters.basic_charge_proration = 1.

Segments (issue 9): a customer whose master record changes on the 16th is billed in two
segments, 1–15 January (15 days) and 16–31 January (16 days), each with the version in force:
C_CAP 500 → 800 kVA (kv_1_10, two-part, capacity); C_VOLT single-part kv_1_10 without PF →
two-part kv_35 1,000 kVA with PF standard 0.90. T&D two-part 35 kV 0.1145; single-part
1–10 kV 0.1583; PF table 0.90 at cos φ 0.80: +5 %. Meter exchange with register reads on both
meters (C_SWAPR): billed as C_SWAP, no sum-check failure, no register reset.
"""

from __future__ import annotations

import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from foundation.warehouse import copy_warehouse
from tests.builders import MASTER_HEADERS, READ_HEADER, read_rows, run_dbt_cli, slots, write_csv

D = Decimal
PERIOD = "2026-01"
FIRST_DAY, LAST_DAY = date(2026, 1, 1), date(2026, 1, 31)
DBT_DIR = Path(__file__).resolve().parents[2] / "transforms"
COMPLETENESS_TEST = "assert_every_validated_kwh_is_billed_or_unbilled"

# customer: (version valid_from, valid_to, contract?, kVA, kWh per quarter hour before / from the
# 16th). Every meter is in service the whole month (valid from 2025-01-01).
CUSTOMERS = {
    # the customer: master record from the 16th; 16 days × 96 × 25 = 38,400 kWh billed,
    # 15 days × 96 × 10 = 14,400 kWh of the 1st–15th unbilled (customer_not_active)
    "C_NEW": ("2026-01-16", "", True, 1000, D(10), D(25)),
    # ends on the 10th: 10 × 96 × 10 = 9,600 kWh billed, 21 × 96 × 10 = 20,160 kWh unbilled
    "C_END": ("2025-01-01", "2026-01-10", True, 500, D(10), D(10)),
    # no contract: 31 × 96 × 10 = 29,760 kWh unbilled (no_contract)
    "C_NOCON": ("2025-01-01", "", False, 500, D(10), D(10)),
}
# meter exchange on the 16th (single-part, no basic charge): MC_SWAP_A in service until the
# 15th (15 × 96 × 10 = 14,400 kWh), MC_SWAP_B from the 16th (16 × 96 × 20 = 30,720 kWh); the
# customer is in service all month and billed 14,400 + 30,720 = 45,120 kWh, nothing unbilled
SWAP_METERS = {"MC_SWAP_A": ("2025-01-01", "2026-01-15", D(10)),
               "MC_SWAP_B": ("2026-01-16", "", D(20))}
# the same exchange for C_SWAPR, with daily 00:00 register reads on both meters: MC_SWR_A from
# 1,000.00 (1 January 00:00) + 960 a day to 15,400.00 at its removal (16 January 00:00, closing
# the 15th); MC_SWR_B installed at 50.00 (16 January 00:00) + 1,920 a day to 30,770.00
# (1 February 00:00). Each day's register delta equals its 96 intervals (96 × 10, 96 × 20).
SWAPR_METERS = {"MC_SWR_A": ("2025-01-01", "2026-01-15", D(10), D("1000.00"), range(1, 16)),
                "MC_SWR_B": ("2026-01-16", "", D(20), D("50.00"), range(16, 32))}
# customer master versions (valid_from, valid_to, voltage, tariff type, kVA, PF standard, basic
# charge mode) and kWh / kvarh per quarter hour before / from the 16th; meter M<cid> all month
SEGMENTED = {
    "C_CAP": ([("2025-01-01", "2026-01-15", "kv_1_10", "two_part", 500, "none", "capacity"),
               ("2026-01-16", "", "kv_1_10", "two_part", 800, "none", "capacity")],
              (D(10), D(5)), (D(10), D(5))),
    "C_VOLT": ([("2025-01-01", "2026-01-15", "kv_1_10", "single_part", 630, "none", "none"),
                ("2026-01-16", "", "kv_35", "two_part", 1000, "0.90", "capacity")],
               (D(10), D(5)), (D(20), D(15))),  # from the 16th cos φ = 20 / √(20² + 15²) = 0.80
}


def write_case(data_dir: Path) -> None:
    master = data_dir / "master"
    write_csv(master / "retailers.csv", MASTER_HEADERS["retailers"], [
        ["R01", "测试售电R01", "测试银行", "6222000000000000", "测试售电R01有限公司", "1000000",
         "2025-01-01", ""]])
    write_csv(master / "customers.csv", MASTER_HEADERS["customers"], [
        [cid, f"测试用户{cid}", "R01", "industrial", "kv_1_10", "唐山", "测试", "two_part", kva,
         "none", "capacity", "", "", valid_from, valid_to]
        for cid, (valid_from, valid_to, _, kva, _, _) in CUSTOMERS.items()]
        + [[cid, f"测试用户{cid}", "R01", "industrial", "kv_1_10", "唐山", "测试",
            "single_part", 630, "none", "none", "", "", "2025-01-01", ""]
           for cid in ("C_SWAP", "C_SWAPR")]
        + [[cid, f"测试用户{cid}", "R01", "industrial", voltage, "唐山", "测试", tariff_type, kva,
            pf_standard, mode, "", "", valid_from, valid_to]
           for cid, (versions, _, _) in SEGMENTED.items()
           for valid_from, valid_to, voltage, tariff_type, kva, pf_standard, mode in versions])
    write_csv(master / "metering_points.csv", MASTER_HEADERS["metering_points"], [
        ["M" + cid, cid, 1, 1, 1, 8, 15, "2025-01-01", ""] for cid in CUSTOMERS]
        + [[mid, "C_SWAP", 1, 1, 1, 8, 15, valid_from, valid_to]
           for mid, (valid_from, valid_to, _) in SWAP_METERS.items()]
        + [[mid, "C_SWAPR", 1, 1, 1, 8, 15, valid_from, valid_to]
           for mid, (valid_from, valid_to, *_) in SWAPR_METERS.items()]
        + [["M" + cid, cid, 1, 1, 1, 8, 15, "2025-01-01", ""] for cid in SEGMENTED])
    write_csv(master / "contracts.csv", MASTER_HEADERS["contracts"], [
        ["K" + cid, cid, "R01", "PKG_SINGLE", "2026-01", "2026-12", "DEV_DEFAULT", "20", "50000",
         "active"] for cid in [*(c for c, spec in CUSTOMERS.items() if spec[2]), "C_SWAP",
                               "C_SWAPR", *SEGMENTED]])
    write_csv(master / "contract_volumes.csv", MASTER_HEADERS["contract_volumes"], [])
    # an account manager subscribed to unbilled energy; a customer contact subscribed too,
    # who must not get it (internal notice)
    write_csv(master / "contacts.csv",
              ["contact_id", "customer_id", "contact_name", "role", "phone", "email", "channels"],
              [["AM1", "", "客户经理", "account_manager", "13800000001", "am1@example.cn", "email"],
               ["CC1", "C_NEW", "联系人", "customer_contact", "13800000002", "cc1@example.cn",
                "sms"]])
    write_csv(master / "contact_subscriptions.csv", ["contact_id", "notice_type"],
              [["AM1", "unbilled_energy"], ["CC1", "unbilled_energy"]])
    rows = []
    for cid, (_, _, _, _, before, after) in CUSTOMERS.items():
        kwh = {s: (after if s.day >= 16 else before) for s in slots(2026, 1, [(0, 24)])}
        rows += read_rows("M" + cid, 15, kwh, {s: v / 2 for s, v in kwh.items()})
    for mid, (_, _, value) in SWAP_METERS.items():
        days = range(1, 16) if mid.endswith("A") else range(16, 32)
        kwh = {s: value for s in slots(2026, 1, [(0, 24)]) if s.day in days}
        rows += read_rows(mid, 15, kwh, {s: v / 2 for s, v in kwh.items()})
    registers = []
    for mid, (_, _, value, dial, days) in SWAPR_METERS.items():
        kwh = {s: value for s in slots(2026, 1, [(0, 24)]) if s.day in days}
        rows += read_rows(mid, 15, kwh, {s: v / 2 for s, v in kwh.items()})
        for day in [*days, days[-1] + 1]:  # 00:00 of each day and of the day after the last
            read_at = date(2026, 1, day) if day <= 31 else date(2026, 2, 1)
            registers.append([mid, "kwh_imp", f"{read_at} 00:00", f"{dial:.2f}"])
            dial += 96 * value
    for cid, (_, before, after) in SEGMENTED.items():
        kwh = {s: (after if s.day >= 16 else before)[0] for s in slots(2026, 1, [(0, 24)])}
        kvarh = {s: (after if s.day >= 16 else before)[1] for s in kwh}
        rows += read_rows("M" + cid, 15, kwh, kvarh)
    write_csv(data_dir / "landing" / "reads" / "reads_20260201_01.csv", READ_HEADER, rows)
    write_csv(data_dir / "landing" / "reads" / "registers_20260201_01.csv",
              ["meter_id", "channel", "read_at", "register_value"], registers)


# line_code -> (quantity, unit_price, amount_yuan); amount = round(quantity × price, 2) half up
LINES = {
    "C_NEW": {  # 38,400 kWh, in service 16–31 January: 16 of 31 days
        "energy_single": ("38400", "0.455", "17472.00"),  # 38,400 × 0.455
        "line_loss": ("38400", "0.013444", "516.25"),  # 516.2496
        "td_energy": ("38400", "0.1365", "5241.60"),
        "system_operation": ("38400", "0.0250", "960.00"),
        # 22.6 × 16 / 31 = 11.664516129… → 11.66451613; × 1,000 kVA = 11,664.51613
        "basic_capacity": ("1000", "11.66451613", "11664.52"),
        "government_funds": ("38400", "0.02406875", "924.24"),
    },
    "C_END": {  # 9,600 kWh, in service 1–10 January: 10 of 31 days
        "energy_single": ("9600", "0.455", "4368.00"),
        "line_loss": ("9600", "0.013444", "129.06"),  # 129.0624
        "td_energy": ("9600", "0.1365", "1310.40"),
        "system_operation": ("9600", "0.0250", "240.00"),
        # 22.6 × 10 / 31 = 7.290322580… → 7.29032258; × 500 kVA = 3,645.16129
        # (exact 500 × 22.6 × 10/31 = 3,645.1613 → 3,645.16 too)
        "basic_capacity": ("500", "7.29032258", "3645.16"),
        "government_funds": ("9600", "0.02406875", "231.06"),
    },
    "C_SWAP": {  # 45,120 kWh of two meters, in service all month: nothing prorated
        "energy_single": ("45120", "0.455", "20529.60"),
        "line_loss": ("45120", "0.013444", "606.59"),  # 606.59328
        "td_energy": ("45120", "0.1583", "7142.50"),  # single-part 1–10 kV; 7,142.496
        "system_operation": ("45120", "0.0250", "1128.00"),
        "government_funds": ("45120", "0.02406875", "1085.98"),  # 1,085.982
    },
}
# segments: (customer, segment_no) -> line_code -> (quantity, unit_price, amount_yuan)
SEGMENT_LINES = {
    # C_CAP 1–15 January, 500 kVA: 15 × 96 × 10 = 14,400 kWh
    ("C_CAP", 1): {
        "energy_single": ("14400", "0.455", "6552.00"),
        "line_loss": ("14400", "0.013444", "193.59"),  # 193.5936
        "td_energy": ("14400", "0.1365", "1965.60"),
        "system_operation": ("14400", "0.0250", "360.00"),
        # 22.6 × 15 / 31 = 10.935483870… → 10.93548387; × 500 kVA = 5,467.741935
        "basic_capacity": ("500", "10.93548387", "5467.74"),
        "government_funds": ("14400", "0.02406875", "346.59"),  # 346.59 exactly
    },
    # C_CAP 16–31 January, 800 kVA: 16 × 96 × 10 = 15,360 kWh
    ("C_CAP", 2): {
        "energy_single": ("15360", "0.455", "6988.80"),
        "line_loss": ("15360", "0.013444", "206.50"),  # 206.49984
        "td_energy": ("15360", "0.1365", "2096.64"),
        "system_operation": ("15360", "0.0250", "384.00"),
        # 22.6 × 16 / 31 = 11.66451613 (as C_NEW); × 800 kVA = 9,331.612904
        "basic_capacity": ("800", "11.66451613", "9331.61"),
        "government_funds": ("15360", "0.02406875", "369.70"),  # 369.696
    },
    # C_VOLT 1–15 January, single-part 1–10 kV, no PF standard: 14,400 kWh
    ("C_VOLT", 1): {
        "energy_single": ("14400", "0.455", "6552.00"),
        "line_loss": ("14400", "0.013444", "193.59"),
        "td_energy": ("14400", "0.1583", "2279.52"),
        "system_operation": ("14400", "0.0250", "360.00"),
        "government_funds": ("14400", "0.02406875", "346.59"),
    },
    # C_VOLT 16–31 January, two-part 35 kV, 1,000 kVA, PF 0.90: 16 × 96 × 20 = 30,720 kWh,
    # 16 × 96 × 15 = 23,040 kvarh → cos φ = 0.80 → +5 % (the segment's own kWh / kvarh)
    ("C_VOLT", 2): {
        "energy_single": ("30720", "0.455", "13977.60"),
        "line_loss": ("30720", "0.013444", "413.00"),  # 412.99968
        "td_energy": ("30720", "0.1145", "3517.44"),
        "system_operation": ("30720", "0.0250", "768.00"),
        "basic_capacity": ("1000", "11.66451613", "11664.52"),  # 11,664.51613
        # base = energy + basic + line loss + system operation + T&D (parameters in force)
        # = 13,977.60 + 11,664.52 + 413.00 + 768.00 + 3,517.44 = 30,340.56; × 5 % = 1,517.028
        "pf_adjustment": ("30340.56", "0.05", "1517.03"),
        "government_funds": ("30720", "0.02406875", "739.39"),  # 739.392
    },
}
SEGMENT_DAYS = {  # customer: [(segment_no, from, to, days, kWh, max demand kW, PF hundredths)]
    "C_CAP": [(1, date(2026, 1, 1), date(2026, 1, 15), 15, D("14400.000"), D("40.000"), 89),
              (2, date(2026, 1, 16), date(2026, 1, 31), 16, D("15360.000"), D("40.000"), 89)],
    "C_VOLT": [(1, date(2026, 1, 1), date(2026, 1, 15), 15, D("14400.000"), D("40.000"), 89),
               (2, date(2026, 1, 16), date(2026, 1, 31), 16, D("30720.000"), D("80.000"), 80)],
}
TOTALS = {
    # 17,472.00 + 516.25 + 5,241.60 + 960.00 + 11,664.52 + 924.24
    "C_NEW": D("36778.61"),
    # 4,368.00 + 129.06 + 1,310.40 + 240.00 + 3,645.16 + 231.06
    "C_END": D("9923.68"),
    # 20,529.60 + 606.59 + 7,142.50 + 1,128.00 + 1,085.98
    "C_SWAP": D("30492.67"),
    # segment 1: 6,552.00 + 193.59 + 1,965.60 + 360.00 + 5,467.74 + 346.59 = 14,885.52
    # segment 2: 6,988.80 + 206.50 + 2,096.64 + 384.00 + 9,331.61 + 369.70 = 19,377.25
    "C_CAP": D("34262.77"),
    # segment 1: 6,552.00 + 193.59 + 2,279.52 + 360.00 + 346.59 = 9,731.70
    # segment 2: 13,977.60 + 413.00 + 3,517.44 + 768.00 + 11,664.52 + 1,517.03 + 739.39
    #            = 32,596.98
    "C_VOLT": D("42328.68"),
}
LINES["C_SWAPR"] = LINES["C_SWAP"]  # registers change nothing: 45,120 kWh, same lines
TOTALS["C_SWAPR"] = TOTALS["C_SWAP"]
UNBILLED = {  # customer: (reason, first day, last day, days, kWh)
    "C_NEW": ("customer_not_active", date(2026, 1, 1), date(2026, 1, 15), 15, D("14400.000")),
    "C_END": ("customer_not_active", date(2026, 1, 11), date(2026, 1, 31), 21, D("20160.000")),
    "C_NOCON": ("no_contract", date(2026, 1, 1), date(2026, 1, 31), 31, D("29760.000")),
}


@pytest.fixture(scope="module")
def partial(module_flow):
    write_case(module_flow.data_dir)
    results = module_flow.run(FIRST_DAY, LAST_DAY)
    assert [r.success for r in results] == [True, True, True]  # reference, daily, monthly
    return module_flow


@pytest.mark.parametrize("customer_id", list(LINES))
def test_partial_month_bill_matches_the_hand_computation(partial, customer_id):
    rows = partial.sql("select line_code, quantity, unit_price, amount_yuan "
                       "from finance.bill_lines where customer_id = ? and period = ?",
                       [customer_id, PERIOD])
    got = {code: (q, p, a) for code, q, p, a in rows}
    assert got == {code: (D(q), D(p), D(a)) for code, (q, p, a) in LINES[customer_id].items()}
    ((total, kwh),) = partial.sql("select total_yuan, billed_kwh from finance.bills "
                                  "where customer_id = ? and period = ?", [customer_id, PERIOD])
    assert total == TOTALS[customer_id]
    assert kwh == D(LINES[customer_id]["td_energy"][0])


def test_days_in_service_and_the_version_used(partial):
    rows = partial.sql("select customer_id, customer_valid_from, days_in_service, days_in_month, "
                       "service_from, service_to, max_demand_kw, unbilled_reason "
                       "from core.int_customer_month where period = ? order by customer_id",
                       [PERIOD])
    assert rows == [
        # segmented month: the month's row names the first version (the lines are per segment)
        ("C_CAP", date(2025, 1, 1), 31, 31, date(2026, 1, 1), date(2026, 1, 31), D("40.000"),
         None),
        # maximum demand over the days in service only: 10 kWh per quarter hour = 40 kW
        ("C_END", date(2025, 1, 1), 10, 31, date(2026, 1, 1), date(2026, 1, 10), D("40.000"),
         None),
        # 25 kWh per quarter hour = 100 kW (the 40 kW of the 1st–15th are not its days)
        ("C_NEW", date(2026, 1, 16), 16, 31, date(2026, 1, 16), date(2026, 1, 31), D("100.000"),
         None),
        # meter exchange: in service all month on one meter or the other; 20 kWh / 15 min = 80 kW
        ("C_SWAP", date(2025, 1, 1), 31, 31, date(2026, 1, 1), date(2026, 1, 31), D("80.000"),
         None),
        ("C_SWAPR", date(2025, 1, 1), 31, 31, date(2026, 1, 1), date(2026, 1, 31), D("80.000"),
         None),
        ("C_VOLT", date(2025, 1, 1), 31, 31, date(2026, 1, 1), date(2026, 1, 31), D("80.000"),
         None),
    ]


def test_every_kwh_not_billed_is_unbilled_with_its_reason(partial):
    rows = partial.sql("select customer_id, reason, first_day, last_day, days, kwh "
                       "from finance.unbilled where period = ? order by customer_id", [PERIOD])
    assert {r[0]: r[1:] for r in rows} == UNBILLED
    # validated = billed + unbilled for each customer: 14,400 + 38,400 = 52,800 (C_NEW),
    # 9,600 + 20,160 = 29,760 (C_END), 0 + 29,760 (C_NOCON)
    sums = partial.sql("""
        select v.customer_id, v.kwh, coalesce(b.billed_kwh, 0), u.kwh
        from (select customer_id, sum(value) as kwh from core.int_interval_validated
              where channel = 'kwh_imp' group by all) v
        left join finance.bills b using (customer_id)
        left join finance.unbilled u using (customer_id)
        order by v.customer_id""")
    assert sums == [
        ("C_CAP", D("29760.000"), D("29760.000"), None),  # 14,400 + 15,360 in two segments
        ("C_END", D("29760.000"), D("9600.000"), D("20160.000")),
        ("C_NEW", D("52800.000"), D("38400.000"), D("14400.000")),
        ("C_NOCON", D("29760.000"), D(0), D("29760.000")),
        ("C_SWAP", D("45120.000"), D("45120.000"), None),
        ("C_SWAPR", D("45120.000"), D("45120.000"), None),
        ("C_VOLT", D("45120.000"), D("45120.000"), None),  # 14,400 + 30,720
    ]


def test_unbilled_energy_raises_an_alert(partial):
    rows = partial.sql("select alert_id, rule, metric_value from marts.alerts "
                       "where alert_type = 'unbilled_energy' order by alert_id")
    assert rows == [
        ("unbilled_energy:C_END:2026-01:customer_not_active", "customer_not_active", 20160.0),
        ("unbilled_energy:C_NEW:2026-01:customer_not_active", "customer_not_active", 14400.0),
        ("unbilled_energy:C_NOCON:2026-01:no_contract", "no_contract", 29760.0),
    ]


def test_the_account_manager_is_told_once_per_unbilled_row(partial):
    sent = partial.sql("select notice_key, contact_id, channel, status from notify.delivery_ledger "
                       "where notice_type = 'unbilled_energy' order by notice_key")
    assert sent == [
        ("unbilled_energy:C_END:2026-01:customer_not_active", "AM1", "email", "sent"),
        ("unbilled_energy:C_NEW:2026-01:customer_not_active", "AM1", "email", "sent"),
        ("unbilled_energy:C_NOCON:2026-01:no_contract", "AM1", "email", "sent"),
    ]
    (body,), = partial.sql("select body from notify.outbox "
                           "where notice_key = 'unbilled_energy:C_NEW:2026-01:customer_not_active'")
    assert "14400.000" in body and "2026-01-01至2026-01-15" in body and "用户档案未生效" in body


def test_the_completeness_test_catches_kwh_that_reach_no_bill(partial, tmp_path):
    """The issue's failure mode: C_NEW's 38,400 kWh on no bill and not in finance.unbilled. The
    dbt test must fail on exactly that customer-month (and pass on the untouched warehouse)."""
    warehouse = tmp_path / "warehouse.duckdb"  # same file name: the same DuckDB catalog
    copy_warehouse(partial.warehouse, warehouse)

    def completeness_test() -> subprocess.CompletedProcess:
        return dbt(tmp_path, warehouse, "test", "--select", COMPLETENESS_TEST, "--store-failures")

    passed = completeness_test()
    assert passed.returncode == 0, passed.stdout
    with duckdb.connect(str(warehouse)) as con:
        con.execute("delete from finance.bill_lines where customer_id = 'C_NEW'")
        con.execute("delete from finance.bills where customer_id = 'C_NEW'")
    failed = completeness_test()
    assert failed.returncode != 0
    with duckdb.connect(str(warehouse), read_only=True) as con:
        failures = con.execute(
            "select subject_id, period, validated_kwh, billed_kwh, unbilled_kwh "
            f"from {failures_table(con)}").fetchall()
    assert failures == [("C_NEW", PERIOD, D("52800.000"), None, D("14400.000"))]


def test_proration_is_an_effective_dated_parameter(partial, tmp_path):
    """basic_charge_proration = 0 from January 2026 (a new parameter row): C_NEW pays the full
    month, 1,000 kVA × 22.6 = 22,600.00, although in service 16 days."""
    warehouse = tmp_path / "warehouse.duckdb"
    copy_warehouse(partial.warehouse, warehouse)
    compiled = dbt(tmp_path, warehouse, "compile", "--quiet", "--select", "int_customer_month",
                   "fct_settlement_lines")
    assert compiled.returncode == 0, compiled.stdout
    sql = {m: next((tmp_path / "target" / "compiled").rglob(f"{m}.sql")).read_text()
           for m in ("int_customer_month", "fct_settlement_lines")}
    with duckdb.connect(str(warehouse)) as con:
        con.execute("""
            update config.settlement_parameters set valid_to = date '2025-12-31'
            where parameter = 'basic_charge_proration';
            insert into config.settlement_parameters values
                ('basic_charge_proration', 0, date '2026-01-01', null, 'test: full month');
            delete from core.int_customer_month where period = '2026-01';
        """)
        con.execute(f"insert into core.int_customer_month {sql['int_customer_month']}")
        rows = con.execute(
            f"select customer_id, quantity, unit_price, amount_yuan from "
            f"({sql['fct_settlement_lines']}) where line_code = 'basic_capacity' "
            "order by customer_id, segment_no").fetchall()
    assert rows == [
        # segments share the month's days in service (15 + 16 of 31): one month, not two
        ("C_CAP", D("500.000"), D("10.93548387"), D("5467.74")),
        ("C_CAP", D("800.000"), D("11.66451613"), D("9331.61")),
        ("C_END", D("500.000"), D("22.6"), D("11300.00")),  # 500 × 22.6
        ("C_NEW", D("1000.000"), D("22.6"), D("22600.00")),  # 1,000 × 22.6
        ("C_VOLT", D("1000.000"), D("11.66451613"), D("11664.52")),
    ]


def test_a_package_change_inside_a_month_takes_effect_on_the_next_first(partial, tmp_path):
    """Package changes at month boundaries: a PKG_SINGLE version at 0.500 valid from 16 January
    (the old one ending on the 15th) does not reprice January — C_SWAP's 45,120 kWh stay at
    0.455 (20,529.60), priced by the version in force on 1 January — and prices February."""
    warehouse = tmp_path / "warehouse.duckdb"
    copy_warehouse(partial.warehouse, warehouse)
    models = ("int_package_block_prices", "int_customer_month", "fct_settlement_lines")
    compiled = dbt(tmp_path, warehouse, "compile", "--quiet", "--select", *models)
    assert compiled.returncode == 0, compiled.stdout
    sql = {m: next((tmp_path / "target" / "compiled").rglob(f"{m}.sql")).read_text()
           for m in models}
    with duckdb.connect(str(warehouse)) as con:
        con.execute("""
            update config.retail_packages set valid_to = date '2026-01-15'
            where package_id = 'PKG_SINGLE';
            insert into config.retail_packages by name
                select * replace (0.500 as flat_price, date '2026-01-16' as valid_from,
                                  null as valid_to)
                from config.retail_packages where package_id = 'PKG_SINGLE';
            delete from core.int_customer_month where period = '2026-01';
        """)
        con.execute("create or replace table core.int_package_block_prices as "
                    f"{sql['int_package_block_prices']}")
        con.execute(f"insert into core.int_customer_month {sql['int_customer_month']}")
        prices = con.execute(
            "select period, price_yuan_per_kwh from core.int_package_block_prices "
            "where package_id = 'PKG_SINGLE' and block = 'flat' "
            "and period in ('2026-01', '2026-02') order by 1").fetchall()
        month = con.execute("select package_valid_from from core.int_customer_month "
                            "where customer_id = 'C_SWAP' and period = '2026-01'").fetchall()
        line = con.execute(
            f"select quantity, unit_price, amount_yuan from ({sql['fct_settlement_lines']}) "
            "where customer_id = 'C_SWAP' and line_code = 'energy_single'").fetchall()
    assert prices == [("2026-01", D("0.455")), ("2026-02", D("0.500"))]
    assert month == [(date(2025, 1, 1),)]
    assert line == [(D("45120.000"), D("0.455"), D("20529.60"))]


@pytest.mark.parametrize("customer_id", list(SEGMENTED))
def test_a_master_data_change_splits_the_month_into_segments(partial, customer_id):
    """Each segment priced with the version in force: its lines (hand computation in
    SEGMENT_LINES), the bill is one per month with the sum of all lines."""
    rows = partial.sql("select segment_no, line_code, quantity, unit_price, amount_yuan "
                       "from finance.bill_lines where customer_id = ? and period = ?",
                       [customer_id, PERIOD])
    got: dict = {}
    for segment_no, code, q, p, a in rows:
        got.setdefault((customer_id, segment_no), {})[code] = (q, p, a)
    assert got == {key: {code: (D(q), D(p), D(a)) for code, (q, p, a) in lines.items()}
                   for key, lines in SEGMENT_LINES.items() if key[0] == customer_id}
    ((total, kwh, count),) = partial.sql(
        "select total_yuan, billed_kwh, line_count from finance.bills "
        "where customer_id = ? and period = ?", [customer_id, PERIOD])
    assert total == TOTALS[customer_id]
    assert kwh == sum(seg[4] for seg in SEGMENT_DAYS[customer_id])
    assert count == len(rows)
    segments = partial.sql(
        "select segment_no, segment_from, segment_to, segment_days, kwh, max_demand_kw, "
        "pf_hundredths from core.int_customer_month_segments "
        "where customer_id = ? and period = ? order by segment_no", [customer_id, PERIOD])
    assert segments == SEGMENT_DAYS[customer_id]
    ((count,),) = partial.sql("select segment_count from core.int_customer_month "
                              "where customer_id = ? and period = ?", [customer_id, PERIOD])
    assert count == 2


def test_a_month_without_a_change_is_one_segment(partial):
    assert partial.sql("select customer_id, min(segment_no), max(segment_no) "
                       "from finance.bill_lines where customer_id not in ('C_CAP', 'C_VOLT') "
                       "group by all order by 1") == [
        (cid, 1, 1) for cid in ("C_END", "C_NEW", "C_SWAP", "C_SWAPR")]
    assert partial.sql("select customer_id, segment_from, segment_to, segment_days "
                       "from core.int_customer_month_segments "
                       "where customer_id in ('C_NEW', 'C_END') order by 1") == [
        ("C_END", date(2026, 1, 1), date(2026, 1, 10), 10),
        ("C_NEW", date(2026, 1, 16), date(2026, 1, 31), 16)]


def test_a_meter_exchange_with_registers_on_both_meters(partial):
    """C_SWAPR: both meters' daily register deltas agree with their intervals, so no sum-check
    failure (nor a register reset) on the exchange day or any other; billed 14,400 + 30,720 =
    45,120 kWh (test_partial_month_bill_matches_the_hand_computation has its lines)."""
    days = partial.sql("""
        select meter_id, reading_date, event, primary_delta from core.vee_register_days
        where meter_id in ('MC_SWR_A', 'MC_SWR_B') and reading_date between ? and ?
        order by 1, 2""", [date(2026, 1, 15), date(2026, 1, 16)])
    assert days == [("MC_SWR_A", date(2026, 1, 15), "normal", D("960.000")),  # 15,400 − 14,440
                    ("MC_SWR_B", date(2026, 1, 16), "normal", D("1920.000"))]  # 1,970 − 50
    assert partial.sql("select count(*), count(distinct reading_date), bool_and(event = 'normal') "
                       "from core.vee_register_days where meter_id in ('MC_SWR_A', 'MC_SWR_B')"
                       ) == [(31, 31, True)]  # 15 days on A, 16 on B
    assert partial.sql("""
        select count(*) from core.int_interval_validated
        where meter_id in ('MC_SWR_A', 'MC_SWR_B')
          and (failed_rules is not null or quality_flag <> 'ACTUAL')""") == [(0,)]
    assert partial.sql("""
        select count(*) from core.meter_anomalies
        where meter_id in ('MC_SWR_A', 'MC_SWR_B') or customer_id = 'C_SWAPR'""") == [(0,)]
    assert partial.sql("select billed_kwh from finance.bills where customer_id = 'C_SWAPR'"
                       ) == [(D("45120.000"),)]


def dbt(tmp_path: Path, warehouse: Path, *args: str) -> subprocess.CompletedProcess:
    """dbt on a copy of the scenario's warehouse, for January, with its own target folder."""
    return run_dbt_cli(tmp_path / "target", *args, warehouse=warehouse,
                       dbt_vars={"min_date": "2026-01-01", "max_date": "2026-02-01"})


def failures_table(con) -> str:
    """The table `dbt test --store-failures` wrote the completeness test's failing rows to."""
    ((schema, name),) = con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_name = ?", [COMPLETENESS_TEST]).fetchall()
    return f'"{schema}"."{name}"'

