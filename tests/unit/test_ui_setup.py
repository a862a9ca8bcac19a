"""What the Dagster UI shows and does on its own: the partition calendar, the schedule's clock,
the sensors' start state, the instance's run queue (dagster.yaml) and the landing sensor's
coalescing of files into one run per span of days. No job runs here."""

from __future__ import annotations

import json
import os
import shutil
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from dagster import (
    DagsterInstance,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    build_sensor_context,
)
from dagster._core.run_coordinator import QueuedRunCoordinator

from foundation import partitions
from foundation.partitions import (
    DEFAULT_FIRST_MONTH,
    FIRST_MONTH_ENV,
    build_partitions,
    first_month,
)
from foundation.resources import Gridledger
from orchestration.build import build_defs
from orchestration.sensors import NewFile, by_day, landing_file_sensor, request_files
from tests.builders import READ_HEADER, read_rows, write_csv

ROOT = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------------------------
# 1. partitions start at the configured first month
# --------------------------------------------------------------------------------------------

def test_the_first_month_comes_from_the_environment_with_the_demos_first_as_default():
    assert first_month({}) == date(2025, 10, 1) and DEFAULT_FIRST_MONTH == "2025-10"
    assert first_month({FIRST_MONTH_ENV: " "}) == date(2025, 10, 1)
    assert first_month({FIRST_MONTH_ENV: "2012-10"}) == date(2012, 10, 1)
    with pytest.raises(ValueError, match=FIRST_MONTH_ENV):
        first_month({FIRST_MONTH_ENV: "2026-10-01"})


def test_partitions_start_at_the_first_month_and_keep_their_key_format():
    daily, monthly = build_partitions(first_month({FIRST_MONTH_ENV: "2026-10"}))
    assert daily.get_first_partition_key() == "2026-10-01"
    assert monthly.get_first_partition_key() == "2026-10-01"
    assert daily.timezone == monthly.timezone == "Asia/Shanghai"
    # about two months of days up to "now" (2026-11-30 here), not 5,446 since 2012
    now = datetime(2026, 11, 30, 12)
    assert len(daily.get_partition_keys(current_time=now)) == 60
    assert monthly.get_partition_keys(current_time=now) == ["2026-10-01"]


def test_the_tests_run_with_the_earliest_month_they_use():
    """tests/conftest.py sets the variable before the project is imported (SGSC: October 2012)."""
    assert os.environ[FIRST_MONTH_ENV] == "2012-10"
    assert partitions.PARTITION_START == date(2012, 10, 1)
    assert partitions.daily_partitions.get_first_partition_key() == "2012-10-01"


def test_real_data_lowers_the_first_month_to_its_data(monkeypatch: pytest.MonkeyPatch):
    from tools.real_data import use_first_month

    monkeypatch.setenv(FIRST_MONTH_ENV, "2013-05")
    use_first_month(date(2013, 1, 1))  # the partitions here start 2012-10: fine
    assert os.environ[FIRST_MONTH_ENV] == "2013-01"
    use_first_month(date(2013, 3, 1))  # an earlier setting stays
    assert os.environ[FIRST_MONTH_ENV] == "2013-01"
    with pytest.raises(SystemExit, match="GRIDLEDGER_FIRST_MONTH=2012-01"):
        use_first_month(date(2012, 1, 1))  # the partitions were built from 2012-10 already


# --------------------------------------------------------------------------------------------
# 2. schedule in China time; 4. everything starts stopped
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def repository():
    return build_defs().get_repository_def()


def test_the_monthly_schedule_fires_on_the_7th_at_08_00_china_time_and_starts_stopped(
        repository):
    (schedule,) = repository.schedule_defs
    assert schedule.name == "monthly_job_schedule"
    assert schedule.execution_timezone == "Asia/Shanghai"
    assert schedule.cron_schedule == "0 8 7 * *"
    assert schedule.default_status == DefaultScheduleStatus.STOPPED


def test_every_sensor_starts_stopped(repository):
    sensors = repository.sensor_defs
    assert {s.name for s in sensors} >= {"landing_file_sensor", "termination_inbox_sensor",
                                         "curtailment_sensor", "notice_retry_sensor"}
    assert {s.name: s.default_status for s in sensors} == {
        s.name: DefaultSensorStatus.STOPPED for s in sensors}
    for path in ("orchestration/sensors.py", "orchestration/workflow_sensors.py",
                 "orchestration/notice_retry.py"):  # explicit, not Dagster's default
        text = (ROOT / path).read_text(encoding="utf-8")
        assert text.count("@sensor(") == text.count("default_status=DefaultSensorStatus.STOPPED")


# --------------------------------------------------------------------------------------------
# 3. one writer at a time: dagster.yaml
# --------------------------------------------------------------------------------------------

