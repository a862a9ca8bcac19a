"""The delivery service against real receivers: SMTP (aiosmtpd), HTTP/JSON and the outbox."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import apprise
import duckdb
import pytest

from foundation.paths import restricted_path
from foundation.warehouse import connect
from notifications import (
    NOTICE_TYPES,
    Audience,
    ChannelConfig,
    DeliveryService,
    Ledger,
    Recipient,
    idempotency_key,
    mask_account,
    mask_email,
    mask_phone,
    render,
    resolve_each,
    resolve_recipients,
    sms_segments,
)
from notifications.ledger import QueueEntry, part_key
from notifications.masking import mask_url, register_masking_functions, scrub
from notifications.service import Notice, message_id

if TYPE_CHECKING:  # imported by pytest as a plugin (below); importing it here first would
    from receivers import HttpReceiver, ReceivedPost, SmtpReceiver  # skip assert rewriting

pytest_plugins = ["receivers"]  # the smtp_server and http_receiver fixtures

BILL = {"customer_name": "华北钢铁有限公司", "period": "2025-06", "amount_yuan": 123456.78,
        "due_date": "2025-07-15"}
CURTAILMENT = {
    "customer_name": "华北钢铁有限公司", "plan_id": "P20250701", "plan_name": "迎峰度夏错峰方案",
    "plan_type": "planned", "level": "II", "measure": "staggered",
    "window_start": "2025-07-01 10:00", "window_end": "2025-07-01 16:00",
    "load_cap_kw": 1200, "reduction_kw": 300, "hotline": "0311-12345678",
}
ZHANG = Recipient("K1", "张三", "C1", "customer_contact", "13812345678", "zhangsan@example.com",
                  ("sms", "email"))
LI = Recipient("K2", "李四", "C2", "customer_contact", "13900001111", "lisi@example.com",
               ("email",))


def service(tmp_path: Path, **urls: str) -> DeliveryService:
    return DeliveryService(
        tmp_path / "warehouse.duckdb", ChannelConfig(urls=urls), backoff_seconds=(0, 0, 0)
    )


def smtp_url(smtp: SmtpReceiver) -> str:
    return f"mailto://127.0.0.1:{smtp.port}?from=noreply@gridledger.local"


def sms_messages(posts: list[ReceivedPost]) -> dict[str, list[str]]:
    """Parts received per message (idempotency key), in arrival order."""
    messages: dict[str, list[str]] = {}
    for post in posts:
        messages.setdefault(post.payload["idempotency_key"], []).append(post.payload["part"])
    return messages


def query(warehouse: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_email_lands_at_the_smtp_server_with_the_recipient_and_chinese_text(
    tmp_path: Path, smtp_server: SmtpReceiver
) -> None:
    svc = service(tmp_path, email=smtp_url(smtp_server))

    report = svc.deliver("bill_ready:C2:2025-06", "bill_ready", BILL, [LI])

    assert [o.status for o in report.outcomes] == ["sent"]
    [mail] = smtp_server.messages
    assert mail.rcpt_tos == ["lisi@example.com"]
    assert mail.mail_from == "noreply@gridledger.local"
    assert mail.subject == "2025-06电费账单已出"
    assert "应缴金额123,456.78元" in mail.text and "华北钢铁有限公司" in mail.text
    assert mail.message["X-Idempotency-Key"] == idempotency_key(
        "bill_ready:C2:2025-06", "K2", "email"
    )


def test_sms_json_lands_at_the_gateway_with_the_phone_and_every_segment(
    tmp_path: Path, http_receiver: HttpReceiver
) -> None:
    svc = service(tmp_path, sms=http_receiver.url("/sms"))
    body = render("curtailment_notice", {**CURTAILMENT, "contact_name": "张三"}).body

    report = svc.deliver("curtailment_notice:P20250701", "curtailment_notice", CURTAILMENT, [ZHANG])

    assert [(o.channel, o.status) for o in report.outcomes] == [("sms", "sent")]
    segments = sms_segments(body)
    assert len(segments) == 3
    assert [p.path for p in http_receiver.posts] == ["/sms"] * 3
    assert [p.payload["message"] for p in http_receiver.posts] == segments
    assert {p.payload["to"] for p in http_receiver.posts} == {"13812345678"}
    assert [(p.payload["part"], p.payload["parts"]) for p in http_receiver.posts] == [
        ("1", "3"), ("2", "3"), ("3", "3")
    ]
    assert http_receiver.posts[0].payload["notice_key"] == "curtailment_notice:P20250701"
    [row] = svc.ledger.rows("curtailment_notice:P20250701")
    assert (row.status, row.parts_total, row.parts_sent, row.recipient_masked) == (
        "sent", 3, 3, "138****5678"
    )


def test_the_outbox_schema_appends_rows_to_the_warehouse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    explicit = tmp_path / "explicit.duckdb"
    from_env = tmp_path / "env.duckdb"
    monkeypatch.setenv("GRIDLEDGER_WAREHOUSE", str(from_env))
    notifier = apprise.Apprise()
    notifier.add(f"outbox://?warehouse={explicit}&to=zhangsan@example.com&channel=email"
                 "&notice_key=n1")
    notifier.add("outbox://?to=13812345678&channel=sms")

    assert notifier.notify(body="电费账单已生成", title="账单")

    rows = query(explicit, "select recipient, channel, title, body, notice_key from notify.outbox")
    assert rows == [("z***@example.com", "email", "账单", "电费账单已生成", "n1")]
    assert query(from_env, "select recipient, channel, body from notify.outbox") == [
        ("138****5678", "sms", "电费账单已生成")
    ]


def test_the_default_channel_is_the_outbox_so_the_demo_needs_no_server(tmp_path: Path) -> None:
    svc = service(tmp_path)

    svc.deliver("bill_ready:C2:2025-06", "bill_ready", BILL, [LI])

    [(recipient, channel, title, notice_key)] = query(
        svc.warehouse, "select recipient, channel, title, notice_key from notify.outbox"
    )
    assert (recipient, channel, title, notice_key) == (
        "l***@example.com", "email", "2025-06电费账单已出", "bill_ready:C2:2025-06"
    )


def test_a_receiver_that_is_down_is_retried_then_failed_then_delivered_once_when_back(
    tmp_path: Path, http_receiver: HttpReceiver
) -> None:
    only_sms = Recipient("K9", "王五", "C9", "customer_contact", "13700002222", None, ("sms",))
    svc = service(tmp_path, sms=http_receiver.url("/sms"))
    http_receiver.down = True

    first = svc.deliver("bill_ready:C9:2025-06", "bill_ready", BILL, [only_sms])

    assert http_receiver.requests == 3  # the first segment, tried three times
    assert [(o.status, o.attempts) for o in first.outcomes] == [("failed", 3)]
    [row] = svc.ledger.rows("bill_ready:C9:2025-06")
    assert (row.status, row.attempts) == ("failed", 3)
    assert "500" in row.last_error or "Internal Server Error" in row.last_error
    assert first.unreached == ["K9"]

    http_receiver.down = False
    second = svc.deliver("bill_ready:C9:2025-06", "bill_ready", BILL, [only_sms])
    third = svc.deliver("bill_ready:C9:2025-06", "bill_ready", BILL, [only_sms])

    key = idempotency_key("bill_ready:C9:2025-06", "K9", "sms")
    assert sms_messages(http_receiver.posts) == {key: ["1", "2"]}  # one message, two segments
    assert [o.status for o in second.outcomes] == ["sent"]
    assert [o.status for o in third.outcomes] == ["already_sent"]
    [row] = svc.ledger.rows("bill_ready:C9:2025-06")
    assert (row.status, row.attempts) == ("sent", 4)
    assert row.sent_at is not None and row.sent_at >= row.queued_at


def test_retries_sleep_the_configured_backoff_between_attempts(
    tmp_path: Path, http_receiver: HttpReceiver
) -> None:
    slept: list[float] = []
    svc = DeliveryService(
        tmp_path / "w.duckdb", ChannelConfig(urls={"sms": http_receiver.url()}),
        max_attempts=4, backoff_seconds=(0.5, 1, 2), sleep=slept.append,
    )
    http_receiver.down = True

    svc.deliver("n", "bill_ready", BILL, [replace(ZHANG, channels=("sms",))])

    assert slept == [0.5, 1, 2]
    assert http_receiver.requests == 4


def test_the_same_notice_delivered_twice_sends_one_message_and_keeps_unique_keys(
    tmp_path: Path, smtp_server: SmtpReceiver, http_receiver: HttpReceiver
) -> None:
    svc = service(tmp_path, sms=http_receiver.url(), email=smtp_url(smtp_server))

    svc.deliver("bill_ready:2025-06", "bill_ready", BILL, [ZHANG, LI, ZHANG])
    again = svc.deliver("bill_ready:2025-06", "bill_ready", BILL, [ZHANG, LI])

    assert len(sms_messages(http_receiver.posts)) == 1 and len(smtp_server.messages) == 1
    assert all(parts == ["1", "2"] for parts in sms_messages(http_receiver.posts).values())
    assert {o.status for o in again.outcomes} == {"already_sent"}
    keys = query(svc.warehouse, "select idempotency_key from notify.delivery_ledger")
    assert len(keys) == len(set(keys)) == 2


def test_the_ledger_says_queued_while_the_message_is_on_the_wire(
    tmp_path: Path, http_receiver: HttpReceiver
) -> None:
    svc = service(tmp_path, sms=http_receiver.url())
    seen: list[str] = []

    def look_at_the_ledger(_: ReceivedPost) -> None:
        seen.extend(row.status for row in Ledger(svc.warehouse).rows("n1"))

    http_receiver.on_request = look_at_the_ledger
    svc.deliver("n1", "bill_ready", BILL, [ZHANG])

    assert set(seen) == {"queued"} and len(seen) == len(http_receiver.posts)
    assert [row.status for row in svc.ledger.rows("n1")] == ["sent"]


def test_a_row_left_queued_by_a_crash_is_sent_by_the_next_run(
    tmp_path: Path, http_receiver: HttpReceiver
) -> None:
    svc = service(tmp_path, sms=http_receiver.url())
    svc.ledger.enqueue([QueueEntry("n1", "bill_ready", "K1", "sms", "138****5678")])

    svc.deliver("n1", "bill_ready", BILL, [ZHANG])

    assert list(sms_messages(http_receiver.posts).values()) == [["1", "2"]]
    assert [row.status for row in svc.ledger.rows("n1")] == ["sent"]


def test_a_long_sms_broken_midway_resumes_after_the_last_accepted_segment(
    tmp_path: Path, http_receiver: HttpReceiver
) -> None:
    svc = service(tmp_path, sms=http_receiver.url())
    only_sms = Recipient("K1", "张三", "C1", "customer_contact", "13812345678", None, ("sms",))
    http_receiver.fail_after(1)

    svc.deliver("n1", "curtailment_notice", CURTAILMENT, [only_sms])
    [row] = svc.ledger.rows("n1")
    assert (row.status, row.parts_sent, row.parts_total) == ("failed", 1, 3)

    http_receiver.fail_after(100)
    svc.deliver("n1", "curtailment_notice", CURTAILMENT, [only_sms])

    assert [p.payload["part"] for p in http_receiver.posts] == ["1", "2", "3"]
    assert [row.status for row in svc.ledger.rows("n1")] == ["sent"]


def test_sms_falls_back_to_email_when_the_gateway_is_down(
    tmp_path: Path, smtp_server: SmtpReceiver, http_receiver: HttpReceiver
) -> None:
    svc = service(tmp_path, sms=http_receiver.url(), email=smtp_url(smtp_server))
    http_receiver.down = True

    report = svc.deliver("bill_ready:C1:2025-06", "bill_ready", BILL, [ZHANG])
    http_receiver.down = False
    later = svc.deliver("bill_ready:C1:2025-06", "bill_ready", BILL, [ZHANG])

    assert [(o.channel, o.status) for o in report.outcomes] == [
        ("sms", "failed"), ("email", "sent")
    ]
    assert report.reached == ["K1"]
    assert [m.rcpt_tos for m in smtp_server.messages] == [["zhangsan@example.com"]]
    assert http_receiver.posts == []  # the gateway came back, but the contact is already reached
    assert [o.status for o in later.outcomes] == ["already_sent"]
    statuses = {r.channel: r.status for r in svc.ledger.rows("bill_ready:C1:2025-06")}
    assert statuses == {"sms": "failed", "email": "sent"}


def test_a_channel_without_an_address_fails_over_without_attempts(
    tmp_path: Path, smtp_server: SmtpReceiver
) -> None:
    no_phone = Recipient("K3", "赵六", None, "government", None, "zhao@gov.example",
                         ("sms", "email"))
    svc = service(tmp_path, email=smtp_url(smtp_server))

    report = svc.deliver("n", "curtailment_notice", CURTAILMENT, [no_phone])

    assert [(o.channel, o.status, o.attempts) for o in report.outcomes] == [
        ("sms", "failed", 0), ("email", "sent", 1)
    ]
    assert report.outcomes[0].error == "no sms address on file"


def test_acknowledgements_and_delivery_stats(tmp_path: Path, http_receiver: HttpReceiver) -> None:
    svc = service(tmp_path, sms=http_receiver.url())
    unreachable = Recipient("K8", "孙七", None, "customer_contact", None, None, ("sms",))
    svc.deliver("c1", "curtailment_notice", CURTAILMENT, [ZHANG, unreachable])
    svc.deliver("b1", "bill_ready", BILL, [ZHANG])

    assert svc.ledger.awaiting_acknowledgement("c1") == ["K1"]
    assert svc.acknowledge("c1", "K1") is True
    assert svc.acknowledge("c1", "K1") is True  # idempotent
    assert svc.acknowledge("c1", "K8") is False  # never delivered, nothing recorded
    assert svc.ledger.awaiting_acknowledgement("c1") == []

    stats = svc.delivery_stats().set_index("notice_type")
    assert stats.loc["curtailment_notice", ["sent", "succeeded", "failed", "acknowledged"]] \
        .tolist() == [2, 1, 1, 1]
    assert stats.loc["bill_ready", ["sent", "succeeded", "failed", "acknowledged"]].tolist() \
        == [1, 1, 0, 0]
    assert svc.delivery_stats("1999-01").empty
    assert query(svc.warehouse, "select count(*) from notify.acknowledgements") == [(1,)]


@pytest.fixture
def contact_warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "contacts.duckdb"
    con = duckdb.connect(str(path))
    con.execute("""
        create schema restricted; create schema master;
        create table restricted.contacts (contact_id varchar, customer_id varchar,
            contact_name varchar, role varchar, phone varchar, email varchar, channels varchar);
        insert into restricted.contacts values
            ('K1', 'C1', '张三', 'customer_contact', '13812345678', 'zs@example.com', 'sms;email'),
            ('K2', 'C2', '李四', 'customer_contact', '13900001111', 'ls@example.com', 'email'),
            ('K3', 'C3', '王五', 'customer_contact', '13700002222', null, 'sms'),
            ('K4', null, '赵六', 'government', '13600003333', 'zl@gov.example', ''),
            ('K5', 'C5', '孙七', 'customer_contact', '13500004444', null, 'sms'),
            ('K6', 'C1', '周八', 'account_manager', '13400005555', 'zb@example.com', 'email;sms');
        create table master.contact_groups (group_id varchar, group_type varchar,
            group_name varchar, region varchar, industry varchar);
        insert into master.contact_groups values
            ('G1', 'region', '唐山片区', '唐山', null),
            ('G2', 'industry', '钢铁行业', null, '钢铁'),
            ('G3', 'region', '张家口片区', '张家口', null),
            ('G4', 'custom', '政府联络组', null, null),
            ('G5', 'plan', 'P20250701', null, null);
        create table master.contact_group_members (group_id varchar, contact_id varchar);
        insert into master.contact_group_members values
            ('G1', 'K1'), ('G2', 'K2'), ('G2', 'K1'), ('G3', 'K3'), ('G4', 'K4'), ('G5', 'K5');
        create table master.contact_subscriptions (contact_id varchar, notice_type varchar);
        insert into master.contact_subscriptions values
            ('K1', 'curtailment'), ('K1', 'bill_ready'), ('K2', 'curtailment'),
            ('K3', 'curtailment'), ('K4', 'curtailment'), ('K6', 'bill_ready');
    """)
    con.close()
    return path


def test_recipients_come_from_groups_and_subscriptions(contact_warehouse: Path) -> None:
    audience = Audience(regions=("唐山",), industries=("钢铁",), group_ids=("G4",),
                        plan_ids=("P20250701",))

    subscribed = resolve_recipients(contact_warehouse, "curtailment_notice", audience)
    everyone = resolve_recipients(contact_warehouse, "curtailment_notice", audience,
                                  subscribed_only=False)
    bills = resolve_recipients(contact_warehouse, "bill_ready", Audience(customer_ids=("C1",)))
    managers = resolve_recipients(contact_warehouse, "bill_ready",
                                  Audience(customer_ids=("C1",), roles=("account_manager",)))
    nobody = resolve_recipients(contact_warehouse, "meter_anomaly", Audience(customer_ids=("C1",)))

    # K3 is in another region, K5 is in the plan but not subscribed
    assert [r.contact_id for r in subscribed] == ["K1", "K2", "K4"]
    assert [r.contact_id for r in everyone] == ["K1", "K2", "K4", "K5"]
    assert [r.contact_id for r in bills] == ["K1", "K6"]
    assert [r.contact_id for r in managers] == ["K6"]
    assert nobody == []
    k1, _, k4 = subscribed
    assert (k1.phone, k1.email, k1.channels) == ("13812345678", "zs@example.com", ("sms", "email"))
    assert k4.channels == ("sms", "email")  # empty channels -> default order
    assert bills[1].channels == ("email", "sms")


def test_many_audiences_resolve_in_one_query_as_each_would_alone(contact_warehouse: Path) -> None:
    requests = [
        ("curtailment_notice", Audience(regions=("唐山",), industries=("钢铁",),
                                        group_ids=("G4",), plan_ids=("P20250701",))),
        ("bill_ready", Audience(customer_ids=("C1",))),
        ("bill_ready", Audience(customer_ids=("C1",), roles=("account_manager",))),
        ("meter_anomaly", Audience(customer_ids=("C1",))),
        ("curtailment_notice", Audience(contact_ids=("K3", "K5"), customer_ids=("C2",))),
        ("bill_ready", Audience()),
    ]

    together = resolve_each(contact_warehouse, requests)

    alone = [resolve_recipients(contact_warehouse, t, a) for t, a in requests]
    assert together == alone
    assert [[r.contact_id for r in found] for found in together] == [
        ["K1", "K2", "K4"], ["K1", "K6"], ["K6"], [], ["K2", "K3"], []]
    with pytest.raises(ValueError, match="unknown notice type 'bill'"):
        resolve_each(contact_warehouse, [("bill", Audience(customer_ids=("C1",)))])


def test_masking_functions() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("138 1234 5678") == "138****5678"
    assert mask_phone("12345") == "***45"
    assert mask_phone(None) is None
    assert mask_email("zhangsan@example.com") == "z***@example.com"
    assert mask_email("a@b.cn") == "a***@b.cn"
    assert mask_account("6222 0212 3456 7890 123") == "***************0123"
    assert mask_account("123") == "123"
    assert mask_url("mailtos://user:hunter2@smtp.example.com?from=a@b.cn&token=abc") == (
        "mailtos://user:****@smtp.example.com?from=a@b.cn&token=****"
    )
    assert scrub("mailto://u:pw@h failed for zhangsan@example.com / 13812345678") == (
        "mailto://u:****@h failed for z***@example.com / 138****5678"
    )
    con = duckdb.connect()
    register_masking_functions(con)
    assert con.execute(
        "select mask_phone('13812345678'), mask_email(null), mask_account('6222021234567890')"
    ).fetchone() == ("138****5678", None, "************7890")
    con.close()


def test_channel_config_reads_env_and_never_shows_secrets() -> None:
    config = ChannelConfig.from_env({
        "GRIDLEDGER_SMS_URL": "json://127.0.0.1:8025/sms",
        "GRIDLEDGER_SMTP_URL": "mailtos://bot:s3cret@smtp.example.com?from=noreply@gridledger.local",
        "GRIDLEDGER_WEBHOOK_URL": "",
    })

    assert config.template("sms") == "json://127.0.0.1:8025/sms"
    assert config.template("webhook") == "outbox://"
    assert config.url_for("sms", "13812345678", {"notice_key": "n 1"}) == (
        "json://127.0.0.1:8025/sms?:to=13812345678&:notice_key=n%201"
    )
    assert "to=zs%40example.com" in config.url_for("email", "zs@example.com")
    assert "s3cret" not in repr(config) and "s3cret" not in str(config.masked())


def test_every_notice_type_has_a_chinese_template() -> None:
    contexts = {
        "curtailment_notice": CURTAILMENT,
        "curtailment_reminder": CURTAILMENT,
        "curtailment_all_clear": {**CURTAILMENT, "ended_at": "2025-07-01 15:30"},
        "curtailment_escalation": {**CURTAILMENT, "customer_id": "C1", "minutes": 30},
        "bill_ready": BILL,
        "deviation_risk": {"customer_name": "甲", "period": "2025-06", "contracted_kwh": 1000,
                           "forecast_kwh": 1200, "deviation_pct": 20},
        "capacity_exceeded": {"customer_name": "甲", "meter_id": "MP000001", "period": "2025-06",
                              "days": 3, "max_kw": 234.2, "contract_kva": 100, "ratio": 2.34},
        "meter_anomaly": {"customer_name": "甲", "meter_id": "MP000001", "day": "2025-06-03",
                          "check": "spike"},
        "termination_completed": {"customer_name": "甲", "contract_id": "CT1", "fee_yuan": 2000,
                                  "effective_month": "2025-08"},
        "termination_failed": {"customer_name": "甲", "contract_id": "CT1", "reason": "未缴费"},
        "unbilled_energy": {"customer_name": "甲", "subject_id": "C1", "period": "2026-01",
                            "kwh": "14400.000", "days": 15, "first_day": "2026-01-01",
                            "last_day": "2026-01-15", "reason": "customer_not_active"},
        "sms_reply": {"kind": "yesterday", "day": "2026-10-20", "kwh": "6815.678"},
        "customer_measure": {"customer_name": "甲", "customer_id": "C1", "month": "2026-09",
                             "churn_pct": "34.5", "risk_band": "high", "value_grade": "A",
                             "credit_grade": "", "measure_code": "retain_priority",
                             "measure": "Account manager visit within 2 weeks"},
        "deviation_projection": {"customer_name": "甲", "customer_id": "C1",
                                 "contract_id": "K1", "period": "2026-11",
                                 "origin_day": "2026-11-20", "contracted_kwh": "100000.000",
                                 "p10_kwh": "90000.000", "p50_kwh": "100000.000",
                                 "p90_kwh": "120000.000", "deviation_pct": "+0.0",
                                 "expected_cost_yuan": "510.00", "risk_state": "beyond_tier2"},
        "retail_risk": {"retailer_id": "R1", "period": "2026-11", "origin_day": "2026-11-20",
                        "spread_yuan": "-10000.00", "deviation_cost_yuan": "432.00",
                        "exposure_yuan": "10432.00", "guarantee_yuan": "10000.00"},
    }
    assert set(contexts) == set(NOTICE_TYPES)
    for notice_type, context in contexts.items():
        notice = render(notice_type, context)
        assert notice.title and notice.body.startswith("【Gridledger售电】"), notice_type
    assert "突变尖峰" in render("meter_anomaly", contexts["meter_anomaly"]).body
    assert "用户档案未生效" in render("unbilled_energy", contexts["unbilled_energy"]).body
    measure = render("customer_measure", contexts["customer_measure"])
    assert measure.title == "2026-09客户维系措施：C1（重点挽留）"
    assert "流失风险高（90天内流失概率34.5%），价值等级A，信用未评级" in measure.body
    assert "重点挽留——Account manager visit within 2 weeks（retain_priority）" in measure.body
    other = render("customer_measure", {**contexts["customer_measure"], "credit_grade": "fair",
                                        "measure_code": "new_code"})
    assert "信用评级一般" in other.body and "建议措施：new_code——" in other.body
    projection = render("deviation_projection", contexts["deviation_projection"])
    assert projection.title == "2026-11偏差风险预测：C1（超出第二档考核区间）"
    assert "P90 120,000.000" in projection.body and "约510.00元" in projection.body
    risk = render("retail_risk", contexts["retail_risk"])
    assert risk.title == "2026-11售电经营风险预警：R1"
    assert "批零差-10,000.00元" in risk.body and "履约保函额度10,000.00元" in risk.body
    assert "截至2026-11-20的预测" in risk.body
    settled = render("retail_risk", {**contexts["retail_risk"], "settled": True,
                                     "period": "2026-10", "origin_day": "2026-10-31"})
    assert "截至2026-10-31的结算：R12026-10批零差-10,000.00元" in settled.body
    assert "预计" not in settled.body and "履约保函额度10,000.00元" in settled.body
    with pytest.raises(Exception, match="customer_name"):
        render("bill_ready", {"period": "2025-06", "amount_yuan": 1})


def test_a_150_character_chinese_sms_is_three_segments_of_at_most_70() -> None:
    text = "有序用电通知" * 25  # 150 characters

    segments = sms_segments(text)

    assert len(text) == 150
    assert [len(s) for s in segments] == [70, 70, 25]
    assert [s[-5:] for s in segments] == ["(1/3)", "(2/3)", "(3/3)"]
    assert "".join(s[:-5] for s in segments) == text
    assert sms_segments(text[:70]) == [text[:70]]
    assert len(sms_segments("字" * 71)) == 2


# -- idempotency keys per part, crash recovery, no connection held while sending -----------


class Killed(BaseException):
    """The process dying mid-send (not an Exception: nothing in the service may catch it)."""


def test_every_part_carries_its_own_idempotency_key_as_header_or_message_id(
    tmp_path: Path, http_receiver: HttpReceiver, smtp_server: SmtpReceiver
) -> None:
    svc = service(tmp_path, sms=http_receiver.url(), email=smtp_url(smtp_server))
    both = replace(ZHANG, channels=("sms",))

    svc.deliver("n1", "bill_ready", BILL, [both, LI])

    assert [p.headers["Idempotency-Key"] for p in http_receiver.posts] == [
        part_key("n1", "K1", "sms", 1), part_key("n1", "K1", "sms", 2)
    ]
    [mail] = smtp_server.messages
    assert mail.message.get_all("Message-ID") == [message_id(part_key("n1", "K2", "email", 1))]


def test_a_run_killed_while_backing_off_after_part_1_of_2_resends_only_part_2(
    tmp_path: Path, http_receiver: HttpReceiver
) -> None:
    """The attempt's write records the segment the gateway accepted before part 2 failed; a
    run killed during the back-off resumes after it, and each key arrives once."""
    only_sms = replace(ZHANG, channels=("sms",))

    def die(_: float) -> None:
        raise Killed

    first = DeliveryService(tmp_path / "warehouse.duckdb",
                            ChannelConfig(urls={"sms": http_receiver.url()}), sleep=die)
    http_receiver.fail_after(1)
    with pytest.raises(Killed):
        first.deliver("n1", "bill_ready", BILL, [only_sms])
    [row] = Ledger(first.warehouse).rows("n1")
    assert (row.status, row.attempts, row.parts_sent, row.parts_total) == ("queued", 1, 1, 2)

    http_receiver.fail_after(100)
    rerun = service(tmp_path, sms=http_receiver.url())  # a new process, same warehouse
    report = rerun.deliver("n1", "bill_ready", BILL, [only_sms])

    assert report.reached == ["K1"]
    accepted = http_receiver.posts
    assert [p.payload["part"] for p in accepted] == ["1", "2"]
    keys = [p.headers["Idempotency-Key"] for p in accepted]
    assert keys == [part_key("n1", "K1", "sms", 1), part_key("n1", "K1", "sms", 2)]
    assert [row.status for row in rerun.ledger.rows("n1")] == ["sent"]


def test_parts_resent_after_a_crash_before_their_ledger_write_keep_their_keys(
    tmp_path: Path, http_receiver: HttpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The remaining window: the gateway accepted both parts, the ledger never heard. The rerun
    sends them again under the same keys, so a deduplicating gateway keeps each part once."""
    only_sms = replace(ZHANG, channels=("sms",))
    first = service(tmp_path, sms=http_receiver.url())

    def die(*_: object, **__: object) -> None:
        raise Killed

    monkeypatch.setattr(first.ledger, "record", die)
    with pytest.raises(Killed):
        first.deliver("n1", "bill_ready", BILL, [only_sms])
    [row] = Ledger(first.warehouse).rows("n1")
    assert (row.status, row.parts_sent) == ("queued", 0)
    service(tmp_path, sms=http_receiver.url()).deliver("n1", "bill_ready", BILL, [only_sms])

    keys = [p.headers["Idempotency-Key"] for p in http_receiver.posts]
    expected = [part_key("n1", "K1", "sms", i) for i in (1, 2)]
    assert keys == expected + expected  # each part twice, under its one key


