"""Real SGSC bytes through ingestion and VEE: 30-minute intervals, DST duplicates and gaps."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from decimal import Decimal

import duckdb
import pytest
from dagster import DagsterInstance

from orchestration.runner import RANGE_END, RANGE_START, run_job
from tools.real_data import SOURCE, convert

FIRST, LAST = date(2012, 10, 1), date(2012, 10, 14)  # DST started on Sunday 7 October 2012
DST_DAY = date(2012, 10, 7)
METERS = 5

pytestmark = pytest.mark.skipif(not SOURCE.exists(), reason="SGSC sample not available")


@pytest.fixture(scope="module")
def real(module_flow):
    summary = convert(module_flow.data_dir, meters=METERS, first=FIRST, last=LAST)
    with DagsterInstance.ephemeral() as instance:
        defs = module_flow.defs()
        assert run_job(defs, "reference_job", instance).success
        tags = {RANGE_START: FIRST.isoformat(), RANGE_END: LAST.isoformat()}
        module_flow.daily = run_job(defs, "daily_job", instance, tags, raise_on_error=False)
    module_flow.summary = summary
    return module_flow


def source_rows(meters: list[str]) -> list[tuple]:
    with duckdb.connect() as con:
        return con.execute(
            """select meter_id, timestamp, kwh from read_parquet(?)
               where meter_id in (select unnest(?)) and timestamp >= ? and timestamp < ?""",
            [str(SOURCE), meters, FIRST, date(2012, 10, 15)]).fetchall()


def test_start_labels_become_end_labels_of_30_minutes(real):
    path = real.data_dir / "landing" / "reads" / "reads_20121001_01.csv"
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    meters = sorted({r["meter_id"] for r in rows})
    assert len(meters) == METERS and len(rows) == len(source_rows(meters)) == real.summary["rows"]
    assert {r["interval_minutes"] for r in rows} == {"30"}
    first = rows[0]
    start = min(ts for _, ts, _ in source_rows([first["meter_id"]]))
    assert first["interval_end"] == f"{start + timedelta(minutes=30):%Y-%m-%d %H:%M}"
    assert any(r["interval_end"].endswith(" 24:00") for r in rows)
    assert not any(r["interval_end"].endswith(" 00:00") for r in rows)


def test_every_row_is_loaded_and_every_interval_is_half_an_hour(real):
    assert real.daily.success
    assert real.sql("select sum(rows_loaded), sum(rows_quarantined) from raw.file_ledger") == [
        (real.summary["rows"], 0)]
    assert real.sql("""
        select interval_minutes, count(*) // count(distinct (meter_id, reading_date))
        from core.int_interval_validated group by 1""") == [(30, 48)]


def test_dst_start_duplicates_collapse_and_the_later_row_wins(real):
    src = source_rows(sorted(m for (m,) in real.sql(
        "select distinct meter_id from core.int_interval_validated")))
    doubled: dict[tuple, list[Decimal]] = {}
    for meter, ts, kwh in src:
        if ts.date() == DST_DAY:
            doubled.setdefault((meter, ts), []).append(Decimal(f"{kwh:.3f}"))
    doubled = {k: v for k, v in doubled.items() if len(v) > 1}
    assert doubled and {ts.strftime("%H:%M") for _, ts in doubled} <= {"01:00", "01:30"}
    for (meter, ts), values in doubled.items():
        ((value, dup, conflict),) = real.sql("""
            select value, duplicate_rows, has_conflict from core.int_interval_validated
            where meter_id = ? and interval_start = ?""", [meter, ts])
        assert (value, dup, conflict) == (values[-1], len(values) - 1, len(set(values)) > 1)


def test_the_skipped_dst_hour_is_missing_and_estimated(real):
    rows = real.sql("""
        select strftime(interval_start, '%H:%M'), quality_flag, method, failed_rule, count(*)
        from core.int_interval_validated
        where reading_date = ? and strftime(interval_start, '%H:%M') in ('02:00', '02:30')
        group by all order by all""", [DST_DAY])
    meters = real.sql("select count(distinct meter_id) from core.int_interval_validated "
                      "where reading_date = ?", [DST_DAY])[0][0]
    assert rows == [("02:00", "ESTIMATED", "linear_interpolation", "missing", meters),
                    ("02:30", "ESTIMATED", "linear_interpolation", "missing", meters)]
    conflicts = real.sql("""select count(*) from core.vee_duplicate_conflicts
                            where reading_date = ? and is_winner""", [DST_DAY])[0][0]
    assert conflicts == real.sql("""select count(*) from core.int_interval_validated
                                    where reading_date = ? and has_conflict""", [DST_DAY])[0][0]
