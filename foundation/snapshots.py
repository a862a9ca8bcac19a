"""Read-only snapshots of the warehouse: written as a new file, renamed over the old one.

DuckDB allows one writing process or many reading ones per file, never both. A reader that must
not block the jobs (a BI tool, the SMS query service) opens a snapshot instead: a separate DuckDB
file holding the relations it needs, written beside the old one and renamed over it
(`os.replace`, atomic on one file system). A reader sees the previous snapshot or the new one,
whole, and a reader holding the old file keeps reading it until it reconnects. `_snapshot.tables`
says what was copied, how many rows, when and by which run.

One writer for every snapshot: `write_snapshot(con, target, relations, run_id)`, where
`relations` maps `schema.table` in the snapshot to the query that fills it (run on `con`, a
writable warehouse connection).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

import duckdb

SNAPSHOT_CATALOG = "snapshot_new"


def write_snapshot(con: duckdb.DuckDBPyConnection, target: Path, relations: Mapping[str, str],
                   run_id: str, schemas: Sequence[str] = ()) -> dict[str, int]:
    """Fill a new DuckDB file with `relations` (`schema.table` -> select) and rename it to
    `target`; rows per `schema.table`. `schemas` are created even when no relation is in them."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    for leftover in (scratch, scratch.with_name(scratch.name + ".wal")):
        leftover.unlink(missing_ok=True)
    rows: dict[str, int] = {}
    path = str(scratch).replace("'", "''")
    con.execute(f"attach '{path}' as {SNAPSHOT_CATALOG}")
    try:
        for schema in sorted({*schemas, *(name.split(".")[0] for name in relations)}):
            con.execute(f'create schema {SNAPSHOT_CATALOG}."{schema}"')
        for name, query in relations.items():
            schema, table = name.split(".")
            con.execute(f'create table {SNAPSHOT_CATALOG}."{schema}"."{table}" as {query}')
            rows[name] = con.execute(
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
