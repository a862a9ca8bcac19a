"""Sensors: new landing or edit files request the daily partitions they touch, then the months.

One run request per affected day, not per file (`by_day`): a head-end that drops 66 files over
31 days gets 31 runs, each listing the files that touch its day; a file carrying late rows of
the two days before asks for those days too. The instance's queue (dagster.yaml) runs them one
at a time against the one DuckDB writer.

A file's days are those of the rows ingestion can place (a parsed timestamp and a whole
interval length; the day is that of the interval's start, so a `<next day> 00:00` label counts
for the day it ends), within `HORIZON_DAYS` of the file's median day: one stray row dated 1970
or 2099 does not ask for decades of partitions.

Not here: the ingestion logic (assets/meters), jobs (jobs.py).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from dagster import (
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from assets.meters import rules
from foundation.partitions import PARTITION_START
from foundation.resources import Gridledger
from orchestration.jobs import daily_job

HORIZON_DAYS = 62

_SPAN_SQL = """
with days as (
  select (({ts}) - to_minutes(({minutes})))::date as day from {reader}
), placed as (select day from days where day is not null),
centre as (select quantile_disc(day, 0.5) as mid from placed)
select min(day)::varchar, max(day)::varchar from placed, centre
where day between mid - {horizon} and mid + {horizon}
"""

_EDIT_SPAN_SQL = (
    "select min(substr(trim(interval_start), 1, 10)), max(substr(trim(interval_start), 1, 10)) "
    "from read_csv(?, all_varchar = true)"
)


def _reads_span_sql(path: Path, horizon: int = HORIZON_DAYS) -> str | None:
    """The span query for a reads file, typed the way ingestion types it."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        ts, reader = rules.timestamp_sql("interval_end", True), "read_csv(?, all_varchar = true)"
    elif suffix == ".parquet":
        try:
            types = [f.type for f in pq.read_schema(path) if f.name == "interval_end"]
        except Exception:  # noqa: BLE001 - unreadable: the run quarantines it
            return None
        typed = bool(types) and all(pa.types.is_timestamp(t) for t in types)
        zoned = typed and any(t.tz is not None for t in types)
        ts, reader = rules.timestamp_sql("interval_end", not typed, zoned), "read_parquet(?)"
    else:
        return None
    return _SPAN_SQL.format(ts=ts, minutes=rules.whole_number("interval_minutes"),
                            reader=reader, horizon=horizon)


def _day_span(sql: str, path: Path) -> tuple[date, date] | None:
    """First and last day a span query finds in a file, or None when it cannot be read."""
    try:
        lo, hi = duckdb.execute(sql, [str(path)]).fetchone()
        return date.fromisoformat(lo), date.fromisoformat(hi)
    except (duckdb.Error, TypeError, ValueError):
        return None


def file_days(path: Path) -> tuple[date, date] | None:
    """First and last interval day of a reads file, or None when it cannot be read."""
    if not path.name.startswith("reads_") or path.is_symlink():
        return None
    sql = _reads_span_sql(path)
    return None if sql is None else _day_span(sql, path)


def edit_days(path: Path) -> tuple[date, date] | None:
    """First and last interval day of a manual-edits file (`edits/*.csv`), or None."""
    if path.suffix.lower() != ".csv" or path.is_symlink():
        return None
    return _day_span(_EDIT_SPAN_SQL, path)


def batch_day(path: Path) -> date | None:
    """The batch date in a landing file name (`reads_YYYYMMDD_nn.*`), if any."""
    parts = path.stem.split("_")
    try:
        return date(int(parts[1][:4]), int(parts[1][4:6]), int(parts[1][6:8]))
    except (IndexError, ValueError):
        return None


FILES_TAG = "landing_files"
FILES_TAG_CHARS = 2000


@dataclass(frozen=True)
class NewFile:
    """A new or changed file: cursor key (`<name>` or `edits/<name>`), `size:mtime`, its days."""

    key: str
    stamp: str
    first: date
    last: date


