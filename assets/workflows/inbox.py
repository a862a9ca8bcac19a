"""Inbox CSV files (terminations, payments, curtailment plans): read, validate, remember.

A file is processed once per content: `workflow.inbox_files` holds (kind, name, SHA-256), so a
re-run over the same folder does nothing, and an edited file is read again (row-level keys such
as request_id then decide what is new). A bad row never stops the others: it is rejected into
`workflow.rejections` with the file, line and reason; a file that cannot be read at all is one
rejection with line 0.

Formats (UTF-8, optional BOM, header row, extra columns ignored):
- `terminations/*.csv`: request_id, contract_id, requested_at, reason, requested_by
- `payments/*.csv`: instruction_id, result (success|failure), amount_yuan, paid_at, failure_reason
- `curtailment/*.csv`: plan_id, plan_type, warning_level, window_start, window_end, region,
  industry, customer_id, target_kw, published_at (optional: plan_name, measure)
Times are China Standard Time, `YYYY-MM-DD HH:MM[:SS]` (a bare date means 00:00).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import duckdb

from foundation.clock import CST, china_now

Parser = Callable[[str], Any]

KINDS = ("terminations", "payments", "curtailment")


class RowError(ValueError):
    """A value breaks a rule; the message is the rejection reason."""


# -- value parsers (raise RowError with a readable reason) ----------------------------------


def text(value: str) -> str:
    if not value:
        raise RowError("is required")
    return value


def optional_text(value: str) -> str | None:
    return value or None


def timestamp(value: str) -> datetime:
    if not value:
        raise RowError("is required")
    try:
        parsed = datetime.fromisoformat(value.replace("/", "-"))
    except ValueError:
        raise RowError(f"{value!r} is not a time (YYYY-MM-DD HH:MM)") from None
    if parsed.tzinfo is not None:  # an explicit offset: convert to China Standard Time
        parsed = parsed.astimezone(CST).replace(tzinfo=None)
    return parsed


def optional_timestamp(value: str) -> datetime | None:
    return timestamp(value) if value else None


def decimal(places: int) -> Parser:
    """A non-negative decimal with at most `places` decimals."""

    def parse(value: str) -> Decimal:
        if not value:
            raise RowError("is required")
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise RowError(f"{value!r} is not a number") from None
        if not number.is_finite() or number < 0:
            raise RowError(f"{value!r} must be a non-negative number")
        if -number.as_tuple().exponent > places:  # type: ignore[operator]
            raise RowError(f"{value!r} has more than {places} decimals")
        return number

    return parse


def optional(parser: Parser) -> Parser:
    return lambda value: parser(value) if value else None


def choice(*allowed: str) -> Parser:
    def parse(value: str) -> str:
        if value not in allowed:
            raise RowError(f"{value!r} is not one of {', '.join(allowed)}")
        return value

    return parse


# -- files ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxRow:
    """One accepted row: its line in the file and the parsed values."""

    line: int
    values: dict[str, Any]
    raw: dict[str, str]


@dataclass(frozen=True)
class Rejection:
    """One rejected row (line >= 2) or file (line 0)."""

    line: int
    reason: str
    record_id: str | None = None
    raw: dict[str, str] | None = None


@dataclass
class InboxFile:
    """A file of one inbox kind, read and checked against its column rules."""

    kind: str
    path: Path
    checksum: str
    rows: list[InboxRow] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The name recorded in the ledger: `<kind>/<file>`."""
        return f"{self.kind}/{self.path.name}"

    def reject(self, row: InboxRow | None, reason: str, record_id: str | None = None) -> None:
        """Reject an accepted-looking row later (a business rule failed)."""
        if row is None:
            self.rejections.append(Rejection(0, reason, record_id))
        else:
            self.rejections.append(Rejection(row.line, reason, record_id, row.raw))


def file_checksum(path: Path) -> str:
    """SHA-256 of the file content."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def inbox_files(folder: Path) -> list[Path]:
    """CSV files of one inbox folder, by name (missing folder: none)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".csv")


