"""Hostile workflow inbox input, generated here: personal data, absurd money and dates, exponent
notation, wrong field counts, unknown acknowledgers and symbolic links. Each test asserts the
rejection reason and that nothing else changed."""

from __future__ import annotations

import json
import os
from collections import Counter
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from assets.meters.master_data import load_master_data
from assets.workflows.curtailment import acknowledge, evaluate_curtailment
from assets.workflows.limits import WorkflowLimits
from assets.workflows.termination import instruction_problem, run_termination_workflow
from assets.workflows.termination_fee import FeeQuote
from foundation.warehouse import connect
from notifications import ChannelConfig, DeliveryService
from notifications.masking import scrub_person, scrub_text
from tests.builders import CaseCustomer, write_case_master, write_csv

NOW = datetime(2026, 10, 21, 9, 0)
HORIZON = "2021-10-20 .. 2027-10-22"  # NOW - 1827 days .. NOW + 366 days (the defaults)
REQUEST_HEADER = ["request_id", "contract_id", "requested_at", "reason", "requested_by"]
PAYMENT_HEADER = ["instruction_id", "result", "amount_yuan", "paid_at", "failure_reason"]
PLAN_HEADER = ["plan_id", "plan_type", "warning_level", "window_start", "window_end", "region",
               "industry", "customer_id", "target_kw", "published_at"]
PERSON = "李雷 13912345678 li@example.cn"
SECRETS = ("李雷", "13912345678", "li@example.cn")


class Env:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.warehouse = root / "w.duckdb"
        self.inbox = root / "inbox"

    def sql(self, query: str, params: list | None = None) -> list[tuple]:
        with connect(self.warehouse) as con:
            return con.execute(query, params or []).fetchall()

    def terminate(self) -> None:
        run_termination_workflow(self.warehouse, self.inbox, service=self.service(),
                                 clock=lambda: NOW)

    def curtail(self, now: datetime = NOW) -> None:
        evaluate_curtailment(self.warehouse, self.inbox, now=now, service=self.service())

    def service(self) -> DeliveryService:
        return DeliveryService(self.warehouse, ChannelConfig(), backoff_seconds=(0,))

    def counts(self) -> Counter[str]:
        """Rows per table of the workflow schema and the restricted catalog (0 for a table
        created since: a Counter)."""
        tables = self.sql("select database_name, schema_name, table_name from duckdb_tables()"
                          " where schema_name = 'workflow' or database_name = 'restricted'"
                          " order by all")
        return Counter({f"{'restricted' if d == 'restricted' else s}.{t}":
                        self.sql(f'select count(*) from "{d}"."{s}"."{t}"')[0][0]
                        for d, s, t in tables})

    def rejections(self) -> list[tuple]:
        return self.sql("select file_name, line, record_id, reason from workflow.rejections"
                        " order by file_name, line")

    def workflow_text(self) -> str:
        """Every value of every workflow.* table, as one text."""
        parts = []
        for (table,) in self.sql("select table_name from duckdb_tables()"
                                 " where schema_name = 'workflow'"):
            parts += [repr(row) for row in self.sql(f"select * from workflow.{table}")]
        return "\n".join(parts)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Env:
    monkeypatch.setenv("GRIDLEDGER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GRIDLEDGER_WAREHOUSE", str(tmp_path / "w.duckdb"))
    for name in ("GRIDLEDGER_MAX_TERMINATION_FEE_YUAN", "GRIDLEDGER_MAX_PAYMENT_YUAN",
                 "GRIDLEDGER_MAX_TARGET_KW", "GRIDLEDGER_INBOX_PAST_DAYS",
                 "GRIDLEDGER_INBOX_FUTURE_DAYS", "GRIDLEDGER_MAX_CONTRACT_MONTHS",
                 "GRIDLEDGER_MAX_WINDOW_DAYS"):
        monkeypatch.delenv(name, raising=False)
    customer = CaseCustomer("C1", "PKG_FIXED_TOU", {}, Decimal(0), contracted_kwh={
        "2026-11": Decimal("100000"), "2026-12": Decimal("50000")})
    write_case_master(tmp_path, [customer], [("R01", "0")])
    write_csv(tmp_path / "master" / "contacts.csv",
              ["contact_id", "customer_id", "contact_name", "role", "phone", "email", "channels"],
              [["CT1", "C1", "韩梅梅", "customer", "13800000001", "", "sms"]])
    e = Env(tmp_path)
    with connect(e.warehouse) as con:
        load_master_data(con, tmp_path / "master")
    (e.inbox / "terminations").mkdir(parents=True)
    return e


