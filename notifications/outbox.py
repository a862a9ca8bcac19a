"""The `outbox://` Apprise schema: "send" a message by appending it to `notify.outbox`.

It is the default channel when no gateway is configured, so a demo needs no server and a person
can read exactly what would have been sent:

    outbox://                                   warehouse from $GRIDLEDGER_WAREHOUSE
                                                (default var/warehouse.duckdb)
    outbox://?warehouse=%2Fdata%2Fwh.duckdb     explicit warehouse (percent-encoded path)

Per-message arguments ride in the query string: `to` (the address; stored masked, because the
outbox is outside the restricted schema), `channel` (the channel it stands in for) and
`notice_key`. DuckDB allows one writer process per file, so every call opens the file, appends
one row and closes it again.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from apprise import logger
from apprise.decorators import notify

from foundation.paths import warehouse_path as default_warehouse
from foundation.warehouse import connect
from notifications.masking import mask_recipient

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


def warehouse_path(meta: dict[str, Any] | None = None) -> Path:
    """The warehouse the outbox writes to: `?warehouse=` > $GRIDLEDGER_WAREHOUSE > default."""
    qsd = (meta or {}).get("qsd", {})
    return Path(qsd["warehouse"]) if qsd.get("warehouse") else default_warehouse()


def write_outbox(
    warehouse: Path, *, recipient: str | None, channel: str | None, title: str, body: str,
    notice_key: str | None,
) -> str:
    """Append one message to `notify.outbox` and return its outbox_id."""
    outbox_id = uuid.uuid4().hex
    with connect(warehouse) as con:
        con.execute(OUTBOX_DDL)
        con.execute(
            "insert into notify.outbox values (?, ?, ?, ?, ?, ?, ?)",
            [outbox_id, mask_recipient(recipient), channel, title, body, notice_key,
             datetime.now(UTC).replace(tzinfo=None)],
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
