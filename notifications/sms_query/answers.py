"""Answers to the queries, read from the service snapshot (never the warehouse), as of a day.

The day is the China date on which the gateway received the message: "yesterday" is the day
before it, the month is its month, and the remaining contracted volume is the month's contracted
kWh minus the validated kWh of the month's days before it. The last bill is the latest issued
bill of a month before it. Figures are Decimal, exactly as the platform's tables hold them; the
template formats them (`kwh`: 3 dp, `money`: 2 dp, thousands separated).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from foundation.months import month_of
from notifications.sms_query.inbound import normalise_number


@dataclass(frozen=True)
class Contact:
    """The customer contact a sender's number belongs to."""

    contact_id: str
    customer_id: str
    contact_name: str | None


def find_contact(con: duckdb.DuckDBPyConnection, number: str) -> Contact | None:
    """The customer contact with this (normalised) phone number; the lowest contact id when
    several share it."""
    rows = con.execute("select contact_id, customer_id, contact_name, phone"
                       " from service.contacts order by contact_id").fetchall()
    for contact_id, customer_id, name, phone in rows:
        if normalise_number(phone) == number:
            return Contact(contact_id, customer_id, name)
    return None


def remaining(con: duckdb.DuckDBPyConnection, customer_id: str, day: date) -> dict[str, Any]:
    """Contracted kWh of `day`'s month, validated kWh of its days before `day`, the rest."""
    first, period = day.replace(day=1), month_of(day)
    contracted = con.execute(
        "select sum(contracted_kwh) from service.contract_volumes"
        " where customer_id = ? and period = ?", [customer_id, period]).fetchone()[0]
    used = con.execute(
        "select coalesce(sum(kwh), 0) from service.daily_kwh"
        " where customer_id = ? and reading_date >= ? and reading_date < ?",
        [customer_id, first, day]).fetchone()[0]
    used = Decimal(used)
    return {"period": period, "through": (day - timedelta(days=1)).isoformat(),
            "contracted_kwh": contracted, "used_kwh": used,
            "remaining_kwh": None if contracted is None else Decimal(contracted) - used}


def yesterday(con: duckdb.DuckDBPyConnection, customer_id: str, day: date) -> dict[str, Any]:
    """Validated kWh of the day before `day` (None: no validated data for it)."""
    before = day - timedelta(days=1)
    kwh = con.execute("select sum(kwh) from service.daily_kwh"
                      " where customer_id = ? and reading_date = ?",
                      [customer_id, before]).fetchone()[0]
    return {"day": before.isoformat(), "kwh": kwh}


def reads(con: duckdb.DuckDBPyConnection, customer_id: str) -> dict[str, Any]:
    """Latest read per meter of the customer: register dial (2 dp) or interval kWh (3 dp)."""
    rows = con.execute("select meter_id, read_kind, read_at, value, decimals"
                       " from service.latest_reads where customer_id = ? order by meter_id",
                       [customer_id]).fetchall()
    return {"reads": [
        {"meter_id": meter, "kind": kind, "read_at": read_at.strftime("%Y-%m-%d %H:%M"),
         "value": Decimal(value).quantize(Decimal(1).scaleb(-decimals))}
        for meter, kind, read_at, value, decimals in rows]}


def last_bill(con: duckdb.DuckDBPyConnection, customer_id: str, day: date) -> dict[str, Any]:
    """The latest issued bill of a month before `day`'s month (None when there is none)."""
    row = con.execute(
        "select period, billed_kwh, total_yuan from service.bills"
        " where customer_id = ? and period < ? order by period desc limit 1",
        [customer_id, month_of(day)]).fetchone()
    if row is None:
        return {"bill": None}
    period, kwh, amount = row
    return {"bill": {"period": period, "kwh": kwh, "amount_yuan": amount}}


def _open(snapshot: Path) -> duckdb.DuckDBPyConnection:
    """The snapshot, read-only: it is replaced by rename, never written in place, so this
    never waits for the platform and the platform never waits for it."""
    if not Path(snapshot).exists():
        raise FileNotFoundError(f"no service snapshot at {snapshot}: run the daily or monthly "
                                "job (asset sms/service_snapshot) first")
    return duckdb.connect(str(snapshot), read_only=True)


def answer(snapshot: Path, query: str, customer_id: str, day: date) -> dict[str, Any]:
    """The template context of `query` for the customer as of `day` (snapshot opened read-only
    and closed again)."""
    with _open(snapshot) as con:
        if query == "remaining":
            return remaining(con, customer_id, day)
        if query == "yesterday":
            return yesterday(con, customer_id, day)
        if query == "reads":
            return reads(con, customer_id)
        if query == "bill":
            return last_bill(con, customer_id, day)
    raise ValueError(f"no answer for query {query!r}")


def lookup_contact(snapshot: Path, number: str) -> Contact | None:
    """`find_contact` on the snapshot, opened read-only and closed again."""
    with _open(snapshot) as con:
        return find_contact(con, number)
