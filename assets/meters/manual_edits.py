"""Manual edits as data: `<data_dir>/edits/*.csv` → `raw.manual_edits`, ledgered like landing files.

An edit file has the columns `meter_id, channel, interval_start, value, reason, approver,
edited_at` (`interval_start` is the START of the interval, `YYYY-MM-DD HH:MM`; `edited_at` a
timestamp). Each file is loaded once per (name, SHA-256) and gets a `raw.file_ledger` row with
`file_kind = 'manual_edit'`: its `file_id` is the version of every edit in it (so an edit is a
newer version than the reads it corrects, and as-of queries see it from its `ingested_at`).

Rows that cannot be applied are rejected into `raw.quarantine_rows` with the rule and a reason:
missing_field (any column empty — an edit needs a reason and an approver), unknown_channel,
bad_timestamp, bad_number, unknown_meter (not in master.metering_points on that day) and
misaligned_timestamp (not on the meter's interval boundary), future_interval (the interval
starts after now, China time) and no_landed_reads (the meter has no landed read on that day:
VEE never validates such a day, so the edit would silently not apply). VEE
(core.int_interval_validated) applies the latest edit of an interval as a new version:
quality_flag EDITED, method manual_edit, version = the edit file's ledger id, source_row = its
line.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from assets.meters.ledger import (
    FileReport,
    ensure_raw_schema,
    next_file_id,
    quarantine_copy_name,
    sha256_of,
)
from assets.meters.readers import physical_lines
from foundation.clock import china_now
from foundation.warehouse import transaction

EDIT_COLUMNS = ("meter_id", "channel", "interval_start", "value", "reason", "approver", "edited_at")

EDITS_DDL = """
create table if not exists raw.manual_edits (
    file_id bigint not null,
    source_row bigint not null,
    meter_id varchar not null,
    channel varchar not null,
    interval_start timestamp not null,
    value decimal(18, 3) not null,
    reason varchar not null,
    approver varchar not null,
    edited_at timestamp not null
);
"""

_TS = "coalesce(try_strptime({c}, '%Y-%m-%d %H:%M'), try_strptime({c}, '%Y-%m-%d %H:%M:%S'))"

TYPED_SQL = f"""
select source_row,
       trim(meter_id) as meter_id, trim(channel) as channel, trim(interval_start) as ts_text,
       trim(value) as value_text, trim(reason) as reason, trim(approver) as approver,
       trim(edited_at) as edited_text,
       {_TS.format(c="trim(interval_start)")} as ts,
       try_cast(trim(value) as decimal(18, 3)) as val,
       {_TS.format(c="trim(edited_at)")} as edited_ts
from edit_batch
"""

RULES_SQL = """
select t.*,
  case
    when coalesce(t.meter_id, '') = '' or coalesce(t.channel, '') = ''
      or coalesce(t.ts_text, '') = '' or coalesce(t.value_text, '') = ''
      or coalesce(t.reason, '') = '' or coalesce(t.approver, '') = ''
      or coalesce(t.edited_text, '') = '' then 'missing_field'
    when t.channel not in ('kwh_imp', 'kvarh_imp') then 'unknown_channel'
    when t.ts is null or t.edited_ts is null then 'bad_timestamp'
    when t.val is null then 'bad_number'
    when m.meter_id is null then 'unknown_meter'
    when (hour(t.ts) * 60 + minute(t.ts)) % m.interval_minutes <> 0 or second(t.ts) <> 0
      then 'misaligned_timestamp'
    when t.ts >= $now then 'future_interval'
    when not exists (
        select 1 from raw.interval_reads r
        where r.meter_id = t.meter_id
          and r.interval_start >= cast(t.ts as date)
          and r.interval_start < cast(t.ts as date) + interval 1 day
    ) then 'no_landed_reads'
  end as rule,
  m.interval_minutes
from edit_typed t
left join master.metering_points m
  on m.meter_id = t.meter_id
 and cast(t.ts as date) between m.valid_from and coalesce(m.valid_to, date '9999-12-31')
"""

REASON_SQL = """
case rule
  when 'missing_field' then 'a required field (meter_id, channel, interval_start, value, reason, '
       || 'approver, edited_at) is empty'
  when 'unknown_channel' then 'channel ' || coalesce(channel, 'NULL')
       || ' is not kwh_imp or kvarh_imp'
  when 'bad_timestamp' then 'interval_start ' || coalesce(ts_text, 'NULL') || ' or edited_at '
       || coalesce(edited_text, 'NULL') || ' is not a timestamp'
  when 'bad_number' then 'value ' || coalesce(value_text, 'NULL') || ' is not a decimal number'
  when 'unknown_meter' then 'meter ' || meter_id || ' is not in master.metering_points on '
       || cast(ts as date)
  when 'misaligned_timestamp' then 'interval_start ' || ts_text || ' is not on the meter''s '
       || interval_minutes || '-minute boundary'
  when 'future_interval' then 'interval_start ' || ts_text || ' is in the future'
  when 'no_landed_reads' then 'meter ' || meter_id || ' has no landed read on '
       || cast(ts as date) || ' (land the day''s reads first)'