def request(env: Env, name: str, rows: list[list]) -> None:
    write_csv(env.inbox / "terminations" / name, REQUEST_HEADER, rows)


# -- personal data ----------------------------------------------------------------------------


def test_free_text_of_a_request_is_masked_in_workflow_and_kept_only_in_restricted(env: Env):
    request(env, "r.csv", [["TR1", "KC1", "2026-10-20 09:30",
                            "李雷来电 13912345678, 韩梅梅确认, 座机 010-62345678", PERSON]])
    env.terminate()
    assert env.sql("select reason, requested_by, fee_yuan from workflow.termination_requests"
                   ) == [("李**来电 139****5678, 韩**确认, 座机 010****5678",
                          "李** 139****5678 l***@example.cn", Decimal("3000.00"))]
    assert env.sql("select reason, requested_by from restricted.termination_request_texts") == [
        ("李雷来电 13912345678, 韩梅梅确认, 座机 010-62345678", PERSON)]
    text = env.workflow_text()
    assert not [s for s in (*SECRETS, "韩梅梅", "62345678") if s in text]
    assert env.rejections() == []


def test_a_rejected_row_is_stored_masked_with_its_reason(env: Env):
    before = env.counts()
    request(env, "r.csv", [["TR1", "KC1", "2026-10-32", "请回电 13912345678", PERSON]])
    env.terminate()
    assert env.rejections() == [
        ("terminations/r.csv", 2, "TR1", "requested_at '2026-10-32' is not a time"
                                         " (YYYY-MM-DD HH:MM)")]
    [(raw,)] = env.sql("select raw from workflow.rejections")
    assert json.loads(raw)["requested_by"] == "李** 139****5678 l***@example.cn"
    assert json.loads(raw)["reason"] == "请回电 139****5678"
    assert not [s for s in SECRETS if s in env.workflow_text()]
    after = env.counts()
    assert {k: after[k] - before[k] for k in after if after[k] != before[k]} == {
        "workflow.inbox_files": 1, "workflow.rejections": 1, "workflow.termination_audit": 1}


def test_scrubbers_mask_phones_emails_names_and_ids():
    assert scrub_person(PERSON) == "李** 139****5678 l***@example.cn"
    assert scrub_text("张三 身份证 11010119900307123X 卡号 6222000000001234", ["张三"]) == (
        "张** 身份证 **************123X 卡号 ************1234")


# -- money ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("update", "env_max", "reason"), [
    (None, "1000", "fee 3000.00 yuan of contract KC1 is above the maximum 1000 yuan:"
                   " no payment instruction issued"),
    ("termination_cap_yuan = -5", None,
     "fee -5.00 yuan of contract KC1 is negative: no payment instruction issued"),
    ("termination_rate_yuan_per_mwh = 999999, termination_cap_yuan = null", None,
     "fee 149999850.00 yuan of contract KC1 is above the maximum 10000000.00 yuan:"
     " no payment instruction issued"),
])
def test_an_absurd_fee_never_becomes_a_payment_instruction(
    env: Env, monkeypatch: pytest.MonkeyPatch, update: str | None, env_max: str | None,
    reason: str,
):
    if update:  # master data checks these ranges on load; the workflow checks them again
        env.sql(f"update master.contracts set {update} where contract_id = 'KC1'")
    if env_max:
        monkeypatch.setenv("GRIDLEDGER_MAX_TERMINATION_FEE_YUAN", env_max)
    before = env.counts()
    request(env, "r.csv", [["TR1", "KC1", "2026-10-20 09:30", "", ""]])
    env.terminate()
    assert env.rejections() == [("terminations/r.csv", 2, "TR1", reason)]
    after = env.counts()
    assert {k: after[k] - before[k] for k in after if after[k] != before[k]} == {
        "workflow.inbox_files": 1, "workflow.rejections": 1, "workflow.termination_audit": 1}


def test_a_fee_above_the_contract_cap_is_refused_before_the_instruction():
    from assets.workflows.termination_fee import Contract
    contract = Contract("K", "C", "C", "R", "2026-01", "2026-12", Decimal(20), Decimal(100),
                        "active")
    quote = FeeQuote("2026-11", (), Decimal(0), Decimal("150.00"), Decimal("150.00"))
    assert instruction_problem(contract, quote, WorkflowLimits()) == (
        "fee 150.00 yuan of contract K is above the contract cap 100 yuan:"
        " no payment instruction issued")


