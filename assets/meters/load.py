"""Load pending landing files into the raw schema, with ledger and quarantine.

Idempotent: a file is identified by (name, SHA-256); a checksum already loaded under another
name is recorded as a duplicate and loads nothing. Unreadable files are copied to the
quarantine folder and recorded with the reason; invalid rows go to `raw.quarantine_rows`.
Failures are isolated per file: any error while reading, typing or checking one file
quarantines that file with the error as its reason and the pass goes on with the next file.
Only a failure to write the ledger itself (the warehouse) stops the pass.
"""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from assets.meters import rules
from assets.meters.ledger import (
    FileReport,
    LandingFile,
    ensure_raw_schema,
    loaded_checksums,
    next_file_id,
    pending_files,
    quarantine_copy_name,
    scan_landing,
)
from assets.meters.readers import (
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    MalformedFile,
    read_landing_file,
)
from foundation.warehouse import transaction


@dataclass
class IngestReport(FileReport):
    """What one ingestion pass did."""

    rows_quarantined: int = 0
    quarantined_by_rule: Counter = field(default_factory=Counter)


_KIND_SQL = {
    "interval": (
        rules.interval_typed,
        rules.INTERVAL_RULES,
        rules.INTERVAL_REASON,
        rules.INTERVAL_RAW_RECORD,
        """insert into raw.interval_reads
           select {file_id}, source_row, meter_id, channel, interval_start, minutes, val, unit, mult
           from checked where rule is null""",
        "select min(interval_start), max(interval_start) from checked where rule is null",
    ),
    "register": (
        rules.register_typed,
        rules.REGISTER_RULES,
        rules.REGISTER_REASON,
        rules.REGISTER_RAW_RECORD,
        """insert into raw.register_reads
           select {file_id}, source_row, meter_id, channel, ts, val
           from checked where rule is null""",
        "select min(ts), max(ts) from checked where rule is null",
    ),
    "weather": (
        rules.weather_typed,
        rules.WEATHER_RULES,
        rules.WEATHER_REASON,
        rules.WEATHER_RAW_RECORD,
        """insert into raw.weather_daily
           select {file_id}, source_row, region, day, temp, source
           from checked where rule is null""",
        "select min(day)::timestamp, max(day)::timestamp from checked where rule is null",
    ),
}


def ingest_landing(
    con: duckdb.DuckDBPyConnection, landing_dir: Path, quarantine_dir: Path
) -> IngestReport:
    """Load every landing file not yet in the ledger; return what happened."""
    ensure_raw_schema(con)
    report = IngestReport()
    for landing_file in pending_files(con, scan_landing(landing_dir)):
        _ingest_one(con, landing_file, quarantine_dir, report)
    return report


def _ingest_one(
    con: duckdb.DuckDBPyConnection, landing: LandingFile, quarantine_dir: Path, report: IngestReport
) -> None:
    name = landing.path.name
    now = datetime.now()
    first_name = loaded_checksums(con).get(landing.sha256)
    if first_name is not None:
        _ledger(con, landing, "duplicate", 0, 0, 0, f"same content as {first_name}", None, now)
        report.files_duplicate.append(name)
        return
    if landing.path.is_symlink():
        reason = "symbolic link: not followed (files must be placed in the landing folder)"
        _ledger(con, landing, "quarantined", 0, 0, 0, f"{name}: {reason}", None, now)
        report.files_quarantined[name] = reason
        return
    try:
        result = read_landing_file(landing.path, landing.kind)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is quarantined, not fatal
        _quarantine_file(con, landing, quarantine_dir, report, _reason(exc), now)
        return
    try:
        _load_rows(con, landing, result, report, now)
    except duckdb.Error as exc:
        if _warehouse_is_down(con):
            raise
        _quarantine_file(con, landing, quarantine_dir, report, _reason(exc), now)
    except Exception as exc:  # noqa: BLE001 - a bad file must not hold back the others
        _quarantine_file(con, landing, quarantine_dir, report, _reason(exc), now)


