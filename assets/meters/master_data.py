"""Master data (customers, meters, contracts, contacts) from the CRM export folder.

Master data is configuration: a bad file fails the load with the file, line and rule, and
nothing is half-loaded. Personal data (phones, e-mails, bank accounts) goes to the restricted
file only (catalog `restricted`, foundation/warehouse.py); so do residential customers' names
(`restricted.customer_names`), which `master.customers` carries masked (`mask_name`).
BI-facing marts read masked copies.

Every file is validated (types, ids, codes, ranges, keys, references) in temporary tables
before anything is written; then the restricted tables are replaced in one transaction and the
master tables in a second one (DuckDB writes one file per transaction).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path

import duckdb
import pandas as pd

from foundation.paths import ID_RULE, is_safe_id
from foundation.warehouse import attach_restricted, transaction
from foundation.workflow_schema import ensure_workflow_schema
from notifications.masking import mask_name
from quality.config_rules import codes

DATE, TEXT, INT, DEC = "date", "varchar", "bigint", "decimal(18, 3)"

# file stem -> (schema, columns with SQL types, key columns)
MASTER_FILES: dict[str, tuple[str, dict[str, str], tuple[str, ...]]] = {
    "retailers": (
        "restricted",
        {
            "retailer_id": TEXT,
            "retailer_name": TEXT,
            "bank_name": TEXT,
            "bank_account": TEXT,
            "account_holder": TEXT,
            "margin_guarantee_yuan": "decimal(18, 2)",
            "valid_from": DATE,
            "valid_to": DATE,
        },
        ("retailer_id", "valid_from"),
    ),
    "customers": (
        "master",
        {
            "customer_id": TEXT,
            "customer_name": TEXT,
            "retailer_id": TEXT,
            "customer_class": TEXT,
            "voltage_level": TEXT,
            "region": TEXT,
            "industry": TEXT,
            "tariff_type": TEXT,
            "contract_capacity_kva": DEC,
            "pf_standard": TEXT,
            "basic_charge_mode": TEXT,
            "contract_demand_kw": DEC,
            "transformer_kva": DEC,
            "valid_from": DATE,
            "valid_to": DATE,
        },
        ("customer_id", "valid_from"),
    ),
    "metering_points": (
        "master",
        {
            "meter_id": TEXT,
            "customer_id": TEXT,
            "ct_ratio": INT,
            "pt_ratio": INT,
            "multiplier": INT,
            "register_digits": INT,
            "interval_minutes": INT,
            "valid_from": DATE,
            "valid_to": DATE,
        },
        ("meter_id", "valid_from"),
    ),
    "contracts": (
        "master",
        {
            "contract_id": TEXT,
            "customer_id": TEXT,
            "retailer_id": TEXT,
            "package_id": TEXT,
            "start_month": TEXT,
            "end_month": TEXT,
            "deviation_clause_id": TEXT,
            "termination_rate_yuan_per_mwh": "decimal(18, 3)",
            "termination_cap_yuan": "decimal(18, 2)",
            "status": TEXT,
        },
        ("contract_id",),
    ),
    "contract_volumes": (
        "master",
        {"contract_id": TEXT, "period": TEXT, "contracted_kwh": DEC},
        ("contract_id", "period"),
    ),
    "contacts": (
        "restricted",
        {
            "contact_id": TEXT,
            "customer_id": TEXT,
            "contact_name": TEXT,
            "role": TEXT,
            "phone": TEXT,
            "email": TEXT,
            "channels": TEXT,
        },
        ("contact_id",),
    ),
    "contact_groups": (
        "master",
        {
            "group_id": TEXT,
            "group_type": TEXT,
            "group_name": TEXT,
            "region": TEXT,
            "industry": TEXT,
        },
        ("group_id",),
    ),
    "contact_group_members": (
        "master",
        {"group_id": TEXT, "contact_id": TEXT},
        ("group_id", "contact_id"),
    ),
    "contact_subscriptions": (
        "master",
        {"contact_id": TEXT, "notice_type": TEXT},
        ("contact_id", "notice_type"),
    ),
    "dr_enrollments": (
        "master",
        {
            "customer_id": TEXT,
            "dr_package_id": TEXT,
            "committed_kw": DEC,
            "valid_from": DATE,
            "valid_to": DATE,
        },
        ("customer_id", "valid_from"),
    ),
}
OPTIONAL_FILES = {"contact_groups", "contact_group_members", "contact_subscriptions", "contacts",
                  "dr_enrollments"}
NULLABLE = {
    "valid_to",
    "customer_id",
    "contract_demand_kw",
    "transformer_kva",
    "region",
    "industry",
    "phone",
    "email",
    "margin_guarantee_yuan",
    "termination_cap_yuan",
}

# (child file, column, parent file, parent column)
REFERENCES = [
    ("customers", "retailer_id", "retailers", "retailer_id"),
    ("metering_points", "customer_id", "customers", "customer_id"),
    ("contracts", "customer_id", "customers", "customer_id"),
    ("contracts", "retailer_id", "retailers", "retailer_id"),
    ("contract_volumes", "contract_id", "contracts", "contract_id"),
    ("contact_group_members", "group_id", "contact_groups", "group_id"),
    ("contact_group_members", "contact_id", "contacts", "contact_id"),
    ("contact_subscriptions", "contact_id", "contacts", "contact_id"),
    ("dr_enrollments", "customer_id", "customers", "customer_id"),
]


# Columns whose values name files or folders somewhere (bill documents, inbox, exports).
ID_COLUMNS = {
    "retailer_id", "customer_id", "meter_id", "contract_id", "package_id", "contact_id",
    "group_id", "dr_package_id",
}


# Codes a column may hold: from the config seeds (what the money can price) or fixed lists.
ENUMERATIONS: dict[tuple[str, str], Callable[[], set[str]]] = {
    ("customers", "voltage_level"): lambda: codes("tariffs", "voltage_level") - {"*"},
    ("customers", "tariff_type"): lambda: codes("tariffs", "tariff_type") - {"*"},
    ("customers", "customer_class"): lambda: {"industrial", "commercial", "residential"},
    ("customers", "pf_standard"): lambda: codes("pf_adjustment_rates", "pf_standard") | {"none"},
    ("customers", "basic_charge_mode"):
        lambda: {"capacity", "contract_demand", "actual_demand", "none"},
    ("metering_points", "interval_minutes"): lambda: {"1", "5", "10", "15", "30", "60"},
    ("contracts", "package_id"): lambda: codes("retail_packages", "package_id"),
    ("contracts", "deviation_clause_id"): lambda: codes("deviation_clauses", "deviation_clause_id"),
    ("contracts", "status"): lambda: {"active", "pre_signed"},
    ("dr_enrollments", "dr_package_id"): lambda: codes("dr_packages", "dr_package_id"),
}
# Allowed ranges (inclusive) of numbers that drive money or physics; docs/data_contracts.md.
RANGES: dict[tuple[str, str], tuple[Decimal, Decimal]] = {
    ("customers", "contract_capacity_kva"): (Decimal(0), Decimal(10_000_000)),
    ("customers", "contract_demand_kw"): (Decimal(0), Decimal(10_000_000)),
    ("customers", "transformer_kva"): (Decimal(0), Decimal(10_000_000)),
    ("metering_points", "ct_ratio"): (Decimal(1), Decimal(100_000)),
    ("metering_points", "pt_ratio"): (Decimal(1), Decimal(100_000)),
    ("metering_points", "multiplier"): (Decimal(1), Decimal(10_000_000)),
    ("metering_points", "register_digits"): (Decimal(1), Decimal(12)),
    ("contracts", "termination_rate_yuan_per_mwh"): (Decimal(0), Decimal(1_000)),
    ("contracts", "termination_cap_yuan"): (Decimal(0), Decimal(100_000_000)),
    ("contract_volumes", "contracted_kwh"): (Decimal(0), Decimal(1_000_000_000_000)),
    ("dr_enrollments", "committed_kw"): (Decimal(0), Decimal(10_000_000)),
}


class MasterDataError(ValueError):
    """A master-data file breaks a rule; the message names the file, line and rule."""


RESIDENT_NAMES = "customer_names"  # restricted.customer_names: residents' full names
RESIDENTIAL = "customer_class = 'residential'"


def load_master_data(con: duckdb.DuckDBPyConnection, master_dir: Path) -> dict[str, int]:
    """Validate every master file, then (re)load them all; return row counts."""
    frames = {stem: _read(master_dir, stem) for stem in MASTER_FILES}
    attach_restricted(con)  # a plain connection (tests, tools) gets its restricted catalog too
    counts: dict[str, int] = {}
    try:
        for stem, frame in frames.items():
            counts[stem] = _load_table(con, stem, frame)
        for child, col, parent, pcol in REFERENCES:
            _check_reference(con, child, col, parent, pcol)
        names = _resident_names(con)
        con.register("resident_names", names)
        with transaction(con):
            for stem in _stems("restricted"):
                con.execute(f"create or replace table restricted.{stem} as from temp.{stem}")
            con.execute(f"create or replace table restricted.{RESIDENT_NAMES} as"
                        " select customer_id, valid_from, customer_name from temp.customers"
                        f" where {RESIDENTIAL}")
        with transaction(con):
            con.execute("create schema if not exists master")
            for stem in _stems("master"):
                con.execute(f"create or replace table master.{stem} as from temp.{stem}")
            con.execute("update master.customers c set customer_name = n.masked"
                        " from resident_names n where n.customer_id = c.customer_id"
                        " and n.valid_from::date = c.valid_from")
    finally:
        con.unregister("resident_names")
        for stem in MASTER_FILES:
            con.execute(f"drop table if exists temp.{stem}")
    ensure_workflow_schema(con)  # dbt reads workflow.contract_terminations (stg_contracts)
    return counts


def _stems(schema: str) -> list[str]:
    return [stem for stem, (s, _, _) in MASTER_FILES.items() if s == schema]


def _resident_names(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Residential customers' name masks, per (customer_id, valid_from)."""
    names = con.execute(
        f"select customer_id, valid_from, customer_name from temp.customers where {RESIDENTIAL}"
    ).df()
    names["masked"] = names["customer_name"].map(mask_name)
    return names.drop(columns="customer_name")


