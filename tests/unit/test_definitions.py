"""The Dagster definitions load, and the pieces users see in the UI are there."""

from __future__ import annotations

from datetime import datetime

from dagster import AssetKey

from orchestration.build import build_defs
from orchestration.dbt import window_vars
from orchestration.jobs import daily_job, monthly_job


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
    assert ("finance/bill_documents", "documents_match_finance") in checks
    assert ("notify/monthly_notices", "bill_notices_match_bills") in checks
    for notices in ("notify/monthly_notices", "notify/notice_retries",
                    "workflow/termination_audit", "workflow/curtailment_stages"):
        assert (notices, "all_contacts_reached") in checks, notices
    assert graph.get(AssetKey(["finance", "bills"])).partitions_def is not None
    jobs = {job.name for job in defs.resolve_all_job_defs()}
    assert {"reference_job", "daily_job", "monthly_job", "termination_job",
            "curtailment_job", "notice_retry_job", "analytics_job"} <= jobs
    # the DR event file: evaluated in curtailment_job after the plans, settled by the month
    curtailment = defs.resolve_job_def("curtailment_job")
    assert {n.name for n in curtailment.graph.nodes} == {"curtailment_workflow",
                                                         "dr_event_workflow"}
    assert {AssetKey(["workflow", "dr_event_results"]), AssetKey(["workflow", "dr_events"]),
            AssetKey(["workflow", "dr_event_customers"])} <= graph.get(
        AssetKey(["core", "fct_dr_events"])).parent_keys
    sensors = {sensor.name for sensor in defs.sensors}
    assert {"landing_file_sensor", "termination_inbox_sensor", "curtailment_sensor",
            "notice_retry_sensor"} <= sensors
    assert {s.name for s in defs.schedules} == {"monthly_job_schedule"}


def test_a_month_is_checked_first_and_published_last():
    """The monthly job starts with the config preflight (every monthly dbt model depends on
    it) and publishes every finance model together (finance/publish depends on all of them,
    new ones included); bill documents and notices read the published tables."""
    from orchestration.dbt import finance_tables

    defs = build_defs()
    graph = defs.resolve_asset_graph()
    preflight, publish = AssetKey(["settlement", "config_preflight"]), AssetKey(["finance",
                                                                                 "publish"])
    finance = set(finance_tables())
    assert {k.to_user_string() for k in finance} >= {
        "finance/bills", "finance/bill_lines", "finance/adjustments", "finance/settlement_runs",
        "finance/retailer_margin", "finance/period_close"}
    assert graph.get(publish).parent_keys == finance
    assert graph.get(publish).group_name == "finance"
    for key in (*finance, AssetKey(["core", "int_customer_month"]),
                AssetKey(["marts", "alerts"])):
        assert preflight in graph.get(key).parent_keys, key
    for reader in (AssetKey(["finance", "bill_documents"]),
                   AssetKey(["notify", "monthly_notices"]), AssetKey(["bi", "snapshot"])):
        assert publish in graph.get(reader).parent_keys, reader
    assert AssetKey(["marts", "alerts"]) in graph.get(AssetKey(["bi", "snapshot"])).parent_keys
    assert {preflight, publish, AssetKey(["bi", "snapshot"])} <= monthly_job.selection.resolve(
        graph)


def test_the_forecast_group_runs_in_its_own_job_after_the_validated_days():
    """forecast_job (issue 10) is the forecast group (its Python assets and check, then the
    dbt deviation projection over them), reading the daily run's validated energy; no other
    job runs it."""
    from orchestration.jobs import analytics_job, daily_job, forecast_job, reference_job

    graph = build_defs().resolve_asset_graph()
    backtest, daily, monthly, projection, portfolio, adjustment, capacity, notices = (
        AssetKey(["analytics", n]) for n in (
            "forecast_backtest", "load_forecast_daily", "load_forecast_monthly",
            "deviation_projection", "portfolio_projection", "purchase_adjustment",
            "trading_capacity", "deviation_risk_notices"))
    risk = AssetKey(["analytics", "retail_risk_projection"])
    profile = AssetKey(["analytics", "load_forecast_profile"])
    meters = AssetKey(["analytics", "load_forecast_meter_daily"])
    bought = AssetKey(["analytics", "portfolio_purchase_adjustment"])
    levels = AssetKey(["core", "int_customer_like_day_levels"])  # dbt, read by the backtest
    forecast = {backtest, daily, monthly, projection, portfolio, adjustment, capacity, notices,
                risk, profile, meters, bought, levels}
    assert forecast_job.selection.resolve(graph) == forecast
    assert {graph.get(k).group_name for k in forecast} == {"forecast"}
    assert daily in graph.get(projection).parent_keys  # dbt, over the forecast
    assert projection in graph.get(notices).parent_keys
    assert monthly in graph.get(adjustment).parent_keys
    assert projection in graph.get(portfolio).parent_keys
    assert monthly in graph.get(capacity).parent_keys
    assert portfolio in graph.get(risk).parent_keys
    assert daily in graph.get(profile).parent_keys
    assert daily in graph.get(meters).parent_keys
    assert monthly in graph.get(bought).parent_keys
    assert AssetKey(["core", "int_customer_day_blocks"]) in graph.get(backtest).parent_keys
    assert levels in graph.get(backtest).parent_keys and levels in graph.get(daily).parent_keys
    assert AssetKey(["core", "int_customer_day_blocks"]) in graph.get(levels).parent_keys
    assert backtest in graph.get(daily).parent_keys
    assert graph.get(daily).owners == ["team:analytics"]
    for job in (reference_job, daily_job, monthly_job, analytics_job):
        assert not forecast & job.selection.resolve(graph), job.name