def _read_only_open_in_another_process(warehouse: Path) -> str:
    """Open the warehouse read-only from a fresh process, without waiting for a lock."""
    code = (
        "import duckdb, sys\n"
        "con = duckdb.connect(sys.argv[1], read_only=True)\n"
        "print(con.execute('select count(*) from notify.delivery_ledger').fetchone()[0])\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(warehouse)],
                          capture_output=True, text=True, timeout=60)
    return done.stdout.strip() if done.returncode == 0 else f"error: {done.stderr[-300:]}"


def test_no_warehouse_connection_is_held_while_a_message_is_on_the_wire_or_backing_off(
    tmp_path: Path, http_receiver: HttpReceiver
) -> None:
    seen: list[str] = []

    def slow_gateway(_: ReceivedPost) -> None:
        time.sleep(0.3)
        seen.append("send " + _read_only_open_in_another_process(svc.warehouse))

    def backoff(_: float) -> None:
        seen.append("sleep " + _read_only_open_in_another_process(svc.warehouse))
        http_receiver.down = False

    svc = DeliveryService(tmp_path / "warehouse.duckdb",
                          ChannelConfig(urls={"sms": http_receiver.url()}), sleep=backoff)
    svc.ledger.ensure_schema()
    http_receiver.on_request = slow_gateway
    http_receiver.down = True  # the first attempt fails, then the service backs off

    report = svc.deliver("n1", "bill_ready", BILL, [replace(ZHANG, channels=("sms",))])

    assert report.reached == ["K1"]
    assert seen == ["sleep 1", "send 1", "send 1"]