def _read(master_dir: Path, stem: str) -> pd.DataFrame:
    path = master_dir / f"{stem}.csv"
    _, columns, _ = MASTER_FILES[stem]
    if path.is_symlink() or master_dir.is_symlink():
        raise MasterDataError(f"{path}: is a symbolic link; master data is read only from real "
                              "files inside the data folder (rule: no_symlink)")
    if not path.exists():
        if stem in OPTIONAL_FILES:
            return pd.DataFrame(
                {"line": pd.Series(dtype="int64"), **{c: pd.Series(dtype=str) for c in columns}}
            )
        raise MasterDataError(f"{path}: required master-data file is missing")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MasterDataError(f"{path.name}: missing columns {missing}")
    frame = frame[list(columns)].copy()
    frame.insert(0, "line", range(2, len(frame) + 2))
    return frame


def _load_table(con: duckdb.DuckDBPyConnection, stem: str, frame: pd.DataFrame) -> int:
    _, columns, key = MASTER_FILES[stem]
    con.register("frame", frame)
    try:
        for col, sql_type in columns.items():
            bad = con.execute(
                f"""select line, "{col}" from frame
                    where ("{col}" = '' and ?)
                       or ("{col}" <> '' and try_cast("{col}" as {sql_type}) is null)
                    order by line limit 1""",
                [col not in NULLABLE],
            ).fetchone()
            if bad:
                rule = "required" if bad[1] == "" else f"type {sql_type}"
                raise MasterDataError(
                    f"{stem}.csv line {bad[0]}: column {col} = {bad[1]!r} breaks rule {rule}"
                )
        _check_ids(stem, frame)
        _check_domains(stem, frame)
        keys = ", ".join(f'"{k}"' for k in key)
        dup = con.execute(
            f"select min(line), max(line) from frame group by {keys} having count(*) > 1 limit 1"
        ).fetchone()
        if dup:
            raise MasterDataError(f"{stem}.csv lines {dup[0]} and {dup[1]}: duplicate key ({keys})")
        select = ", ".join(f'cast(nullif("{c}", \'\') as {t}) as "{c}"' for c, t in columns.items())
        con.execute(
            f"create or replace temp table {stem} as select {select} from frame order by line"
        )
        return len(frame)
    finally:
        con.unregister("frame")