end
"""


@dataclass
class EditsReport(FileReport):
    """What one pass over the edits folder did."""

    rows_rejected: int = 0
    rejected_by_rule: dict[str, int] = field(default_factory=dict)


def ensure_edits_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create raw.manual_edits (and the raw schema) if missing."""
    ensure_raw_schema(con)
    con.execute(EDITS_DDL)


def load_manual_edits(
    con: duckdb.DuckDBPyConnection, edits_dir: Path, quarantine_dir: Path | None = None
) -> EditsReport:
    """Load every edits CSV not yet in the ledger; return what happened."""
    ensure_edits_schema(con)
    report = EditsReport()
    if not edits_dir.is_dir():
        return report
    seen = set(con.execute("select file_name, sha256 from raw.file_ledger").fetchall())
    for path in sorted(p for p in edits_dir.glob("*.csv") if p.is_file() and not p.is_symlink()):
        digest = sha256_of(path)
        if (path.name, digest) not in seen:
            _load_one(con, path, digest, quarantine_dir, report)
    return report


def _ledger(con, file_id: int, path: Path, digest: str, status: str, total: int, loaded: int,
            rejected: int, error: str | None, span: tuple | None) -> None:
    lo, hi = span if span else (None, None)
    con.execute(
        "insert into raw.file_ledger values (?, ?, 'manual_edit', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [file_id, path.name, digest, path.stat().st_size, status, total, loaded, rejected, error,
         lo, hi, datetime.now()],
    )


def _load_one(con: duckdb.DuckDBPyConnection, path: Path, digest: str,
              quarantine_dir: Path | None, report: EditsReport) -> None:
    first = con.execute(
        "select file_name from raw.file_ledger where sha256 = ? and status = 'loaded' limit 1",
        [digest],
    ).fetchone()
    if first is not None:
        _ledger(con, next_file_id(con), path, digest, "duplicate", 0, 0, 0,
                f"same content as {first[0]}", None)
        report.files_duplicate.append(path.name)
        return
    try:
        header = con.execute(
            "select * from read_csv(?, all_varchar = true, header = true) limit 0", [str(path)]
        ).description
        missing = [c for c in EDIT_COLUMNS if c not in [d[0] for d in header]]
        if missing:
            raise ValueError(f"missing required columns {missing}")
        con.execute(
            f"""create or replace temp table edit_batch as
                select {', '.join(EDIT_COLUMNS)}, row_number() over () + 1 as source_row
                from read_csv(?, all_varchar = true, header = true)""",
            [str(path)],
        )
        # record number -> physical line (blank lines and quoted newlines count)
        con.execute("update edit_batch set source_row = list_extract($lines, source_row)",
                    {"lines": physical_lines(path)})
    except (duckdb.Error, ValueError) as exc:
        if quarantine_dir is not None:
            quarantine_dir.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, quarantine_dir / quarantine_copy_name(path.name, digest))
        _ledger(con, next_file_id(con), path, digest, "quarantined", 0, 0, 0,
                f"{path.name}: {exc}", None)
        report.files_quarantined[path.name] = str(exc)
        return

    with transaction(con):
        file_id = next_file_id(con)
        con.execute(f"create or replace temp table edit_typed as {TYPED_SQL}")
        con.execute(f"create or replace temp table edit_checked as {RULES_SQL}",
                    {"now": china_now()})
        con.execute(
            f"""insert into raw.manual_edits
                select {file_id}, source_row, meter_id, channel, ts, val, reason, approver,
                       edited_ts
                from edit_checked where rule is null"""
        )
        con.execute(
            f"""insert into raw.quarantine_rows
                select {file_id}, ?, source_row, rule, {REASON_SQL},
                       concat_ws(',', meter_id, channel, ts_text, value_text, reason, approver,
                                 edited_text)
                from edit_checked where rule is not null""",
            [path.name],
        )
        by_rule = dict(con.execute(
            "select rule, count(*) from edit_checked where rule is not null group by 1"
        ).fetchall())
        total = con.execute("select count(*) from edit_checked").fetchone()[0]
        span = con.execute(
            "select min(ts), max(ts) from edit_checked where rule is null"
        ).fetchone()
        rejected = sum(by_rule.values())
        _ledger(con, file_id, path, digest, "loaded", total, total - rejected, rejected, None, span)
        con.execute("drop table edit_batch; drop table edit_typed; drop table edit_checked")
    report.files_loaded.append(path.name)
    report.rows_loaded += total - rejected
    report.rows_rejected += rejected
    for rule, n in by_rule.items():
        report.rejected_by_rule[rule] = report.rejected_by_rule.get(rule, 0) + n
