"""Short-lived DuckDB connections to the warehouse.

DuckDB allows one writer per file (or many readers), so every caller opens, works and closes.
An open that finds the file locked by another process waits and retries for a bounded time
(`$GRIDLEDGER_LOCK_WAIT_SECONDS`, default 60) and then fails with a message naming the holder.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

LOCK_WAIT_ENV = "GRIDLEDGER_LOCK_WAIT_SECONDS"
DEFAULT_LOCK_WAIT_SECONDS = 60.0


class WarehouseBusy(RuntimeError):
    """The warehouse stayed locked by another process for longer than the wait allowed."""


def lock_wait_seconds() -> float:
    """How long an open waits for another process's lock: `$GRIDLEDGER_LOCK_WAIT_SECONDS`."""
    return float(os.environ.get(LOCK_WAIT_ENV) or DEFAULT_LOCK_WAIT_SECONDS)


def open_warehouse(
    path: Path | str, read_only: bool = False, wait_seconds: float | None = None
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse, waiting (with back-off) while another process holds its lock."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wait = lock_wait_seconds() if wait_seconds is None else wait_seconds
    deadline, delay = time.monotonic() + wait, 0.05
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
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
    """Whether `schema.table` exists (a table or a view)."""
    return con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchone()[0] > 0
