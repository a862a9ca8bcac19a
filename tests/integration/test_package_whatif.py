"""Package recommendation by re-rating (issue 11, domain.md §9 after CN118212027A): the §1
worked bill (C_WORKED, July 2026, package PKG_FIXED_TOU) re-priced under every package it may
take, by the billing models themselves (macro settlement_lines).

Expected values are hand computations from the worked bill's determinants and the shipped
seeds, never read back from the pipeline. The package-independent lines of the worked bill do
not change: T&D 40,950.00 + system operation 7,500.00 + basic demand 30,324.00 + excess
1,444.00 = 80,218.00 (in the PF base) and government funds 7,220.63 (outside it); PF rate
+1.0 %, line-loss rate r = 2.87 %, 300,000 kWh. No deviation: the customer used exactly its
contracted 300,000 kWh, so deviation is 0 under every package.
"""

from __future__ import annotations

import subprocess
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from foundation.warehouse import connect, copy_warehouse
from tests.builders import run_dbt_cli
from tests.scenarios import scenario_fixture

D = Decimal
worked = scenario_fixture("worked_bill_month", "worked")

# PKG_LINKED (F 0.390, λ 0.3, July 2026 agency price 0.441): base 0.7 × 0.390 + 0.3 × 0.441 =
# 0.4053; sharp 0.4053 × 2.04 = 0.826812, peak × 1.70 = 0.689010, flat 0.405300, valley × 0.30 =
# 0.121590.
#   energy  45,000 × 0.826812 = 37,206.54; 70,000 × 0.689010 = 48,230.70;
#           100,000 × 0.405300 = 40,530.00; 85,000 × 0.121590 = 10,335.15 → 136,302.39
#   line loss  average 136,302.39 / 300,000 = 0.4543413 → 0.454341;
#           0.454341 × 0.0287 / 0.9713 = 0.0134249 → 0.013425; × 300,000 = 4,027.50
#   PF      base 136,302.39 + 4,027.50 + 80,218.00 = 220,547.89; × 1 % = 2,205.4789 → 2,205.48
#   total   220,547.89 + 2,205.48 + 7,220.63 = 229,974.00; saving 228,120.46 − 229,974.00 =
#           −1,853.54 (dearer)
# PKG_SINGLE (0.455 for every kWh):
#   energy  300,000 × 0.455 = 136,500.00
#   line loss  0.455 × 0.0287 / 0.9713 = 0.0134444 → 0.013444; × 300,000 = 4,033.20
#   PF      base 136,500.00 + 4,033.20 + 80,218.00 = 220,751.20; × 1 % = 2,207.512 → 2,207.51
#   total   220,751.20 + 2,207.51 + 7,220.63 = 230,179.34; saving −2,058.88
EXPECTED = {
    # package: (energy, line loss, PF adjustment, package-dependent, total, saving)
    "PKG_FIXED_TOU": ("134520.00", "3974.70", "2187.13", "140681.83", "228120.46", "0.00"),
    "PKG_LINKED": ("136302.39", "4027.50", "2205.48", "142535.37", "229974.00", "-1853.54"),
    "PKG_SINGLE": ("136500.00", "4033.20", "2207.51", "142740.71", "230179.34", "-2058.88"),
}
# PKG_SPREAD (R = market average 0.392, s·α = 0.030 × 0.5 = 0.015): sharp 0.784680, peak
# 0.651400, flat 0.377000, valley 0.102600 → energy 35,310.60 + 45,598.00 + 37,700.00 +
# 8,721.00 = 127,329.60; average 0.424432 → line loss 0.012541 × 300,000 = 3,762.30; PF base
# 211,309.90 → 2,113.10; total 220,643.63, saving +7,476.83: the cheapest, rank 1.
# PKG_GREEN (flat 0.410): energy 137,883.00, line loss 0.013581 → 4,074.30, PF 2,221.75, green
# value 300,000 × 0.015 = 4,500.00 (outside the PF base); total 236,117.68, saving −7,997.22.
RANKED = [("PKG_SPREAD", "7476.83"), ("PKG_FIXED_TOU", "0.00"), ("PKG_LINKED", "-1853.54"),
          ("PKG_SINGLE", "-2058.88"), ("PKG_GREEN", "-7997.22")]


