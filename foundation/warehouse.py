"""Short-lived DuckDB connections to the warehouse.

DuckDB allows one writer per file (or many readers), so every caller opens, works and closes.
An open that finds the file locked by another process waits and retries for a bounded time
(`$GRIDLEDGER_LOCK_WAIT_SECONDS`, default 60) and then fails with a message naming the holder.

Personal and banking data live in a second file (`foundation.paths.restricted_path`), attached
to every connection as the catalog `restricted`: `restricted.contacts` is its `main.contacts`.
A read-only connection attaches it read-only (and not at all while it does not exist yet); a
writable one creates it and moves a warehouse's old in-file `restricted` schema into it, once.
DuckDB lets one transaction write to one file only: write the two catalogs in separate ones.

Engine limits come from configuration: `$GRIDLEDGER_DUCKDB_MEMORY_LIMIT` (e.g. `8GB`) and
`$GRIDLEDGER_DUCKDB_THREADS` are SET on every connection opened here (instance-wide settings, so
connections of one process never differ in configuration); dbt applies the same two in its
`on-run-start` hook (transforms/macros/engine_settings.sql). Unset: DuckDB's defaults (80 % of
RAM, one thread per core).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from foundation.paths import RESTRICTED_CATALOG, restricted_path

LOCK_WAIT_ENV = "GRIDLEDGER_LOCK_WAIT_SECONDS"
DEFAULT_LOCK_WAIT_SECONDS = 60.0
MEMORY_LIMIT_ENV = "GRIDLEDGER_DUCKDB_MEMORY_LIMIT"
THREADS_ENV = "GRIDLEDGER_DUCKDB_THREADS"
MEMORY_SIZE = re.compile(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)")


class WarehouseBusy(RuntimeError):
    """The warehouse stayed locked by another process for longer than the wait allowed."""


def lock_wait_seconds() -> float:
    """How long an open waits for another process's lock: `$GRIDLEDGER_LOCK_WAIT_SECONDS`."""
    return float(os.environ.get(LOCK_WAIT_ENV) or DEFAULT_LOCK_WAIT_SECONDS)


def engine_settings() -> dict[str, str]:
    """DuckDB settings from the environment (`memory_limit`, `threads`), checked: a bad value
    fails naming the variable, its value and what is expected."""
    settings: dict[str, str] = {}
    memory = os.environ.get(MEMORY_LIMIT_ENV, "").strip()
    if memory:
        if not MEMORY_SIZE.fullmatch(memory):
            raise ValueError(f"{MEMORY_LIMIT_ENV}={memory!r}: expected a size such as 8GB or "
                             "6GiB (units KB, MB, GB, TB, KiB, MiB, GiB, TiB)")
        settings["memory_limit"] = memory
    threads = os.environ.get(THREADS_ENV, "").strip()
    if threads:
        if not threads.isdigit() or int(threads) < 1:
            raise ValueError(f"{THREADS_ENV}={threads!r}: expected a whole number of threads >= 1")
        settings["threads"] = threads
    return settings


def apply_engine_settings(con: duckdb.DuckDBPyConnection) -> None:
    """SET the configured `engine_settings()` on `con` (values checked there)."""
    for name, value in engine_settings().items():
        con.execute(f"SET {name} = '{value}'")


