"""The delivery ledger: one row per notice x recipient x channel in `notify.delivery_ledger`.

The ledger is the service's memory. A row is written (`queued`) before a message leaves and
updated (`sent`/`failed`) after, so a crash in between leaves a `queued` row that the next run
retries. Acknowledgements (a recipient confirming a notice) land in `notify.acknowledgements`
and flip the delivered rows to `acknowledged`. The retry queue holds rendered messages (names,
personal text), so it lives in the restricted file: `restricted.notice_retry_queue`. Times are
stored as naive UTC; `delivery_stats` groups by China Standard Time (UTC+8, no daylight saving).

The writes take many rows at once (`enqueue`, `record`, `update_retries`: one transaction each),
so the delivery service writes a chunk of messages at a time. DuckDB allows one writer process
per file, so every method opens the warehouse, does its work and closes it again; nothing is held
open while a message is on the wire. `Ledger.held()` is the exception for messages that never
leave the machine (the outbox): the file is opened once for the block.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import duckdb
import pandas as pd

from foundation.warehouse import connect, table_exists, transaction
from notifications.masking import scrub

STATUSES: tuple[str, ...] = ("queued", "sent", "failed", "acknowledged")
DELIVERED: tuple[str, ...] = ("sent", "acknowledged")

LEDGER_DDL = """
create schema if not exists notify;
create table if not exists notify.delivery_ledger (
    idempotency_key  varchar primary key,  -- sha256 of notice_key | contact_id | channel
    notice_key       varchar not null,
    notice_type      varchar not null,
    contact_id       varchar not null,
    channel          varchar not null,
    recipient_masked varchar,
    status           varchar not null
                     check (status in ('queued', 'sent', 'failed', 'acknowledged')),
    attempts         integer not null default 0,
    parts_total      integer not null default 1,  -- SMS segments in the message
    parts_sent       integer not null default 0,  -- segments the gateway accepted
    last_error       varchar,  -- latest failure (kept after a later success); scrubbed
    queued_at        timestamp not null,          -- UTC, first time the row was written
    sent_at          timestamp,
    acknowledged_at  timestamp,
    updated_at       timestamp not null
);
create table if not exists notify.acknowledgements (
    notice_key      varchar not null,
    contact_id      varchar not null,
    acknowledged_at timestamp not null,
    source          varchar,
    primary key (notice_key, contact_id)
);
"""
RETRY_QUEUE = "restricted.notice_retry_queue"
RETRY_DDL = f"""
create table if not exists {RETRY_QUEUE} (
    notice_key      varchar not null,
    contact_id      varchar not null,
    notice_type     varchar not null,
    title           varchar,
    body            varchar not null,   -- the rendered text (no address: contacts has it)
    first_failed_at timestamp not null, -- UTC
    expires_at      timestamp not null, -- UTC; no retry after this
    primary key (notice_key, contact_id)
);
"""


def idempotency_key(notice_key: str, contact_id: str, channel: str) -> str:
    """Stable key of one notice x recipient x channel."""
    return hashlib.sha256(f"{notice_key}|{contact_id}|{channel}".encode()).hexdigest()


def part_key(notice_key: str, contact_id: str, channel: str, part: int) -> str:
    """Stable key of one part (1-based; an SMS segment, an email, a webhook post) of a message.

    It travels with the part (HTTP `Idempotency-Key` header, email `Message-ID`), so a channel
    can drop a part it already accepted when a crash made us send it again.
    """
    return hashlib.sha256(f"{notice_key}|{contact_id}|{channel}|{part}".encode()).hexdigest()


def utcnow() -> datetime:
    """Naive UTC now, the ledger's time convention."""
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class LedgerRow:
    """One row of `notify.delivery_ledger`."""

    idempotency_key: str
    notice_key: str
    notice_type: str
    contact_id: str
    channel: str
    recipient_masked: str | None
    status: str
    attempts: int
    parts_total: int
    parts_sent: int
    last_error: str | None
    queued_at: datetime
    sent_at: datetime | None
    acknowledged_at: datetime | None
    updated_at: datetime

    @property
    def delivered(self) -> bool:
        """True once the message reached the channel (sent or acknowledged)."""
        return self.status in DELIVERED


_COLUMNS = ", ".join(LedgerRow.__dataclass_fields__)


