"""Paths of the warehouse and data directory, and short-lived DuckDB connections.

DuckDB allows one writer per file, so every caller opens, works and closes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

PROJECT_ROOT = Path(__file__).resolve().parents[1]
WAREHOUSE_ENV = "GRIDLEDGER_WAREHOUSE"
DATA_DIR_ENV = "GRIDLEDGER_DATA_DIR"


def warehouse_path() -> Path:
    """The warehouse file: `$GRIDLEDGER_WAREHOUSE`, default `var/warehouse.duckdb`."""
    return Path(os.environ.get(WAREHOUSE_ENV, PROJECT_ROOT / "var" / "warehouse.duckdb")).resolve()


def data_dir() -> Path:
    """The data directory (landing, master, inbox): `$GRIDLEDGER_DATA_DIR`, default `var/data`."""
    return Path(os.environ.get(DATA_DIR_ENV, PROJECT_ROOT / "var" / "data")).resolve()


@contextmanager
def connect(path: Path | str, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse, creating its folder if needed, and always close it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    try:
        yield con
    finally:
        con.close()
