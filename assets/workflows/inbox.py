"""Inbox CSV files (terminations, payments, curtailment plans, DR events): read, validate,
remember.

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
- `dr_events/*.csv`: event_id, window_start, window_end, customer_id, issued_by, notified_at
  (optional: requested_kw); rules in `dr_events.py`
Times are China Standard Time, `YYYY-MM-DD HH:MM[:SS]` (a bare date means 00:00), and must lie
within the configured horizon around the run's clock (`limits.py`; compared as times, never as
strings). Amounts and powers are plain decimals (`1500.00`): exponent notation (`1.5e3`) is
rejected, never rounded, and each has a documented range (`limits.py`). A row with more or fewer
fields than the header is rejected. Symbolic links in an inbox folder are never followed: each is
recorded as a rejected file ('symbolic link: not followed') and nothing is read through it.

Personal data: `workflow.rejections` keeps the row as read with every value masked
(`notifications.masking`: `requested_by` as a person, every other value as free text), and the
reason scrubbed the same way; the unmasked file stays in the inbox folder only.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import duckdb

from assets.workflows.limits import WorkflowLimits, workflow_limits
from foundation.clock import CST, china_now
from notifications.masking import scrub_person, scrub_text

Parser = Callable[[str], Any]

KINDS = ("terminations", "payments", "curtailment", "dr_events")
SYMLINK_REASON = "symbolic link: not followed"
PERSON_COLUMNS = frozenset({"requested_by"})  # columns that name a person: masked word by word
_PLAIN_DECIMAL = re.compile(r"\d+(\.\d+)?")
_EXPONENT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+")


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


def decimal(places: int, maximum: Callable[[WorkflowLimits], Decimal] | None = None) -> Parser:
    """A plain non-negative decimal (`1500.25`) with at most `places` decimals, parsed exactly.

    Exponent notation (`1.5e3`), signs, separators and NaN/Infinity are rejected, never
    converted; `maximum` picks the upper bound from the configured limits.
    """

    def parse(value: str) -> Decimal:
        if not value:
            raise RowError("is required")
        if not _PLAIN_DECIMAL.fullmatch(value):
            if _EXPONENT.fullmatch(value):
                raise RowError(f"{value!r} uses exponent notation; write a plain decimal")
            try:
                number = Decimal(value)
            except InvalidOperation:
                raise RowError(f"{value!r} is not a number") from None
            if number.is_finite() and number < 0:
                raise RowError(f"{value!r} must be a non-negative number")
            raise RowError(f"{value!r} is not a plain decimal (digits and one '.')")
        number = Decimal(value)
        if -number.as_tuple().exponent > places:  # type: ignore[operator]
            raise RowError(f"{value!r} has more than {places} decimals")
        if maximum is not None and number > (limit := maximum(workflow_limits())):
            raise RowError(f"{value} is above the maximum {limit}")
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


def read_no_follow(path: Path) -> bytes:
    """The file's bytes; OSError (ELOOP) if the path is a symbolic link: it is never followed."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


def file_checksum(path: Path) -> str:
    """SHA-256 of the file content (a symbolic link is not followed: OSError)."""
    return hashlib.sha256(read_no_follow(path)).hexdigest()


def inbox_files(folder: Path) -> list[Path]:
    """CSV files of one inbox folder, by name (missing folder or a symlinked one: none).

    Symbolic links are left out (see `inbox_symlinks`).
    """
    if folder.is_symlink() or not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir()
                  if not p.is_symlink() and p.is_file() and p.suffix.lower() == ".csv")


def inbox_symlinks(folder: Path) -> list[Path]:
    """Symbolic links in an inbox folder (any name), or the folder itself if it is one."""
    if folder.is_symlink():
        return [folder]
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_symlink())


def _check_horizon(values: dict[str, Any], horizon: tuple[datetime, datetime]) -> list[str]:
    first, last = horizon
    return [f"{column} {value:%Y-%m-%d %H:%M} is outside the accepted horizon"
            f" {first:%Y-%m-%d} .. {last:%Y-%m-%d}"
            for column, value in values.items()
            if isinstance(value, datetime) and not first <= value <= last]


