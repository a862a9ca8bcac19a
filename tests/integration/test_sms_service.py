"""The SMS query service as a real process (uvicorn) over the generated October
(`october_demo`, read-only): signed gateway posts over HTTP on 127.0.0.1, answers checked
against the scenario's own tables, replies received by a real HTTP SMS gateway (receivers.py)
through the delivery ledger in the service's own file.

The service reads the service snapshot the scenario's daily and monthly jobs wrote beside the
warehouse (asset sms/service_snapshot, the last step of both) and keeps its state in a
file of this test module, so the shared scenario is not written.
"""

from __future__ import annotations

import json
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from foundation.paths import service_snapshot_path
from foundation.warehouse import connect
from notifications.sms_query.signature import SIGNATURE_HEADER, sign
from tests.scenarios import Flow, scenario_fixture

if TYPE_CHECKING:
    from receivers import HttpReceiver

pytest_plugins = ["browser", "receivers"]  # serving(); free_port, HttpReceiver

demo = scenario_fixture("october_demo", "demo")

SECRETS = {"aliyun": "aliyun-test-secret", "twilio": "twilio-test-secret"}
RATE_LIMIT = 5
SIGNATURE = "【Gridledger售电】"


@dataclass
class SmsService:
    """The running service, its state file and the gateway receiving its replies."""

    url: str
    state: Path
    gateway: HttpReceiver
    flow: Flow

    def post(self, gateway: str, body: bytes, content_type: str,
             signature: str | None = "sign") -> tuple[int, dict]:
        headers = {"Content-Type": content_type}
        if signature == "sign":
            signature = sign(SECRETS[gateway], body)
        if signature is not None:
            headers[SIGNATURE_HEADER] = signature
        request = urllib.request.Request(f"{self.url}/sms/inbound/{gateway}", data=body,
                                         headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def aliyun(self, message_id: str, phone: str, text: str, sent: str, **kw) -> tuple[int, dict]:
        body = json.dumps([{"sequence_id": message_id, "phone_number": phone, "dest_code": "1069",
                            "content": text, "send_time": sent, "sign_name": "售电"}],
                          ensure_ascii=False).encode()
        return self.post("aliyun", body, "application/json", **kw)

    def state_rows(self, query: str, params: list | None = None) -> list[tuple]:
        with connect(self.state, read_only=True) as con:
            return con.execute(query, params or []).fetchall()

    def replies(self, notice_key: str) -> list[str]:
        """Each reply (its SMS segments joined) the gateway received for a notice key."""
        posts = [p.payload for p in self.gateway.posts if p.payload["notice_key"] == notice_key]
        texts, current = [], ""
        for payload in posts:
            current += re.sub(r"\(\d+/\d+\)$", "", payload["message"])
            if payload.get("part") == payload.get("parts"):
                texts.append(current)
                current = ""
        return texts


@pytest.fixture(scope="module")
def sms_service(october_demo: Flow, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[SmsService]:
    from browser import serving
    from receivers import HttpReceiver, free_port

    assert service_snapshot_path(october_demo.warehouse).exists(), "the jobs wrote no snapshot"
    root = tmp_path_factory.mktemp("sms_service")
    state, port = root / "service-state.duckdb", free_port()
    gateway = HttpReceiver().start()
    env = {"GRIDLEDGER_WAREHOUSE": str(october_demo.warehouse),
           "GRIDLEDGER_SMS_STATE": str(state),
           "GRIDLEDGER_SMS_URL": gateway.url("/sms"),
           "GRIDLEDGER_SMS_RATE_LIMIT": str(RATE_LIMIT),
           "GRIDLEDGER_SMS_RATE_WINDOW_SECONDS": "3600",
           **{f"GRIDLEDGER_SMS_SECRET_{g.upper()}": s for g, s in SECRETS.items()}}
    command = [sys.executable, "-m", "uvicorn", "notifications.sms_query.app:create_app",
               "--factory", "--host", "127.0.0.1", "--port", str(port)]
    try:
        with serving(command, f"http://127.0.0.1:{port}/health", root / "service.log", env=env):
            yield SmsService(f"http://127.0.0.1:{port}", state, gateway, october_demo)
    finally:
        gateway.stop()


def customer_contacts(flow: Flow) -> list[tuple[str, str, str]]:
    """(contact_id, customer_id, phone) of customer contacts whose phone is theirs alone and
    whose customer has an issued October bill and register reads on every meter, by contact
    id."""
    return flow.sql("""
        select c.contact_id, c.customer_id, c.phone from restricted.contacts c
        where c.role = 'customer_contact'
          and (select count(*) from restricted.contacts o where o.phone = c.phone) = 1
          and exists (select 1 from finance.bills b where b.customer_id = c.customer_id
                      and b.period = '2026-10' and b.bill_status = 'issued')
          and not exists (select 1 from master.metering_points m
                          where m.customer_id = c.customer_id and m.meter_id not in
                                (select meter_id from raw.register_reads))
        order by c.contact_id""")


def test_a_registered_number_gets_its_customers_figures(demo: Flow, sms_service: SmsService):
    contact_id, customer, phone = customer_contacts(demo)[0]
    contracted = demo.sql(
        "select v.contracted_kwh from master.contract_volumes v join master.contracts c"
        " using (contract_id) where c.customer_id = ? and v.period = '2026-10'", [customer])[0][0]
    used = demo.sql(
        "select sum(value) from core.int_interval_validated where customer_id = ?"
        " and channel = 'kwh_imp' and reading_date between '2026-10-01' and '2026-10-20'",
        [customer])[0][0]
    day_20 = demo.sql(
        "select sum(value) from core.int_interval_validated where customer_id = ?"
        " and channel = 'kwh_imp' and reading_date = '2026-10-20'", [customer])[0][0]
    registers = demo.sql(
        "select r.meter_id, strftime(max(r.read_at), '%Y-%m-%d %H:%M'),"
        " arg_max(r.register_value, (r.read_at, r.file_id)) from raw.register_reads r"
        " join master.metering_points m using (meter_id) where m.customer_id = ?"
        " and r.channel = 'kwh_imp' group by r.meter_id order by r.meter_id", [customer])
    kwh, amount = demo.sql("select billed_kwh, total_yuan from finance.bills where customer_id = ?"
                           " and period = '2026-10'", [customer])[0]
    assert isinstance(contracted, Decimal) and isinstance(used, Decimal)
    remaining = contracted - used

    asked = {"A1": ("+86" + phone, "YL", "2026-10-21 09:00:00"),
             "A2": (phone, "昨日", "2026-10-21 09:01:00"),
             "A3": (phone, "ds", "2026-10-21 09:02:00"),
             "A4": (phone, "账单", "2026-11-05 10:00:00")}
    for message_id, (sender, text, sent) in asked.items():
        assert sms_service.aliyun(message_id, sender, text, sent) == (
            200, {"messages": [{"message_id": message_id, "status": "answered"}]})

    reads = "；".join(f"表{meter}（{at}）表码{value:,.2f}" for meter, at, value in registers)
    assert {m: sms_service.replies(f"sms_reply:aliyun:{m}") for m in asked} == {
        "A1": [f"{SIGNATURE}2026-10合同电量{contracted:,.3f}千瓦时，截至2026-10-20已用"
               f"{used:,.3f}千瓦时，剩余{remaining:,.3f}千瓦时。"],
        "A2": [f"{SIGNATURE}2026-10-20用电量{day_20:,.3f}千瓦时。"],
        "A3": [f"{SIGNATURE}最新示数：{reads}。"],
        "A4": [f"{SIGNATURE}2026-10账单：电量{kwh:,.3f}千瓦时，金额{amount:,.2f}元。"],
    }
    assert {p.payload["to"] for p in sms_service.gateway.posts
            if p.payload["notice_key"].startswith("sms_reply:aliyun:A")} == {phone}
    assert sms_service.state_rows(
        "select message_id, status, query, customer_id, contact_id from sms.inbound"
        " where gateway = 'aliyun' and message_id like 'A%' order by message_id") == [
        ("A1", "answered", "remaining", customer, contact_id),
        ("A2", "answered", "yesterday", customer, contact_id),
        ("A3", "answered", "reads", customer, contact_id),
        ("A4", "answered", "bill", customer, contact_id)]
    assert sms_service.state_rows(
        "select notice_key, notice_type, contact_id, channel, status from notify.delivery_ledger"
        " where notice_key like 'sms_reply:aliyun:A%' order by notice_key") == [
        (f"sms_reply:aliyun:{m}", "sms_reply", contact_id, "sms", "sent") for m in asked]


def test_a_form_encoded_gateway_and_an_unknown_code_get_the_help_text(
        demo: Flow, sms_service: SmsService):
    contact_id, customer, phone = customer_contacts(demo)[1]
    body = f"MessageSid=SMhelp1&From=%2B86{phone}&To=1069&Body=%E4%BD%99%E9%A2%9D%3F".encode()

    assert sms_service.post("twilio", body, "application/x-www-form-urlencoded") == (
        200, {"messages": [{"message_id": "SMhelp1", "status": "help"}]})
    assert sms_service.replies("sms_reply:twilio:SMhelp1") == [
        f"{SIGNATURE}请回复查询代码：YL/余量查本月剩余合同电量；ZR/昨日查昨日用电量；"
        "DS/读数查最新抄表示数；ZD/账单查最近一期账单。"]
    assert sms_service.state_rows(
        "select text, status, contact_id from sms.inbound where message_id = 'SMhelp1'") == [
        ("余额?", "help", contact_id)]


def test_an_unknown_number_is_refused_with_no_data(demo: Flow, sms_service: SmsService):
    stranger = "13999990001"
    assert not demo.sql("select 1 from restricted.contacts where phone = ?", [stranger])

    assert sms_service.aliyun("U1", stranger, "YL", "2026-10-21 09:00:00") == (
        200, {"messages": [{"message_id": "U1", "status": "unknown_number"}]})
    reply = sms_service.replies("sms_reply:aliyun:U1")
    assert reply == [f"{SIGNATURE}您的号码未登记为用户联系人，无法查询。"
                     "请联系客户经理登记联系人信息。"]
    assert not re.search(r"\d", reply[0])  # no figure of anyone
    assert sms_service.state_rows(
        "select status, query, customer_id from sms.inbound where message_id = 'U1'") == [
        ("unknown_number", None, None)]
    ledger = sms_service.state_rows("select contact_id, recipient_masked, status from"
                                    " notify.delivery_ledger where notice_key = ?",
                                    ["sms_reply:aliyun:U1"])
    assert len(ledger) == 1 and ledger[0][1:] == ("139****0001", "sent")
    assert stranger not in ledger[0][0]


def test_a_repeated_gateway_message_is_stored_and_answered_once(
        demo: Flow, sms_service: SmsService):
    phone = customer_contacts(demo)[2][2]

    first = sms_service.aliyun("D1", phone, "ZR", "2026-10-21 09:00:00")
    again = sms_service.aliyun("D1", phone, "ZR", "2026-10-21 09:00:00")

    assert first == (200, {"messages": [{"message_id": "D1", "status": "answered"}]})
    assert again == (200, {"messages": [{"message_id": "D1", "status": "duplicate"}]})
    assert sms_service.state_rows(
        "select count(*) from sms.inbound where message_id = 'D1'") == [(1,)]
    assert sms_service.state_rows("select count(*) from notify.delivery_ledger"
                                  " where notice_key = 'sms_reply:aliyun:D1'") == [(1,)]
    assert len(sms_service.replies("sms_reply:aliyun:D1")) == 1


def test_a_bad_or_missing_signature_is_401_and_nothing_is_stored(
        demo: Flow, sms_service: SmsService):
    phone = customer_contacts(demo)[0][2]
    body = json.dumps({"sequence_id": "S1", "phone_number": phone, "content": "YL",
                       "send_time": "2026-10-21 09:00:00"}).encode()
    posts = len(sms_service.gateway.posts)

    assert sms_service.post("aliyun", body, "application/json",
                            signature=sign("wrong-secret", body))[0] == 401
    assert sms_service.post("aliyun", body, "application/json", signature=None)[0] == 401
    assert sms_service.post("twilio", body, "application/json",  # another gateway's secret
                            signature=sign(SECRETS["aliyun"], body))[0] == 401
    assert sms_service.state_rows(
        "select count(*) from sms.inbound where message_id = 'S1'") == [(0,)]
    assert len(sms_service.gateway.posts) == posts


def test_the_rate_limit_refuses_once_and_then_stays_silent(demo: Flow, sms_service: SmsService):
    contact_id, customer, phone = customer_contacts(demo)[3]
    statuses = [sms_service.aliyun(f"R{i}", phone, "ZR", "2026-10-21 09:00:00")[1]["messages"][0]
                ["status"] for i in range(1, RATE_LIMIT + 3)]

    assert statuses == ["answered"] * RATE_LIMIT + ["rate_limited", "rate_limited"]
    refusal = sms_service.replies(f"sms_reply:aliyun:R{RATE_LIMIT + 1}")
    assert refusal == [f"{SIGNATURE}查询过于频繁，请稍后再试。"]
    assert sms_service.replies(f"sms_reply:aliyun:R{RATE_LIMIT + 2}") == []
    assert sms_service.state_rows(
        "select message_id, status, notice_key from sms.inbound"
        " where message_id in (?, ?) order by message_id",
        [f"R{RATE_LIMIT + 1}", f"R{RATE_LIMIT + 2}"]) == [
        (f"R{RATE_LIMIT + 1}", "rate_limited", f"sms_reply:aliyun:R{RATE_LIMIT + 1}"),
        (f"R{RATE_LIMIT + 2}", "rate_limited", None)]