def _outbox_and_ledger(warehouse: Path) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """(masked outbox rows, restricted bodies, ledger rows) without ids or times."""
    outbox = query(warehouse, "select recipient, channel, title, body, notice_key"
                              " from notify.outbox order by notice_key, recipient")
    con = duckdb.connect(str(warehouse))
    try:
        con.execute(f"attach '{restricted_path(warehouse)}' as restricted (read_only)")
        sent = con.execute("select m.body from restricted.outbox_messages m join notify.outbox o"
                           " using (outbox_id) order by o.notice_key, o.recipient").fetchall()
    finally:
        con.close()
    ledger = query(warehouse, "select notice_key, contact_id, channel, status, attempts,"
                              " parts_sent from notify.delivery_ledger order by all")
    return outbox, sent, ledger


def _with_contact_names(warehouse: Path) -> None:
    with connect(warehouse) as con:
        con.execute("create table restricted.contacts as select '张三' as contact_name")


def test_many_notices_to_the_outbox_hold_the_warehouse_and_write_the_same_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    resident = {**BILL, "customer_name": "张三"}
    alone, batched = (service(tmp_path / name) for name in ("alone", "batched"))
    for svc in (alone, batched):
        svc.warehouse.parent.mkdir()
        _with_contact_names(svc.warehouse)
    for i in (1, 2):
        alone.deliver(f"bill_ready:C{i}:2025-06", "bill_ready", resident, [ZHANG, LI])
    seen: list[str] = []
    send_once = DeliveryService._send_once

    def observed(self: DeliveryService, *args: str | None) -> str | None:
        if not seen:
            seen.append(_read_only_open_in_another_process(batched.warehouse))
        return send_once(self, *args)

    monkeypatch.setattr(DeliveryService, "_send_once", observed)
    reports = batched.deliver_many(
        Notice(f"bill_ready:C{i}:2025-06", "bill_ready", resident, [ZHANG, LI]) for i in (1, 2))

    assert [r.reached for r in reports] == [["K1", "K2"], ["K1", "K2"]]
    assert all(s.startswith("error:") and "lock" in s.lower() for s in seen), seen
    outbox, sent, ledger = _outbox_and_ledger(batched.warehouse)
    assert (outbox, sent, ledger) == _outbox_and_ledger(alone.warehouse)
    assert len(outbox) == 6  # a notice: 张三's SMS in 2 segments, 李四's email
    assert all("张三" not in body for *_, body, _ in outbox)
    assert sum("尊敬的张**" in body for *_, body, _ in outbox) == 4
    assert sum("尊敬的张三" in body for (body,) in sent) == 4
    assert {status for *_, status, _, _ in ledger} == {"sent"}
    assert _read_only_open_in_another_process(batched.warehouse) == "4"
    # sent again (a run killed before its verdicts): each part replaces its own outbox row
    assert query(batched.warehouse, "select count(distinct outbox_id) from notify.outbox") == [
        (6,)]


