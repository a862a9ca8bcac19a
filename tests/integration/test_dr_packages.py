"""Demand-response packages (issue 11 item 5, seed CN115271781A) on the §1 worked bill, July
2026: a customer enrolled in a DR package, curtailment plans of July as its DR events, settled
from the curtailment evaluation's results into a bill line, every bill invariant kept.

The events' results are written as the curtailment workflow writes them
(workflow.curtailment_results; its baseline is tested in test_workflows.py): the test is about
how the month's bill settles them. Hand computation (config seed dr_packages):

DR_REDUCTION (3.000000 元/kWh, min delivery 0.5, paid up to 1.2 × committed), committed 200 kW:
  P1 20 Jul 14:00–16:00 (120 min): baseline 1,000.000 kW, actual 700.000 kW
     delivered 300.000 × 120 / 60 = 600.000 kWh; committed 200 × 2 = 400.000 kWh
     600 ≥ 0.5 × 400, capped at 1.2 × 400 = 480.000 kWh paid
  P2 25 Jul 10:00–10:45 (45 min): baseline 900.000, actual 850.500
     delivered 49.500 × 45 / 60 = 37.125 kWh; committed 200 × 0.75 = 150.000 kWh
     37.125 < 75.000: not paid
  P3 3 Aug: not a July event
  dr_incentive = 480.000 kWh × −3.000000 = −1,440.00; bill 228,120.46 − 1,440.00 = 226,680.46
DR_DISCOUNT (0.0300 of energy): energy lines 36,720.00 + 47,600.00 + 40,000.00 + 10,200.00 =
  134,520.00; dr_discount = 134,520.00 × −0.0300 = −4,035.60; bill 224,084.86. An event of the
  month that missed its target forfeits it: the bill is 228,120.46 again.
analytics.dr_uptake replays July under both packages with the same rules, committing the plans'
targets (200 kW, as the enrollment): the same 1,440.00 and 4,035.60 (or 0.00 when forfeited).

A DR event of its own file (inbox/dr_events, domain.md §5) on the same bill, measured by the
curtailment evaluation's baseline code from the validated intervals (flat quarter hours of the
worked month: 100.691 kWh each on every July day but the 1st and the 31st). Monday 20 July, 30 kWh
of each flat quarter hour 14:00–16:00 moved to 07:00–09:00 of the same day (flat too: every
block total, the maximum demand and the validated kWh stay as they were):
  E1 20 Jul 14:00–16:00 (120 min), requested 100 kW: baseline = the like workdays 17, 16, 15,
     14, 13 Jul, 100.691 × 4 = 402.764 kW; actual 70.691 × 4 = 282.764 kW; reduction 120.000 kW
     ≥ 100 (met); delivered 120 × 120 / 60 = 240.000 kWh; committed 200 × 2 = 400.000 kWh;
     240 ≥ 0.5 × 400 and ≤ 1.2 × 400: 240.000 kWh paid
  P1 (plan) 20 Jul 13:00–15:00 overlaps E1 (13:00 < 16:00, 14:00 < 15:00): the file event wins,
     P1 is not paid (alone: baseline 1,000, actual 700, 600 kWh delivered, 480.000 paid)
  P4 (plan) 20 Jul 16:00–17:00 starts as E1 ends: no overlap, paid: baseline 900, actual 600,
     delivered 300 × 60 / 60 = 300.000 kWh; committed 200.000; paid min(300, 240) = 240.000
  dr_incentive = (240.000 + 240.000) × −3.000000 = −1,440.00; bill 228,120.46 − 1,440.00 =
  226,680.46 (paying P1 too would have been 960 kWh, −2,880.00).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal as D

import duckdb
import pytest

from tests.builders import write_csv
from tests.scenarios import Flow, scenario_fixture

worked = scenario_fixture("worked_bill_month", "worked")

PLANS = [  # plan_id, window start, window end, baseline kW, actual kW, target kW, met
    ("P1", "2026-07-20 14:00", "2026-07-20 16:00", "1000.000", "700.000", "200.000", True),
    ("P2", "2026-07-25 10:00", "2026-07-25 10:45", "900.000", "850.500", "200.000", False),
    ("P3", "2026-08-03 10:00", "2026-08-03 12:00", "900.000", "500.000", "200.000", True),
]


def enroll(flow: Flow, package: str) -> None:
    write_csv(flow.data_dir / "master" / "dr_enrollments.csv",
              ["customer_id", "dr_package_id", "committed_kw", "valid_from", "valid_to"],
              [["C_WORKED", package, "200", "2026-07-01", ""]])


def record_results(flow: Flow, plans: list[tuple]) -> None:
    """The curtailment plans and their results, as the curtailment workflow records them."""
    with duckdb.connect(str(flow.warehouse)) as con:
        for plan_id, start, end, baseline, actual, target, met in plans:
            con.execute(
                "insert into workflow.curtailment_plans values (?, 'planned', 'III', ?, "
                "'staggered_peak', ?, ?, ?, null, null, null, ?, 5, ?, date '2025-01-01', "
                "'plan.csv', ?)",
                [plan_id, f"需求响应 {plan_id}", start, end, start, end, end, start])
            con.execute(
                "insert or replace into workflow.curtailment_results values "
                "(?, 'C_WORKED', ?, ?, ?, ?, ?, '2026-07-13;2026-07-14', null, now())",
                [plan_id, baseline, actual, D(baseline) - D(actual), target, met])


def settle_july(flow: Flow) -> None:
    """Master data again (the enrollment), then July's monthly job."""
    from dagster import DagsterInstance

    from orchestration.runner import run_job

    with DagsterInstance.ephemeral() as instance:
        defs = flow.defs()
        assert run_job(defs, "reference_job", instance).success
        assert run_job(defs, "monthly_job", instance, partition_key="2026-07-01").success


