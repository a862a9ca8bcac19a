"""The BI snapshot: a read-only copy of the BI-facing schemas that never blocks the platform.

DuckDB allows one writing process or many reading ones per file, never both, so a BI tool that
holds the warehouse open stops the jobs, and a running job stops the BI tool. BI tools open the
snapshot instead (`<stem>.bi.duckdb` beside the warehouse, `$GRIDLEDGER_BI_SNAPSHOT`):

- it holds the published `finance` tables and the masked `marts` (views are copied as tables,
  so the snapshot needs nothing else), plus `_snapshot.tables` (what was copied, rows, when,
  by which run);
- it is written by the one snapshot writer (`foundation.snapshots.write_snapshot`) as a new
  file beside the old one and renamed over it (`os.replace`, atomic on
  one file system): a reader sees the previous snapshot or the new one, whole, and a reader
  holding the old file open keeps reading it until it reconnects;
- the platform never opens the snapshot file for writing in place, so readers never wait.

Personal data stays out: `finance` and `marts` carry masked names only (restricted data is in
its own file, never attached to the snapshot).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb

from foundation.snapshots import write_snapshot

BI_SCHEMAS = ("finance", "marts")


def write_bi_snapshot(con: duckdb.DuckDBPyConnection, target: Path, run_id: str,
                      schemas: Sequence[str] = BI_SCHEMAS) -> dict[str, int]:
    """Copy every table and view of `schemas` into a new DuckDB file and rename it to `target`
    (`foundation.snapshots.write_snapshot`); rows per `schema.table`."""
    db = con.execute("select current_database()").fetchone()[0]
    names = con.execute("""
        select schema_name, table_name from duckdb_tables()
        where database_name = ? and schema_name in (select unnest(?))
        union all
        select schema_name, view_name from duckdb_views()
        where database_name = ? and schema_name in (select unnest(?)) and not internal
        order by 1, 2""", [db, list(schemas), db, list(schemas)]).fetchall()
    relations = {f"{schema}.{table}": f'select * from "{db}"."{schema}"."{table}"'
                 for schema, table in names}
    return write_snapshot(con, target, relations, run_id, schemas)