def _reason(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    kind = "" if isinstance(exc, MalformedFile) else f"{type(exc).__name__}: "
    return f"{kind}{text}"[:500]


def _warehouse_is_down(con: duckdb.DuckDBPyConnection) -> bool:
    try:
        con.execute("select 1").fetchone()
        return False
    except duckdb.Error:
        return True


def quarantine_name(landing: LandingFile) -> str:
    """A safe file name for the quarantine copy of a landing file."""
    return quarantine_copy_name(landing.path.name, landing.sha256)


def _quarantine_file(
    con: duckdb.DuckDBPyConnection, landing: LandingFile, quarantine_dir: Path,
    report: IngestReport, reason: str, now: datetime,
) -> None:
    """Copy the file to quarantine under a safe name and ledger it with the reason."""
    name = landing.path.name
    quarantine_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(landing.path, quarantine_dir / quarantine_name(landing))
    _ledger(con, landing, "quarantined", 0, 0, 0, f"{name}: {reason}", None, now)
    report.files_quarantined[name] = reason


def _load_rows(
    con: duckdb.DuckDBPyConnection, landing: LandingFile, result, report: IngestReport,
    now: datetime,
) -> None:
    """Type, check and load one readable file's rows in one transaction."""
    name = landing.path.name
    typed, rules_sql, reason_sql, raw_sql, insert_sql, span_sql = _KIND_SQL[landing.kind]
    typed_sql = typed(ts_is_text=not result.typed_timestamps, zoned=result.zoned_timestamps)
    with transaction(con):
        file_id = next_file_id(con)
        _register_batch(con, result, landing.kind)
        con.execute(f"create or replace temp table typed as {typed_sql}")
        con.execute(f"create or replace temp table checked as {rules_sql}")
        con.execute(insert_sql.format(file_id=file_id))
        con.execute(
            f"""insert into raw.quarantine_rows
                select {file_id}, ?, source_row, rule, {reason_sql}, {raw_sql}
                from checked where rule is not null""",
            [name],
        )
        for line, text in result.bad_rows:
            con.execute(
                "insert into raw.quarantine_rows values (?, ?, ?, 'malformed_row', ?, ?)",
                [file_id, name, line, f"line {line} does not have the header's column count", text],
            )
        by_rule = dict(
            con.execute(
                "select rule, count(*) from checked where rule is not null group by 1"
            ).fetchall()
        )
        if result.bad_rows:
            by_rule["malformed_row"] = len(result.bad_rows)
        n_bad = sum(by_rule.values())
        n_total = con.execute("select count(*) from typed").fetchone()[0] + len(result.bad_rows)
        span = con.execute(span_sql).fetchone()
        _ledger(con, landing, "loaded", n_total, n_total - n_bad, n_bad, None, span, now, file_id)
        con.execute("drop table typed; drop table checked; drop view if exists batch")
    report.files_loaded.append(name)
    report.rows_loaded += n_total - n_bad
    report.rows_quarantined += n_bad
    report.quarantined_by_rule.update(by_rule)


def _register_batch(con: duckdb.DuckDBPyConnection, result, kind: str) -> None:
    """Expose the file's rows as view `batch` with a `source_row` column."""
    if result.parquet_path is None:
        con.register("batch_arrow", result.table)
        con.execute("create or replace temp view batch as select * from batch_arrow")
        return
    wanted = [c for c in (*REQUIRED_COLUMNS[kind], *OPTIONAL_COLUMNS[kind]) if c in result.columns]
    absent = [c for c in OPTIONAL_COLUMNS[kind] if c not in result.columns]
    path = str(result.parquet_path).replace("'", "''")
    select = ", ".join([*wanted, *(f"null as {c}" for c in absent)])
    con.execute(
        f"create or replace temp view batch as select {select}, file_row_number + 1 as source_row "
        f"from read_parquet('{path}', file_row_number = true)"
    )


def _ledger(
    con: duckdb.DuckDBPyConnection,
    landing: LandingFile,
    status: str,
    rows_total: int,
    rows_loaded: int,
    rows_quarantined: int,
    error: str | None,
    span: tuple | None,
    now: datetime,
    file_id: int | None = None,
) -> None:
    file_id = file_id if file_id is not None else next_file_id(con)
    lo, hi = span if span else (None, None)
    con.execute(
        "insert into raw.file_ledger values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            file_id,
            landing.path.name,
            landing.kind,
            landing.sha256,
            landing.size_bytes,
            status,
            rows_total,
            rows_loaded,
            rows_quarantined,
            error,
            lo,
            hi,
            now,
        ],
    )
