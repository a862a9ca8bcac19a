"""The SMS query service's parts: gateway adapters, HMAC signatures, the rate limit, query codes
and the reply text (the real service over HTTP: tests/integration/test_sms_service.py)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from notifications.sms_query.codes import QueryCodes
from notifications.sms_query.inbound import (
    BadPayload,
    InboundSms,
    normalise_number,
    parse_aliyun,
    parse_twilio,
)
from notifications.sms_query.ratelimit import RateLimit
from notifications.sms_query.signature import secrets_from_env, sign, verify
from notifications.templates import render

NOW = datetime(2026, 10, 21, 9, 30)


def test_an_aliyun_webhook_array_becomes_one_record_per_message():
    body = json.dumps([
        {"sequence_id": "1001", "phone_number": "+86 138-0006-1850", "dest_code": "1069",
         "content": "YL", "send_time": "2026-10-21 09:00:05", "sign_name": "售电"},
        {"sequence_id": "1002", "phone_number": "8613800110121", "content": "昨日",
         "send_time": "2026-10-21 09:01:00"},
    ], ensure_ascii=False).encode()

    assert parse_aliyun(body, NOW) == [
        InboundSms("aliyun", "1001", "13800061850", "1069", "YL", datetime(2026, 10, 21, 9, 0, 5)),
        InboundSms("aliyun", "1002", "13800110121", "", "昨日", datetime(2026, 10, 21, 9, 1)),
    ]


def test_a_twilio_form_post_is_one_record_received_now():
    body = b"MessageSid=SM42&From=%2B8613800061850&To=1069&Body=%E8%B4%A6%E5%8D%95"

    assert parse_twilio(body, NOW) == [
        InboundSms("twilio", "SM42", "13800061850", "1069", "账单", NOW)]


@pytest.mark.parametrize("parse, body, reason", [
    (parse_aliyun, b"{not json", "not JSON"),
    (parse_aliyun, b'[{"phone_number": "138", "send_time": "2026-10-21 09:00:00"}]',
     "sequence_id"),
    (parse_aliyun, b'{"sequence_id": "1", "phone_number": "138", "send_time": "21/10/2026"}',
     "send_time"),
    (parse_aliyun, b"[]", "expected"),
    (parse_twilio, b"From=%2B8613800061850&Body=YL", "MessageSid"),
    (parse_twilio, b"MessageSid=SM1&From=abc&Body=YL", "no digits"),
])
def test_unreadable_gateway_payloads_are_refused_with_the_reason(parse, body, reason):
    with pytest.raises(BadPayload, match=reason):
        parse(body, NOW)


def test_numbers_lose_the_china_country_prefix_only_on_mobile_numbers():
    assert normalise_number("+86 138 0006 1850") == "13800061850"
    assert normalise_number("008613800061850") == "13800061850"
    assert normalise_number("13800061850") == "13800061850"
    assert normalise_number("86123") == "86123"  # not a mobile number: kept as sent


def test_a_signature_verifies_only_the_same_body_under_the_same_secret():
    body = b'[{"sequence_id": "1"}]'
    header = sign("s3cret", body)

    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert verify("s3cret", body, header)
    assert verify("s3cret", body, header.removeprefix("sha256="))  # bare hex accepted
    assert verify("s3cret", body, header.upper().replace("SHA256=", "sha256="))
    assert not verify("other", body, header)
    assert not verify("s3cret", body + b" ", header)
    assert not verify("s3cret", body, None)
    assert not verify("s3cret", body, "")
    assert not verify(None, body, header)  # a gateway without a secret accepts nothing
    assert not verify("", body, sign("", body))


def test_secrets_are_read_per_gateway_and_empty_ones_ignored():
    env = {"GRIDLEDGER_SMS_SECRET_ALIYUN": " a1 ", "GRIDLEDGER_SMS_SECRET_TWILIO": ""}
    assert secrets_from_env(["aliyun", "twilio"], env) == {"aliyun": "a1"}


def test_the_rate_limit_answers_up_to_the_limit_then_refuses_once_per_window():
    limit = RateLimit(limit=3, window=timedelta(minutes=10))

    assert [limit.verdict(n, refused_in_window=False) for n in (1, 2, 3)] == ["answer"] * 3
    assert limit.verdict(4, refused_in_window=False) == "refuse"
    assert limit.verdict(5, refused_in_window=True) == "ignore"
    with pytest.raises(ValueError):
        RateLimit(limit=0)


def test_query_codes_match_ascii_chinese_and_full_width_aliases():
    codes = QueryCodes.load()

    assert [codes.query_of(t) for t in ("YL", "yl", " ＹＬ ", "余量", "ZR", "昨日", "DS", "读数",
                                        "ZD", "账单。", "帮助")] == [
        "remaining", "remaining", "remaining", "remaining", "yesterday", "yesterday", "reads",
        "reads", "bill", "bill", "help"]
    assert codes.query_of("how much?") == "help"
    assert codes.listing() == [("YL/余量", "remaining"), ("ZR/昨日", "yesterday"),
                               ("DS/读数", "reads"), ("ZD/账单", "bill")]


def test_a_codes_file_with_an_unknown_query_or_a_repeated_code_is_refused(tmp_path: Path):
    bad = tmp_path / "codes.csv"
    bad.write_text("code,query,meaning\nYL,remaining,x\nyl,bill,y\n", encoding="utf-8")
    with pytest.raises(ValueError, match="listed twice"):
        QueryCodes.load(bad)
    bad.write_text("code,query,meaning\nXX,balance,x\n", encoding="utf-8")
    with pytest.raises(ValueError, match="balance"):
        QueryCodes.load(bad)


def test_replies_print_decimals_exactly():
    remaining = render("sms_reply", {
        "kind": "remaining", "period": "2026-10", "through": "2026-10-20",
        "contracted_kwh": Decimal("184320.000"), "used_kwh": Decimal("119198.736"),
        "remaining_kwh": Decimal("65121.264")})
    reads = render("sms_reply", {"kind": "reads", "reads": [
        {"meter_id": "MP1", "kind": "register", "read_at": "2026-11-01 00:00",
         "value": Decimal("11591.60")},
        {"meter_id": "MP2", "kind": "interval", "read_at": "2026-11-01 00:00",
         "value": Decimal("0.262")}]})
    bill = render("sms_reply", {"kind": "bill", "bill": {
        "period": "2026-10", "kwh": Decimal("190137.734"), "amount_yuan": Decimal("128160.73")}})

    assert remaining.body == ("【Gridledger售电】2026-10合同电量184,320.000千瓦时，截至2026-10-20"
                              "已用119,198.736千瓦时，剩余65,121.264千瓦时。")
    assert reads.body == ("【Gridledger售电】最新示数：表MP1（2026-11-01 00:00）表码11,591.60；"
                          "表MP2（2026-11-01 00:00止时段）电量0.262千瓦时。")
    assert bill.body == "【Gridledger售电】2026-10账单：电量190,137.734千瓦时，金额128,160.73元。"
    assert render("sms_reply", {"kind": "bill", "bill": None}).body.endswith("暂无已出账单。")
    assert render("sms_reply", {"kind": "remaining", "period": "2026-12", "through": "x",
                                "contracted_kwh": None, "used_kwh": Decimal(0),
                                "remaining_kwh": None}).body.endswith("2026-12无合同电量数据。")


def test_a_fresh_warehouse_gets_an_empty_service_snapshot_with_every_table(tmp_path: Path):
    """Before the first monthly run there is no `finance.bills` (nor contacts without
    contacts.csv): the daily job's snapshot must still be written, with those tables empty."""
    import duckdb

    from foundation.warehouse import connect
    from notifications.sms_query.snapshot import SERVICE_RELATIONS, write_service_snapshot

    target = tmp_path / "w.service.duckdb"
    with connect(tmp_path / "w.duckdb") as con:
        con.execute("create schema master; create table master.contracts (contract_id varchar,"
                    " customer_id varchar, start_month varchar, end_month varchar);"
                    "create table master.contract_volumes (contract_id varchar,"
                    " period varchar, contracted_kwh decimal(18,3));"
                    "insert into master.contracts values ('K1', 'C1', '2026-10', '2026-12');"
                    "insert into master.contract_volumes values ('K1', '2026-10', 1000.5),"
                    " ('K1', '2027-01', 7)")
        rows = write_service_snapshot(con, target, "run-1")

    assert rows == {name: 0 for name in SERVICE_RELATIONS} | {"service.contract_volumes": 1}
    with duckdb.connect(str(target), read_only=True) as snap:
        assert snap.execute("select * from service.contract_volumes").fetchall() == [
            ("C1", "2026-10", Decimal("1000.500"))]
        assert [c[0] for c in snap.execute("describe service.bills").fetchall()] == [
            "customer_id", "period", "billed_kwh", "total_yuan"]