def bill(flow: Flow) -> tuple:
    (row,) = flow.sql("select total_yuan, billed_kwh, line_count from finance.bills "
                      "where customer_id = 'C_WORKED' and period = '2026-07'")
    (lines,) = flow.sql("select sum(amount_yuan) from finance.bill_lines "
                        "where customer_id = 'C_WORKED' and period = '2026-07'")
    assert lines[0] == row[0]  # the lines sum to the total
    assert row[1] == D("300000.000")  # billed kWh = validated kWh, DR or not
    return row


def uptake(flow: Flow) -> list[tuple]:
    return flow.sql("select dr_package_id, months, events, months_forfeited, paid_kwh, gain_yuan, "
                    "rank, enrolled_dr_package_id from analytics.dr_uptake "
                    "where customer_id = 'C_WORKED' order by rank")


def dr_lines(flow: Flow) -> list[tuple]:
    return flow.sql("select line_no, line_code, quantity, unit, unit_price, amount_yuan "
                    "from finance.bill_lines where customer_id = 'C_WORKED' "
                    "and period = '2026-07' and line_code like 'dr_%'")


@pytest.mark.writes
def test_a_load_reduction_package_pays_the_delivered_reduction(worked):
    enroll(worked, "DR_REDUCTION")
    record_results(worked, PLANS)
    settle_july(worked)

    events = worked.sql("select plan_id, window_minutes, delivered_kwh, committed_kwh, paid_kwh, "
                        "settlement_note from core.fct_dr_events order by plan_id")
    assert events == [
        ("P1", 120, D("600.000"), D("400.000"), D("480.000"), "paid up to 1.2000 × the commitment"),
        ("P2", 45, D("37.125"), D("150.000"), D("0.000"),
         "delivered below 0.5000 of the commitment: not paid"),
    ]
    assert dr_lines(worked) == [
        (95, "dr_incentive", D("480.000"), "kWh", D("-3.00000000"), D("-1440.00"))]
    total, _, lines = bill(worked)
    assert total == D("226680.46") and lines == 12
    # the uptake simulation replays July under both packages (commitment = the plans' 200 kW
    # target): 1,440.00 from load reduction; the discount forfeited by P2's missed target
    assert uptake(worked) == [
        ("DR_REDUCTION", 1, 2, 0, D("480.000"), D("1440.00"), 1, "DR_REDUCTION"),
        ("DR_DISCOUNT", 1, 2, 1, D("0.000"), D("0.00"), 2, "DR_REDUCTION")]


@pytest.mark.writes
def test_a_price_discount_holds_while_targets_are_met_and_is_forfeited_by_a_miss(worked):
    enroll(worked, "DR_DISCOUNT")
    record_results(worked, [PLANS[0]])  # P1 met its target
    settle_july(worked)
    assert dr_lines(worked) == [
        (96, "dr_discount", D("134520.000"), "元", D("-0.03000000"), D("-4035.60"))]
    assert bill(worked)[0] == D("224084.86")
    (month,) = worked.sql("select events, events_missed, discount_forfeited from core.int_dr_month")
    assert month == (1, 0, False)
    assert [(row[0], row[5], row[6]) for row in uptake(worked)] == [
        ("DR_DISCOUNT", D("4035.60"), 1), ("DR_REDUCTION", D("1440.00"), 2)]

    record_results(worked, [PLANS[1]])  # P2 missed its target: July's discount is forfeited
    settle_july(worked)
    assert dr_lines(worked) == []
    assert bill(worked)[0] == D("228120.46")
    assert worked.sql("select events, events_missed, discount_forfeited from core.int_dr_month"
                      ) == [(2, 1, True)]


