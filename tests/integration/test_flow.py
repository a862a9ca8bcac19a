"""The whole graph on generated data: bills, invariants, idempotency, gates and the sensor.

The generated October is the session's `october_demo` scenario (shared with test_vee.py); tests
that change it are marked `writes` and work on a copy.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from decimal import Decimal

import pytest
from dagster import DagsterInstance, build_sensor_context

from orchestration.runner import RANGE_END, RANGE_START, run_job
from orchestration.sensors import file_days, landing_file_sensor, request_files
from tests.scenarios import scenario_fixture

PACKAGES = {"FIXED", "LINKED", "SPREAD", "SINGLE", "TIERED", "GREEN"}

october = scenario_fixture("october_demo", "october")


def test_every_customer_is_billed_with_every_package_type(october):
    customers = october.sql("select count(*) from master.customers")[0][0]
    billed = october.sql("select count(distinct customer_id) from finance.bills")[0][0]
    assert billed == customers
    models = {m for (m,) in october.sql("select distinct package_model from finance.bills")}
    assert models == PACKAGES


def test_bill_lines_sum_to_totals_and_kwh_equals_validated_kwh(october):
    assert october.sql(
        """select count(*) from finance.bills b
           join (select customer_id, period, sum(amount_yuan) s
                 from finance.bill_lines group by all) l
           using (customer_id, period) where b.total_yuan <> l.s"""
    ) == [(0,)]
    assert october.sql(
        """select count(*) from finance.bills b
           join (select customer_id, sum(value) kwh from core.int_interval_validated
                 where channel = 'kwh_imp' group by 1) v using (customer_id)
           where b.billed_kwh <> v.kwh"""
    ) == [(0,)]


def test_every_interval_has_a_flag_a_method_and_a_version(october):
    rows = october.sql(
        "select count(*) filter (where quality_flag is null or method is null or version is null), "
        "count(*) filter (where quality_flag = 'ACTUAL' and version not in "
        "    (select file_id from raw.file_ledger)), "
        "count(*) filter (where version = 0 and (source_row is not null or method = 'actual')), "
        "count(*) from core.int_interval_validated"
    )
    missing, unversioned, misversioned, total = rows[0]
    meters = october.sql("select count(*) from master.metering_points")[0][0]
    assert (missing, unversioned, misversioned) == (0, 0, 0)
    assert total == meters * 2 * 31 * 96


def test_the_malformed_file_is_quarantined_with_its_reason(october):
    name = october.manifest["malformed_file"]
    status, error = october.sql(
        "select status, error from raw.file_ledger where file_name = ?", [name]
    )[0]
    assert status == "quarantined" and error.startswith(f"{name}: ")


@pytest.mark.writes
def test_a_copied_landing_file_changes_no_bill(october):
    before = october.sql("select customer_id, total_yuan from finance.bills order by 1")
    landing = october.data_dir / "landing" / "reads"
    source = sorted(landing.glob("reads_20261005_01.*"))[0]
    shutil.copy(source, landing / source.name.replace("_01.", "_50."))
    defs = october.defs()
    with DagsterInstance.ephemeral() as instance:
        tags = {RANGE_START: "2026-10-05", RANGE_END: "2026-10-05"}
        assert run_job(defs, "daily_job", instance, tags).success
        assert run_job(defs, "monthly_job", instance, partition_key="2026-10-01").success
    assert october.sql(
        "select status from raw.file_ledger where file_name like 'reads_20261005_50.%'"
    ) == [("duplicate",)]
    assert october.sql("select customer_id, total_yuan from finance.bills order by 1") == before
    assert sum(t for _, t in before) > Decimal(0)


def test_the_landing_sensor_requests_one_run_per_day_the_new_files_touch(october):
    from foundation.resources import Gridledger

    resource = Gridledger(warehouse=str(october.warehouse), data_dir=str(october.data_dir))
    with DagsterInstance.ephemeral() as instance:
        context = build_sensor_context(instance=instance, resources={"gridledger": resource})
        first = landing_file_sensor(context)
        days = {r.partition_key: request_files(r) for r in first.run_requests}
        listed = {name for names in days.values() for name in names}
        assert listed == set(json.loads(first.cursor))  # every new file is in a day's run
        # one run per day the files touch, not one per file: October's 31 days and 1 November
        # (the month-end register reads at 00:00); the generated files also carry late rows of
        # the day or two before, so a file is listed on each day it touches
        assert sorted(days) == [f"2026-10-{d:02d}" for d in range(1, 32)] + ["2026-11-01"]
        assert len(first.run_requests) == 32 < len(listed)
        late = october.manifest["late_file"]["file"]
        day = date.fromisoformat(october.manifest["late_file"]["day"])
        assert file_days(october.data_dir / "landing" / "reads" / late) == (day, day)
        assert [d for d, names in days.items() if late in names] == [day.isoformat()]
        again = landing_file_sensor(
            build_sensor_context(
                instance=instance, resources={"gridledger": resource}, cursor=first.cursor
            )
        )
        assert not getattr(again, "run_requests", None)


@pytest.mark.writes
def test_a_failing_gate_stops_the_downstream_assets(october):
    """Lose loaded rows behind the ledger's back: the reconciliation gate fails and blocks dbt."""
    from foundation.warehouse import connect

    with connect(october.warehouse) as con:
        con.execute("create table raw.kept as select * from raw.interval_reads")
        con.execute("delete from raw.interval_reads where source_row = 2")
    try:
        with DagsterInstance.ephemeral() as instance:
            tags = {RANGE_START: "2026-10-06", RANGE_END: "2026-10-06"}
            result = run_job(october.defs(), "daily_job", instance, tags, raise_on_error=False)
        assert not result.success
        evaluation = [
            e
            for e in result.get_asset_check_evaluations()
            if e.check_name == "landing_ledger_reconciles"
        ][0]
        assert not evaluation.passed
        assert (
            "rows_read_equal_rows_loaded_plus_quarantined"
            in evaluation.metadata["failed_rules"].value
        )
        materialized = {
            e.asset_key.to_user_string() for e in result.get_asset_materialization_events()
        }
        assert "core/int_interval_validated" not in materialized
    finally:
        with connect(october.warehouse) as con:
            con.execute(
                "delete from raw.interval_reads; insert into raw.interval_reads "
                "select * from raw.kept; drop table raw.kept"
            )
