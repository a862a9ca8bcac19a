"""Determinants resting on estimates (issue 9, item 3): a genuine 600 kW overload on a 400 kVA
customer with no register read to confirm it.

C_OVER: 10 kV two-part, actual-demand basic charge (MD × 36.1 元/kW·月, January 2026),
contract capacity 400 kVA; 37.5 kWh every quarter hour of January (150 kW) except 14 January
10:00–10:15, read 150 kWh = 600 kW. Spike rule: 150 kWh > physical max 400 × 0.25 × 1.2 = 120
kWh and > 3 × the like-day median 37.5 = 112.5 kWh, and no register read confirms the day →
VEE replaces it by linear interpolation between its neighbours: 37.5 kWh = 150 kW.

Hand computation:
- held (policy estimated_determinant_policy = 1, the seed default): the validated max demand is
  150 kW, the read 600 kW → the bill names max_demand, bill_status held, one finance.bill_holds
  row (raw 600.000 kW, validated 150.000 kW); its demand line 150 × 36.1 = 5,415.00 is not sent:
  no bill document, no bill_ready notice. 600 kW > 400 kVA → meter_anomaly
  replaced_spike_over_capacity; capacity audit: 600 > 1.2 × 400 = 480 kW on 1 day read, 0 days
  validated (raw and validated maxima side by side).
- released: an approved manual edit puts 150.000 kWh back on the interval (EDITED); the month
  re-run finds the max demand on a read again: the hold is released by manual_edit:王工 with
  600.000 kW and the bill is issued at 600 × 36.1 = 21,660.00 (16,245.00 more than held).

Two customers with the same month and kVA whose replaced spike holds nothing:
- C_FAULT (actual demand): the read is 2,000 kWh = 8,000 kW, above estimated_demand_plausible_
  factor 2.0 × 400 = 800 kW — a meter fault, not a load the connection can carry: issued at
  150 × 36.1 = 5,415.00, still a meter_anomaly.
- C_CAP (capacity basic charge): the same 600 kW read, but its maximum demand does not price
  the bill (basic charge 400 kVA × 22.6 = 9,040.00): issued, still a meter_anomaly.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from tests.builders import (
    JANUARY_BLOCKS,
    READ_HEADER,
    CaseCustomer,
    read_rows,
    slots,
    write_case_master,
    write_csv,
)

D = Decimal
PERIOD = "2026-01"
SPIKE = datetime(2026, 1, 14, 10, 0)
EDIT_HEADER = ["meter_id", "channel", "interval_start", "value", "reason", "approver", "edited_at"]

OVER = CaseCustomer("C_OVER", "PKG_FIXED_TOU", {}, D(0), capacity_kva=400,
                    basic_charge_mode="actual_demand", transformer_kva=400)
FAULT = CaseCustomer("C_FAULT", "PKG_FIXED_TOU", {}, D(0), capacity_kva=400,
                     basic_charge_mode="actual_demand", transformer_kva=400)
CAP = CaseCustomer("C_CAP", "PKG_FIXED_TOU", {}, D(0), capacity_kva=400,
                   basic_charge_mode="capacity", transformer_kva=400)
SPIKE_READ = [(OVER, D("150.000")), (FAULT, D("2000.000")), (CAP, D("150.000"))]


def write_case(data_dir) -> None:
    write_case_master(data_dir, [c for c, _ in SPIKE_READ], [("R01", "1000000")])
    write_csv(data_dir / "master" / "contacts.csv",
              ["contact_id", "customer_id", "contact_name", "role", "phone", "email", "channels"],
              [["CC1", "C_OVER", "联系人", "customer_contact", "13800000002", "cc1@example.cn",
                "email"]])
    write_csv(data_dir / "master" / "contact_subscriptions.csv", ["contact_id", "notice_type"],
              [["CC1", "bill_ready"]])
    rows = []
    for customer, spike_read in SPIKE_READ:
        kwh = {slot: D("37.500") for hours in JANUARY_BLOCKS.values()
               for slot in slots(2026, 1, hours)}
        kwh[SPIKE] = spike_read
        kvarh = {slot: D("10.000") for slot in kwh}
        rows += read_rows(customer.meter_id, 15, kwh, kvarh)
    write_csv(data_dir / "landing" / "reads" / "reads_20260201_01.csv", READ_HEADER, rows)


def demand_line(flow) -> tuple[Decimal, Decimal]:
    (row,) = flow.sql("select quantity, amount_yuan from finance.bill_lines "
                      "where customer_id = 'C_OVER' and period = ? "
                      "and line_code = 'basic_demand_actual'", [PERIOD])
    return row


@pytest.fixture(scope="module")
def held(module_flow):
    write_case(module_flow.data_dir)
    results = module_flow.run(date(2026, 1, 1), date(2026, 1, 31))
    assert all(r.success for r in results)
    module_flow.held = {
        "bill": module_flow.sql("select bill_status, determinants_on_estimate, max_demand_kw "
                                "from finance.bills where customer_id = 'C_OVER'"),
        "holds": module_flow.sql(
            "select determinant, reason, raw_value, validated_value, interval_start, status, "
            "released_by from finance.bill_holds order by all"),
        "line": demand_line(module_flow),
        "anomalies": module_flow.sql(
            "select meter_id, anomaly, n_intervals, threshold from core.meter_anomalies "
            "where anomaly = 'replaced_spike_over_capacity'"),
        "alerts": module_flow.sql(
            "select alert_type, rule, meter_id from marts.alerts "
            "where alert_type = 'meter_anomaly' and rule = 'spike_over_capacity'"),
        "demand": module_flow.sql(
            "select max_demand_kw, raw_max_demand_kw, days_over_capacity, raw_days_over_capacity "
            "from core.int_customer_month_demand where customer_id = 'C_OVER'"),
        "document": document(module_flow).exists(),
        "notices": bill_ready_notices(module_flow),
    }
    return module_flow


@pytest.fixture(scope="module")
def released(held):
    write_csv(held.data_dir / "edits" / "edits_20260205.csv", EDIT_HEADER, [
        [OVER.meter_id, "kwh_imp", f"{SPIKE:%Y-%m-%d %H:%M}", "150.000",
         "genuine overload confirmed on site", "王工", "2026-02-05 09:30"]])
    results = held.run(date(2026, 1, 1), date(2026, 1, 31))
    assert all(r.success for r in results)
    return held


def test_the_spike_is_replaced_by_interpolation(held):
    assert held.sql("select quality_flag, method, value, raw_value, failed_rule "
                    "from core.int_interval_validated where meter_id = 'MC_OVER' "
                    "and channel = 'kwh_imp' and interval_start = ?", [SPIKE]) == [
        ("ESTIMATED", "linear_interpolation", D("37.500"), D("150.000"), "spike")]


def test_a_replaced_spike_over_capacity_is_a_meter_anomaly(held):
    meters = sorted(c.meter_id for c, _ in SPIKE_READ)
    assert sorted(held.held["anomalies"]) == [
        (m, "replaced_spike_over_capacity", 1, 400.0) for m in meters]
    assert sorted(held.held["alerts"]) == [
        ("meter_anomaly", "spike_over_capacity", m) for m in meters]


def test_a_meter_fault_or_a_demand_that_does_not_price_the_bill_holds_nothing(held):
    assert held.sql(
        "select customer_id, bill_status, determinants_on_estimate, max_demand_kw "
        "from finance.bills where customer_id in ('C_FAULT', 'C_CAP') order by 1") == [
        ("C_CAP", "issued", None, D("150.000")), ("C_FAULT", "issued", None, D("150.000"))]
    assert held.sql("select customer_id, line_code, quantity, amount_yuan from finance.bill_lines "
                    "where customer_id in ('C_FAULT', 'C_CAP') and line_code like 'basic%' "
                    "order by 1") == [
        ("C_CAP", "basic_capacity", D("400.000"), D("9040.00")),    # 400 × 22.6
        ("C_FAULT", "basic_demand_actual", D("150.000"), D("5415.00"))]  # 150 × 36.1


def test_the_capacity_audit_counts_the_read_maximum(held):
    # 600 kW read > 1.2 × 400 = 480 kW on 14 January; validated 150 kW on no day
    assert held.held["demand"] == [(D("150.000"), D("600.000"), 0, 1)]


def test_the_bill_is_held_with_raw_and_validated_values(held):
    assert held.held["bill"] == [("held", "max_demand", D("150.000"))]
    assert held.held["holds"] == [("max_demand", "max_demand_on_estimate", D("600.000"),
                                   D("150.000"), SPIKE, "held", None)]
    assert held.held["line"] == (D("150.000"), D("5415.00"))  # 150 × 36.1


def document(flow):
    return flow.data_dir.parent / "bills" / PERIOD / "C_OVER.html"


def bill_ready_notices(flow) -> int:
    if not flow.sql("select 1 from information_schema.tables "
                    "where table_schema = 'notify' and table_name = 'delivery_ledger'"):
        return 0
    return flow.sql("select count(*) from notify.delivery_ledger "
                    "where notice_type = 'bill_ready'")[0][0]


def test_a_held_bill_gets_no_document_and_no_bill_ready_notice(held):
    assert held.held["document"] is False
    assert held.held["notices"] == 0


def test_an_approved_edit_releases_the_bill_at_600_kw(released):
    assert released.sql("select quality_flag, value from core.int_interval_validated "
                        "where meter_id = 'MC_OVER' and channel = 'kwh_imp' "
                        "and interval_start = ?", [SPIKE]) == [("EDITED", D("150.000"))]
    assert released.sql(
        "select determinant, raw_value, validated_value, status, released_by, released_value "
        "from finance.bill_holds") == [
        ("max_demand", D("600.000"), D("150.000"), "released", "manual_edit:王工",
         D("600.000"))]
    assert released.sql("select bill_status, determinants_on_estimate, max_demand_kw "
                        "from finance.bills where customer_id = 'C_OVER'") == [
        ("issued", None, D("600.000"))]
    assert demand_line(released) == (D("600.000"), D("21660.00"))  # 600 × 36.1
    assert document(released).exists() and bill_ready_notices(released) == 1
    assert D("21660.00") - D("5415.00") == D("16245.00")
    # the edit ends the anomaly: the interval is no longer an estimate
    assert released.sql("select count(*) from core.meter_anomalies "
                        "where anomaly = 'replaced_spike_over_capacity' "
                        "and meter_id = 'MC_OVER'") == [(0,)]
