"""Where things are: the project root, the warehouse file and the data directory.

The defaults are written here once; `$GRIDLEDGER_WAREHOUSE` and `$GRIDLEDGER_DATA_DIR` override
them.
"""

from __future__ import annotations

import os
import re
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


# Ids that become file names (customer, meter, contract, plan ...): letters, digits, `_ . -`,
# starting with a letter or digit, at most 64 characters. No separators, no `..`, no absolute.
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
ID_RULE = "1-64 characters A-Z a-z 0-9 _ . -, starting with a letter or digit"


def is_safe_id(value: str) -> bool:
    """True when the id matches `ID_PATTERN` and can name a file."""
    return ID_PATTERN.fullmatch(value) is not None and ".." not in value


class PathOutsideFolder(ValueError):
    """A path built from data would leave the folder it must stay in."""


def contained(root: Path, *parts: str) -> Path:
    """`root / parts`, resolved, refused unless it stays under `root`."""
    base = Path(root).resolve()
    path = base.joinpath(*parts).resolve()
    if path != base and base not in path.parents:
        raise PathOutsideFolder(f"{path} is outside {base} (from {'/'.join(parts)!r})")
    return path