def by_day(files: list[NewFile]) -> list[tuple[date, list[NewFile]]]:
    """Every day the files touch, in order, with the files that touch it: 66 daily files over 31
    days → 31 days; a month file joins all of its days."""
    days: dict[date, list[NewFile]] = {}
    for f in sorted(files, key=lambda f: f.key):
        for offset in range((f.last - f.first).days + 1):
            days.setdefault(f.first + timedelta(days=offset), []).append(f)
    return sorted(days.items())


def request_for(day: date, members: list[NewFile]) -> RunRequest:
    """One daily_job run for the day's partition and its files; the run key is the day and a
    digest of the files' names and stamps, so re-evaluating the same files requests nothing new
    and a changed file asks again."""
    entries = sorted(f"{f.key}={f.stamp}" for f in members)
    digest = hashlib.sha256("\n".join(entries).encode()).hexdigest()[:16]
    names = ",".join(sorted(f.key for f in members))
    if len(names) > FILES_TAG_CHARS:
        names = names[:FILES_TAG_CHARS].rsplit(",", 1)[0] + ",…"
    return RunRequest(
        run_key=f"day:{day.isoformat()}:{digest}",
        partition_key=day.isoformat(),
        tags={FILES_TAG: names, "landing_file_count": str(len(members))},
    )


def request_files(request: RunRequest) -> list[str]:
    """The file keys a request lists (its `landing_files` tag)."""
    return [name for name in request.tags.get(FILES_TAG, "").split(",") if name]


@sensor(
    job=daily_job,
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.STOPPED,
    description=(
        "Watches the landing folder and the manual-edits folder. Cursor: JSON map of file name "
        "(edits as edits/<name>) → size:mtime already seen. New or changed files request ONE "
        "run per day they touch (its partition; tag landing_files lists the day's files; 66 "
        "daily files over 31 days → 31 runs, queued one at a time). An unreadable landing "
        "file requests its batch day, so ingestion quarantines it with the reason; an "
        "unreadable edits file is "
        "quarantined by the next run. Days before the first partition are not requested. "
        "Starts stopped."
    ),
)
def landing_file_sensor(context: SensorEvaluationContext, gridledger: Gridledger):
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    landing = gridledger.landing_dir
    if not landing.exists():
        return SkipReason(f"landing folder {landing} does not exist")
    edits = gridledger.edits_dir
    files = [(p.name, p) for p in sorted(landing.iterdir()) if p.is_file()]
    if edits.exists():
        files += [(f"edits/{p.name}", p) for p in sorted(edits.iterdir()) if p.is_file()]
    new, now_seen = [], dict(seen)
    for key, path in files:
        stat = path.stat()
        stamp = f"{stat.st_size}:{int(stat.st_mtime)}"
        if seen.get(key) == stamp:
            continue
        now_seen[key] = stamp
        if key.startswith("edits/"):
            span = edit_days(path)
        else:
            span = file_days(path) or ((d, d) if (d := batch_day(path)) else None)
        if span is None:
            continue
        lo, hi = max(span[0], PARTITION_START), span[1]
        if hi < lo:
            context.log.warning(f"{key}: its days {span[0]}…{span[1]} are before the first "
                                f"partition ({PARTITION_START}); set GRIDLEDGER_FIRST_MONTH")
            continue
        new.append(NewFile(key, stamp, lo, hi))
    requests = [request_for(day, members) for day, members in by_day(new)]
    if not requests:
        return SensorResult(skip_reason=SkipReason("no new landing or edit files"),
                            cursor=json.dumps(now_seen, sort_keys=True))
    return SensorResult(run_requests=requests, cursor=json.dumps(now_seen, sort_keys=True))


default_sensors = [landing_file_sensor]

__all__ = ["FILES_TAG", "NewFile", "batch_day", "by_day", "default_sensors", "edit_days",
           "file_days", "landing_file_sensor", "request_files"]
