"""Publishing the finance tables: a month becomes visible whole or not at all.

The monthly run builds and tests the finance models in `finance_staging` (dbt var
`finance_schema`), never in `finance`:

1. `stage(con, tables, run_id)` (before the monthly `dbt build`): `finance_staging` becomes a
   copy of the published finance tables, so the incremental models (append-only bills of
   closed months, adjustments, settlement runs) continue from the published state, and the
   fingerprint of every published table is recorded with the run id;
2. dbt builds and tests the models there; `seal(con, run_id)` runs only when every model and
   test passed;
3. `publish(con, tables, run_id)` (the asset `finance/publish`): in ONE transaction, refuses
   unless this run sealed the staging and nobody changed a published table since it was staged
   (a `finance.period_close` row inserted meanwhile), then replaces every finance table by its
   staged copy and drops the staging. Readers of `finance.*` see the old month or the new
   one, never half of it.

A failed run leaves `finance` as it was and its staging in place to look at (what it would
have published); the next run discards it.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
from dagster import AssetKey

from foundation.warehouse import table_exists, transaction

PUBLISHED = "finance"
STAGING = "finance_staging"
SCHEMA_VAR = "finance_schema"  # read by transforms/macros/generate_schema_name.sql
PUBLISH_KEY = AssetKey(["finance", "publish"])
MARKER = f"{STAGING}._staged"  # run id, table, fingerprint of the published table when staged


class PublishRefused(RuntimeError):
    """The staged finance tables may not be published (not sealed by this run, or stale)."""


def fingerprint(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> str:
    """Row count and an order-independent hash of every row (`-` when the table is absent)."""
    if not table_exists(con, schema, table):
        return "-"
    count, digest = con.execute(
        f'select count(*), coalesce(bit_xor(hash(t)), 0) from "{schema}"."{table}" t'
    ).fetchone()
    return f"{count}:{digest}"


def stage(con: duckdb.DuckDBPyConnection, tables: Sequence[str], run_id: str) -> None:
    """`finance_staging` := a copy of the published finance tables, fingerprints recorded."""
    with transaction(con):
        con.execute(f"drop schema if exists {STAGING} cascade")
        con.execute(f"create schema {STAGING}")
        con.execute(f"create table {MARKER} (run_id varchar, table_name varchar, "
                    "fingerprint varchar, sealed boolean)")
        for table in tables:
            if table_exists(con, PUBLISHED, table):
                con.execute(f'create table {STAGING}."{table}" as '
                            f'select * from {PUBLISHED}."{table}"')
            con.execute(f"insert into {MARKER} values (?, ?, ?, false)",
                        [run_id, table, fingerprint(con, PUBLISHED, table)])


def seal(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """Mark the staging of `run_id` as built and tested (every dbt model and test passed)."""
    con.execute(f"update {MARKER} set sealed = true where run_id = ?", [run_id])


def publish(con: duckdb.DuckDBPyConnection, tables: Sequence[str], run_id: str) -> dict[str, int]:
    """Replace every finance table by its staged copy in one transaction; rows per table."""
    published: dict[str, int] = {}
    with transaction(con):
        staged = _staged_fingerprints(con, run_id)
        for table in tables:
            if table in staged and fingerprint(con, PUBLISHED, table) != staged[table]:
                raise PublishRefused(
                    f"{PUBLISHED}.{table} changed after run {run_id} staged it (e.g. a row "
                    f"inserted into {PUBLISHED}.period_close meanwhile); nothing was published: "
                    "re-run the month")
        con.execute(f"create schema if not exists {PUBLISHED}")
        for table in tables:
            if not table_exists(con, STAGING, table):
                continue
            con.execute(f'create or replace table {PUBLISHED}."{table}" as '
                        f'select * from {STAGING}."{table}"')
            published[table] = con.execute(
                f'select count(*) from {PUBLISHED}."{table}"').fetchone()[0]
        con.execute(f"drop schema {STAGING} cascade")  # published once: never twice
    return published


def _staged_fingerprints(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, str]:
    rows = (con.execute(f"select table_name, fingerprint, sealed from {MARKER} where run_id = ?",
                        [run_id]).fetchall()
            if table_exists(con, STAGING, "_staged") else [])
    if not rows or not all(sealed for _, _, sealed in rows):
        raise PublishRefused(
            f"{STAGING} was not built and tested by run {run_id} (its dbt build failed, did not "
            "run, or was already published): nothing was published; run the monthly job")
    return {table: print_ for table, print_, _ in rows}
