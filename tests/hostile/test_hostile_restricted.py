"""Personal data stays out of the file BI tools open.

A generated month (residential customers, contacts with phones and e-mails, retailers' bank
accounts) runs through the real jobs (master data, dbt, bills, notices), the termination and
curtailment workflows (with a request whose free text names people and numbers) and a notice
that cannot be delivered (queued for retry). Then the main warehouse file is opened as a BI tool
would, `duckdb.connect(path, read_only=True)` without attaching anything, and every VARCHAR
column of every table and view is searched for every phone number, e-mail address, bank account
number and person's name known from the input master data.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from assets.workflows.curtailment import evaluate_curtailment
from assets.workflows.termination import REQUEST_COLUMNS, run_termination_workflow
from foundation.paths import restricted_path
from notifications import ChannelConfig, DeliveryService, Recipient
from tests.scenarios import OCTOBER, Flow, build, pointed_at
from tools.demo_inbox import write_demo_inbox
from tools.sample_data.writer import write_csv

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def master_rows(flow: Flow, stem: str) -> list[dict[str, str]]:
    with (flow.data_dir / "master" / f"{stem}.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def secrets_of(flow: Flow) -> dict[str, set[str]]:
    """The personal data of the input master data, by kind."""
    contacts = master_rows(flow, "contacts")
    residents = [c for c in master_rows(flow, "customers") if c["customer_class"] == "residential"]
    return {
        "phone": {c["phone"] for c in contacts if c["phone"]},
        "email": {c["email"] for c in contacts if c["email"]},
        "bank account": {r["bank_account"] for r in master_rows(flow, "retailers")},
        "resident's name": {c["customer_name"] for c in residents},
        "contact's name": {c["contact_name"] for c in contacts},
    }


def land_personal_request(flow: Flow, secrets: dict[str, set[str]]) -> None:
    """A termination request whose reason and requester carry a resident's name, a contact's
    phone and e-mail and a bank account (a request for the third eligible contract)."""
    with duckdb.connect(str(flow.warehouse), read_only=True) as con:
        contract = con.execute(
            "select k.contract_id from master.contracts k join master.customers c"
            " on c.customer_id = k.customer_id and c.valid_to is null"
            " where k.status = 'active' and c.customer_class <> 'residential'"
            " and k.end_month > '2026-10' order by k.contract_id limit 1 offset 2").fetchone()[0]
    name, phone = min(secrets["resident's name"]), min(secrets["phone"])
    email, account = min(secrets["email"]), min(secrets["bank account"])
    write_csv(flow.data_dir / "inbox" / "terminations" / "personal.csv", list(REQUEST_COLUMNS),
              [["PERSONAL-01", contract, "2026-10-30 10:00",
                f"{name}代为申请，电话{phone}，邮箱{email}，退款账户{account}", f"{name} {phone}"]])


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flow]:
    """October 2026, 12 generated meters, every job, both workflows and an undeliverable notice."""
    from tools.sample_data import generate

    root = tmp_path_factory.mktemp("restricted_flow")
    flow = build(root, lambda f: generate(f.data_dir, meters=12, months=1, start="2026-10",
                                          seed=5), OCTOBER)
    with pointed_at(flow):
        secrets = secrets_of(flow)
        inbox = write_demo_inbox(flow.data_dir, flow.warehouse)
        land_personal_request(flow, secrets)
        run_termination_workflow(flow.warehouse, flow.data_dir / "inbox")
        for moment in inbox.evaluation_times.values():
            evaluate_curtailment(flow.warehouse, flow.data_dir / "inbox", now=moment)
        resident = min(secrets["resident's name"])
        unreachable = DeliveryService(
            flow.warehouse, ChannelConfig(urls={"sms": "json://127.0.0.1:9/sms"}),
            max_attempts=1, backoff_seconds=(0,))
        report = unreachable.deliver(
            "bill_ready:RESIDENT:2026-10", "bill_ready",
            {"customer_name": resident, "period": "2026-10", "amount_yuan": 88.5},
            [Recipient("RX1", resident, None, "customer_contact", min(secrets["phone"]), None,
                       ("sms",))])
        assert report.unreached == ["RX1"]
        yield flow


def varchar_text(path: Path) -> dict[str, str]:
    """Every distinct VARCHAR value of every table and view of a DuckDB file opened on its own,
    read-only: `schema.relation.column` -> the values joined by newlines."""
    found: dict[str, str] = {}
    with duckdb.connect(str(path), read_only=True) as con:
        columns = con.execute(
            "select c.table_schema, c.table_name, c.column_name from information_schema.columns c"
            " where c.table_catalog = current_database() and c.data_type = 'VARCHAR'"
            " order by all").fetchall()
        for schema, table, column in columns:
            values = con.execute(
                f'select distinct "{column}" from "{schema}"."{table}"'
                f' where "{column}" is not null').fetchall()
            found[f"{schema}.{table}.{column}"] = "\n".join(v for (v,) in values)
    return found


def test_the_bi_file_holds_no_phone_email_bank_account_or_persons_name(flow: Flow):
    secrets = secrets_of(flow)
    assert all(secrets.values()), secrets  # the month has each kind of personal data
    text = varchar_text(flow.warehouse)
    assert "master.customers.customer_name" in text and "marts.dim_contacts.contact_name" in text
    assert "notify.outbox.body" in text and text["notify.outbox.body"]  # notices were stored
    leaks = sorted(
        (kind, value, where)
        for kind, values in secrets.items() for value in values
        for where, blob in text.items() if value in blob
    )
    assert leaks == []


def test_the_bi_file_has_no_restricted_schema_and_the_restricted_file_holds_the_data(flow: Flow):
    with duckdb.connect(str(flow.warehouse), read_only=True) as con:
        schemas = {s for (s,) in con.execute("select schema_name from duckdb_schemas()"
                                             " where database_name = current_database()"
                                             ).fetchall()}
    assert "restricted" not in schemas and {"master", "workflow", "notify", "marts"} <= schemas
    restricted = restricted_path(flow.warehouse)
    assert restricted == flow.warehouse.with_name("warehouse.restricted.duckdb")
    held = "\n".join(varchar_text(restricted).values())
    secrets = secrets_of(flow)
    missing = sorted((kind, value) for kind, values in secrets.items() for value in values
                     if value not in held)
    assert missing == []
    with duckdb.connect(str(restricted), read_only=True) as con:
        tables = {t for (t,) in con.execute("select table_name from duckdb_tables()").fetchall()}
        queued = con.execute("select body from notice_retry_queue"
                             " where notice_key = 'bill_ready:RESIDENT:2026-10'").fetchall()
    assert {"contacts", "retailers", "customer_names", "payment_instruction_accounts",
            "termination_request_texts", "outbox_messages", "notice_retry_queue"} <= tables
    assert [min(secrets["resident's name"]) in body for (body,) in queued] == [True]


def test_notices_reach_customers_with_their_full_names(flow: Flow):
    """What the BI file shows masked is sent in full: the outbox's messages as sent (restricted
    file) name residents, their masked copies in notify.outbox do not."""
    residents = secrets_of(flow)["resident's name"]
    with duckdb.connect(str(restricted_path(flow.warehouse)), read_only=True) as con:
        sent = [b for (b,) in con.execute("select body from outbox_messages").fetchall()]
    assert any(name in body for body in sent for name in residents)
    with duckdb.connect(str(flow.warehouse), read_only=True) as con:
        masked = con.execute("select count(*) from notify.outbox").fetchone()[0]
    assert masked == len(sent)


def test_a_warehouse_with_the_old_in_file_restricted_schema_is_moved_once(tmp_path: Path):
    from foundation.warehouse import connect

    old = tmp_path / "old.duckdb"
    with duckdb.connect(str(old)) as con:
        con.execute("create schema restricted; create table restricted.contacts as"
                    " select 'K1' as contact_id, '13812345678' as phone")
    with connect(old) as con:  # writable: migrates
        assert con.execute("select phone from restricted.contacts").fetchall() == [
            ("13812345678",)]
    with connect(old) as con:  # again: nothing left to move, nothing duplicated
        assert con.execute("select count(*) from restricted.contacts").fetchone()[0] == 1
    with duckdb.connect(str(old), read_only=True) as con:
        assert con.execute("select count(*) from duckdb_schemas() where schema_name ="
                           " 'restricted'").fetchone()[0] == 0
    with duckdb.connect(str(restricted_path(old)), read_only=True) as con:
        assert con.execute("select phone from contacts").fetchall() == [("13812345678",)]


def test_the_bi_snapshot_holds_the_published_tables_and_no_personal_data(flow: Flow):
    """The monthly run's `bi/snapshot`: finance and marts only, row for row the warehouse's,
    and none of the personal data."""
    from foundation.paths import bi_snapshot_path

    snapshot = bi_snapshot_path(flow.warehouse)
    assert snapshot == flow.warehouse.with_name("warehouse.bi.duckdb") and snapshot.exists()
    with duckdb.connect(str(snapshot), read_only=True) as con:
        schemas = {s for (s,) in con.execute(
            "select distinct schema_name from duckdb_tables()").fetchall()}
        listed = con.execute("select relation, row_count from _snapshot.tables").fetchall()
    assert schemas == {"finance", "marts", "_snapshot"}
    with duckdb.connect(str(flow.warehouse), read_only=True) as con:
        con.execute(f"attach '{snapshot}' as snap (read_only)")
        for relation, rows in listed:
            schema, table = relation.split(".")
            assert con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0] == rows
            assert con.execute(
                f'select count(*) from (select * from "{schema}"."{table}" except all '
                f'select * from snap."{schema}"."{table}")').fetchone()[0] == 0
    assert {"finance.bills", "finance.bill_lines", "marts.alerts",
            "marts.dim_contacts"} <= {relation for relation, _ in listed}
    text = varchar_text(snapshot)
    leaks = sorted((kind, value, where) for kind, values in secrets_of(flow).items()
                   for value in values for where, blob in text.items() if value in blob)
    assert leaks == []
