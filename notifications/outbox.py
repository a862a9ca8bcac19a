"""The `outbox://` Apprise schema: "send" a message by appending it to `notify.outbox`.

It is the default channel when no gateway is configured, so a demo needs no server and a person
can read exactly what would have been sent:

    outbox://                                   warehouse from $GRIDLEDGER_WAREHOUSE
                                                (default var/warehouse.duckdb)
    outbox://?warehouse=%2Fdata%2Fwh.duckdb     explicit warehouse (percent-encoded path)

Per-message arguments ride in the query string: `to` (the address; stored masked, because the
outbox is in the main warehouse file), `channel` (the channel it stands in for) and
`notice_key`. The title and body are stored with personal data masked (`scrub_text`, with every
contact's and resident's name on file); the message as sent is kept in the restricted file,
`restricted.outbox_messages`, under the same outbox_id. DuckDB allows one writer process per
file, so every call opens the file, appends one row and closes it again. Inside
`outbox_session(warehouse)` (the delivery service's) the messages are collected, and the service
writes them with the ledger's verdicts (`take_outbox`). A message sent through the service has
its part key (`ledger.part_key`) as outbox_id.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import pandas as pd
from apprise import logger
from apprise.decorators import notify

from foundation.paths import warehouse_path as default_warehouse
from foundation.restricted import personal_names
from foundation.warehouse import connect
from notifications.masking import NameSet, mask_recipient, scrub_text

OUTBOX_DDL = """
create schema if not exists notify;
create table if not exists notify.outbox (
    outbox_id   varchar primary key,
    recipient   varchar,
    channel     varchar,
    title       varchar,
    body        varchar not null,
    notice_key  varchar,
    written_at  timestamp not null  -- UTC
);
"""
OUTBOX_COLUMNS = ("outbox_id", "recipient", "channel", "title", "body", "notice_key", "written_at")
OUTBOX_MESSAGES_DDL = """
create table if not exists restricted.outbox_messages (
    outbox_id varchar primary key,
    title     varchar,
    body      varchar not null
);
"""


@dataclass
class _Session:
    """An open `outbox_session`: the names to mask, and the messages not yet written."""

    names: NameSet
    rows: list[OutboxRow] = field(default_factory=list)


class OutboxRow(NamedTuple):
    """One message for the outbox: masked for `notify.outbox`, as sent for the restricted file."""

    outbox_id: str
    recipient: str | None  # masked
    channel: str | None
    title: str | None  # masked
    body: str  # masked
    notice_key: str | None
    written_at: datetime  # UTC
    sent_title: str | None
    sent_body: str


_SESSIONS: dict[Path, _Session] = {}  # warehouse (resolved) -> its open session
_SESSIONS_LOCK = threading.Lock()


@contextmanager
def outbox_session(warehouse: Path | str) -> Iterator[None]:
    """Collect the outbox messages to `warehouse` "sent" in the block, for `take_outbox`.

    The outbox tables are created and the personal names read once. Messages written inside
    (`write_outbox`, the Apprise hook) wait in memory until the delivery service takes them and
    writes them with its ledger verdicts (`write_outbox_rows`): a message is in `notify.outbox`
    exactly when its ledger row says `sent`. Messages never taken are lost with their `queued`
    ledger rows, so the next run sends them again.
    """
    key = Path(warehouse).resolve()
    with connect(key) as con:
        con.execute(OUTBOX_DDL)
        con.execute(OUTBOX_MESSAGES_DDL)
        names = NameSet(personal_names(con))
    with _SESSIONS_LOCK:
        _SESSIONS[key] = _Session(names)
    try:
        yield
    finally:
        with _SESSIONS_LOCK:
            _SESSIONS.pop(key, None)


def take_outbox(warehouse: Path | str) -> list[OutboxRow]:
    """The messages the open session of `warehouse` collected since the last take."""
    with _SESSIONS_LOCK:
        session = _SESSIONS.get(Path(warehouse).resolve())
        if session is None:
            return []
        rows, session.rows = session.rows, []
    return rows


def write_sent_copies(con: duckdb.DuckDBPyConnection, rows: list[OutboxRow]) -> None:
    """The messages as sent, into `restricted.outbox_messages`: a transaction of their own
    (DuckDB writes one attached file per transaction); a message sent again replaces its copy."""
    if rows:
        with _frame(con, rows) as view:
            con.execute("insert or replace into restricted.outbox_messages"
                        f" select outbox_id, sent_title, sent_body from {view}")


def write_outbox_rows(con: duckdb.DuckDBPyConnection, rows: list[OutboxRow]) -> None:
    """The masked messages into `notify.outbox` (inside the caller's transaction)."""
    if rows:
        with _frame(con, rows) as view:
            con.execute(f"insert or replace into notify.outbox select"
                        f" {', '.join(OUTBOX_COLUMNS)} from {view}")


@contextmanager
def _frame(con: duckdb.DuckDBPyConnection, rows: list[OutboxRow]) -> Iterator[str]:
    view = "gridledger_outbox_rows"
    con.register(view, pd.DataFrame(rows, columns=OutboxRow._fields).astype(
        {f: object for f in OutboxRow._fields if f != "written_at"}))
    try:
        yield view
    finally:
        con.unregister(view)


def warehouse_path(meta: dict[str, Any] | None = None) -> Path:
    """The warehouse the outbox writes to: `?warehouse=` > $GRIDLEDGER_WAREHOUSE > default."""
    qsd = (meta or {}).get("qsd", {})
    return Path(qsd["warehouse"]) if qsd.get("warehouse") else default_warehouse()


def write_outbox(
    warehouse: Path, *, recipient: str | None, channel: str | None, title: str, body: str,
    notice_key: str | None, outbox_id: str | None = None,
) -> str:
    """Append one message to `notify.outbox` (masked) and `restricted.outbox_messages` (as
    sent), or to the open session's messages; return its outbox_id (the part key when given,
    so a message sent again replaces itself)."""
    outbox_id = outbox_id or uuid.uuid4().hex
    now = datetime.now(UTC).replace(tzinfo=None)
    with _SESSIONS_LOCK:
        session = _SESSIONS.get(Path(warehouse).resolve())
        if session is not None:
            session.rows.append(_row(outbox_id, recipient, channel, title, body, notice_key,
                                     now, session.names))
            return outbox_id
    with connect(warehouse) as con:
        con.execute(OUTBOX_DDL)
        con.execute(OUTBOX_MESSAGES_DDL)
        rows = [_row(outbox_id, recipient, channel, title, body, notice_key, now,
                     NameSet(personal_names(con)))]
        write_sent_copies(con, rows)
        write_outbox_rows(con, rows)
    return outbox_id


def _row(outbox_id: str, recipient: str | None, channel: str | None, title: str, body: str,
         notice_key: str | None, now: datetime, names: NameSet) -> OutboxRow:
    return OutboxRow(outbox_id, mask_recipient(recipient), channel, scrub_text(title, names),
                     scrub_text(body, names) or "", notice_key, now, title, body)


@notify(on="outbox", name="Gridledger warehouse outbox")
def send_to_outbox(body: str, title: str, notify_type: str, meta: dict[str, Any], *args, **kwargs):
    """Apprise hook for `outbox://`; a failed write is logged (captured into last_error)."""
    qsd = meta.get("qsd", {})
    try:
        write_outbox(
            warehouse_path(meta), recipient=qsd.get("to"), channel=qsd.get("channel", "outbox"),
            title=title, body=body, notice_key=qsd.get("notice_key"),
            outbox_id=qsd.get("part_key"),
        )
    except (duckdb.Error, OSError) as exc:
        logger.warning("Outbox write failed: %s", exc)
        return False
    return True
