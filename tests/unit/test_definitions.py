"""The Dagster definitions load, and the pieces users see in the UI are there."""

from __future__ import annotations

from datetime import datetime

from dagster import AssetKey

from orchestration.build import build_defs
from orchestration.dbt import window_vars


def test_partition_window_becomes_dbt_vars():
    assert window_vars(datetime(2026, 10, 1), datetime(2026, 11, 1)) == {
        "min_date": "2026-10-01",
        "max_date": "2026-11-01",
    }


def test_definitions_have_the_graph_checks_jobs_sensors_and_schedule():
    defs = build_defs()
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    for expected in ("raw/interval_reads", "core/int_interval_validated", "finance/bills",
                     "finance/bill_lines", "marts/alerts", "notify/monthly_notices",
                     "finance/bill_documents", "marts/dim_contacts"):
        assert expected in keys, expected
    checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    assert ("raw/interval_reads", "landing_ledger_reconciles") in checks
    assert ("core/int_interval_validated", "validated_consumption_gate") in checks
    assert ("finance/bills", "assert_bill_lines_sum_to_total") in checks
    assert ("finance/unbilled", "assert_every_validated_kwh_is_billed_or_unbilled") in checks
    for notices in ("notify/monthly_notices", "notify/notice_retries",
                    "workflow/termination_audit", "workflow/curtailment_stages"):
        assert (notices, "all_contacts_reached") in checks, notices
    assert graph.get(AssetKey(["finance", "bills"])).partitions_def is not None
    jobs = {job.name for job in defs.resolve_all_job_defs()}
    assert {"reference_job", "daily_job", "monthly_job", "termination_job",
            "curtailment_job", "notice_retry_job"} <= jobs
    sensors = {sensor.name for sensor in defs.sensors}
    assert {"landing_file_sensor", "termination_inbox_sensor", "curtailment_sensor",
            "notice_retry_sensor"} <= sensors
    assert {s.name for s in defs.schedules} == {"monthly_job_schedule"}