@dataclass(frozen=True)
class RetryItem:
    """One row of `notify.retry_queue`: a contact a notice has not reached yet."""

    notice_key: str
    contact_id: str
    notice_type: str
    title: str | None
    body: str
    first_failed_at: datetime
    expires_at: datetime


class QueueEntry(NamedTuple):
    """A ledger row to write `queued` before its message leaves (`Ledger.enqueue`)."""

    notice_key: str
    notice_type: str
    contact_id: str
    channel: str
    recipient_masked: str | None
    parts_total: int = 1


class Attempt(NamedTuple):
    """What one send attempt did to a ledger row (`Ledger.record`)."""

    idempotency_key: str
    parts_sent: int | None  # parts the channel has accepted so far (None: unchanged)
    error: str | None  # scrubbed; None keeps the last error
    status: str | None  # the verdict, `sent` or `failed`, or None while attempts remain
    counted: bool = True  # False: the channel could not be used, no attempt was made


class RetryChange(NamedTuple):
    """After a notice's delivery: whom to queue for a retry, whom to clear."""

    notice_key: str
    notice_type: str
    unreached: list[tuple[str, str | None, str]]  # (contact_id, title, body)
    reached: list[str]


@contextmanager
def _registered(
    con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame
) -> Iterator[None]:
    """`frame` as the view `name` on `con` for the block."""
    con.register(name, frame)
    try:
        yield
    finally:
        con.unregister(name)


def _move_old_retry_queue(con: duckdb.DuckDBPyConnection) -> None:
    """Move a warehouse's old in-file `notify.retry_queue` to the restricted file (once)."""
    if not table_exists(con, "notify", "retry_queue"):
        return
    with transaction(con):
        con.execute(f"insert or ignore into {RETRY_QUEUE} from notify.retry_queue")
    con.execute("drop table notify.retry_queue")


