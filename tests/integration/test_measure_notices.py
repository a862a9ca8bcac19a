"""The measure notice (issue 11 item 3) in-process: `analytics/measure_notices` materialized by
Dagster on a hand-made `analytics.customer_measures`, delivered by email to a real SMTP server
on 127.0.0.1, once per customer, month and measure (the delivery ledger), to the subscribed
account managers only; a customer whose account manager does not subscribe is `no_recipient`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from dagster import DagsterInstance, materialize

from assets.analytics.notices import measure_notices, notice_key
from foundation.resources import Gridledger
from foundation.warehouse import connect
from notifications.resource import LiveDelivery

if TYPE_CHECKING:
    from receivers import SmtpReceiver

pytest_plugins = ["receivers"]

MONTH = "2026-09"
# customer, retailer, P(churn), band, grade, credit grade, measure code, measure
MEASURES = [
    ("C1", "R1", 0.42, "high", "A", "good", "retain_priority", "Account manager visit"),
    ("C2", "R1", 0.05, "low", "B", "fair", "maintain", "Standard service"),  # not actionable
    ("C3", "R2", 0.20, "medium", "B", None, "nurture", "Follow up open tickets"),
    ("C4", "R1", 0.35, "high", "C", "poor", "review", "Review the account"),
]
SETUP = """
create schema master; create schema analytics;
create table master.customers (customer_id varchar, retailer_id varchar, customer_name varchar,
    customer_class varchar, valid_from date, valid_to date);
insert into master.customers values
    ('C1', 'R1', '华北钢铁有限公司', 'industrial', '2024-01-01', null),
    ('C2', 'R1', '李**', 'residential', '2024-01-01', null),
    ('C3', 'R2', '燕山化工有限公司', 'industrial', '2024-01-01', null),
    ('C4', 'R1', '唐山建材有限公司', 'industrial', '2024-01-01', null),
    ('C9', 'R2', '张家口商贸有限公司', 'commercial', '2024-01-01', null);
create table restricted.contacts (contact_id varchar, customer_id varchar, contact_name varchar,
    role varchar, phone varchar, email varchar, channels varchar);
-- AM1 is tied to no customer: the manager of every retailer without one of its own (R1);
-- AM2 is tied to C9, so it is R2's (C3's) manager, and does not subscribe
insert into restricted.contacts values
    ('AM1', null, '客户经理甲', 'account_manager', '13900000001', 'am1@example.cn', 'email;sms'),
    ('AM2', 'C9', '客户经理乙', 'account_manager', '13900000002', 'am2@example.cn', 'email'),
    ('K1', 'C1', '张三', 'customer_contact', '13800000001', 'zs@example.cn', 'email');
create table master.contact_groups (group_id varchar, group_type varchar, group_name varchar,
    region varchar, industry varchar);
create table master.contact_group_members (group_id varchar, contact_id varchar);
create table master.contact_subscriptions (contact_id varchar, notice_type varchar);
-- the customer's own contact subscribes too: the notice is for account managers only
insert into master.contact_subscriptions values
    ('AM1', 'customer_measures'), ('AM1', 'unbilled_energy'), ('AM2', 'unbilled_energy'),
    ('K1', 'customer_measures');
create table analytics.customer_measures (month varchar, customer_id varchar,
    churn_probability_90d double, risk_band varchar, value_score double, value_grade varchar,
    measure_code varchar, measure varchar, reason varchar, credit_score decimal(9, 2),
    credit_grade varchar);
