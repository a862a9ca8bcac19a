"""domain.md §1 worked bill through the real pipeline: landing CSV → Dagster → dbt → finance.

Expected values are the hand computation in domain.md, not numbers read back from the code. The
month is the session's `worked_bill_month` scenario (shared with test_bill_documents.py and
test_money_preview.py).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.scenarios import scenario_fixture

EXPECTED_LINES = {
    # line_code: (quantity, unit_price, amount_yuan)
    "energy_sharp": ("45000.000", "0.816", "36720.00"),
    "energy_peak": ("70000.000", "0.680", "47600.00"),
    "energy_flat": ("100000.000", "0.400", "40000.00"),
    "energy_valley": ("85000.000", "0.120", "10200.00"),
    "line_loss": ("300000.000", "0.013249", "3974.70"),
    "td_energy": ("300000.000", "0.1365", "40950.00"),
    "system_operation": ("300000.000", "0.0250", "7500.00"),
    "basic_demand": ("840.000", "36.1", "30324.00"),
    "basic_demand_excess": ("20.000", "72.2", "1444.00"),
    "pf_adjustment": ("218712.700", "0.01", "2187.13"),
    "government_funds": ("300000.000", "0.02406875", "7220.63"),
}


worked = scenario_fixture("worked_bill_month", "worked")


def test_worked_bill_total_is_228120_46(worked):
    ((total, kwh, md, pf),) = worked.sql(
        "select total_yuan, billed_kwh, max_demand_kw, power_factor from finance.bills "
        "where customer_id = 'C_WORKED' and period = '2026-07'"
    )
    assert total == Decimal("228120.46")
    assert kwh == Decimal("300000.000")
    assert md == Decimal("860.000")
    assert pf == Decimal("0.88")


def test_worked_bill_lines_match_the_hand_computation(worked):
    rows = worked.sql(
        "select line_code, quantity, unit_price, amount_yuan from finance.bill_lines "
        "where customer_id = 'C_WORKED' order by line_no"
    )
    got = {code: (q, p, a) for code, q, p, a in rows}
    assert set(got) == set(EXPECTED_LINES)
    for code, (quantity, price, amount) in EXPECTED_LINES.items():
        assert got[code] == (Decimal(quantity), Decimal(price), Decimal(amount)), code
    assert sum(a for _, _, a in got.values()) == Decimal("228120.46")


def test_every_worked_interval_is_actual_with_its_source(worked):
    rows = worked.sql(
        "select quality_flag, method, count(*), count(distinct version) "
        "from core.int_interval_validated group by all"
    )
    assert rows == [("ACTUAL", "actual", 31 * 96 * 2, 1)]


@pytest.mark.writes
def test_rerunning_the_month_changes_nothing(worked):
    before = worked.sql("select * from finance.bill_lines order by line_no")
    from dagster import DagsterInstance

    from orchestration.runner import run_job

    with DagsterInstance.ephemeral() as instance:
        assert run_job(worked.defs(), "monthly_job", instance, partition_key="2026-07-01").success
    assert worked.sql("select * from finance.bill_lines order by line_no") == before
    assert worked.sql("select count(*) from finance.bills") == [(1,)]
