"""Hostile DR event files (inbox/dr_events, docs/data_contracts.md "Inbox"), generated here:
malformed files, unknown and unenrolled customers, empty or month-crossing windows, duplicate and
re-delivered events, overlapping events. Each test asserts the rejection (file, line, reason),
what was accepted, and that running again changes nothing."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from assets.meters.master_data import load_master_data
from assets.workflows.dr_events import evaluate_dr_events
from foundation.warehouse import connect
from tests.builders import CaseCustomer, write_case_master, write_csv

NOW = datetime(2026, 10, 21, 9, 0)
HEADER = ["event_id", "window_start", "window_end", "customer_id", "requested_kw", "issued_by",
          "notified_at"]
ISSUER = "冀北电力调度控制中心"


def row(event_id: str, customer: str, requested: str = "", start: str = "2026-10-22 10:00",
        end: str = "2026-10-22 12:00", notified: str = "2026-10-21 08:00") -> list[str]:
    return [event_id, start, end, customer, requested, ISSUER, notified]


class Env:
    def __init__(self, root: Path) -> None:
        self.warehouse = root / "w.duckdb"
        self.inbox = root / "inbox"
        self.folder = self.inbox / "dr_events"

    def sql(self, query: str, params: list | None = None) -> list[tuple]:
        with connect(self.warehouse) as con:
            return con.execute(query, params or []).fetchall()

    def run(self, now: datetime = NOW):
        return evaluate_dr_events(self.warehouse, self.inbox, now=now)

    def write(self, name: str, rows: list[list[str]], header: list[str] = HEADER) -> Path:
        return write_csv(self.folder / name, header, rows)

    def rejections(self) -> list[tuple]:
        return self.sql("select file_name, line, record_id, reason from workflow.rejections"
                        " where kind = 'dr_events' order by file_name, checksum, line")

    def customers(self) -> list[tuple]:
        return self.sql("select event_id, customer_id, requested_kw, target_kw, dr_package_id,"
                        " committed_kw, line from workflow.dr_event_customers order by all")

    def counts(self) -> Counter[str]:
        tables = [t for (t,) in self.sql("select table_name from duckdb_tables()"
                                         " where schema_name = 'workflow' order by 1")]
        return Counter({t: self.sql(f"select count(*) from workflow.{t}")[0][0] for t in tables})


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Env:
    monkeypatch.setenv("GRIDLEDGER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GRIDLEDGER_WAREHOUSE", str(tmp_path / "w.duckdb"))
    for name in ("GRIDLEDGER_MAX_TARGET_KW", "GRIDLEDGER_INBOX_PAST_DAYS",
                 "GRIDLEDGER_INBOX_FUTURE_DAYS", "GRIDLEDGER_MAX_WINDOW_DAYS"):
        monkeypatch.delenv(name, raising=False)
    # C1 and C3 enrolled in October, C2 a customer without an enrollment
    write_case_master(tmp_path, [CaseCustomer(c, "PKG_FIXED_TOU", {}, Decimal(0))
                                 for c in ("C1", "C2", "C3")], [("R01", "0")])
    write_csv(tmp_path / "master" / "dr_enrollments.csv",
              ["customer_id", "dr_package_id", "committed_kw", "valid_from", "valid_to"],
              [["C1", "DR_REDUCTION", "100", "2026-01-01", ""],
               ["C3", "DR_DISCOUNT", "50", "2026-10-01", ""]])
    e = Env(tmp_path)
    with connect(e.warehouse) as con:
        load_master_data(con, tmp_path / "master")
    e.folder.mkdir(parents=True)
    return e


def test_bad_rows_are_rejected_with_file_line_and_rule_and_the_good_one_accepted(env: Env):
    env.write("bad.csv", [
        row("E1", "C1", "80"),                                             # line 2: accepted
        row("E2", "C9"),                                                   # 3: unknown
        row("E3", "C2"),                                                   # 4: not enrolled
        row("E4", "C1", end="2026-10-22 10:00"),                           # 5: end = start
        row("E5", "C1", start="2026-10-31 23:00", end="2026-11-01 01:00"),  # 6: two months
        row("E6", "C1", "1.5e3"),                                          # 7: exponent
        row("E7", "C1", start="2026-10-22 11:00", end="2026-10-22 13:00"),  # 8: overlaps E1
        row("E1", "C1", "80"),                                             # 9: repeated row
        ["E8", "2026-10-23 10:00", "2026-10-23 12:00", "C1", "10"],         # 10: 5 fields
        row("E9", "C1", notified="2026-10-23 08:00"),                      # 11: after the end
        row("E10", "C1", start="2026-10-31 23:00", end="2026-11-01 00:00"),  # 12: to 00:00: ok
    ])
    report = env.run()
    assert report.events_accepted == ["E1", "E10"] and report.rows_rejected == 9
    assert env.rejections() == [
        ("dr_events/bad.csv", 3, "E2", "customer_id C9 is not a customer (master/customers.csv)"),
        ("dr_events/bad.csv", 4, "E3", "customer C2 is not enrolled in a DR package on 2026-10-01"
                                       " (master/dr_enrollments.csv): a DR event is settled only"
                                       " under an enrollment"),
        ("dr_events/bad.csv", 5, "E4", "window_end must be after window_start"),
        ("dr_events/bad.csv", 6, "E5", "window 2026-10-31 23:00 .. 2026-11-01 01:00 crosses a"
                                       " month boundary: a DR event belongs to one month; split"
                                       " it into one event per month"),
        ("dr_events/bad.csv", 7, "E6", "requested_kw '1.5e3' uses exponent notation;"
                                       " write a plain decimal"),
        ("dr_events/bad.csv", 8, "E7", "customer C1 already has DR event E1 (dr_events/bad.csv)"
                                       " overlapping this window: a reduction is paid once"),
        ("dr_events/bad.csv", 9, "E1", "event E1: duplicate row for C1 (first on line 2): not"
                                       " counted again"),
        ("dr_events/bad.csv", 10, "E8", "expected 7 fields (as the header), found 5"),
        ("dr_events/bad.csv", 11, "E9", "notified_at is not before window_end"),
    ]
    assert env.customers() == [
        ("E1", "C1", Decimal("80.000"), Decimal("80.000"), "DR_REDUCTION", Decimal("100.000"), 2),
        ("E10", "C1", None, Decimal("100.000"), "DR_REDUCTION", Decimal("100.000"), 12)]
    assert env.sql("select file_name, rows_read, rows_accepted, rows_skipped, rows_rejected"
                   " from workflow.inbox_files") == [("dr_events/bad.csv", 11, 2, 0, 9)]
    assert env.sql("select issued_by from workflow.dr_events where event_id = 'E1'") == [
        (ISSUER,)]

    before = env.counts()
    again = env.run()  # the same file: read once per content
    assert (again.files, again.events_accepted, again.rows_rejected) == (0, [], 0)
    assert env.counts() == before


def test_an_event_id_is_accepted_once_whatever_file_brings_it_again(env: Env):
    env.write("a.csv", [row("E1", "C1", "80")])
    env.run()
    env.write("b.csv", [row("E1", "C1", "90")])   # other content
    env.write("c.csv", [row("E1", "C1", "80")])   # the same dispatch re-delivered
    env.run()
    # a.csv edited: its accepted event again (skipped) and a new event
    env.write("a.csv", [row("E1", "C1", "80"), row("E2", "C3", start="2026-10-23 10:00",
                                                    end="2026-10-23 11:00")])
    report = env.run()
    assert report.events_accepted == ["E2"]
    assert env.rejections() == [
        ("dr_events/b.csv", 2, "E1", "event E1 was already accepted from dr_events/a.csv with"
                                     " different content; send a revision under a new event_id"),
        ("dr_events/c.csv", 2, "E1", "event E1 was already accepted from dr_events/a.csv (same"
                                     " content): not counted again"),
    ]
    assert env.customers() == [
        ("E1", "C1", Decimal("80.000"), Decimal("80.000"), "DR_REDUCTION", Decimal("100.000"), 2),
        ("E2", "C3", None, Decimal("50.000"), "DR_DISCOUNT", Decimal("50.000"), 3)]
    assert env.sql("select file_name, rows_accepted, rows_skipped, rows_rejected"
                   " from workflow.inbox_files order by all") == [
        ("dr_events/a.csv", 1, 0, 0), ("dr_events/a.csv", 1, 1, 0),  # both versions of a.csv
        ("dr_events/b.csv", 0, 0, 1), ("dr_events/c.csv", 0, 0, 1)]


def test_rows_of_one_event_must_agree_and_a_blank_customer_means_every_enrolled_one(env: Env):
    env.write("e.csv", [
        row("E1", ""),                                                   # 2: C1 and C3
        row("E2", "C1", "10", start="2026-10-24 10:00", end="2026-10-24 11:00"),
        row("E2", "C3", "10", start="2026-10-24 10:00", end="2026-10-24 11:30"),  # 4: differs
        row("E3", "C1", "10", start="2026-10-25 10:00", end="2026-10-25 11:00"),
        row("E3", "C1", "20", start="2026-10-25 10:00", end="2026-10-25 11:00"),  # 6: differs
        row("E4", "", start="2026-10-26 10:00", end="2026-10-26 11:00"),
        row("E4", "C1", start="2026-10-26 10:00", end="2026-10-26 11:00"),       # 8: mixed
    ])
    report = env.run()
    assert report.events_accepted == ["E1"]
    assert env.customers() == [
        ("E1", "C1", None, Decimal("100.000"), "DR_REDUCTION", Decimal("100.000"), 2),
        ("E1", "C3", None, Decimal("50.000"), "DR_DISCOUNT", Decimal("50.000"), 2)]
    differ = ("event E2: window_start, window_end, issued_by or notified_at differ between"
              " lines 3 and [4]")
    assert env.rejections() == [
        ("dr_events/e.csv", 3, "E2", differ), ("dr_events/e.csv", 4, "E2", differ),
        ("dr_events/e.csv", 5, "E3", "event E3 names C1 on lines [5, 6] with different"
                                     " requested_kw"),
        ("dr_events/e.csv", 6, "E3", "event E3 names C1 on lines [5, 6] with different"
                                     " requested_kw"),
        ("dr_events/e.csv", 7, "E4", "event E4: a row for every enrolled customer (line 7)"
                                     " cannot be mixed with rows naming customers"),
        ("dr_events/e.csv", 8, "E4", "event E4: a row for every enrolled customer (line 7)"
                                     " cannot be mixed with rows naming customers"),
    ]


def test_a_malformed_file_is_one_rejection_on_line_0_and_nothing_else(env: Env):
    env.write("cols.csv", [["E1", "2026-10-22 10:00", "C1"]],
              header=["event_id", "window_start", "customer_id"])
    (env.folder / "bytes.csv").write_bytes(b"event_id,window_start\n\xff\xfe\x00E1\n")
    before = env.counts()
    report = env.run()
    assert report.events_accepted == [] and report.rows_rejected == 2
    assert env.rejections() == [
        ("dr_events/bytes.csv", 0, None, "file cannot be read as UTF-8 CSV: 'utf-8' codec can't"
                                         " decode byte 0xff in position 22: invalid start byte"),
        ("dr_events/cols.csv", 0, None, "missing columns ['window_end', 'issued_by',"
                                        " 'notified_at'] (header ['event_id', 'window_start',"
                                        " 'customer_id'])"),
    ]
    after = env.counts()
    assert {k: after[k] - before[k] for k in after if after[k] != before[k]} == {
        "inbox_files": 2, "rejections": 2}
    env.run()
    assert env.counts() == after


def test_a_ledger_from_before_the_dr_inbox_is_rebuilt_once_with_its_rows(env: Env):
    with connect(env.warehouse) as con:  # workflow.inbox_files as created before dr_events
        con.execute("drop table workflow.inbox_files")
        con.execute("""create table workflow.inbox_files (
            kind varchar not null check (kind in ('terminations', 'payments', 'curtailment')),
            file_name varchar not null, checksum varchar not null, rows_read integer not null,
            rows_accepted integer not null, rows_skipped integer not null,
            rows_rejected integer not null, processed_at timestamp not null,
            primary key (kind, file_name, checksum))""")
        con.execute("insert into workflow.inbox_files values"
                    " ('curtailment', 'curtailment/p.csv', 'abc', 1, 1, 0, 0, ?)", [NOW])
    env.write("a.csv", [row("E1", "C1")])
    assert env.run().events_accepted == ["E1"]
    assert env.run().files == 0
    assert env.sql("select kind, file_name, rows_accepted from workflow.inbox_files"
                   " order by all") == [("curtailment", "curtailment/p.csv", 1),
                                        ("dr_events", "dr_events/a.csv", 1)]


def test_an_event_without_data_waits_for_them_then_is_recorded_unmeasured_once(env: Env):
    env.write("a.csv", [row("E1", "C1", "80")])  # window 22 Oct 10:00-12:00
    results = "select event_id, customer_id, baseline_kw, actual_kw, met, detail" \
              " from workflow.dr_event_results"
    assert env.run().results == []                       # before the window's end
    assert env.run(datetime(2026, 10, 22, 13)).waiting == ["E1:C1"]
    assert env.sql(results) == []
    # results_until = window end + 72 h (row dr_event of curtailment_rules.csv)
    assert env.run(datetime(2026, 10, 25, 11, 59)).waiting == ["E1:C1"]
    assert env.run(datetime(2026, 10, 25, 12)).results == ["E1:C1"]
    assert env.sql(results) == [("E1", "C1", None, None, None, "no validated consumption table")]
    again = env.run(datetime(2026, 10, 26, 12))
    assert (again.results, again.waiting) == ([], [])
    assert env.sql("select count(*) from workflow.dr_event_results") == [(1,)]


def test_the_baseline_skips_the_days_of_the_customers_other_plans_and_dr_events(env: Env):
    from assets.workflows.curtailment.baseline import event_days

    env.write("a.csv", [row("E1", "C1", start="2026-10-20 10:00", end="2026-10-20 11:00",
                            notified="2026-10-19 08:00")])
    env.run()
    with connect(env.warehouse) as con:
        con.execute("insert into workflow.curtailment_customers values"
                    " ('P1', 'C1', 'n', 'R01', null, null, 10, 'line 2', null)")
        con.execute("insert into workflow.curtailment_plans values ('P1', 'planned', 'III', 'n',"
                    " 'm', '2026-10-19 10:00', '2026-10-19 11:00', '2026-10-18 10:00', null,"
                    " null, null, '2026-10-19 11:00', 5, '2026-10-22 11:00', '2020-01-01',"
                    " 'p.csv', '2026-10-18 10:00')")
        assert event_days(con, "C1", plan_id="P1") == {datetime(2026, 10, 20).date()}
        assert event_days(con, "C1", dr_event_id="E1") == {datetime(2026, 10, 19).date()}
        assert event_days(con, "C1") == {datetime(2026, 10, 19).date(),
                                         datetime(2026, 10, 20).date()}
        assert event_days(con, "C3") == set()