def test_the_worked_bill_re_rated_under_two_packages_to_the_fen(worked):
    rows = worked.sql(
        "select package_id, energy_yuan, line_loss_yuan, pf_adjustment_yuan,"
        " package_dependent_yuan, total_yuan, saving_yuan, deviation_yuan,"
        " deviation_change_yuan, package_independent_yuan, actual_total_yuan, kwh"
        " from analytics.package_whatif where customer_id = 'C_WORKED' and period = '2026-07'"
        " and package_id in ('PKG_FIXED_TOU', 'PKG_LINKED', 'PKG_SINGLE') order by package_id")
    got = {row[0]: row[1:7] for row in rows}
    assert got == {pkg: tuple(D(v) for v in values) for pkg, values in EXPECTED.items()}
    for row in rows:
        # deviation 0 under every package; T&D, system operation, basic charge and funds
        # 80,218.00 + 7,220.63 unchanged; the actual bill is domain.md §1's
        assert row[7:] == (D("0.00"), D("0.00"), D("87438.63"), D("228120.46"),
                           D("300000.000")), row[0]


def test_the_current_package_re_rated_equals_the_bill_line_by_line(worked):
    whatif = worked.sql(
        "select segment_no, line_code, quantity, unit_price, amount_yuan"
        " from core.fct_package_whatif_lines where customer_id = 'C_WORKED'"
        " and package_id = 'PKG_FIXED_TOU' and is_current order by line_no")
    billed = worked.sql(
        "select segment_no, line_code, quantity, unit_price, amount_yuan from finance.bill_lines"
        " where customer_id = 'C_WORKED' and period = '2026-07' order by line_no")
    assert len(billed) == 11
    assert whatif == billed


def test_packages_are_ranked_by_saving_and_the_residential_one_is_not_offered(worked):
    rows = worked.sql(
        "select package_id, rank, saving_yuan, saving_per_month_yuan, months, offered, reason"
        " from analytics.package_whatif_summary where customer_id = 'C_WORKED'"
        " order by rank nulls last, package_id")
    assert [(r[0], r[1], r[2]) for r in rows[:5]] == [
        (pkg, rank, D(saving)) for rank, (pkg, saving) in enumerate(RANKED, start=1)]
    assert all(r[2] == r[3] and r[4] == 1 and r[5] for r in rows[:5])  # one month
    # the residential tiered package: not for an industrial 1–10 kV two-part customer
    assert rows[5] == ("PKG_TIERED_RES", None, None, None, 0, False,
                       "not offered to industrial / kv_1_10 / two_part (package_eligibility)")


def dbt(tmp_path: Path, warehouse: Path, *args: str) -> subprocess.CompletedProcess:
    """dbt on a copy of the scenario's warehouse, for July 2026, with its own target folder."""
    return run_dbt_cli(tmp_path / "target", *args, warehouse=warehouse,
                       dbt_vars={"min_date": "2026-07-01", "max_date": "2026-08-01"})