@pytest.mark.parametrize(("amount", "reason"), [
    ("1.5e3", "amount_yuan '1.5e3' uses exponent notation; write a plain decimal"),
    ("3E3", "amount_yuan '3E3' uses exponent notation; write a plain decimal"),
    ("-3000.00", "amount_yuan '-3000.00' must be a non-negative number"),
    ("3,000.00", "amount_yuan '3,000.00' is not a number"),
    ("20000000.00", "amount_yuan 20000000.00 is above the maximum 10000000.00"),
])
def test_payment_amounts_are_plain_bounded_decimals(env: Env, amount: str, reason: str):
    request(env, "r.csv", [["TR1", "KC1", "2026-10-20 09:30", "", ""]])
    env.terminate()
    before = env.counts()
    write_csv(env.inbox / "payments" / "p.csv", PAYMENT_HEADER,
              [["PI-TR1", "success", amount, "2026-10-21 10:00", ""]])
    env.terminate()
    assert env.rejections() == [("payments/p.csv", 2, "PI-TR1", reason)]
    assert env.sql("select status, amount_yuan from workflow.payment_instructions") == [
        ("pending", Decimal("3000.00"))]
    after = env.counts()
    assert {k: after[k] - before[k] for k in after if after[k] != before[k]} == {
        "workflow.inbox_files": 1, "workflow.rejections": 1}


# -- dates and field counts -------------------------------------------------------------------


def test_dates_outside_the_horizon_and_wrong_field_counts_are_rejected(env: Env):
    before = env.counts()
    request(env, "r.csv", [
        ["TR1", "KC1", "9999-12-31", "", ""],
        ["TR2", "KC1", "2000-01-01 00:00", "", ""],
        ["TR3", "KC1", "2026-10-20 09:30", "", "", "extra", PERSON],
        ["TR4", "KC1", "2026-10-20 09:30"],
    ])
    env.terminate()
    assert env.rejections() == [
        ("terminations/r.csv", 2, "TR1",
         f"requested_at 9999-12-31 00:00 is outside the accepted horizon {HORIZON}"),
        ("terminations/r.csv", 3, "TR2",
         f"requested_at 2000-01-01 00:00 is outside the accepted horizon {HORIZON}"),
        ("terminations/r.csv", 4, "TR3", "expected 5 fields (as the header), found 7"),
        ("terminations/r.csv", 5, "TR4", "expected 5 fields (as the header), found 3"),
    ]
    [(raw,)] = env.sql("select raw from workflow.rejections where line = 4")
    assert json.loads(raw) == {"_field_1": "T**", "_field_2": "K**", "_field_3": "202*1020 0**",
                               "_field_4": "", "_field_5": "", "_field_6": "e**",
                               "_field_7": "李** 139****5678 l***@example.cn"}
    assert not [s for s in SECRETS if s in env.workflow_text()]
    after = env.counts()
    assert {k: after[k] - before[k] for k in after if after[k] != before[k]} == {
        "workflow.inbox_files": 1, "workflow.rejections": 4, "workflow.termination_audit": 4}


@pytest.mark.parametrize(("end_month", "reason"), [
    ("10000-01", "contract KC1: end_month must be YYYY-MM, got '10000-01'"),
    ("2026-9", "contract KC1: end_month must be YYYY-MM, got '2026-9'"),
    ("2099-12", "contract KC1 ends 2099-12, more than 120 months after 2026-11"),
    ("2026-10", "contract KC1 ends 2026-10; nothing left to terminate from 2026-11"),
])
def test_contract_months_are_compared_as_months_within_the_horizon(
    env: Env, end_month: str, reason: str,
):
    env.sql("update master.contracts set end_month = ? where contract_id = 'KC1'", [end_month])
    before = env.counts()
    request(env, "r.csv", [["TR1", "KC1", "2026-10-20 09:30", "", ""]])
    env.terminate()
    assert env.rejections() == [("terminations/r.csv", 2, "TR1", reason)]
    after = env.counts()
    assert {k: after[k] - before[k] for k in after if after[k] != before[k]} == {
        "workflow.inbox_files": 1, "workflow.rejections": 1, "workflow.termination_audit": 1}


# -- curtailment ------------------------------------------------------------------------------


def plan_row(plan_id: str, target: str, start: str = "2026-10-22 10:00",
             end: str = "2026-10-22 12:00") -> list:
    return [plan_id, "planned", "III", start, end, "", "", "C1", target, "2026-10-21 08:00"]


