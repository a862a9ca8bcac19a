"""The BI snapshot (assets/settlement/bi_snapshot.py): readers never block the platform.

A reader in another process holds the snapshot open while this process writes the warehouse
and a new snapshot: neither waits, the reader keeps its (old) snapshot until it reconnects, and
a new reader sees the new one.
"""

from __future__ import annotations

import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import duckdb

from assets.settlement.bi_snapshot import write_bi_snapshot
from foundation.paths import bi_snapshot_path

READER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print(con.execute("select sum(total_yuan) from finance.bills").fetchone()[0], flush=True)
sys.stdin.readline()  # hold the file open until told
print(con.execute("select sum(total_yuan) from finance.bills").fetchone()[0], flush=True)
"""


def warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path))
    con.execute("create schema finance; create schema marts; create schema core")
    con.execute("create table finance.bills (customer_id varchar, total_yuan decimal(18, 2))")
    con.execute("insert into finance.bills values ('C1', 100.00), ('C2', 23.45)")
    con.execute("create table core.internal (x int)")
    con.execute("create view marts.big_bills as "
                "select customer_id from finance.bills where total_yuan > 50")
    return con


def test_the_snapshot_copies_finance_and_marts_views_as_tables(tmp_path: Path):
    target = bi_snapshot_path(tmp_path / "wh.duckdb")
    assert target == tmp_path / "wh.bi.duckdb"
    with warehouse(tmp_path / "wh.duckdb") as con:
        rows = write_bi_snapshot(con, target, "run-1")
    assert rows == {"finance.bills": 2, "marts.big_bills": 1}
    with duckdb.connect(str(target), read_only=True) as snap:
        assert snap.execute("select table_schema, table_name, table_type "
                            "from information_schema.tables order by all").fetchall() == [
            ("_snapshot", "tables", "BASE TABLE"), ("finance", "bills", "BASE TABLE"),
            ("marts", "big_bills", "BASE TABLE")]
        assert snap.execute("select relation, row_count, run_id from _snapshot.tables "
                            "order by 1").fetchall() == [
            ("finance.bills", 2, "run-1"), ("marts.big_bills", 1, "run-1")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wh.bi.duckdb", "wh.duckdb"]


def test_a_reader_of_the_snapshot_never_blocks_the_writer(tmp_path: Path):
    target = tmp_path / "wh.bi.duckdb"
    with warehouse(tmp_path / "wh.duckdb") as con:
        write_bi_snapshot(con, target, "run-1")
    reader = subprocess.Popen([sys.executable, "-c", READER, str(target)], text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert reader.stdout.readline().strip() == "123.45"  # the reader holds the snapshot
        started = time.monotonic()
        with duckdb.connect(str(tmp_path / "wh.duckdb")) as con:  # the platform writes
            con.execute("insert into finance.bills values ('C3', 1000.00)")
            write_bi_snapshot(con, target, "run-2")
        assert time.monotonic() - started < 10
        with duckdb.connect(str(target), read_only=True) as fresh:  # a new reader: new data
            assert fresh.execute("select sum(total_yuan) from finance.bills").fetchone()[0] == (
                Decimal("1123.45"))
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "123.45"  # the old reader: its snapshot
    finally:
        reader.stdin.close()
        reader.wait(timeout=30)
    assert reader.returncode == 0
