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
`outbox_session(warehouse)` (a batch that holds the warehouse open) the tables are created and
the names read once for the block.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from apprise import logger
from apprise.decorators import notify

from foundation.paths import warehouse_path as default_warehouse
from foundation.restricted import personal_names
from foundation.warehouse import connect
from notifications.masking import mask_recipient, scrub_text

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
OUTBOX_MESSAGES_DDL = """
create table if not exists restricted.outbox_messages (
    outbox_id varchar primary key,
    title     varchar,
    body      varchar not null
);
"""


# warehouse (resolved) -> the personal names to mask, while an outbox_session holds it
_SESSIONS: dict[Path, list[str]] = {}
_SESSIONS_LOCK = threading.Lock()


@contextmanager
def outbox_session(warehouse: Path | str) -> Iterator[None]:
    """Write many outbox messages to `warehouse` from this process in the block.

    The outbox tables are created and the personal names read once, and every `write_outbox`
    to that file inside reuses them. Only for a block that holds the warehouse open
    (`Ledger.held`): no other process can change the contacts meanwhile.
    """
    key = Path(warehouse).resolve()
    with connect(key) as con:
        con.execute(OUTBOX_DDL)
        con.execute(OUTBOX_MESSAGES_DDL)
        names = personal_names(con)
    with _SESSIONS_LOCK:
        _SESSIONS[key] = names
    try:
        yield
    finally:
        with _SESSIONS_LOCK:
            _SESSIONS.pop(key, None)


def warehouse_path(meta: dict[str, Any] | None = None) -> Path:
    """The warehouse the outbox writes to: `?warehouse=` > $GRIDLEDGER_WAREHOUSE > default."""
    qsd = (meta or {}).get("qsd", {})
    return Path(qsd["warehouse"]) if qsd.get("warehouse") else default_warehouse()


def write_outbox(
    warehouse: Path, *, recipient: str | None, channel: str | None, title: str, body: str,
    notice_key: str | None,
) -> str:
    """Append one message to `notify.outbox` (masked) and `restricted.outbox_messages` (as
    sent); return its outbox_id."""
    outbox_id = uuid.uuid4().hex
    with _SESSIONS_LOCK:
        names = _SESSIONS.get(Path(warehouse).resolve())
    with connect(warehouse) as con:
        if names is None:
            con.execute(OUTBOX_DDL)
            con.execute(OUTBOX_MESSAGES_DDL)
            names = personal_names(con)
        con.execute(
            "insert into restricted.outbox_messages values (?, ?, ?)", [outbox_id, title, body]
        )
        con.execute(
            "insert into notify.outbox values (?, ?, ?, ?, ?, ?, ?)",
            [outbox_id, mask_recipient(recipient), channel, scrub_text(title, names),
             scrub_text(body, names), notice_key, datetime.now(UTC).replace(tzinfo=None)],
        )
    return outbox_id


@notify(on="outbox", name="Gridledger warehouse outbox")
def send_to_outbox(body: str, title: str, notify_type: str, meta: dict[str, Any], *args, **kwargs):
    """Apprise hook for `outbox://`; a failed write is logged (captured into last_error)."""
    qsd = meta.get("qsd", {})
    try:
        write_outbox(
            warehouse_path(meta), recipient=qsd.get("to"), channel=qsd.get("channel", "outbox"),
            title=title, body=body, notice_key=qsd.get("notice_key"),
        )
    except (duckdb.Error, OSError) as exc:
        logger.warning("Outbox write failed: %s", exc)
        return False
    return True