@pytest.mark.writes
def test_an_enrollment_naming_an_unknown_dr_package_is_refused_with_file_line_and_rule(worked):
    enroll(worked, "DR_NOPE")
    from dagster import DagsterInstance

    from orchestration.runner import run_job

    with DagsterInstance.ephemeral() as instance:
        result = run_job(worked.defs(), "reference_job", instance, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.step_failure_data.error.to_string()
    assert ("dr_enrollments.csv line 2: column dr_package_id = 'DR_NOPE' is not one of "
            "['DR_DISCOUNT', 'DR_REDUCTION'] (rule: enumeration)") in message


# -- DR events of their own file (inbox/dr_events) ----------------------------------------------

DR_EVENT_HEADER = ["event_id", "window_start", "window_end", "customer_id", "requested_kw",
                   "issued_by", "notified_at"]


def move_flat_energy(flow: Flow, kwh: str, taken: tuple[str, str], given: tuple[str, str]) -> None:
    """Move `kwh` from each quarter hour of one window of validated intervals to each of another
    (same day, same TOU block, as many quarter hours): the customer responded, the month's
    totals stay."""
    with duckdb.connect(str(flow.warehouse)) as con:
        for (start, end), sign in ((taken, -1), (given, 1)):
            moved = con.execute(
                "update core.int_interval_validated set value = value + ? where meter_id ="
                " 'M_WORKED' and channel = 'kwh_imp' and interval_start >= ? and interval_start"
                " < ? returning interval_start", [sign * D(kwh), start, end]).fetchall()
            assert len(moved) == 8


def evaluate_by_the_sensor(flow: Flow, now: datetime) -> list[str]:
    """One tick of curtailment_sensor at `now` and the curtailment_job run it requests; its
    reasons."""
    from dagster import DagsterInstance, build_sensor_context

    from foundation.resources import Gridledger
    from orchestration.runner import run_job
    from orchestration.workflow_sensors import build_curtailment_sensor

    sensor = build_curtailment_sensor(clock=lambda: now)
    gridledger = Gridledger(warehouse=str(flow.warehouse), data_dir=str(flow.data_dir))
    with DagsterInstance.ephemeral() as instance:
        result = sensor(build_sensor_context(instance=instance,
                                             resources={"gridledger": gridledger}))
        (request,) = result.run_requests
        assert run_job(flow.defs(), "curtailment_job", instance,
                       run_config=request.run_config).success
    return request.tags["reasons"].split(",")


@pytest.mark.writes
def test_a_dr_event_of_the_event_file_is_settled_from_the_curtailment_baseline(worked):
    from assets.meters.master_data import load_master_data

    enroll(worked, "DR_REDUCTION")
    with duckdb.connect(str(worked.warehouse)) as con:  # the enrollment, before the event
        load_master_data(con, worked.data_dir / "master")
    move_flat_energy(worked, "30", ("2026-07-20 14:00", "2026-07-20 16:00"),
                     ("2026-07-20 07:00", "2026-07-20 09:00"))
    write_csv(worked.data_dir / "inbox" / "dr_events" / "dispatch_0720.csv", DR_EVENT_HEADER,
              [["E1", "2026-07-20 14:00", "2026-07-20 16:00", "C_WORKED", "100",
                "冀北负荷聚合商", "2026-07-19 17:00"]])
    # the sensor's first tick: the new file, the window's end and an hourly tick since then
    assert evaluate_by_the_sensor(worked, datetime(2026, 7, 21, 9)) == [
        "file:dr_events/dispatch_0720.csv", "dr:E1:window_end", "dr:E1:hourly_tick"]
    result = ("E1", "C_WORKED", D("402.764"), D("282.764"), D("120.000"), D("100.000"), True,
              "2026-07-17;2026-07-16;2026-07-15;2026-07-14;2026-07-13", "ok")
    results = ("select event_id, customer_id, baseline_kw, actual_kw, reduction_kw, target_kw,"
               " met, baseline_dates, detail from workflow.dr_event_results")
    assert worked.sql(results) == [result]
    evaluate_by_the_sensor(worked, datetime(2026, 7, 21, 10, 1))  # hourly tick: nothing new
    assert worked.sql(results) == [result]

    record_results(worked, [  # two plans of the same day: one overlaps E1, one touches it
        ("P1", "2026-07-20 13:00", "2026-07-20 15:00", "1000.000", "700.000", "200.000", True),
        ("P4", "2026-07-20 16:00", "2026-07-20 17:00", "900.000", "600.000", "200.000", True)])
    settle_july(worked)

    assert worked.sql("select source, event_id, plan_id, window_minutes, delivered_kwh,"
                      " committed_kwh, paid_kwh, superseded_by, settlement_note"
                      " from core.fct_dr_events order by window_start") == [
        ("curtailment_plan", "P1", "P1", 120, D("600.000"), D("400.000"), D("0.000"), "E1",
         "covered by DR event E1 of the event file: settled there, not paid twice"),
        ("dr_event_file", "E1", None, 120, D("240.000"), D("400.000"), D("240.000"), None,
         "paid in full"),
        ("curtailment_plan", "P4", "P4", 60, D("300.000"), D("200.000"), D("240.000"), None,
         "paid up to 1.2000 × the commitment"),
    ]
    assert worked.sql("select events, events_missed, paid_kwh from core.int_dr_month") == [
        (2, 0, D("480.000"))]
    assert dr_lines(worked) == [
        (95, "dr_incentive", D("480.000"), "kWh", D("-3.00000000"), D("-1440.00"))]
    total, _, lines = bill(worked)  # lines sum to the total, billed kWh = validated kWh
    assert total == D("226680.46") and lines == 12