def test_curtailment_targets_are_exact_and_bounded_and_windows_bounded(env: Env):
    before = env.counts()
    write_csv(env.inbox / "curtailment" / "p.csv", PLAN_HEADER, [
        plan_row("P1", "999999.999"),
        plan_row("P2", "1e12"),
        plan_row("P3", "1000000.001"),
        plan_row("P4", "1.5e3"),
        plan_row("P5", "10", end="2026-11-22 12:00"),
        plan_row("P6", "10", start="2000-01-01 10:00"),
        plan_row("P7", "10", end="10000-01-01 00:00"),
    ])
    env.curtail()
    assert env.sql("select plan_id, target_kw from workflow.curtailment_targets") == [
        ("P1", Decimal("999999.999"))]
    assert env.sql("select target_kw from workflow.curtailment_customers") == [
        (Decimal("999999.999"),)]
    assert env.rejections() == [
        ("curtailment/p.csv", 3, "P2", "target_kw '1e12' uses exponent notation;"
                                       " write a plain decimal"),
        ("curtailment/p.csv", 4, "P3", "target_kw 1000000.001 is above the maximum 1000000.000"),
        ("curtailment/p.csv", 5, "P4", "target_kw '1.5e3' uses exponent notation;"
                                       " write a plain decimal"),
        ("curtailment/p.csv", 6, "P5", "window lasts longer than the maximum 7 days"),
        ("curtailment/p.csv", 7, "P6",
         f"window_start 2000-01-01 10:00 is outside the accepted horizon {HORIZON}"),
        ("curtailment/p.csv", 8, "P7", "window_end '10000-01-01 00:00' is not a time"
                                       " (YYYY-MM-DD HH:MM)"),
    ]
    after = env.counts()
    changed = {k for k in after if after[k] != before[k]}
    assert changed <= {"workflow.inbox_files", "workflow.rejections", "workflow.curtailment_plans",
                       "workflow.curtailment_targets", "workflow.curtailment_customers",
                       "workflow.curtailment_stages", "workflow.curtailment_load_curves"}
    assert env.sql("select plan_id from workflow.curtailment_plans") == [("P1",)]


def test_a_rejected_acknowledgement_is_recorded_with_its_reason_and_masked(env: Env):
    write_csv(env.inbox / "curtailment" / "p.csv", PLAN_HEADER, [plan_row("P1", "10")])
    env.curtail()
    before = env.counts()
    acks = env.sql("select count(*) from notify.acknowledgements")
    assert not acknowledge(env.service(), "P1", "C1", "13912345678",
                           source=f"收到 {PERSON}", clock=lambda: NOW)
    assert not acknowledge(env.service(), "P1", "C1", "CT1", source="ok", clock=lambda: NOW)
    assert env.sql("select file_name, line, record_id, reason from workflow.rejections"
                   " where kind = 'acknowledgements' order by reason") == [
        ("curtailment:P1:notice:C1", 0, "CT1", "acknowledgement from contact CT1: notice"
                                               " curtailment:P1:notice:C1 was not delivered to it"),
        ("curtailment:P1:notice:C1", 0, "139****5678",
         "acknowledgement from unknown contact 139****5678"),
    ]
    raw = [json.loads(r) for (r,) in env.sql(
        "select raw from workflow.rejections where kind = 'acknowledgements' order by reason")]
    assert raw[1] == {"plan_id": "P1", "customer_id": "C1", "contact_id": "139****5678",
                      "source": "收** 李** 139****5678 l***@example.cn"}
    assert not [s for s in SECRETS if s in env.workflow_text()]
    after = env.counts()
    assert {k: after[k] - before[k] for k in after if after[k] != before[k]} == {
        "workflow.rejections": 2}
    assert env.sql("select count(*) from notify.acknowledgements") == acks


# -- symbolic links ---------------------------------------------------------------------------


def test_symbolic_links_in_inbox_folders_are_not_followed(env: Env, tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    write_csv(outside / "r.csv", REQUEST_HEADER, [["TR1", "KC1", "2026-10-20 09:30", "", ""]])
    write_csv(outside / "pay" / "p.csv", PAYMENT_HEADER, [["PI-X", "failure", "", "", "x"]])
    os.symlink(outside / "r.csv", env.inbox / "terminations" / "link.csv")
    os.symlink(outside / "pay", env.inbox / "payments")
    before = env.counts()
    env.terminate()
    env.terminate()  # recorded once
    assert env.rejections() == [
        ("payments/", 0, None, "symbolic link: not followed"),
        ("terminations/link.csv", 0, None, "symbolic link: not followed"),
    ]
    assert env.sql("select raw from workflow.rejections") == [(None,), (None,)]
    after = env.counts()
    assert {k: after[k] - before[k] for k in after if after[k] != before[k]} == {
        "workflow.inbox_files": 2, "workflow.rejections": 2}