"""


def _materialize(warehouse: Path, smtp: SmtpReceiver) -> dict:
    result = materialize([measure_notices], instance=DagsterInstance.ephemeral(), resources={
        "gridledger": Gridledger(warehouse=str(warehouse), data_dir=str(warehouse.parent)),
        "delivery": LiveDelivery(smtp_url=f"mailto://127.0.0.1:{smtp.port}"
                                          "?from=noreply@gridledger.local",
                                 backoff_seconds=[0.0])})
    assert result.success
    [event] = result.get_asset_materialization_events()
    return {k: v.value for k, v in event.materialization.metadata.items()}


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    with connect(path) as con:
        con.execute(SETUP)
        con.executemany("insert into analytics.customer_measures values "
                        "(?, ?, ?, ?, 50.0, ?, ?, ?, null, 70.00, ?)",
                        [[MONTH, c, p, band, grade, code, text, credit]
                         for c, _, p, band, grade, credit, code, text in MEASURES])
    return path


def test_the_subscribed_account_manager_gets_each_measure_once(
        warehouse: Path, smtp_server: SmtpReceiver) -> None:
    meta = _materialize(warehouse, smtp_server)

    # C1 and C4 (R1) go to AM1; C2 (low × B) is not actionable; C3's manager AM2 is R2's and
    # does not subscribe: no recipient (not an error, not AM1)
    assert (meta["customers_actionable"], meta["customers_not_actionable"]) == (3, 1)
    assert (meta["customers_sent"], meta["customers_skipped"],
            meta["customers_no_recipient"]) == (2, 0, 1)
    assert meta["no_recipient_customers"] == "C3"
    assert meta["notices_sent"] == 2 and meta["contacts_unreached"] == 0
    mails = sorted(smtp_server.messages, key=lambda m: m.subject)
    assert [m.rcpt_tos for m in mails] == [["am1@example.cn"]] * 2
    assert [m.subject for m in mails] == ["2026-09客户维系措施：C1（重点挽留）",
                                          "2026-09客户维系措施：C4（账户复核）"]
    c1 = mails[0].text
    assert "华北钢铁有限公司（C1）2026-09流失风险高（90天内流失概率42.0%）" in c1
    assert "价值等级A，信用评级良好" in c1 and "Account manager visit（retain_priority）" in c1
    assert "信用评级较差" in mails[1].text
    with connect(warehouse, read_only=True) as con:
        ledger = con.execute("select notice_key, notice_type, contact_id, channel, status "
                             "from notify.delivery_ledger order by notice_key").fetchall()
    assert ledger == [(notice_key("C1", MONTH, "retain_priority"), "customer_measure", "AM1",
                       "email", "sent"),
                      (notice_key("C4", MONTH, "review"), "customer_measure", "AM1", "email",
                       "sent")]

    # the same month and measures again: nothing new
    again = _materialize(warehouse, smtp_server)
    assert (again["customers_sent"], again["customers_skipped"],
            again["customers_no_recipient"], again["notices_sent"]) == (0, 2, 1, 0)
    assert len(smtp_server.messages) == 2

    # a changed measure (C4 now medium × A) is a new notice; C1 unchanged stays quiet
    with connect(warehouse) as con:
        con.execute("update analytics.customer_measures set risk_band = 'medium', "
                    "value_grade = 'A', measure_code = 'nurture_priority', "
                    "measure = 'Quarterly review meeting' where customer_id = 'C4'")
    changed = _materialize(warehouse, smtp_server)
    assert (changed["customers_sent"], changed["customers_skipped"]) == (1, 1)
    assert len(smtp_server.messages) == 3
    assert smtp_server.messages[-1].subject == "2026-09客户维系措施：C4（重点维护）"


def test_without_contacts_every_actionable_customer_is_no_recipient(tmp_path: Path,
                                                                     smtp_server) -> None:
    """A warehouse where no master data was loaded: counted, nothing sent, no error."""
    warehouse = tmp_path / "warehouse.duckdb"
    with connect(warehouse) as con:
        con.execute("create schema analytics; create table analytics.customer_measures as "
                    "select '2026-09' as month, 'C1' as customer_id, "
                    "0.5::double as churn_probability_90d, 'high' as risk_band, 'A' as "
                    "value_grade, 'retain_priority' as measure_code, 'visit' as measure, "
                    "null::varchar as credit_grade")
    meta = _materialize(warehouse, smtp_server)
    assert (meta["customers_actionable"], meta["customers_no_recipient"],
            meta["notices_sent"]) == (1, 1, 0)
    assert smtp_server.messages == []
