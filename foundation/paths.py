"""Where things are: project root, warehouse file, restricted file, snapshots, the SMS query
service's state and the data directory.

The defaults are written here once; `$GRIDLEDGER_WAREHOUSE`, `$GRIDLEDGER_RESTRICTED`,
`$GRIDLEDGER_BI_SNAPSHOT`, `$GRIDLEDGER_SERVICE_SNAPSHOT`, `$GRIDLEDGER_SMS_STATE` and
`$GRIDLEDGER_DATA_DIR` override them. The restricted file (personal and banking data), the BI
snapshot (what BI tools open), the service snapshot (what the SMS query service reads) and the
SMS service's own state live beside their warehouse by default: `<dir>/<stem>.restricted.duckdb`,
`<dir>/<stem>.bi.duckdb`, `<dir>/<stem>.service.duckdb`, `<dir>/<stem>.sms.duckdb`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TRANSFORMS_DIR = PROJECT_ROOT / "transforms"
WAREHOUSE_ENV = "GRIDLEDGER_WAREHOUSE"
DATA_DIR_ENV = "GRIDLEDGER_DATA_DIR"
RESTRICTED_ENV = "GRIDLEDGER_RESTRICTED"
RESTRICTED_CATALOG = "restricted"
RESTRICTED_SUFFIX = ".restricted.duckdb"
BI_SNAPSHOT_ENV = "GRIDLEDGER_BI_SNAPSHOT"
BI_SNAPSHOT_SUFFIX = ".bi.duckdb"
SERVICE_SNAPSHOT_ENV = "GRIDLEDGER_SERVICE_SNAPSHOT"
SERVICE_SNAPSHOT_SUFFIX = ".service.duckdb"
SMS_STATE_ENV = "GRIDLEDGER_SMS_STATE"
SMS_STATE_SUFFIX = ".sms.duckdb"
DEFAULT_WAREHOUSE = PROJECT_ROOT / "var" / "warehouse.duckdb"
DEFAULT_DATA_DIR = PROJECT_ROOT / "var" / "data"


def warehouse_path() -> Path:
    """The warehouse file: `$GRIDLEDGER_WAREHOUSE`, default `var/warehouse.duckdb`."""
    return Path(os.environ.get(WAREHOUSE_ENV) or DEFAULT_WAREHOUSE).resolve()


def restricted_path(warehouse: Path | str | None = None) -> Path:
    """The restricted file of a warehouse: `<dir>/<stem>.restricted.duckdb` beside it.

    `$GRIDLEDGER_RESTRICTED` overrides it for the default warehouse (no `warehouse` given) and
    for the warehouse `$GRIDLEDGER_WAREHOUSE` names; any other warehouse keeps its own file
    beside it, so scratch and test warehouses never share personal data.
    """
    return _beside(warehouse, RESTRICTED_ENV, RESTRICTED_SUFFIX)


def bi_snapshot_path(warehouse: Path | str | None = None) -> Path:
    """The BI snapshot of a warehouse: `<dir>/<stem>.bi.duckdb` beside it;
    `$GRIDLEDGER_BI_SNAPSHOT` overrides it as `$GRIDLEDGER_RESTRICTED` does the restricted file."""
    return _beside(warehouse, BI_SNAPSHOT_ENV, BI_SNAPSHOT_SUFFIX)


def service_snapshot_path(warehouse: Path | str | None = None) -> Path:
    """The service snapshot (restricted: contact phones) the SMS query service reads:
    `<dir>/<stem>.service.duckdb` beside the warehouse; `$GRIDLEDGER_SERVICE_SNAPSHOT` overrides
    it for the default warehouse."""
    return _beside(warehouse, SERVICE_SNAPSHOT_ENV, SERVICE_SNAPSHOT_SUFFIX)


def sms_state_path(warehouse: Path | str | None = None) -> Path:
    """The SMS query service's own file (inbound messages, its delivery ledger):
    `<dir>/<stem>.sms.duckdb` beside the warehouse; `$GRIDLEDGER_SMS_STATE` overrides it for the
    default warehouse."""
    return _beside(warehouse, SMS_STATE_ENV, SMS_STATE_SUFFIX)


def _beside(warehouse: Path | str | None, env: str, suffix: str) -> Path:
    """`<dir>/<stem><suffix>` beside the warehouse; `$env` overrides it for the default one."""
    default = warehouse_path()
    target = default if warehouse is None else Path(warehouse).resolve()
    override = os.environ.get(env)
    if override and target == default:
        if Path(override).resolve() == target:
            raise ValueError(f"{env} names the warehouse itself ({target})")
        return Path(override).resolve()
    return target.with_name(target.stem + suffix)


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