def _check_ids(stem: str, frame: pd.DataFrame) -> None:
    """Every id column matches the documented id pattern (ids become file names)."""
    for col in ID_COLUMNS & set(frame.columns):
        for line, value in zip(frame["line"], frame[col], strict=True):
            if value != "" and not is_safe_id(value):
                raise MasterDataError(
                    f"{stem}.csv line {line}: column {col} = {value!r} breaks rule id_pattern "
                    f"({ID_RULE})"
                )


def _check_domains(stem: str, frame: pd.DataFrame) -> None:
    """Codes in their enumeration and numbers in their range, else file, line, column, value."""
    for (file, col), allowed_of in ENUMERATIONS.items():
        if file != stem:
            continue
        allowed = allowed_of()
        for line, value in zip(frame["line"], frame[col], strict=True):
            if value != "" and value not in allowed and not _same_number(value, allowed):
                raise MasterDataError(
                    f"{stem}.csv line {line}: column {col} = {value!r} is not one of "
                    f"{sorted(allowed)} (rule: enumeration)")
    for (file, col), (low, high) in RANGES.items():
        if file != stem:
            continue
        for line, value in zip(frame["line"], frame[col], strict=True):
            if value == "":
                continue
            number = _decimal(value)
            if number is None or not low <= number <= high:
                raise MasterDataError(
                    f"{stem}.csv line {line}: column {col} = {value!r} is outside the allowed "
                    f"range [{low}, {high}] (rule: range)")


def _decimal(value: str) -> Decimal | None:
    """A plain decimal (no exponent, no separators), or None."""
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        return None
    plain = number.is_finite() and "e" not in value.lower() and "_" not in value
    return number if plain else None


def _same_number(value: str, allowed: set[str]) -> bool:
    """`0.9` matches an allowed `0.90`: numeric codes compare as numbers."""
    number = _decimal(value)
    return number is not None and any(_decimal(a) == number for a in allowed)


def _check_reference(
    con: duckdb.DuckDBPyConnection, child: str, col: str, parent: str, pcol: str
) -> None:
    orphan = con.execute(
        f"""select c."{col}" from temp.{child} c
            where c."{col}" is not null
              and not exists (select 1 from temp.{parent} p where p."{pcol}" = c."{col}")
            limit 1"""
    ).fetchone()
    if orphan:
        raise MasterDataError(
            f"{child}.csv: {col} = {orphan[0]!r} has no row in {parent}.csv (rule: reference)"
        )
