"""Early termination and curtailment workflows, end to end against real SMTP and HTTP receivers.

The warehouse is built once per module from generated sample data (20 meters) plus a master-data
load; validated intervals are inserted by hand where a number is asserted, so every expected fee
and reduction below is computed from rows written here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance, Definitions, build_sensor_context

from assets.meters.master_data import load_master_data
from assets.workflows.assets import workflow_assets
from assets.workflows.curtailment import (
    acknowledge,
    evaluate_curtailment,
    load_rules,
    plan_timeline,
    rule_for,
)
from assets.workflows.termination import run_termination_workflow
from foundation.resources import Gridledger
from foundation.restricted import customer_name_sql
from foundation.warehouse import connect, copy_warehouse
from notifications import ChannelConfig, DeliveryService
from notifications.resource import LiveDelivery
from orchestration.jobs import curtailment_job, termination_job
from orchestration.workflow_sensors import (
    build_curtailment_sensor,
    due_reasons,
    termination_inbox_sensor,
)
from tools.demo_inbox import write_demo_inbox
from tools.sample_data import generate
from tools.sample_data.writer import write_csv

if TYPE_CHECKING:  # imported by pytest as a plugin (below); importing it here first would
    from receivers import HttpReceiver, SmtpReceiver  # skip assert rewriting

pytest_plugins = ["receivers"]  # the smtp_server and http_receiver fixtures

PROJECT = Path(__file__).resolve().parents[2]
VALIDATED_DDL = """
create schema if not exists core;
create table core.int_interval_validated (
    meter_id varchar, customer_id varchar, channel varchar, interval_start timestamp,
    reading_date date, interval_minutes bigint, value decimal(18, 3), quality_flag varchar
);
"""
PLAN_HEADER = ["plan_id", "plan_type", "warning_level", "window_start", "window_end", "region",
               "industry", "customer_id", "target_kw", "published_at"]


# -- fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def base_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Master data of 20 generated meters and an empty validated-interval table."""
    root = tmp_path_factory.mktemp("workflows")
    generate(root / "data", 20, 1, "2026-10", 7)
    warehouse = root / "base.duckdb"
    with connect(warehouse) as con:
        load_master_data(con, root / "data" / "master")
        con.execute(VALIDATED_DDL)
    return warehouse


@dataclass
class Env:
    """One test's warehouse, inbox and receivers."""

    warehouse: Path
    data_dir: Path
    sms: HttpReceiver
    smtp: SmtpReceiver

    @property
    def inbox(self) -> Path:
        return self.data_dir / "inbox"

    def sql(self, query: str, params: list | None = None) -> list[tuple]:
        with connect(self.warehouse) as con:
            return con.execute(query, params or []).fetchall()

    def execute(self, statements: str, params: list | None = None) -> None:
        with connect(self.warehouse) as con:
            con.execute(statements, params or [])

    def defs(self) -> Definitions:
        gridledger = Gridledger(warehouse=str(self.warehouse), data_dir=str(self.data_dir))
        return Definitions(assets=workflow_assets, jobs=[termination_job, curtailment_job],
                           resources={"gridledger": gridledger,
                                      "delivery": LiveDelivery.from_env()})

    def resources(self) -> dict:
        return {"gridledger": Gridledger(warehouse=str(self.warehouse),
                                         data_dir=str(self.data_dir))}

    def run(self, job: str, run_config: dict | None = None) -> None:
        result = self.defs().resolve_job_def(job).execute_in_process(
            instance=DagsterInstance.ephemeral(), run_config=run_config or {})
        assert result.success

    def sms_to(self, key_prefix: str) -> dict[str, str]:
        """phone -> text of the SMS messages (segments joined) whose notice key has the prefix."""
        texts: dict[str, str] = {}
        for post in self.sms.posts:
            if post.payload["notice_key"].startswith(key_prefix):
                segment = re.sub(r"\(\d+/\d+\)$", "", post.payload["message"])
                texts[post.payload["to"]] = texts.get(post.payload["to"], "") + segment
        return texts

    def sms_messages(self, key_prefix: str = "") -> int:
        """Distinct SMS messages (idempotency keys) sent for the prefix."""
        return len({p.payload["idempotency_key"] for p in self.sms.posts
                    if p.payload["notice_key"].startswith(key_prefix)})

    def mails_to(self, key_prefix: str) -> dict[str, str]:
        """address -> body of the emails whose notice key starts with the prefix."""
        return {rcpt: mail.text for mail in self.smtp.messages
                if str(mail.message["X-Notice-Key"]).startswith(key_prefix)
                for rcpt in mail.rcpt_tos}


