"""The analytics inputs: `master/contract_history.csv`, `master/service_tickets.csv` and the
optional `master/payments.csv`.

Each row is checked (docs/data_contracts.md); a bad row is quarantined with file, physical
line, rule and reason and the good rows load, so one typo does not stop the scoring. Tickets
and payments are checked against the customers known from the history and `master.customers`.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd

from foundation.months import parse_month
from foundation.paths import is_safe_id

HISTORY_FILE, TICKETS_FILE = "contract_history.csv", "service_tickets.csv"
PAYMENTS_FILE = "payments.csv"
OUTCOMES = ("renewed", "non_renewal", "switched", "early_termination", "active")
CHURN_OUTCOMES = ("non_renewal", "switched", "early_termination")
CATEGORIES = ("complaint", "service")
HISTORY_NUMBERS = {  # column -> (low, high) inclusive
    "price_gap_yuan_per_mwh": (Decimal(-1000), Decimal(1000)),
    "deviation_penalties_12m_yuan": (Decimal(0), Decimal(10) ** 9),
    "annual_mwh": (Decimal(0), Decimal(10) ** 7),
    "margin_yuan_per_mwh": (Decimal(-1000), Decimal(1000)),
    "on_time_payment_rate": (Decimal(0), Decimal(1)),
}
HISTORY_COLUMNS = ("contract_id", "customer_id", "customer_since", "start_month", "end_month",
                   "outcome", *HISTORY_NUMBERS)
TICKET_COLUMNS = ("ticket_id", "customer_id", "opened_on", "category", "subject")
PAYMENT_NUMBERS = {"amount_due_yuan": (Decimal(0), Decimal(10) ** 9),
                   "amount_paid_yuan": (Decimal(0), Decimal(10) ** 9)}
PAYMENT_COLUMNS = ("customer_id", "period", "due_on", "amount_due_yuan", "paid_on",
                   "amount_paid_yuan")
OVERPAYMENT_SHARE = Decimal("0.10")  # paid up to 10 % over the bill is credited forward
PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")
QUARANTINE_COLUMNS = ["file_name", "source_row", "rule", "reason", "raw_record"]


class Bad(ValueError):
    """One row breaks `rule`; the message is the reason."""

    def __init__(self, rule: str, reason: str) -> None:
        super().__init__(reason)
        self.rule = rule


@dataclass
class Loaded:
    """Good rows of one file and its quarantined rows."""

    rows: pd.DataFrame
    quarantined: list[dict[str, object]] = field(default_factory=list)


def _records(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and (physical line, fields) of every non-empty record."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: the analytics assets need it "
                                "(docs/data_contracts.md, 'Churn inputs'; the generator writes "
                                "it with --history-years)")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = [h.strip() for h in next(reader, [])]
        out = []
        for fields in reader:
            if "".join(fields).strip():  # not blank (one strip, not one per field)
                out.append((reader.line_num, fields))
    return header, out


def _load(path: Path, columns: tuple[str, ...], check,
          optional: tuple[str, ...] = ("subject",)) -> Loaded:
    header, records = _records(path)
    missing = [c for c in columns if c not in header]
    if missing:
        raise ValueError(f"{path.name}: missing columns {missing} (docs/data_contracts.md)")
    good, bad = [], []
    at = [(c, header.index(c)) for c in columns]
    for line, fields in records:
        try:
            if len(fields) != len(header):
                raise Bad("wrong_field_count", f"{len(fields)} fields, header has {len(header)}")
            row = {c: fields[i].strip() for c, i in at}
            for c in columns:
                if row[c] == "" and c not in optional:
                    raise Bad("missing_field", f"{c} is empty")
            good.append({**check(row), "line": line})
        except Bad as exc:
            bad.append({"file_name": path.name, "source_row": line, "rule": exc.rule,
                        "reason": str(exc), "raw_record": ",".join(fields)})
    return Loaded(pd.DataFrame(good, columns=[*columns, "line"]), bad)


def _id(row: dict, column: str) -> str:
    if not is_safe_id(row[column]):
        raise Bad("bad_id", f"{column} {row[column]!r} is not an id")
    return row[column]


def _month(row: dict, column: str) -> str:
    try:
        parse_month(row[column], column)
    except ValueError:
        raise Bad("bad_month", f"{column} {row[column]!r} is not YYYY-MM") from None
    return row[column]


def _date(row: dict, column: str) -> date:
    try:
        return date.fromisoformat(row[column])
    except ValueError:
        raise Bad("bad_date", f"{column} {row[column]!r} is not YYYY-MM-DD") from None


def _number(row: dict, column: str, ranges: dict = HISTORY_NUMBERS) -> Decimal:
    """Plain decimals only (no exponent, separator or sign other than a leading minus)."""
    if not PLAIN_NUMBER.fullmatch(row[column]):
        raise Bad("bad_number", f"{column} {row[column]!r} is not a plain decimal number")
    value = Decimal(row[column])
    low, high = ranges[column]
    if not value.is_finite() or not low <= value <= high:
        raise Bad("out_of_range", f"{column} {row[column]} is outside [{low}, {high}]")
    return value


def load_history(master_dir: Path) -> Loaded:
    """Contract spells: ids, months in order, a known outcome, numbers within their ranges."""
    def check(row: dict) -> dict:
        _id(row, "contract_id"), _id(row, "customer_id")
        since, start, end = (_month(row, c) for c in ("customer_since", "start_month",
                                                      "end_month"))
        if not since <= start <= end:
            raise Bad("months_out_of_order",
                      f"needs customer_since <= start_month <= end_month, got {since}, "
                      f"{start}, {end}")
        if row["outcome"] not in OUTCOMES:
            raise Bad("unknown_outcome", f"outcome {row['outcome']!r} is not one of {OUTCOMES}")
        return {**row, **{c: _number(row, c) for c in HISTORY_NUMBERS}}

    loaded = _load(master_dir / HISTORY_FILE, HISTORY_COLUMNS, check)
    return _drop_duplicates(loaded, ["contract_id"], HISTORY_FILE)


def load_tickets(master_dir: Path, known_customers: set[str]) -> Loaded:
    """Service tickets: id, a known customer, a date, a known category."""
    def check(row: dict) -> dict:
        _id(row, "ticket_id"), _id(row, "customer_id")
        opened = _date(row, "opened_on")
        if row["category"] not in CATEGORIES:
            raise Bad("unknown_category",
                      f"category {row['category']!r} is not one of {CATEGORIES}")
        _known(row, known_customers)
        return {**row, "opened_on": opened}

    loaded = _load(master_dir / TICKETS_FILE, TICKET_COLUMNS, check)
    return _drop_duplicates(loaded, ["ticket_id"], TICKETS_FILE)


def load_payments(master_dir: Path, known_customers: set[str]) -> Loaded | None:
    """Bills and payments, or None without the file (optional: credit then has no records).

    A known customer, a month, dates, money >= 0 with at most 2 decimals, a payment date
    exactly when something was paid, at most 10 % paid over the bill; one row per
    customer and period."""
    if not (master_dir / PAYMENTS_FILE).is_file():
        return None

    def check(row: dict) -> dict:
        _id(row, "customer_id"), _month(row, "period")
        due = _date(row, "due_on")
        paid_on = _date(row, "paid_on") if row["paid_on"] else None
        money = {c: _money(row, c) for c in PAYMENT_NUMBERS}
        owed, paid = money["amount_due_yuan"], money["amount_paid_yuan"]
        if due < date.fromisoformat(f"{row['period']}-01"):
            raise Bad("due_before_period", f"due_on {due} is before period {row['period']}")
        if (paid_on is None) != (paid == 0):
            raise Bad("paid_on_mismatch", f"paid_on {row['paid_on'] or 'empty'} with "
                                          f"amount_paid_yuan {paid}: a date needs a payment "
                                          "and a payment a date")
        if paid > owed * (1 + OVERPAYMENT_SHARE):
            raise Bad("overpaid", f"amount_paid_yuan {paid} is more than amount_due_yuan "
                                  f"{owed} + {OVERPAYMENT_SHARE:.0%}")
        _known(row, known_customers)
        return {**row, **money, "due_on": due, "paid_on": paid_on}

    loaded = _load(master_dir / PAYMENTS_FILE, PAYMENT_COLUMNS, check, optional=("paid_on",))
    return _drop_duplicates(loaded, ["customer_id", "period"], PAYMENTS_FILE)


def _money(row: dict, column: str) -> Decimal:
    """A plain decimal within its range, in whole fen (at most 2 decimals)."""
    value = _number(row, column, PAYMENT_NUMBERS)
    if value != value.quantize(Decimal("0.01")):
        raise Bad("bad_number", f"{column} {row[column]} has more than 2 decimals (fen)")
    return value


def _known(row: dict, known_customers: set[str]) -> None:
    if row["customer_id"] not in known_customers:
        raise Bad("unknown_customer", f"customer {row['customer_id']} is in neither the "
                                      "contract history nor master.customers")


def _drop_duplicates(loaded: Loaded, key: list[str], file_name: str) -> Loaded:
    """A repeated key quarantines every row after the first (rule duplicate_key)."""
    repeated = loaded.rows.duplicated(key, keep="first")
    for _, row in loaded.rows[repeated].iterrows():
        loaded.quarantined.append({
            "file_name": file_name, "source_row": int(row["line"]), "rule": "duplicate_key",
            "reason": f"{'/'.join(str(row[k]) for k in key)} already on an earlier line",
            "raw_record": ",".join("" if pd.isna(row[c]) else str(row[c])
                                   for c in loaded.rows.columns if c != "line")})
    return Loaded(loaded.rows[~repeated].drop(columns="line").reset_index(drop=True),
                  loaded.quarantined)
