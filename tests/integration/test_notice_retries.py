"""Unreached contacts: run metadata, the WARN check, and the retry sensor/asset (issue 16).

A real HTTP gateway (tests/receivers.py) answers 500 for a while: the monthly notices run ends
with unreached contacts; once the gateway recovers, the retry delivers every contact once.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pytest
from dagster import AssetCheckSeverity, DagsterInstance, build_sensor_context, materialize

from assets.alerts.notices import MONTHLY_NOTICES, monthly_notices
from assets.alerts.retries import notice_retries
from foundation.resources import Gridledger
from foundation.warehouse import connect
from notifications import ChannelConfig, DeliveryService, Recipient
from notifications.resource import LiveDelivery
from orchestration.notice_retry import notice_retry_sensor

if TYPE_CHECKING:
    from receivers import HttpReceiver

pytest_plugins = ["receivers"]

MONTH = "2026-10-01"


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    """Just what monthly_notices reads: two bills, no alerts, three subscribed SMS contacts
    (in the restricted file, with the residents' names: none here)."""
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute("""
        create schema finance; create schema master; create schema marts; create schema core;
        create table finance.bills (customer_id varchar, period varchar, period_start date,
            total_yuan double, bill_status varchar);
        insert into finance.bills values ('C1', '2026-10', '2026-10-01', 1234.5, 'issued'),
            ('C2', '2026-10', '2026-10-01', 99.0, 'issued');
        create table master.customers (customer_id varchar, customer_name varchar,
            contract_capacity_kva double, valid_from date, valid_to date);
        insert into master.customers values ('C1', '华北钢铁有限公司', 100, '2026-01-01', null),
            ('C2', '唐山商贸', 100, '2026-01-01', null);
        create table marts.alerts (alert_id varchar, alert_type varchar, rule varchar,
            customer_id varchar, meter_id varchar, period varchar, metric_value double,
            threshold double, detail varchar, period_start date);
        create table core.fct_deviation_tiers (customer_id varchar, period varchar,
            contracted_kwh double, kwh double);
        create table finance.unbilled (unbilled_id varchar, kwh double, days integer,
            first_day date, last_day date);
        create table master.contact_groups (group_id varchar, group_type varchar,
            group_name varchar, region varchar, industry varchar);
        create table master.contact_group_members (group_id varchar, contact_id varchar);
        create table master.contact_subscriptions (contact_id varchar, notice_type varchar);
        insert into master.contact_subscriptions values ('K1', 'bill_ready'),
            ('K2', 'bill_ready'), ('K3', 'bill_ready');
    """)
    con.close()
    with connect(path) as con:  # the restricted file beside it
        con.execute("""
            create table restricted.contacts (contact_id varchar, customer_id varchar,
                contact_name varchar, role varchar, phone varchar, email varchar,
                channels varchar);
            insert into restricted.contacts values
                ('K1', 'C1', '张三', 'customer_contact', '13812345678', null, 'sms'),
                ('K2', 'C1', '王五', 'customer_contact', '13700002222', null, 'sms'),
                ('K3', 'C2', '李四', 'customer_contact', '13900001111', null, 'sms');
            create table restricted.customer_names (customer_id varchar, valid_from date,
                customer_name varchar);
        """)
    return path


def resources(warehouse: Path, gateway: HttpReceiver) -> dict:
    return {
        "gridledger": Gridledger(warehouse=str(warehouse), data_dir=str(warehouse.parent)),
        "delivery": LiveDelivery(sms_url=gateway.url("/sms"), backoff_seconds=[0.0]),
    }


def test_unreached_contacts_warn_and_are_retried_once_when_the_gateway_recovers(
    warehouse: Path, http_receiver: HttpReceiver
) -> None:
    instance = DagsterInstance.ephemeral()
    res = resources(warehouse, http_receiver)
    http_receiver.down = True

    run = materialize([monthly_notices], partition_key=MONTH, resources=res, instance=instance)

    assert run.success  # the check warns, it does not block
    [materialization] = run.asset_materializations_for_node("notify__monthly_notices")
    meta = {k: v.value for k, v in materialization.metadata.items()}
    assert meta["notice_counts"] == {"bill_ready": {"sent": 0, "failed": 3, "unreached": 3}}
    assert meta["contacts_unreached"] == 3
    [check] = run.get_asset_check_evaluations()
    assert (check.asset_key, check.check_name) == (MONTHLY_NOTICES, "all_contacts_reached")
    assert check.passed is False and check.severity == AssetCheckSeverity.WARN
    assert http_receiver.posts == []

    # the gateway comes back: the sensor asks for a retry run, which reaches everyone once
    http_receiver.down = False
    gridledger = res["gridledger"]
    request = notice_retry_sensor(build_sensor_context(instance=instance,
                                                       resources={"gridledger": gridledger}))
    assert request.tags["gridledger/pending_retries"] == "3"
    retry = materialize([notice_retries], resources=res, instance=instance)
    assert retry.success
    [check] = retry.get_asset_check_evaluations()
    assert check.passed is True

    keys = [p.headers["Idempotency-Key"] for p in http_receiver.posts]
    assert sorted(p.payload["to"] for p in http_receiver.posts) == [
        "13700002222", "13812345678", "13900001111"
    ]
    assert len(keys) == len(set(keys)) == 3
    assert any("1,234.50" in p.payload["message"] for p in http_receiver.posts)

    # nothing left: the sensor skips, a second retry and a rerun of the month send nothing
    skip = notice_retry_sensor(build_sensor_context(instance=instance,
                                                    resources={"gridledger": gridledger}))
    assert "no notices to retry" in skip.skip_message
    assert materialize([notice_retries], resources=res, instance=instance).success
    assert materialize([monthly_notices], partition_key=MONTH, resources=res,
                       instance=instance).success
    assert len(http_receiver.posts) == 3


def test_a_queued_retry_expires_and_is_not_sent(
    tmp_path: Path, http_receiver: HttpReceiver
) -> None:
    svc = DeliveryService(tmp_path / "w.duckdb", ChannelConfig(urls={"sms": http_receiver.url()}),
                          max_attempts=1, retry_expiry=timedelta(0))
    http_receiver.down = True
    svc.deliver("n1", "bill_ready", {"customer_name": "甲", "period": "2026-10",
                                     "amount_yuan": 1},
                [Recipient("K1", "张三", phone="13812345678", channels=("sms",))])
    http_receiver.down = False

    result = svc.retry_pending()

    assert (result.expired, result.reports, http_receiver.posts) == (1, [], [])
    assert svc.ledger.pending_retries() == []
    assert [r.status for r in svc.ledger.rows("n1")] == ["failed"]