def read_inbox_file(
    kind: str, path: Path, columns: dict[str, Parser], key: str,
    optional_columns: dict[str, Parser] | None = None, now: datetime | None = None,
) -> InboxFile:
    """Read one CSV: every row is either parsed (all rules pass) or rejected with its reason.

    With `now`, every time must lie within the configured horizon around it.
    """
    try:
        content = read_no_follow(path)
    except OSError:
        result = InboxFile(kind, path, _symlink_checksum(path))
        result.rejections.append(Rejection(0, SYMLINK_REASON))
        return result
    result = InboxFile(kind, path, hashlib.sha256(content).hexdigest())
    horizon = workflow_limits().horizon(now) if now is not None else None
    try:
        reader = csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""))
        header = [h.strip() for h in next(reader, [])]
    except (UnicodeDecodeError, csv.Error) as exc:
        result.rejections.append(Rejection(0, f"file cannot be read as UTF-8 CSV: {exc}"))
        return result
    missing = [c for c in columns if c not in header]
    if missing:
        result.rejections.append(Rejection(0, f"missing columns {missing} (header {header})"))
        return result
    rules = {**columns, **(optional_columns or {})}
    try:
        for fields in reader:
            line = reader.line_num
            if not any(f.strip() for f in fields):
                continue
            raw = {k: v.strip() for k, v in zip(header, fields, strict=False)}
            if len(fields) != len(header):  # columns unknown: every field is masked as personal
                result.rejections.append(Rejection(
                    line, f"expected {len(header)} fields (as the header), found {len(fields)}",
                    raw.get(key) or None,
                    {f"_field_{i}": v.strip() for i, v in enumerate(fields, 1)}))
                continue
            values, errors = {}, []
            for column, parse in rules.items():
                try:
                    values[column] = parse(raw.get(column, ""))
                except RowError as exc:
                    errors.append(f"{column} {exc}")
            if not errors and horizon is not None:
                errors = _check_horizon(values, horizon)
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


def _symlink_checksum(path: Path) -> str:
    """Identifies a symbolic link by its own text (the target is never opened)."""
    try:
        target = os.readlink(path)
    except OSError:
        target = ""
    return "symlink:" + hashlib.sha256(target.encode("utf-8", "replace")).hexdigest()


def reject_symlinks(
    con: duckdb.DuckDBPyConnection, kind: str, folder: Path, now: datetime
) -> int:
    """Record each symbolic link in the folder (once) as a rejected file; nothing is read."""
    recorded = 0
    for link in inbox_symlinks(folder):
        name = f"{kind}/" if link == folder else f"{kind}/{link.name}"
        checksum = _symlink_checksum(link)
        if already_processed(con, kind, name, checksum):
            continue
        inbox = InboxFile(kind, link, checksum, rejections=[Rejection(0, SYMLINK_REASON)])
        record_rejections(con, kind, name, checksum, inbox.rejections, now)
        con.execute("insert into workflow.inbox_files values (?, ?, ?, 0, 0, 0, 0, ?)"
                    " on conflict do nothing", [kind, name, checksum, now])
        recorded += 1
    return recorded


def pending_files(
    con: duckdb.DuckDBPyConnection, kind: str, folder: Path, now: datetime | None = None
) -> list[tuple[Path, str]]:
    """(path, checksum) of the folder's files whose current content was not processed yet.

    With `now`, symbolic links in the folder are recorded as rejected (`reject_symlinks`).
    """
    if now is not None:
        reject_symlinks(con, kind, folder, now)
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
    """Append rejections (masked: `mask_raw`, `scrub_text`); the first reason per line wins."""
    for r in rejections:
        con.execute(
            "insert into workflow.rejections values (?, ?, ?, ?, ?, ?, ?, ?)"
            " on conflict do nothing",
            [kind, file_name, checksum, r.line, scrub_text(r.record_id), scrub_text(r.reason),
             json.dumps(mask_raw(r.raw), ensure_ascii=False) if r.raw is not None else None,
             now],
        )


def mask_raw(raw: dict[str, str]) -> dict[str, str]:
    """A row as read, with personal data masked: person columns (and the fields of a row whose
    columns are unknown, `_field_<n>`) word by word, the others as free text."""
    return {k: (scrub_person(v) if k in PERSON_COLUMNS or k.startswith("_field_")
                else scrub_text(v)) or ""
            for k, v in raw.items()}


__all__ = [
    "CST", "KINDS", "PERSON_COLUMNS", "SYMLINK_REASON", "InboxFile", "InboxRow", "Rejection",
    "RowError", "already_processed", "china_now", "choice", "decimal", "file_checksum",
    "inbox_files", "inbox_symlinks", "mask_raw", "optional", "optional_text", "optional_timestamp",
    "pending_files", "read_inbox_file", "read_no_follow", "reject_symlinks", "record_file",
    "record_rejections", "text", "timestamp",
]