def test_dagster_yaml_queues_runs_one_at_a_time_and_retries_them(tmp_path: Path):
    shutil.copy(ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
    with DagsterInstance.from_config(str(tmp_path)) as instance:  # validates the schema
        coordinator = instance.run_coordinator
        assert isinstance(coordinator, QueuedRunCoordinator)
        assert coordinator.get_run_queue_config().max_concurrent_runs == 1
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 2
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "$(DAGSTER_HOME)/dagster.yaml: dagster.yaml" in makefile
    assert "ui: install $(DAGSTER_HOME)/dagster.yaml" in makefile
    assert "-p $(PORT)" in makefile and "PORT ?= 3000" in makefile


def test_in_process_runs_do_not_read_dagster_yaml():
    with DagsterInstance.ephemeral() as instance:
        assert not isinstance(instance.run_coordinator, QueuedRunCoordinator)
        assert not instance.run_retries_enabled


# --------------------------------------------------------------------------------------------
# 5. the landing sensor: one run per span of overlapping days
# --------------------------------------------------------------------------------------------

def write_day_file(data_dir: Path, day: date, n: int, hours: int = 2) -> Path:
    """A small landing file: one meter, `hours` of 15-minute kWh and kvarh starting at 08:00."""
    start = datetime(day.year, day.month, day.day, 8)
    slots = [start + timedelta(minutes=15 * i) for i in range(hours * 4)]
    kwh = {s: Decimal("1.000") for s in slots}
    rows = read_rows(f"M{n:03d}", 15, kwh, kwh)
    return write_csv(data_dir / "landing" / "reads" / f"reads_{day:%Y%m%d}_{n:02d}.csv",
                     READ_HEADER, rows)


def evaluate(data_dir: Path, cursor: str | None = None):
    resource = Gridledger(warehouse=str(data_dir / "warehouse.duckdb"), data_dir=str(data_dir))
    with DagsterInstance.ephemeral() as instance:
        return landing_file_sensor(build_sensor_context(
            instance=instance, resources={"gridledger": resource}, cursor=cursor))


OCTOBER = [date(2026, 10, 1) + timedelta(days=i) for i in range(31)]


@pytest.fixture
def october_landing(tmp_path: Path) -> Path:
    """66 files over the 31 days of October: two per day, a third on the 1st to the 4th."""
    n = 0
    for day in OCTOBER:
        for _ in range(3 if day.day <= 4 else 2):
            n += 1
            write_day_file(tmp_path, day, n)
    assert len(list((tmp_path / "landing" / "reads").iterdir())) == 66
    return tmp_path


def test_66_files_over_31_days_request_31_runs_one_per_day(october_landing: Path):
    result = evaluate(october_landing)
    requests = result.run_requests
    assert len(requests) == 31
    assert [r.partition_key for r in requests] == [d.isoformat() for d in OCTOBER]
    listed = [name for r in requests for name in request_files(r)]
    assert len(listed) == len(set(listed)) == 66  # every file once
    for request in requests:
        day = request.partition_key.replace("-", "")
        files = request_files(request)
        assert all(f"reads_{day}_" in name for name in files)
        assert request.tags["landing_file_count"] == str(len(files))
        assert len(files) == (3 if day <= "20261004" else 2)
    assert len(json.loads(result.cursor)) == 66


def test_the_same_files_again_request_nothing_and_keep_their_run_keys(october_landing: Path):
    first = evaluate(october_landing)
    assert not evaluate(october_landing, first.cursor).run_requests
    # a tick whose cursor was lost asks with the same run keys: Dagster launches nothing twice
    assert [r.run_key for r in evaluate(october_landing).run_requests] == [
        r.run_key for r in first.run_requests]


def test_a_new_file_requests_only_its_day(october_landing: Path):
    cursor = evaluate(october_landing).cursor
    late = write_day_file(october_landing, date(2026, 10, 10), 90)
    (request,) = evaluate(october_landing, cursor).run_requests
    assert request.partition_key == "2026-10-10"
    assert request_files(request) == [late.name]
    # a changed file (other size) is requested again, under a new run key
    cursor2 = evaluate(october_landing, cursor).cursor
    write_day_file(october_landing, date(2026, 10, 10), 90, hours=3)
    (again,) = evaluate(october_landing, cursor2).run_requests
    assert request_files(again) == [late.name] and again.run_key != request.run_key


def test_by_day_lists_each_day_with_the_files_touching_it():
    d = date(2026, 10, 1)
    files = [NewFile("a", "1:1", d, d), NewFile("b", "1:1", d + timedelta(1), d + timedelta(1)),
             NewFile("late", "1:1", d, d + timedelta(2)),
             NewFile("month", "1:1", d, d + timedelta(30))]
    days = {day.day: [f.key for f in members] for day, members in by_day(files)}
    assert list(days) == list(range(1, 32))
    assert days[1] == ["a", "late", "month"] and days[2] == ["b", "late", "month"]
    assert days[3] == ["late", "month"] and days[4] == days[31] == ["month"]


def test_days_before_the_first_partition_are_not_requested(tmp_path: Path):
    write_day_file(tmp_path, date(2011, 5, 3), 1)
    write_day_file(tmp_path, date(2026, 10, 3), 2)
    result = evaluate(tmp_path)
    (request,) = result.run_requests
    assert request.partition_key == "2026-10-03"
    assert set(json.loads(result.cursor)) == {"reads_20110503_01.csv", "reads_20261003_02.csv"}