def open_warehouse(
    path: Path | str, read_only: bool = False, wait_seconds: float | None = None
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse with its restricted file attached, waiting (with back-off) while
    another process holds a lock."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wait = lock_wait_seconds() if wait_seconds is None else wait_seconds
    deadline = time.monotonic() + wait
    con = _waiting(path, read_only, wait, deadline,
                   lambda: duckdb.connect(str(path), read_only=read_only))
    try:
        apply_engine_settings(con)
        attach_restricted(con, path, read_only, wait, deadline)
    except BaseException:
        con.close()
        raise
    return con


def attach_restricted(
    con: duckdb.DuckDBPyConnection, warehouse: Path | str | None = None, read_only: bool = False,
    wait: float = 0.0, deadline: float | None = None,
) -> None:
    """Attach the restricted file of `warehouse` (default: the connection's own file; an
    in-memory database gets an in-memory one) as catalog `restricted`, if not attached yet.

    Writable: the file is created and an old in-file `restricted` schema moved into it.
    Read-only: attached read-only, and skipped while the file does not exist.
    """
    attached = con.execute(
        "select count(*) from duckdb_databases() where database_name = ?", [RESTRICTED_CATALOG]
    ).fetchone()[0]
    if not attached:
        if warehouse is None:
            warehouse = con.execute(
                "select path from duckdb_databases() where database_name = current_database()"
            ).fetchone()[0]
        target = restricted_path(warehouse) if warehouse else None
        if read_only and (target is None or not target.exists()):
            return  # nothing restricted written yet: `restricted.*` does not resolve
        source = _quote(target) if target else ":memory:"
        mode = " (read_only)" if read_only else ""
        _waiting(target or Path(":memory:"), read_only, wait,
                 time.monotonic() + wait if deadline is None else deadline,
                 lambda: con.execute(
                     f"attach if not exists '{source}' as {RESTRICTED_CATALOG}{mode}"))
    if not read_only:
        migrate_in_file_restricted(con)


def _waiting(path: Path, read_only: bool, wait: float, deadline: float, open_it):
    """`open_it()`, retried with back-off while `path` is locked, until `deadline`."""
    delay = 0.05
    while True:
        try:
            return open_it()
        except duckdb.IOException as exc:
            left = deadline - time.monotonic()
            if "lock" not in str(exc).lower():
                raise
            if left <= 0:
                raise WarehouseBusy(
                    f"{path} stayed locked for {wait:g} s ({'read' if read_only else 'write'} "
                    f"open; set {LOCK_WAIT_ENV} to wait longer): {exc}"
                ) from exc
            time.sleep(min(delay, left))
            delay = min(delay * 2, 1.0)


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")


def migrate_in_file_restricted(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Move the tables of an old in-file `restricted` schema into the restricted file, then drop
    the schema (once; a no-op afterwards). Returns the tables moved."""
    db = con.execute("select current_database()").fetchone()[0]
    if not con.execute(
        "select count(*) from duckdb_schemas() where database_name = ? and schema_name = ?",
        [db, RESTRICTED_CATALOG]).fetchone()[0]:
        return []
    tables = [r[0] for r in con.execute(
        "select table_name from duckdb_tables() where database_name = ? and schema_name = ?",
        [db, RESTRICTED_CATALOG]).fetchall()]
    for table in tables:  # the old copy wins until it is dropped: re-running is idempotent
        old, new = f'"{db}".{RESTRICTED_CATALOG}."{table}"', f'{RESTRICTED_CATALOG}.main."{table}"'
        with transaction(con):
            if table_exists(con, RESTRICTED_CATALOG, table):
                con.execute(f"delete from {new}")
                con.execute(f"insert into {new} by name select * from {old}")
            else:
                con.execute(f"create table {new} as select * from {old}")
    con.execute(f'drop schema "{db}".{RESTRICTED_CATALOG} cascade')
    return tables


@contextmanager
def connect(
    path: Path | str, read_only: bool = False, wait_seconds: float | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse (waiting for another process's lock), and always close it."""
    con = open_warehouse(path, read_only, wait_seconds)
    try:
        yield con
    finally:
        con.close()


def copy_warehouse(source: Path | str, target: Path | str) -> Path:
    """Copy a (closed) warehouse file and its restricted file (when it has one) beside the copy."""
    source, target = Path(source), Path(target)
    shutil.copy(source, target)
    restricted_path(target).unlink(missing_ok=True)
    if restricted_path(source).exists():
        shutil.copy(restricted_path(source), restricted_path(target))
    return target


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Run the block in one transaction: commit at its end, roll back if it raises."""
    con.begin()
    try:
        yield con
        con.commit()
    except Exception:
        con.rollback()
        raise


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """Whether `schema.table` exists (a table or a view); schema `restricted` means the
    attached restricted catalog (`restricted.main`)."""
    if schema == RESTRICTED_CATALOG:
        where, params = "table_catalog = ? and table_schema = 'main'", [schema, table]
    else:
        where, params = "table_catalog = current_database() and table_schema = ?", [schema, table]
    return con.execute(
        f"select count(*) from information_schema.tables where {where} and table_name = ?", params
    ).fetchone()[0] > 0