def _ledger_statuses_in_another_process(warehouse: Path) -> str:
    code = (
        "import duckdb, sys\n"
        "con = duckdb.connect(sys.argv[1], read_only=True)\n"
        "print(' '.join(s for (s,) in con.execute('select status from notify.delivery_ledger"
        " order by notice_key').fetchall()))\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(warehouse)],
                          capture_output=True, text=True, timeout=60)
    return done.stdout.strip() if done.returncode == 0 else f"error: {done.stderr[-300:]}"


def test_many_notices_through_a_gateway_are_queued_sent_and_recorded_chunk_by_chunk(
    tmp_path: Path, http_receiver: HttpReceiver
) -> None:
    """Each chunk's rows are queued before its first message leaves and marked sent after its
    last; no connection is held while a message is on the wire."""
    svc = DeliveryService(tmp_path / "warehouse.duckdb",
                          ChannelConfig(urls={"webhook": http_receiver.url()}), ledger_batch=2)
    svc.ledger.ensure_schema()
    seen: list[str] = []
    http_receiver.on_request = lambda _: seen.append(
        _ledger_statuses_in_another_process(svc.warehouse))
    hook = replace(LI, channels=("webhook",))

    reports = svc.deliver_many(Notice(f"n{i}", "bill_ready", BILL, [hook]) for i in range(3))

    assert [r.reached for r in reports] == [["K2"]] * 3
    assert seen == ["queued queued", "queued queued", "sent sent queued"]
    assert [row.status for row in svc.ledger.rows()] == ["sent"] * 3
    assert svc.deliver_many([Notice("n1", "bill_ready", BILL, [hook])])[0].already_sent
    assert len(http_receiver.posts) == 3