def test_analytics_assets_run_in_their_own_job_only():
    """The analytics group (issue 11) is analytics_job's whole selection and in no other job,
    so the demo's and the tests' reference, daily and monthly runs are unchanged."""
    from orchestration.jobs import analytics_job, daily_job, reference_job

    graph = build_defs().resolve_asset_graph()
    analytics = {AssetKey(["analytics", name]) for name in (
        "contract_history", "service_tickets", "payments", "churn_risk", "customer_value",
        "credit_rating", "customer_measures", "measure_notices")}
    mart = AssetKey(["marts", "customer_analytics"])  # dbt, over the analytics tables
    credit_mart = AssetKey(["finance", "customer_credit"])  # likewise, for finance
    retailers = AssetKey(["analytics", "retailer_recommendation"])  # dbt, over the tickets
    analytics |= {mart, credit_mart, retailers}
    assert {graph.get(key).group_name for key in analytics} == {"analytics"}
    snapshot = AssetKey(["bi", "snapshot"])  # refreshed after the mart
    assert analytics_job.selection.resolve(graph) == analytics | {snapshot}
    for job in (reference_job, daily_job, monthly_job):
        assert not analytics & job.selection.resolve(graph), job.name
    assert {mart, credit_mart} <= graph.get(snapshot).parent_keys
    assert AssetKey(["analytics", "customer_measures"]) in graph.get(mart).parent_keys
    assert AssetKey(["analytics", "credit_rating"]) in graph.get(credit_mart).parent_keys
    # not in the monthly publish: finance/publish neither waits for it nor replaces it
    assert credit_mart not in graph.get(AssetKey(["finance", "publish"])).parent_keys
    notices = AssetKey(["analytics", "measure_notices"])
    assert graph.get(notices).parent_keys == {AssetKey(["analytics", "customer_measures"])}
    assert graph.get(notices).owners == ["team:analytics"]


def test_the_service_snapshot_is_refreshed_after_validation_and_after_publishing():
    """The SMS query service's snapshot: one unpartitioned asset after the daily validation
    (yesterday's kWh) and the monthly publish (issued bills), in both jobs."""
    from orchestration.jobs import daily_job
    from quality.checks import VALIDATED

    graph = build_defs().resolve_asset_graph()
    snapshot = AssetKey(["sms", "service_snapshot"])
    assert graph.get(snapshot).partitions_def is None
    assert {VALIDATED, AssetKey(["finance", "publish"])} == graph.get(snapshot).parent_keys
    assert snapshot in daily_job.selection.resolve(graph)
    assert snapshot in monthly_job.selection.resolve(graph)


def test_every_daily_and_monthly_run_ends_with_the_bi_snapshot():
    """One unpartitioned `bi/snapshot` in both jobs, after the BI-facing tables each changes."""
    graph = build_defs().resolve_asset_graph()
    snapshot = AssetKey(["bi", "snapshot"])
    assert graph.get(snapshot).partitions_def is None
    marts = {AssetKey(["marts", name]) for name in (
        "meter_vee_quality", "meter_daily_load", "meter_load_profile")}
    assert marts | {AssetKey(["finance", "publish"]), AssetKey(["marts", "alerts"]),
                    AssetKey(["core", "int_interval_validated"]),
                    AssetKey(["marts", "customer_analytics"]),  # analytics_job's marts
                    AssetKey(["finance", "customer_credit"])
                    } == graph.get(snapshot).parent_keys
    daily = daily_job.selection.resolve(graph)
    assert snapshot in daily and marts <= daily
    assert snapshot in monthly_job.selection.resolve(graph)


def test_every_asset_names_its_owners_and_every_dbt_check_its_purpose():
    graph = build_defs().resolve_asset_graph()
    unowned = [key.to_user_string() for key in graph.get_all_asset_keys()
               if not graph.get(key).owners]
    assert unowned == []
    owners = {key.to_user_string(): graph.get(key).owners for key in graph.get_all_asset_keys()}
    assert owners["finance/bills"] == ["team:billing"]  # dbt_project.yml, finance folder
    assert owners["core/int_interval_validated"] == ["team:metering"]  # core/vee folder
    assert owners["finance/bill_documents"] == ["team:billing"]  # a Python asset, by group
    assert owners["notify/monthly_notices"] == ["team:customer-service"]
    undescribed = [check.to_user_string() for check in graph.asset_check_keys
                   if not graph.get_check_spec(check).description]
    assert undescribed == []


def test_bills_alerts_and_notices_are_due_after_the_monthly_close():
    """Freshness policies (orchestration/freshness.py): the finance bills, bill documents,
    alerts and notices are due by the 8th at 12:00 China time, after the schedule's 7th 08:00."""
    from orchestration.freshness import DUE_AFTER_MONTHLY_CLOSE, MONTHLY_CLOSE

    graph = build_defs().resolve_asset_graph()
    due = {key for key in graph.get_all_asset_keys() if graph.get(key).freshness_policy}
    assert due == DUE_AFTER_MONTHLY_CLOSE
    assert all(graph.get(key).freshness_policy == MONTHLY_CLOSE for key in due)
    assert MONTHLY_CLOSE.timezone == "Asia/Shanghai"
    assert MONTHLY_CLOSE.deadline_cron == "0 12 8 * *"