class Ledger:
    """Reads and writes the delivery ledger and acknowledgements of one warehouse file."""

    def __init__(self, warehouse: Path | str, clock: Callable[[], datetime] = utcnow) -> None:
        self.warehouse = Path(warehouse)
        self.clock = clock
        self._held: duckdb.DuckDBPyConnection | None = None

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Open the warehouse, create the tables if missing (cheap, idempotent), close on exit.

        Inside `held()` this is a cursor of the held connection (the tables exist already).
        """
        if self._held is not None:
            cursor = self._held.cursor()
            try:
                yield cursor
            finally:
                cursor.close()
            return
        with connect(self.warehouse) as con:
            con.execute(LEDGER_DDL)
            con.execute(RETRY_DDL)
            _move_old_retry_queue(con)
            yield con

    @contextmanager
    def held(self) -> Iterator[None]:
        """Keep the warehouse open for the block (re-entrant).

        Every ledger call inside uses a cursor of one connection, and any other `connect` to
        the file in this process (the outbox's) shares its DuckDB database instance, instead of
        opening the file, creating the tables and checkpointing on close each time (~130 ms a
        call). Other processes cannot write the file until the block ends: only for messages
        that never leave the machine (`DeliveryService.deliver_many` to the outbox).
        """
        if self._held is not None:
            yield
            return
        with self.connect() as con:
            self._held = con
            try:
                yield
            finally:
                self._held = None

    def ensure_schema(self) -> None:
        """Create `notify.delivery_ledger` and `notify.acknowledgements` if missing."""
        with self.connect():
            pass

    def enqueue(self, entries: Sequence[QueueEntry]) -> list[LedgerRow]:
        """Write each entry's row `queued` (inserted, or re-queued if it failed), in one
        transaction; return the rows in the entries' order.

        A delivered row (or one left `queued` by a crash, with its `parts_sent`) is returned
        untouched: the caller must not send a delivered one again. Keys must be distinct.
        """
        if not entries:
            return []
        now = self.clock()
        frame = pd.DataFrame(
            [(idempotency_key(e.notice_key, e.contact_id, e.channel), *e) for e in entries],
            columns=["idempotency_key", *QueueEntry._fields],
        )
        with self.connect() as con, transaction(con), _registered(con, "queue_entries", frame):
            con.execute(
                "insert into notify.delivery_ledger (idempotency_key, notice_key, notice_type,"
                " contact_id, channel, recipient_masked, status, parts_total, queued_at,"
                " updated_at) select idempotency_key, notice_key, notice_type, contact_id,"
                " channel, recipient_masked::varchar, 'queued', parts_total, $now, $now"
                " from queue_entries"
                " on conflict (idempotency_key) do update set status = 'queued',"
                " parts_total = excluded.parts_total, updated_at = excluded.updated_at"
                " where delivery_ledger.status = 'failed'",
                {"now": now},
            )
            rows = self._fetch(
                con, "idempotency_key in (select idempotency_key from queue_entries)", [])
        by_key = {row.idempotency_key: row for row in rows}
        return [by_key[key] for key in frame["idempotency_key"]]

    def record(
        self, attempts: Sequence[Attempt],
        before: Callable[[duckdb.DuckDBPyConnection], object] | None = None,
        also: Callable[[duckdb.DuckDBPyConnection], object] | None = None,
    ) -> None:
        """Write send attempts (how far each got, why it failed, its verdict) in one
        transaction, with `also(con)` in it (the outbox's rows); `before(con)` runs first, on its
        own (the restricted file's copies: DuckDB writes one attached file per transaction).

        `status="sent"` also stamps sent_at; an attempt with `counted=False` (a channel that
        could not be used) changes no attempt count.
        """
        if not attempts:
            return
        frame = pd.DataFrame([a._replace(error=scrub(a.error)) for a in attempts],
                             columns=Attempt._fields)
        with self.connect() as con:
            if before is not None:
                before(con)
            with transaction(con), _registered(con, "attempts", frame):
                con.execute(
                    "update notify.delivery_ledger set"
                    " attempts = delivery_ledger.attempts + a.counted::integer,"
                    " parts_sent = coalesce(a.parts_sent::integer, delivery_ledger.parts_sent),"
                    " last_error = coalesce(a.error::varchar, delivery_ledger.last_error),"
                    " status = coalesce(a.status::varchar, delivery_ledger.status),"
                    " sent_at = case when a.status::varchar = 'sent' then $now"
                    " else delivery_ledger.sent_at end, updated_at = $now"
                    " from attempts a where a.idempotency_key = delivery_ledger.idempotency_key",
                    {"now": self.clock()},
                )
                if also is not None:
                    also(con)

    def update_retries(self, changes: Sequence[RetryChange], expires_at: datetime) -> None:
        """After delivering: queue each notice's unreached (contact, title, body), clear its
        reached contacts; one transaction. A contact queued before keeps its first expiry."""
        cleared = [(c.notice_key, cid) for c in changes for cid in c.reached]
        queued = [(c.notice_key, cid, c.notice_type, title, body)
                  for c in changes for cid, title, body in c.unreached]
        if not cleared and not queued:
            return
        now = self.clock()
        reached = pd.DataFrame(cleared, columns=["notice_key", "contact_id"], dtype=object)
        unreached = pd.DataFrame(
            queued, columns=["notice_key", "contact_id", "notice_type", "title", "body"],
            dtype=object,
        )
        with (self.connect() as con, transaction(con), _registered(con, "reached", reached),
              _registered(con, "unreached", unreached)):
            con.execute(
                f"delete from {RETRY_QUEUE} q using reached r"
                " where q.notice_key = r.notice_key and q.contact_id = r.contact_id"
            )
            con.execute(
                f"insert into {RETRY_QUEUE} select notice_key::varchar, contact_id::varchar,"
                " notice_type::varchar, title::varchar, body::varchar, $now, $expires"
                " from unreached on conflict (notice_key, contact_id) do update set"
                " title = excluded.title, body = excluded.body",
                {"now": now, "expires": expires_at},
            )

    def pending_retries(self, now: datetime | None = None) -> list[RetryItem]:
        """Queued retries that have not expired at `now` (UTC)."""
        with self.connect() as con:
            rows = con.execute(
                f"select {', '.join(RetryItem.__dataclass_fields__)} from {RETRY_QUEUE}"
                " where expires_at > ? order by first_failed_at, notice_key, contact_id",
                [now or self.clock()],
            ).fetchall()
        return [RetryItem(*row) for row in rows]

    def expire_retries(self, now: datetime | None = None) -> int:
        """Drop queued retries whose notice expired; their ledger rows stay `failed`."""
        with self.connect() as con:
            expired = con.execute(
                f"delete from {RETRY_QUEUE} where expires_at <= ? returning notice_key",
                [now or self.clock()],
            ).fetchall()
        return len(expired)

    def clear_retries(self, notice_key: str, contact_ids: list[str]) -> int:
        """Drop queued retries of `notice_key` for `contact_ids`."""
        with self.connect() as con:
            return len(con.execute(
                f"delete from {RETRY_QUEUE} where notice_key = ?"
                " and list_contains(?::varchar[], contact_id) returning contact_id",
                [notice_key, contact_ids],
            ).fetchall())

    def rows(self, notice_key: str | None = None, contact_id: str | None = None) -> list[LedgerRow]:
        """Ledger rows, optionally for one notice and/or one contact."""
        where = ["true"]
        params: list[str] = []
        for column, value in (("notice_key", notice_key), ("contact_id", contact_id)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        with self.connect() as con:
            return self._fetch(con, " and ".join(where), params)

    def rows_of(self, notice_keys: Sequence[str]) -> list[LedgerRow]:
        """Ledger rows of these notices, in one query."""
        if not notice_keys:
            return []
        with self.connect() as con:
            return self._fetch(con, "notice_key in (select unnest($keys::varchar[]))",
                               {"keys": list(notice_keys)})

    def acknowledge(self, notice_key: str, contact_id: str, source: str = "reply") -> bool:
        """Record that `contact_id` confirmed `notice_key`; the first acknowledgement wins.

        Returns False (and records nothing) if the notice was never delivered to the contact.
        """
        now = self.clock()
        with self.connect() as con:
            delivered = con.execute(
                "select count(*) from notify.delivery_ledger where notice_key = ?"
                " and contact_id = ? and status in ('sent', 'acknowledged')",
                [notice_key, contact_id],
            ).fetchone()[0]
            if not delivered:
                return False
            with transaction(con):
                con.execute(
                    "insert into notify.acknowledgements values (?, ?, ?, ?)"
                    " on conflict do nothing",
                    [notice_key, contact_id, now, source],
                )
                con.execute(
                    "update notify.delivery_ledger set status = 'acknowledged', acknowledged_at"
                    " = a.acknowledged_at, updated_at = ? from notify.acknowledgements a"
                    " where a.notice_key = delivery_ledger.notice_key"
                    " and a.contact_id = delivery_ledger.contact_id"
                    " and delivery_ledger.notice_key = ? and delivery_ledger.contact_id = ?"
                    " and delivery_ledger.status = 'sent'",
                    [now, notice_key, contact_id],
                )
            return True

    def awaiting_acknowledgement(
        self, notice_key: str, sent_before: datetime | None = None
    ) -> list[str]:
        """Contacts the notice reached (before `sent_before`, UTC) who have not acknowledged it.

        Feeds the escalation of curtailment notices that nobody confirmed.
        """
        with self.connect() as con:
            rows = con.execute(
                "select contact_id from notify.delivery_ledger where notice_key = $1"
                " group by contact_id"
                " having bool_or(status = 'sent') and not bool_or(status = 'acknowledged')"
                " and ($2::timestamp is null or min(sent_at) < $2::timestamp)"
                " order by contact_id",
                [notice_key, sent_before],
            ).fetchall()
        return [r[0] for r in rows]

    def delivery_stats(self, period: str | None = None) -> pd.DataFrame:
        """Counts per notice type for a period (`YYYY`, `YYYY-MM` or `YYYY-MM-DD`, China time).

        `sent` counts every message dispatched (ledger rows), so sent = succeeded + failed +
        pending; `acknowledged` is the subset of succeeded that the recipient confirmed.
        """
        with self.connect() as con:
            return con.execute(
                """
                select notice_type,
                       count(distinct notice_key)                        as notices,
                       count(*)                                          as sent,
                       count(*) filter (where status in ('sent', 'acknowledged')) as succeeded,
                       count(*) filter (where status = 'failed')         as failed,
                       count(*) filter (where status = 'acknowledged')   as acknowledged,
                       count(*) filter (where status = 'queued')         as pending
                from notify.delivery_ledger
                where $1::varchar is null
                   or strftime(queued_at + interval 8 hour, '%Y-%m-%d') like $1 || '%'
                group by notice_type
                order by notice_type
                """,
                [period],
            ).df()

    @staticmethod
    def _fetch(
        con: duckdb.DuckDBPyConnection, where: str, params: list | dict
    ) -> list[LedgerRow]:
        rows = con.execute(
            f"select {_COLUMNS} from notify.delivery_ledger where {where}"
            " order by queued_at, notice_key, contact_id, channel",
            params,
        ).fetchall()
        return [LedgerRow(*row) for row in rows]
