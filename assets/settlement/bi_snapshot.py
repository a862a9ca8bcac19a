"""The BI snapshot: a read-only copy of the BI-facing schemas that never blocks the platform.

DuckDB allows one writing process or many reading ones per file, never both, so a BI tool that
holds the warehouse open stops the jobs, and a running job stops the BI tool. BI tools open the
snapshot instead (`<stem>.bi.duckdb` beside the warehouse, `$GRIDLEDGER_BI_SNAPSHOT`):

- it holds the published `finance` tables and the masked `marts` (views are copied as tables,
  so the snapshot needs nothing else), plus `_snapshot.tables` (what was copied, rows, when,
  by which run);
- it is written as a new file beside the old one and renamed over it (`os.replace`, atomic on
  one file system): a reader sees the previous snapshot or the new one, whole, and a reader
  holding the old file open keeps reading it until it reconnects;
- the platform never opens the snapshot file for writing in place, so readers never wait.

Personal data stays out: `finance` and `marts` carry masked names only (restricted data is in
its own file, never attached to the snapshot).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import duckdb

BI_SCHEMAS = ("finance", "marts")
SNAPSHOT_CATALOG = "bi_snapshot_new"


def write_bi_snapshot(con: duckdb.DuckDBPyConnection, target: Path, run_id: str,
                      schemas: Sequence[str] = BI_SCHEMAS) -> dict[str, int]:
    """Copy every table and view of `schemas` into a new DuckDB file and rename it to `target`;
    rows per `schema.table`."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    for leftover in (scratch, scratch.with_name(scratch.name + ".wal")):
        leftover.unlink(missing_ok=True)
    db = con.execute("select current_database()").fetchone()[0]
    relations = con.execute("""
        select schema_name, table_name from duckdb_tables()
        where database_name = ? and schema_name in (select unnest(?))
        union all
        select schema_name, view_name from duckdb_views()
        where database_name = ? and schema_name in (select unnest(?)) and not internal
        order by 1, 2""", [db, list(schemas), db, list(schemas)]).fetchall()
    rows: dict[str, int] = {}
    path = str(scratch).replace("'", "''")
    con.execute(f"attach '{path}' as {SNAPSHOT_CATALOG}")
    try:
        for schema in schemas:
            con.execute(f'create schema {SNAPSHOT_CATALOG}."{schema}"')
        for schema, table in relations:
            con.execute(f'create table {SNAPSHOT_CATALOG}."{schema}"."{table}" as '
                        f'select * from "{db}"."{schema}"."{table}"')
            rows[f"{schema}.{table}"] = con.execute(
                f'select count(*) from {SNAPSHOT_CATALOG}."{schema}"."{table}"').fetchone()[0]
        con.execute(f"create schema {SNAPSHOT_CATALOG}._snapshot")
        con.execute(f"create table {SNAPSHOT_CATALOG}._snapshot.tables (relation varchar, "
                    "row_count bigint, taken_at timestamp, run_id varchar)")
        taken_at = datetime.now().replace(microsecond=0)
        con.executemany(f"insert into {SNAPSHOT_CATALOG}._snapshot.tables values (?, ?, ?, ?)",
                        [[name, n, taken_at, run_id] for name, n in rows.items()])
    finally:
        con.execute(f"detach {SNAPSHOT_CATALOG}")
    os.replace(scratch, target)
    return rows