@pytest.fixture
def env(base_warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        http_receiver: HttpReceiver, smtp_server: SmtpReceiver) -> Env:
    warehouse = tmp_path / "warehouse.duckdb"
    copy_warehouse(base_warehouse, warehouse)
    (tmp_path / "data" / "inbox").mkdir(parents=True)
    monkeypatch.setenv("GRIDLEDGER_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("GRIDLEDGER_SMS_URL", http_receiver.url("/sms"))
    monkeypatch.setenv("GRIDLEDGER_SMTP_URL",
                       f"mailto://127.0.0.1:{smtp_server.port}?from=noreply@gridledger.local")
    return Env(warehouse, tmp_path / "data", http_receiver, smtp_server)


def service(env: Env) -> DeliveryService:
    return DeliveryService(env.warehouse, ChannelConfig.from_env(os.environ),
                           backoff_seconds=(0, 0, 0))


def intervals(env: Env, meter: str, customer: str, day: date, first_hour: int, last_hour: int,
              kwh: Decimal) -> None:
    """15-min validated kWh rows of `kwh` each from first_hour:00 to last_hour:00."""
    start = datetime.combine(day, datetime.min.time()) + timedelta(hours=first_hour)
    rows = [[meter, customer, "kwh_imp", start + timedelta(minutes=15 * i), day, 15, kwh, "ACTUAL"]
            for i in range((last_hour - first_hour) * 4)]
    with connect(env.warehouse) as con:
        con.executemany("insert into core.int_interval_validated values (?, ?, ?, ?, ?, ?, ?, ?)",
                        rows)


def expected_contacts(env: Env, customers: list[str], topic: str) -> dict[str, tuple]:
    """contact_id -> (first channel, phone, email) of the customers' subscribed contacts."""
    rows = env.sql(
        """select k.contact_id, split_part(coalesce(k.channels, 'sms'), ';', 1), k.phone, k.email
           from restricted.contacts k
           where list_contains(?::varchar[], k.customer_id)
             and exists (select 1 from master.contact_subscriptions s
                         where s.contact_id = k.contact_id and s.notice_type = ?)""",
        [customers, topic],
    )
    return {r[0]: r[1:] for r in rows}


def addresses(contacts: dict[str, tuple]) -> tuple[set[str], set[str]]:
    """(phones of SMS-first contacts, emails of email-first contacts)."""
    return ({p for ch, p, _ in contacts.values() if ch == "sms"},
            {e for ch, _, e in contacts.values() if ch == "email"})


def tick(env: Env, sensor, at: datetime, cursor: str | None):
    """Evaluate the curtailment sensor at `at`; run what it requests; return the new cursor."""
    result = sensor(build_sensor_context(instance=DagsterInstance.ephemeral(), cursor=cursor,
                                         resources=env.resources()))
    for request in result.run_requests or []:
        assert request.run_config["ops"]["curtailment_workflow"]["config"]["now"] == (
            at.isoformat(sep=" "))
        env.run("curtailment_job", request.run_config)
    return result


class Clock:
    """A settable clock for the sensor."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


# -- curtailment ------------------------------------------------------------------------------


def busiest_region(env: Env) -> tuple[str, list[str]]:
    """The region whose customers have the most curtailment subscribers, and its customers."""
    region = env.sql(
        """select c.region from master.customers c
           join restricted.contacts k using (customer_id)
           join master.contact_subscriptions s on s.contact_id = k.contact_id
                and s.notice_type = 'curtailment'
           where c.valid_to is null group by c.region order by count(*) desc, c.region limit 1"""
    )[0][0]
    customers = [r[0] for r in env.sql(
        "select customer_id from master.customers where valid_to is null and region = ?"
        " order by customer_id", [region])]
    return region, customers


def publish_region_plan(env: Env, plan_id: str, region: str) -> None:
    write_csv(env.inbox / "curtailment" / f"{plan_id}.csv", PLAN_HEADER, [
        [plan_id, "planned", "II", "2026-10-15 10:00", "2026-10-15 12:00", region, "", "", "50",
         "2026-10-13 09:00"],
    ])


def test_a_published_plan_reaches_exactly_the_subscribed_contacts_and_the_plan_group(
    env: Env,
) -> None:
    region, customers = busiest_region(env)
    official = env.sql("select contact_id, email from restricted.contacts"
                       " where role = 'government' order by contact_id limit 1")[0]
    env.execute("insert into master.contact_groups"
                " values ('GRP_PLAN_T1', 'plan', 'T1', null, null);"
                " insert into master.contact_group_members"
                f" values ('GRP_PLAN_T1', '{official[0]}')")
    publish_region_plan(env, "T1", region)
    clock = Clock(datetime(2026, 10, 13, 9, 0, 30))

    result = tick(env, build_curtailment_sensor(clock), clock.now, None)

    assert len(result.run_requests) == 1
    contacts = expected_contacts(env, customers, "curtailment")
    phones, emails = addresses(contacts)
    assert phones and len(contacts) >= 3
    sms = env.sms_to("curtailment:T1:notice:")
    assert set(sms) == phones
    assert env.sms_messages("curtailment:T1:notice:") == len(phones)  # one message per contact
    assert set(env.mails_to("curtailment:T1:notice:")) == emails | {official[1]}
    assert "各有关单位" in env.mails_to("curtailment:T1:notice:ALL")[official[1]]
    # every message names its own customer and the plan's terms
    owner = dict(env.sql(f"select k.phone, {customer_name_sql('c')} from restricted.contacts k"
                         " join master.customers c using (customer_id) where c.valid_to is null"))
    for phone, text in sms.items():
        assert f"尊敬的{owner[phone]}" in text
        assert "计划限电方案T1" in text and "2026-10-15 10:00至2026-10-15 12:00" in text
        assert "需压减负荷50千瓦" in text
    stages = env.sql("select customer_id, status, recipients from workflow.curtailment_stages"
                     " where plan_id = 'T1' and stage = 'notice' order by customer_id")
    assert [s[0] for s in stages] == sorted([*customers, "ALL"])
    assert {s[1] for s in stages} == {"done"}
    assert sum(s[2] for s in stages) == len(contacts) + 1


def test_reminder_and_all_clear_go_out_at_the_injected_times_and_never_twice(env: Env) -> None:
    region, customers = busiest_region(env)
    publish_region_plan(env, "T2", region)
    contacts = expected_contacts(env, customers, "curtailment")
    phones, _ = addresses(contacts)
    clock = Clock(datetime(2026, 10, 13, 9, 0, 30))
    sensor = build_curtailment_sensor(clock)
    cursor = tick(env, sensor, clock.now, None).cursor
    notices = len(env.sms.posts)

    clock.now = datetime(2026, 10, 15, 7, 59)
    cursor = tick(env, sensor, clock.now, cursor).cursor  # an hourly retry tick: nothing due
    assert len(env.sms.posts) == notices
    clock.now = datetime(2026, 10, 15, 8, 0)
    result = tick(env, sensor, clock.now, cursor)
    assert "T2:reminder" in result.run_requests[0].tags["reasons"]
    assert set(env.sms_to("curtailment:T2:reminder:")) == phones
    reminder = next(iter(env.sms_to("curtailment:T2:reminder:").values()))
    assert "将于2026-10-15 10:00开始执行" in reminder

    clock.now = datetime(2026, 10, 15, 8, 30)
    cursor = tick(env, sensor, clock.now, result.cursor).cursor
    assert env.sms_to("curtailment:T2:all_clear:") == {}
    clock.now = datetime(2026, 10, 15, 12, 0)
    cursor = tick(env, sensor, clock.now, cursor).cursor
    assert set(env.sms_to("curtailment:T2:all_clear:")) == phones
    sent = len(env.sms.posts)

    # re-evaluating (sensor and job, same or later time) sends nothing again
    for minute in (1, 2):
        clock.now = datetime(2026, 10, 15, 12, minute)
        env.run("curtailment_job", {"ops": {"curtailment_workflow": {"config": {
            "now": clock.now.isoformat(sep=" ")}}}})
    evaluate_curtailment(env.warehouse, env.inbox, now=datetime(2026, 10, 15, 12, 0))
    assert len(env.sms.posts) == sent
    assert env.sms_messages("curtailment:T2:") == 3 * len(phones)
    again = build_curtailment_sensor(Clock(datetime(2026, 10, 15, 12, 0, 30)))
    skipped = again(build_sensor_context(instance=DagsterInstance.ephemeral(), cursor=cursor,
                                         resources=env.resources()))
    assert not skipped.run_requests


def test_an_unacknowledged_emergency_notice_is_escalated_after_30_minutes(env: Env) -> None:
    subscribed = env.sql(
        """select k.customer_id, min(k.contact_id) from restricted.contacts k
           join master.contact_subscriptions s on s.contact_id = k.contact_id
                and s.notice_type = 'curtailment'
           where k.customer_id is not null group by k.customer_id order by k.customer_id
           limit 2""")
    (acked_customer, acked_contact), (silent_customer, _) = subscribed
    write_csv(env.inbox / "curtailment" / "E1.csv", PLAN_HEADER, [
        ["E1", "emergency", "I", "2026-10-20 14:00", "2026-10-20 16:00", "", "", customer, "200",
         "2026-10-20 12:00"] for customer in (acked_customer, silent_customer)
    ])
    evaluate_curtailment(env.warehouse, env.inbox, now=datetime(2026, 10, 20, 12, 0, 30))
    assert acknowledge(service(env), "E1", acked_customer, acked_contact)

    evaluate_curtailment(env.warehouse, env.inbox, now=datetime(2026, 10, 20, 12, 20))
    assert env.mails_to("curtailment:E1:escalation:") == {}
    evaluate_curtailment(env.warehouse, env.inbox, now=datetime(2026, 10, 20, 12, 31))
    evaluate_curtailment(env.warehouse, env.inbox, now=datetime(2026, 10, 20, 12, 45))

    managers_and_officials = {r[0] for r in env.sql(
        "select email from restricted.contacts where role in ('account_manager', 'government')")}
    mails = env.mails_to("curtailment:E1:escalation:")
    assert set(mails) == managers_and_officials
    assert {str(m.message["X-Notice-Key"]) for m in env.smtp.messages
            if "escalation" in str(m.message["X-Notice-Key"])} == {
        f"curtailment:E1:escalation:{silent_customer}"}
    silent_names = [r[0] for r in env.sql(
        "select k.contact_name from restricted.contacts k join master.contact_subscriptions s"
        " using (contact_id) where k.customer_id = ? and s.notice_type = 'curtailment'",
        [silent_customer])]
    body = next(iter(mails.values()))
    assert f"（{silent_customer}）" in body and "30分钟内未确认" in body
    assert all(name in body for name in silent_names)
    assert env.sql("select customer_id, status from workflow.curtailment_stages"
                   " where plan_id = 'E1' and stage = 'escalation' order by customer_id") == sorted(
        [(acked_customer, "not_needed"), (silent_customer, "done")])
    assert len({(tuple(m.rcpt_tos), str(m.message["X-Notice-Key"])) for m in env.smtp.messages}
               ) == len(env.smtp.messages)


def test_reduction_is_measured_against_five_like_workdays(env: Env) -> None:
    # CU with a single meter; the window is Monday 2026-10-12 10:00-12:00 (after 国庆)
    customer, meter = env.sql(
        """select customer_id, min(meter_id) from master.metering_points
           group by customer_id having count(*) = 1 order by customer_id limit 1""")[0]
    other = env.sql("select customer_id from master.customers where valid_to is null"
                    " and customer_id <> ? order by customer_id limit 1", [customer])[0][0]
    # like workdays before Monday 10-12: Sat 10-10 (调休 workday), Fri 10-09, Thu 10-08,
    # then 10-01..10-07 are holidays, so Wed 09-30 and Tue 09-29
    baseline = {date(2026, 10, 10): "100", date(2026, 10, 9): "110", date(2026, 10, 8): "90",
                date(2026, 9, 30): "105", date(2026, 9, 29): "95"}
    for day, kwh in baseline.items():
        intervals(env, meter, customer, day, 10, 12, Decimal(kwh))
    intervals(env, meter, customer, date(2026, 10, 12), 10, 12, Decimal("80"))  # the window
    for decoy in (date(2026, 10, 11), date(2026, 10, 5), date(2026, 9, 28)):  # Sun, holiday, 6th
        intervals(env, meter, customer, decoy, 10, 12, Decimal("500"))
    write_csv(env.inbox / "curtailment" / "R1.csv", PLAN_HEADER, [
        ["R1", "planned", "III", "2026-10-12 10:00", "2026-10-12 12:00", "", "", customer, "75",
         "2026-10-10 09:00"],
        ["R1", "planned", "III", "2026-10-12 10:00", "2026-10-12 12:00", "", "", other, "10",
         "2026-10-10 09:00"],
    ])
    evaluate_curtailment(env.warehouse, env.inbox, now=datetime(2026, 10, 10, 9, 1))
    evaluate_curtailment(env.warehouse, env.inbox, now=datetime(2026, 10, 12, 12, 0))

    # kW = kWh per 15 min x 4: baseline (400 + 440 + 360 + 420 + 380) / 5 = 400; actual 320
    assert env.sql("select customer_id, baseline_kw, actual_kw, reduction_kw, target_kw, met,"
                   " baseline_dates from workflow.curtailment_results where plan_id = 'R1'") == [
        (customer, Decimal("400.000"), Decimal("320.000"), Decimal("80.000"),
         Decimal("75.000"), True, "2026-10-10;2026-10-09;2026-10-08;2026-09-30;2026-09-29")]
    # the notice carried the reference curves: yesterday (Sunday decoy) 2000 kW, no history else
    [summary] = env.sql("select load_summary from workflow.curtailment_customers"
                        " where plan_id = 'R1' and customer_id = ?", [customer])[0]
    assert summary == ("昨日(2026-10-11)峰值2000kW(10时)、均值2000kW；"
                       "上月同日(2026-09-12)无数据；去年同日(2025-10-12)无数据")

    # the customer without data is recorded as not measurable once results_until has passed
    evaluate_curtailment(env.warehouse, env.inbox, now=datetime(2026, 10, 15, 12, 0))
    assert env.sql("select baseline_kw, actual_kw, met, detail from workflow.curtailment_results"
                   " where plan_id = 'R1' and customer_id = ?", [other]) == [
        (None, None, None, "window data incomplete; no workday with complete data in the"
                           " previous 45 days")]


def test_bad_plan_rows_are_rejected_with_file_line_and_reason(env: Env) -> None:
    region, _ = busiest_region(env)
    write_csv(env.inbox / "curtailment" / "bad.csv", PLAN_HEADER, [
        ["B1", "planned", "II", "2026-10-15 10:00", "2026-10-15 12:00", "火星", "", "", "5",
         "2026-10-13 09:00"],
        ["B2", "planned", "V", "2026-10-15 10:00", "2026-10-15 12:00", region, "", "", "5",
         "2026-10-13 09:00"],
        ["B3", "planned", "II", "2026-10-15 12:00", "2026-10-15 10:00", region, "", "", "5",
         "2026-10-13 09:00"],
        ["B4", "planned", "II", "2026-10-15 10:00", "2026-10-15 12:00", "", "", "", "5",
         "2026-10-13 09:00"],
    ])
    write_csv(env.inbox / "curtailment" / "again.csv", PLAN_HEADER, [])
    evaluate_curtailment(env.warehouse, env.inbox, now=datetime(2026, 10, 13, 9, 1))
    assert env.sql("select file_name, line, record_id, reason from workflow.rejections"
                   " where kind = 'curtailment' order by line") == [
        ("curtailment/bad.csv", 2, "B1", "target selects no current customer"
                                         " (region=火星, industry=None, customer_id=None)"),
        ("curtailment/bad.csv", 3, "B2", "warning_level 'V' is not one of I, II, III, IV"),
        ("curtailment/bad.csv", 4, "B3", "window_end must be after window_start"),
        ("curtailment/bad.csv", 5, "B4", "no target: region, industry or customer_id is required"),
    ]
    assert env.sql("select count(*) from workflow.curtailment_plans") == [(0,)]


def test_rules_are_effective_dated_and_give_the_default_lead_times() -> None:
    rules = load_rules()
    planned = rule_for(rules, "planned", "II", date(2026, 7, 1))
    emergency = rule_for(rules, "emergency", "III", date(2026, 7, 1))
    assert (planned.measure, rule_for(rules, "emergency", "I", date(2026, 7, 1)).measure,
            emergency.measure) == ("limiting", "tripping", "limiting")
    timeline = plan_timeline(planned, datetime(2026, 7, 1, 10), datetime(2026, 7, 1, 12),
                             datetime(2026, 6, 28, 9))
    assert timeline.notice_deadline == datetime(2026, 6, 30, 17, 0)
    assert timeline.reminder_at == datetime(2026, 7, 1, 8, 0)
    assert timeline.ack_timeout_minutes is None
    assert plan_timeline(emergency, datetime(2026, 7, 1, 10), datetime(2026, 7, 1, 12),
                         datetime(2026, 7, 1, 9)).ack_timeout_minutes == 30
    with pytest.raises(LookupError):
        rule_for(rules, "planned", "II", date(2019, 1, 1))


# -- early termination ------------------------------------------------------------------------


@dataclass(frozen=True)
class Contracts:
    paid: str  # fee hand-computed: 8800.01
    paid_customer: str
    capped: str  # fee = cap 100.00
    capped_customer: str


def prepare_contracts(env: Env) -> Contracts:
    """Two contracts with hand-made terms, volumes and last-year history."""
    (paid, paid_customer), (capped, capped_customer) = env.sql(
        """select k.contract_id, k.customer_id from master.contracts k
           join master.customers c on c.customer_id = k.customer_id and c.valid_to is null
           where c.customer_class <> 'residential' and k.customer_id in (
               select customer_id from master.metering_points group by 1 having count(*) = 1)
           order by k.contract_id limit 2""")
    meter = env.sql("select meter_id from master.metering_points where customer_id = ?",
                    [paid_customer])[0][0]
    for statement in (
        """update master.contracts set start_month = '2026-01', end_month = '2027-03',
               termination_rate_yuan_per_mwh = 20, termination_cap_yuan = 50000
           where contract_id = $paid""",
        """update master.contracts set termination_rate_yuan_per_mwh = 20,
               termination_cap_yuan = 100 where contract_id = $capped""",
        "delete from master.contract_volumes where contract_id = $paid",
        """insert into master.contract_volumes values
               ($paid, '2026-10', 999999), ($paid, '2026-11', 100000), ($paid, '2026-12', 120000),
               ($paid, '2027-02', 90000), ($paid, '2027-03', 80000)""",
    ):
        env.execute(statement, {"capped": capped} if "$capped" in statement else {"paid": paid})
    # 2027-01 has no contracted volume: same month last year = 2026-01 = 50000.25 kWh
    with connect(env.warehouse) as con:
        con.executemany(
            "insert into core.int_interval_validated"
            " values (?, ?, 'kwh_imp', ?, ?, 15, ?, 'ACTUAL')",
            [[meter, paid_customer, datetime(2026, 1, d, 10), date(2026, 1, d),
              Decimal("25000.125")] for d in (5, 6)]
            # a month that has a contracted volume: its history must not be used
            + [[meter, paid_customer, datetime(2025, 11, 5, 10), date(2025, 11, 5),
                Decimal("777")]],
        )
    return Contracts(paid, paid_customer, capped, capped_customer)


def termination_contacts(env: Env, customer: str) -> dict[str, tuple]:
    """Documented rule: the customer's termination subscribers (else all its contacts), plus the
    account managers (none is tied to a customer in the sample data, so all of them)."""
    own = expected_contacts(env, [customer], "termination")
    if not own:
        own = {r[0]: r[1:] for r in env.sql(
            "select contact_id, split_part(coalesce(channels, 'sms'), ';', 1), phone, email"
            " from restricted.contacts where customer_id = ?", [customer])}
    managers = {r[0]: r[1:] for r in env.sql(
        "select contact_id, split_part(channels, ';', 1), phone, email from restricted.contacts"
        " where role = 'account_manager'")}
    return {**own, **managers}


REQUEST_HEADER = ["request_id", "contract_id", "requested_at", "reason", "requested_by"]
PAYMENT_HEADER = ["instruction_id", "result", "amount_yuan", "paid_at", "failure_reason"]


def termination_tick(env: Env, cursor: str | None):
    result = termination_inbox_sensor(build_sensor_context(
        instance=DagsterInstance.ephemeral(), cursor=cursor, resources=env.resources()))
    for _ in result.run_requests or []:
        env.run("termination_job")
    return result


def test_paid_termination_ends_the_contract_next_month_and_failed_payment_keeps_it(
    env: Env,
) -> None:
    k = prepare_contracts(env)
    write_csv(env.inbox / "terminations" / "requests.csv", REQUEST_HEADER, [
        ["TR1", k.paid, "2026-10-20 09:30", "搬迁", "张经理"],
        ["TR2", k.capped, "2026-10-20 09:45", "停产", "李经理"],
    ])
    first = termination_tick(env, None)
    assert len(first.run_requests) == 1

    # Σ Q̂ = 100000 + 120000 + 50000.25 (2026-01) + 90000 + 80000 = 440000.25 kWh
    # fee = 440.00025 MWh x 20 = 8800.005 -> 8800.01 (half-up; banker's rounding would give .00)
    assert env.sql("select instruction_id, request_id, amount_yuan, status"
                   " from workflow.payment_instructions order by 1") == [
        ("PI-TR1", "TR1", Decimal("8800.01"), "pending"),
        ("PI-TR2", "TR2", Decimal("100.00"), "pending")]
    assert env.sql("select period, estimate_source, estimated_kwh from"
                   " workflow.termination_fee_lines where request_id = 'TR1' order by 1") == [
        ("2026-11", "contract", Decimal("100000.000")), ("2026-12", "contract",
                                                           Decimal("120000.000")),
        ("2027-01", "last_year", Decimal("50000.250")), ("2027-02", "contract",
                                                           Decimal("90000.000")),
        ("2027-03", "contract", Decimal("80000.000"))]
    [(effective, uncapped, fee)] = env.sql(
        "select effective_month, uncapped_fee_yuan, fee_yuan from workflow.termination_requests"
        " where request_id = 'TR2'")
    assert effective == "2026-11" and uncapped > Decimal("100") and fee == Decimal("100.00")
    bank = env.sql("select p.payee_bank_name, p.payee_account_masked, a.bank_account,"
                   " r.bank_account from workflow.payment_instructions p"
                   " join restricted.payment_instruction_accounts a using (instruction_id)"
                   " join master.contracts k on k.contract_id = ?"
                   " join restricted.retailers r on r.retailer_id = k.retailer_id"
                   " where p.request_id = 'TR1'", [k.paid])[0]
    assert bank[2] == bank[3] and bank[1].endswith(bank[3][-4:]) and bank[3] not in bank[1]

    write_csv(env.inbox / "payments" / "results.csv", PAYMENT_HEADER, [
        ["PI-TR1", "success", "8800.01", "2026-10-21 15:00", ""],
        ["PI-TR2", "failure", "100.00", "", "账户余额不足"],
    ])
    second = termination_tick(env, first.cursor)
    assert len(second.run_requests) == 1

    assert env.sql("select contract_id, request_id, effective_month, fee_yuan"
                   " from workflow.contract_terminations") == [
        (k.paid, "TR1", "2026-11", Decimal("8800.01"))]
    assert env.sql("select request_id, status, notified_at is not null"
                   " from workflow.termination_requests order by 1") == [
        ("TR1", "terminated", True), ("TR2", "payment_failed", True)]
    for request, customer, needle in (("TR1:completed", k.paid_customer, "8,800.01元已收讫"),
                                      ("TR2:failed", k.capped_customer, "账户余额不足")):
        phones, emails = addresses(termination_contacts(env, customer))
        sms = env.sms_to(f"termination:{request}")
        mails = env.mails_to(f"termination:{request}")
        assert set(sms) == phones and set(mails) == emails
        assert emails  # the account managers prefer email
        assert all(needle in text for text in [*sms.values(), *mails.values()])
    assert "零售关系自2026-11起解除" in next(iter(env.mails_to("termination:TR1").values()))
    steps = [r[0] for r in env.sql("select step || ':' || status from workflow.termination_audit"
                                   " where request_id = 'TR1' order by audit_id")]
    assert steps == ["received:accepted", "fee_computed:ok", "payment_instruction:pending",
                     "payment_result:success", "terminated:ok", "notified:ok"]

    # idempotent: the same files again change nothing and send nothing
    posts, mails_before = len(env.sms.posts), len(env.smtp.messages)
    audit = env.sql("select count(*) from workflow.termination_audit")
    third = termination_tick(env, second.cursor)
    assert not third.run_requests
    env.run("termination_job")
    assert (len(env.sms.posts), len(env.smtp.messages)) == (posts, mails_before)
    assert env.sql("select count(*) from workflow.termination_audit") == audit


def test_termination_and_payment_rejections_carry_file_line_and_reason(env: Env) -> None:
    k = prepare_contracts(env)
    write_csv(env.inbox / "terminations" / "a.csv", REQUEST_HEADER, [
        ["TR1", k.paid, "2026-10-20 09:30", "搬迁", "张"],
        ["TR2", "CON404", "2026-10-20 09:30", "搬迁", "张"],
        ["TR3", k.paid, "2026-10-20 09:40", "再次申请", "张"],
        ["TR1", k.capped, "2026-10-20 09:50", "重复编号", "张"],
        ["TR4", k.capped, "2026-10-32", "日期错误", "张"],
    ])
    run_termination_workflow(env.warehouse, env.inbox, service=service(env))
    write_csv(env.inbox / "terminations" / "b.csv", REQUEST_HEADER, [
        ["TR1", k.capped, "2026-10-21 09:30", "又一次", "张"]])
    write_csv(env.inbox / "payments" / "p1.csv", PAYMENT_HEADER, [
        ["PI-NOPE", "success", "10.00", "2026-10-21 15:00", ""],
        ["PI-TR1", "success", "8800.00", "2026-10-21 15:00", ""],
    ])
    run_termination_workflow(env.warehouse, env.inbox, service=service(env))
    write_csv(env.inbox / "payments" / "p2.csv", PAYMENT_HEADER, [
        ["PI-TR1", "success", "8800.01", "2026-10-21 16:00", ""]])
    run_termination_workflow(env.warehouse, env.inbox, service=service(env))
    write_csv(env.inbox / "payments" / "p3.csv", PAYMENT_HEADER, [
        ["PI-TR1", "failure", "8800.01", "", "重复回执"]])
    run_termination_workflow(env.warehouse, env.inbox, service=service(env))
    run_termination_workflow(env.warehouse, env.inbox, service=service(env))  # nothing new

    assert env.sql("select file_name, line, record_id, reason from workflow.rejections"
                   " order by file_name, line") == [
        ("payments/p1.csv", 2, "PI-NOPE", "unknown instruction PI-NOPE"),
        ("payments/p1.csv", 3, "PI-TR1", "amount 8800.00 yuan does not match the instructed"
                                         " amount 8800.01 yuan of PI-TR1"),
        ("payments/p3.csv", 2, "PI-TR1", "instruction PI-TR1 is already settled (paid,"
                                         " payments/p2.csv)"),
        ("terminations/a.csv", 3, "TR2", "unknown contract CON404"),
        ("terminations/a.csv", 4, "TR3", f"contract {k.paid} already has request TR1 awaiting"
                                         " payment"),
        ("terminations/a.csv", 5, "TR1", "duplicate request_id TR1: already received earlier"
                                         " in this file"),
        ("terminations/a.csv", 6, "TR4", "requested_at '2026-10-32' is not a time"
                                         " (YYYY-MM-DD HH:MM)"),
        ("terminations/b.csv", 2, "TR1", "duplicate request_id TR1: already received in"
                                         " terminations/a.csv"),
    ]
    assert env.sql("select contract_id, request_id from workflow.contract_terminations") == [
        (k.paid, "TR1")]
    # a terminated contract cannot be terminated again
    write_csv(env.inbox / "terminations" / "c.csv", REQUEST_HEADER, [
        ["TR9", k.paid, "2026-10-25 09:30", "再次", "张"]])
    run_termination_workflow(env.warehouse, env.inbox, service=service(env))
    assert env.sql("select reason from workflow.rejections where file_name = 'terminations/c.csv'"
                   ) == [(f"contract {k.paid} is already terminated (request TR1)",)]
    assert env.sql("select status from workflow.termination_audit where request_id = 'TR2'") == [
        ("rejected",)]


@pytest.mark.skipif(not (Path(sys.executable).parent / "dbt").exists(), reason="no dbt")
def test_stg_contracts_ends_a_terminated_contract_before_the_effective_month(
    env: Env, tmp_path: Path
) -> None:
    k = prepare_contracts(env)
    env.execute("insert into workflow.contract_terminations values (?, 'TRX', '2026-11', 1, now())",
                [k.paid])
    subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "run", "--select", "stg_contracts", "--quiet",
         "--profiles-dir", ".", "--target-path", str(tmp_path / "target"),
         "--log-path", str(tmp_path / "logs")],
        cwd=PROJECT / "transforms", check=True, env={**os.environ,
                                                     "GRIDLEDGER_WAREHOUSE": str(env.warehouse)},
    )
    con = duckdb.connect(str(env.warehouse), read_only=True)
    try:
        rows = dict(con.execute(
            "select contract_id, end_date::date from staging.stg_contracts"
            " where contract_id in (?, ?)", [k.paid, k.capped]).fetchall())
        capped_end = con.execute("select end_month from master.contracts where contract_id = ?",
                                 [k.capped]).fetchone()[0]
    finally:
        con.close()
    assert rows[k.paid] == date(2026, 10, 31)
    assert f"{rows[k.capped]:%Y-%m}" == capped_end


# -- sensors, definitions, demo ----------------------------------------------------------------


def test_termination_sensor_cursor_tracks_file_contents(env: Env) -> None:
    context = build_sensor_context(instance=DagsterInstance.ephemeral(),
                                   resources=env.resources())
    empty = termination_inbox_sensor(context)
    assert not empty.run_requests
    path = write_csv(env.inbox / "terminations" / "r.csv", REQUEST_HEADER,
                     [["T1", "CON000001", "2026-10-20 09:00", "", ""]])
    first = termination_inbox_sensor(build_sensor_context(
        instance=DagsterInstance.ephemeral(), cursor=empty.cursor, resources=env.resources()))
    same = termination_inbox_sensor(build_sensor_context(
        instance=DagsterInstance.ephemeral(), cursor=first.cursor, resources=env.resources()))
    path.write_text(path.read_text() + "T2,CON000002,2026-10-20 09:00,,\n", encoding="utf-8")
    changed = termination_inbox_sensor(build_sensor_context(
        instance=DagsterInstance.ephemeral(), cursor=first.cursor, resources=env.resources()))
    assert len(first.run_requests) == 1 and not same.run_requests
    assert len(changed.run_requests) == 1
    assert changed.run_requests[0].run_key != first.run_requests[0].run_key


def test_definitions_wire_the_workflows_into_the_platform() -> None:
    from orchestration.build import build_defs

    defs = build_defs()
    assert defs.resolve_job_def("termination_job") and defs.resolve_job_def("curtailment_job")
    assert {"termination_inbox_sensor", "curtailment_sensor"} <= {
        s.name for s in defs.sensors}
    graph = defs.resolve_asset_graph()
    assert AssetKey(["workflow", "contract_terminations"]) in graph.get(
        AssetKey(["staging", "stg_contracts"])).parent_keys


def test_demo_inbox_yields_one_paid_one_failed_termination_and_a_regional_plan(env: Env) -> None:
    demo = write_demo_inbox(env.data_dir, env.warehouse)
    report = run_termination_workflow(env.warehouse, env.inbox, service=service(env))
    assert report.terminated == [demo.paid_request]
    assert report.payment_failed == [demo.failed_request]
    for stage, at in demo.evaluation_times.items():
        evaluate_curtailment(env.warehouse, env.inbox, now=at, service=service(env))
        if stage == "notice":
            assert env.sql("select count(*) from workflow.curtailment_plans") == [(1,)]
    customers = env.sql("select count(distinct customer_id) from workflow.curtailment_customers"
                        " where plan_id = ?", [demo.plan_id])[0][0]
    assert customers > 0
    assert env.sql("select count(distinct stage) from workflow.curtailment_stages"
                   " where plan_id = ?", [demo.plan_id]) == [(3,)]
    again = write_demo_inbox(env.data_dir, env.warehouse)
    assert again.files == demo.files
    assert run_termination_workflow(env.warehouse, env.inbox).files == 0


def test_the_curtailment_sensor_ticks_every_5_minutes_only_while_an_emergency_awaits_acks(
) -> None:
    rule = rule_for(load_rules(), "emergency", "II", date(2026, 10, 20))
    timelines = {"E9": plan_timeline(rule, datetime(2026, 10, 20, 14), datetime(2026, 10, 20, 16),
                                     datetime(2026, 10, 20, 12))}
    at = datetime(2026, 10, 20, 12, 0, 30)
    assert due_reasons(timelines, None, at) == ["E9:notice"]
    assert due_reasons(timelines, at, datetime(2026, 10, 20, 12, 4)) == []
    assert due_reasons(timelines, datetime(2026, 10, 20, 12, 4),
                       datetime(2026, 10, 20, 12, 5)) == ["E9:ack_tick"]
    assert due_reasons(timelines, datetime(2026, 10, 20, 12, 59),
                       datetime(2026, 10, 20, 13, 0)) == ["E9:ack_tick", "E9:hourly_tick"]
    assert due_reasons(timelines, datetime(2026, 10, 20, 16, 0),
                       datetime(2026, 10, 20, 16, 10)) == []  # after the window: hourly only
    assert due_reasons(timelines, datetime(2026, 10, 23, 15, 59),
                       datetime(2026, 10, 23, 16, 0)) == ["E9:results_until", "E9:hourly_tick"]