def test_an_expired_package_is_not_offered_and_says_why(worked, tmp_path):
    """PKG_LINKED ending on 30 June 2026: in July it has no version in force, so it is neither
    priced nor ranked, and its rows say `expired on 2026-06-30`; the other packages keep their
    what-if and ranks."""
    warehouse = tmp_path / "warehouse.duckdb"
    copy_warehouse(worked.warehouse, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("update config.retail_packages set valid_to = date '2026-06-30'"
                    " where package_id = 'PKG_LINKED'")
    # the monthly re-rating models; not analytics_job's (tag analytics: the retailer
    # recommendation reads tables only that job writes)
    run = dbt(tmp_path, warehouse, "run", "--quiet", "--select", "int_package_block_prices",
              "int_package_eligibility+", "--exclude", "tag:analytics")
    assert run.returncode == 0, run.stdout + run.stderr
    with duckdb.connect(str(warehouse), read_only=True) as con:
        month = con.execute(
            "select eligible, reason, total_yuan, saving_yuan from analytics.package_whatif"
            " where customer_id = 'C_WORKED' and package_id = 'PKG_LINKED'").fetchall()
        lines = con.execute("select count(*) from core.fct_package_whatif_lines"
                            " where package_id = 'PKG_LINKED'").fetchall()
        ranked = con.execute(
            "select package_id, rank, offered, reason from analytics.package_whatif_summary"
            " where customer_id = 'C_WORKED' order by rank nulls last, package_id").fetchall()
    assert month == [(False, "expired on 2026-06-30", None, None)]
    assert lines == [(0,)]
    assert ranked == [
        ("PKG_SPREAD", 1, True, None), ("PKG_FIXED_TOU", 2, True, None),
        ("PKG_SINGLE", 3, True, None), ("PKG_GREEN", 4, True, None),
        ("PKG_LINKED", None, False, "expired on 2026-06-30"),
        ("PKG_TIERED_RES", None, False,
         "not offered to industrial / kv_1_10 / two_part (package_eligibility)")]


@pytest.mark.parametrize("package_id", ["PKG_LINKED", "PKG_SINGLE"])
def test_the_whatif_money_is_decimal(worked, package_id):
    ((kind,),) = worked.sql(
        "select typeof(total_yuan) from analytics.package_whatif"
        " where customer_id = 'C_WORKED' and package_id = ?", [package_id])
    assert kind == "DECIMAL(18,2)"


def test_the_demo_summary_shows_the_largest_saving_first(worked, capsys):
    """`make demo`'s top-three re-rating savings read the ranking above: the worked customer's
    best package is PKG_SPREAD at 220,643.63 a month, 7,476.83 below its PKG_FIXED_TOU bill,
    with no deviation change (hand values in the comments above)."""
    from foundation.warehouse import connect
    from tools.demo import print_top_savings

    with connect(worked.warehouse, read_only=True) as con:
        print_top_savings(con)
    lines = capsys.readouterr().out.splitlines()
    assert "top 3 re-rating savings" in lines[0]
    assert lines[1].split() == ["C_WORKED", "PKG_FIXED_TOU", "→", "PKG_SPREAD", "1",
                                "220643.63", "7476.83", "0.00"]
    assert len(lines) == 2  # one customer in the scenario


def test_before_any_monthly_run_the_retailer_recommendation_is_empty_not_an_error(
    worked, tmp_path
):
    """analytics_job may run on a warehouse the monthly job has not filled yet (no re-rating,
    no bills, no portfolio deviation): its retailer recommendation is then built empty
    (macro relation_or_empty) instead of failing the job's dbt step; with the inputs back it
    ranks the worked customer's retailers again."""
    warehouse = tmp_path / "warehouse.duckdb"
    copy_warehouse(worked.warehouse, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema if not exists analytics; create table analytics."
                    "service_tickets (ticket_id varchar, customer_id varchar, opened_on date,"
                    " category varchar, subject varchar)")
        con.execute("create table kept as select * from analytics.package_whatif_summary")
        for table in ("analytics.package_whatif_summary", "finance.bills",
                      "core.fct_portfolio_deviation"):
            con.execute(f"drop table {table}")

    run = dbt(tmp_path, warehouse, "run", "--quiet", "--select", "retailer_recommendation")

    assert run.returncode == 0, run.stdout + run.stderr
    with connect(warehouse) as con:  # the restricted file attached
        assert con.execute("select count(*) from analytics.retailer_recommendation"
                           ).fetchone() == (0,)
        con.execute("create table analytics.package_whatif_summary as select * from kept")
        # a retailer publishing packages (seed retailer_packages: RT01 offers PKG_SPREAD)
        con.execute("insert into restricted.retailers by name select 'RT01' as retailer_id,"
                    " '冀北售电有限公司' as retailer_name, date '2025-01-01' as valid_from")
    again = dbt(tmp_path, warehouse, "run", "--quiet", "--select", "retailer_recommendation")
    assert again.returncode == 0, again.stdout + again.stderr
    with duckdb.connect(str(warehouse), read_only=True) as con:
        ranked = con.execute("select retailer_id, rank, indicators_used from analytics."
                             "retailer_recommendation where customer_id = 'C_WORKED'"
                             " order by rank").fetchall()
    # the saving alone: no bills or portfolio deviation yet
    assert ranked == [("RT01", 1, "saving_per_month_yuan")]