def read_inbox_file(
    kind: str, path: Path, columns: dict[str, Parser], key: str,
    optional_columns: dict[str, Parser] | None = None,
) -> InboxFile:
    """Read one CSV: every row is either parsed (all rules pass) or rejected with its reason."""
    content = path.read_bytes()
    result = InboxFile(kind, path, hashlib.sha256(content).hexdigest())
    try:
        reader = csv.DictReader(io.StringIO(content.decode("utf-8-sig"), newline=""))
        header = [h.strip() for h in (reader.fieldnames or [])]
    except (UnicodeDecodeError, csv.Error) as exc:
        result.rejections.append(Rejection(0, f"file cannot be read as UTF-8 CSV: {exc}"))
        return result
    missing = [c for c in columns if c not in header]
    if missing:
        result.rejections.append(Rejection(0, f"missing columns {missing} (header {header})"))
        return result
    reader.fieldnames = header
    rules = {**columns, **(optional_columns or {})}
    try:
        for raw_row in reader:
            line = reader.line_num
            raw = {k: (v or "").strip() for k, v in raw_row.items() if k is not None}
            if not any(raw.values()):
                continue
            values, errors = {}, []
            for column, parse in rules.items():
                try:
                    values[column] = parse(raw.get(column, ""))
                except RowError as exc:
                    errors.append(f"{column} {exc}")
            if errors:
                result.rejections.append(
                    Rejection(line, "; ".join(errors), raw.get(key) or None, raw)
                )
            else:
                result.rows.append(InboxRow(line, values, raw))
    except csv.Error as exc:
        result.rejections.append(Rejection(0, f"CSV error after line {reader.line_num}: {exc}"))
    return result


def already_processed(con: duckdb.DuckDBPyConnection, kind: str, name: str, checksum: str) -> bool:
    """True if this exact content of the file was processed before."""
    return con.execute(
        "select count(*) from workflow.inbox_files"
        " where kind = ? and file_name = ? and checksum = ?",
        [kind, name, checksum],
    ).fetchone()[0] > 0


def pending_files(
    con: duckdb.DuckDBPyConnection, kind: str, folder: Path
) -> list[tuple[Path, str]]:
    """(path, checksum) of the folder's files whose current content was not processed yet."""
    out = []
    for path in inbox_files(folder):
        checksum = file_checksum(path)
        if not already_processed(con, kind, f"{kind}/{path.name}", checksum):
            out.append((path, checksum))
    return out


def record_file(
    con: duckdb.DuckDBPyConnection, inbox: InboxFile, accepted: int, skipped: int,
    now: datetime,
) -> None:
    """Write the file's rejections and mark its content processed (call inside the file's txn)."""
    record_rejections(con, inbox.kind, inbox.name, inbox.checksum, inbox.rejections, now)
    con.execute(
        "insert into workflow.inbox_files values (?, ?, ?, ?, ?, ?, ?, ?) on conflict do nothing",
        [inbox.kind, inbox.name, inbox.checksum, len(inbox.rows) + _row_rejections(inbox),
         accepted, skipped, len({r.line for r in inbox.rejections}), now],
    )


def _row_rejections(inbox: InboxFile) -> int:
    """Rows rejected while parsing (not counted in `rows`)."""
    accepted_lines = {r.line for r in inbox.rows}
    return len({r.line for r in inbox.rejections if r.line and r.line not in accepted_lines})


def record_rejections(
    con: duckdb.DuckDBPyConnection, kind: str, file_name: str, checksum: str,
    rejections: Iterable[Rejection], now: datetime,
) -> None:
    """Append rejections; the first reason per line wins."""
    for r in rejections:
        con.execute(
            "insert into workflow.rejections values (?, ?, ?, ?, ?, ?, ?, ?)"
            " on conflict do nothing",
            [kind, file_name, checksum, r.line, r.record_id, r.reason,
             json.dumps(r.raw, ensure_ascii=False) if r.raw is not None else None, now],
        )


__all__ = [
    "CST", "KINDS", "InboxFile", "InboxRow", "Rejection", "RowError", "already_processed",
    "china_now", "choice",
    "decimal", "file_checksum", "inbox_files", "optional", "optional_text", "optional_timestamp",
    "pending_files", "read_inbox_file", "record_file", "record_rejections", "text", "timestamp",
]
