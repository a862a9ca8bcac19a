"""The service's own DuckDB file (`foundation.paths.sms_state_path`): inbound messages.

Beside the warehouse, never the warehouse: the service writes here while the jobs write theirs.
The delivery ledger of the replies (`notify.delivery_ledger`) is in the same file, written by
`DeliveryService`. Every call opens the file, works and closes it (one writer per file).

`sms.inbound` keeps each (gateway, message_id) once: a gateway re-delivering a message is
acknowledged and neither stored nor answered again (unless its handling failed before an
outcome was recorded: then the re-delivery finishes it). Senders' numbers and texts are personal
data: this file is the service's, never copied to BI.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from foundation.warehouse import connect
from notifications.sms_query.inbound import InboundSms

STATUSES: tuple[str, ...] = ("received", "answered", "help", "unknown_number", "rate_limited")

STATE_DDL = """
create schema if not exists {db}.sms;
create table if not exists {db}.sms.inbound (
    gateway      varchar not null,
    message_id   varchar not null,
    from_number  varchar not null,   -- normalised digits
    to_number    varchar,
    text         varchar not null,
    received_at  timestamp not null, -- China time, from the gateway (the day answers are for)
    stored_at    timestamp not null, -- UTC, the service's clock (rate-limit window)
    status       varchar not null check (status in
                 ('received', 'answered', 'help', 'unknown_number', 'rate_limited')),
    query        varchar,            -- remaining | yesterday | reads | bill | help
    customer_id  varchar,
    contact_id   varchar,
    notice_key   varchar,            -- the reply in notify.delivery_ledger; null: no reply
    primary key (gateway, message_id)
);
"""


@dataclass(frozen=True)
class Outcome:
    """What the service decided for one stored message."""

    status: str
    query: str | None = None
    customer_id: str | None = None
    contact_id: str | None = None
    notice_key: str | None = None


class StateStore:
    """Inbound messages in the service's file; each method opens and closes it."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        with connect(self.path) as con:
            db = con.execute("select current_database()").fetchone()[0]
            # qualified by the file's catalog: a file named sms.duckdb is also a catalog `sms`
            catalog = '"' + db.replace('"', '""') + '"'
            self.table = f"{catalog}.sms.inbound"
            con.execute(STATE_DDL.format(db=catalog))

    def store(self, message: InboundSms, stored_at: datetime) -> bool:
        """Store a new message as `received`; False when (gateway, message_id) is stored and
        was handled. A stored message still `received` (its handling failed midway) is True
        again, so the gateway's re-delivery finishes it."""
        with connect(self.path) as con:
            inserted = con.execute(
                f"insert into {self.table} (gateway, message_id, from_number, to_number, text,"
                " received_at, stored_at, status) values (?, ?, ?, ?, ?, ?, ?, 'received')"
                " on conflict do nothing returning message_id",
                [message.gateway, message.message_id, message.from_number, message.to_number,
                 message.text, message.received_at, stored_at]).fetchall()
            if inserted:
                return True
            status = con.execute(f"select status from {self.table} where gateway = ?"
                                 " and message_id = ?",
                                 [message.gateway, message.message_id]).fetchone()[0]
        return status == "received"

    def window(self, from_number: str, since: datetime) -> tuple[int, bool]:
        """The sender's stored messages since `since`, and whether a rate-limit refusal was
        sent to it since then."""
        with connect(self.path) as con:
            count, refused = con.execute(
                "select count(*), count(*) filter (where status = 'rate_limited'"
                f" and notice_key is not null) from {self.table}"
                " where from_number = ? and stored_at > ?", [from_number, since]).fetchone()
        return count, refused > 0

    def settle(self, message: InboundSms, outcome: Outcome) -> None:
        """Record what was decided for a stored message."""
        with connect(self.path) as con:
            con.execute(
                f"update {self.table} set status = ?, query = ?, customer_id = ?, contact_id = ?,"
                " notice_key = ? where gateway = ? and message_id = ?",
                [outcome.status, outcome.query, outcome.customer_id, outcome.contact_id,
                 outcome.notice_key, message.gateway, message.message_id])

