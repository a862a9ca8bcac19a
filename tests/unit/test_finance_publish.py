"""Staging and publishing the finance tables on a scratch DuckDB (assets/settlement/publish.py):
a staged month is published whole, once, only when sealed, and never over a change made to the
published tables while it was being built."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from assets.settlement.publish import PublishRefused, publish, seal, stage

TABLES = ["bills", "period_close", "unbilled"]  # unbilled: a model not built yet


@pytest.fixture
def con(tmp_path: Path):
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute("""
        create schema finance;
        create table finance.bills as select 'C1' as customer_id, '2026-09' as period,
                                             100.00::decimal(18, 2) as total_yuan;
        create table finance.period_close as select '2026-08' as period;
    """)
    yield con
    con.close()


def rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    return con.execute(f"select * from {table} order by all").fetchall()


def build_october(con: duckdb.DuckDBPyConnection) -> None:
    """What the monthly dbt build does in the staging schema."""
    con.execute("insert into finance_staging.bills values ('C1', '2026-10', 120.00);"
                "create table finance_staging.unbilled as select 'C2' as customer_id")


def test_staging_starts_as_the_published_state(con):
    stage(con, TABLES, "run-1")
    for table in ("bills", "period_close"):
        assert rows(con, f"finance_staging.{table}") == rows(con, f"finance.{table}")


def test_a_sealed_staging_is_published_whole_and_once(con):
    stage(con, TABLES, "run-1")
    build_october(con)
    seal(con, "run-1")
    assert publish(con, TABLES, "run-1") == {"bills": 2, "period_close": 1, "unbilled": 1}
    assert rows(con, "finance.bills") == [("C1", "2026-09", 100), ("C1", "2026-10", 120)]
    assert rows(con, "finance.unbilled") == [("C2",)]
    with pytest.raises(PublishRefused, match="not built and tested by run run-1"):
        publish(con, TABLES, "run-1")


def test_an_unsealed_or_foreign_staging_is_not_published(con):
    before = rows(con, "finance.bills")
    stage(con, TABLES, "run-1")
    build_october(con)  # ... and the dbt build failed: no seal
    with pytest.raises(PublishRefused):
        publish(con, TABLES, "run-1")
    seal(con, "run-1")
    with pytest.raises(PublishRefused):
        publish(con, TABLES, "run-2")
    assert rows(con, "finance.bills") == before


def test_a_change_to_the_published_tables_meanwhile_refuses_the_publish(con):
    stage(con, TABLES, "run-1")
    build_october(con)
    seal(con, "run-1")
    con.execute("insert into finance.period_close values ('2026-09')")  # finance closes a month
    with pytest.raises(PublishRefused, match="finance.period_close changed"):
        publish(con, TABLES, "run-1")
    assert rows(con, "finance.period_close") == [("2026-08",), ("2026-09",)]
    assert rows(con, "finance.bills") == [("C1", "2026-09", 100)]
    assert con.execute("select count(*) from information_schema.tables "
                       "where table_schema = 'finance' and table_name = 'unbilled'"
                       ).fetchone() == (0,)
