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
"""

from __future__ import annotations

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
