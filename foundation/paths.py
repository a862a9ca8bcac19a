"""Where things are: the project root, the warehouse file and the data directory.

The defaults are written here once; `$GRIDLEDGER_WAREHOUSE` and `$GRIDLEDGER_DATA_DIR` override
them.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TRANSFORMS_DIR = PROJECT_ROOT / "transforms"
WAREHOUSE_ENV = "GRIDLEDGER_WAREHOUSE"
DATA_DIR_ENV = "GRIDLEDGER_DATA_DIR"
DEFAULT_WAREHOUSE = PROJECT_ROOT / "var" / "warehouse.duckdb"
DEFAULT_DATA_DIR = PROJECT_ROOT / "var" / "data"


def warehouse_path() -> Path:
    """The warehouse file: `$GRIDLEDGER_WAREHOUSE`, default `var/warehouse.duckdb`."""
    return Path(os.environ.get(WAREHOUSE_ENV) or DEFAULT_WAREHOUSE).resolve()


def data_dir() -> Path:
    """The data directory (landing, master, inbox): `$GRIDLEDGER_DATA_DIR`, default `var/data`."""
    return Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR).resolve()
