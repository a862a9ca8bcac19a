"""Sensors: new landing or edit files request the daily partitions they touch, then the months.

Not here: the ingestion logic (assets/ingestion), jobs (jobs.py).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
from dagster import RunRequest, SensorEvaluationContext, SensorResult, SkipReason, sensor

from foundation.partitions import RANGE_END, RANGE_START
from foundation.resources import Gridledger
from orchestration.jobs import daily_job

_SPAN_SQL = {
    ".csv": "select min(substr(interval_end, 1, 10)), max(substr(interval_end, 1, 10)) "
    "from read_csv(?, all_varchar = true)",
    ".parquet": "select min(cast(interval_end as timestamp) - interval 1 minute)::date::varchar, "
    "max(cast(interval_end as timestamp) - interval 1 minute)::date::varchar "
    "from read_parquet(?)",
}

_EDIT_SPAN_SQL = (
    "select min(substr(trim(interval_start), 1, 10)), max(substr(trim(interval_start), 1, 10)) "
    "from read_csv(?, all_varchar = true)"
)


def _day_span(sql: str, path: Path) -> tuple[date, date] | None:
    """First and last day a span query finds in a file, or None when it cannot be read."""
    try:
        lo, hi = duckdb.execute(sql, [str(path)]).fetchone()
        return date.fromisoformat(lo), date.fromisoformat(hi)
    except (duckdb.Error, TypeError, ValueError):
        return None


def file_days(path: Path) -> tuple[date, date] | None:
    """First and last reading day of an interval file, or None when it cannot be read."""
    sql = _SPAN_SQL.get(path.suffix.lower())
    if sql is None or not path.name.startswith("reads_"):
        return None
    return _day_span(sql, path)


def edit_days(path: Path) -> tuple[date, date] | None:
    """First and last interval day of a manual-edits file (`edits/*.csv`), or None."""
    if path.suffix.lower() != ".csv":
        return None
    return _day_span(_EDIT_SPAN_SQL, path)


def batch_day(path: Path) -> date | None:
    """The batch date in a landing file name (`reads_YYYYMMDD_nn.*`), if any."""
    parts = path.stem.split("_")
    try:
        return date(int(parts[1][:4]), int(parts[1][4:6]), int(parts[1][6:8]))
    except (IndexError, ValueError):
        return None


@sensor(
    job=daily_job,
    minimum_interval_seconds=60,
    description=(
        "Watches the landing folder and the manual-edits folder. Cursor: JSON map of file name "
        "(edits as edits/<name>) → size:mtime already seen. A new or changed file requests one "
        "run over the days it touches (an unreadable landing file requests its batch day, so "
        "ingestion quarantines it with the reason; an unreadable edits file is quarantined by "
        "the next run)."
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
    requests, now_seen = [], dict(seen)
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
        lo, hi = span
        requests.append(
            RunRequest(
                run_key=f"{key}:{stamp}",
                tags={
                    RANGE_START: lo.isoformat(),
                    RANGE_END: hi.isoformat(),
                    "landing_file": key,
                },
            )
        )
    if not requests:
        return SkipReason("no new landing or edit files")
    return SensorResult(run_requests=requests, cursor=json.dumps(now_seen, sort_keys=True))


default_sensors = [landing_file_sensor]

__all__ = ["default_sensors", "file_days", "edit_days", "batch_day"]
