"""Run the whole flow in-process (demo, tests, benchmark): reference → days → months.

The same jobs the UI and sensors launch; a persistent DAGSTER_HOME makes the runs visible in
`make ui` afterwards: on the Runs page, and under their job, whose page lists the runs tagged with
its code location (the tag the UI's own launches carry, set here on in-process runs too).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from dagster import DagsterInstance, Definitions, ExecuteInProcessResult
from dagster._core.definitions.repository_definition import SINGLETON_REPOSITORY_NAME
from dagster._core.storage.tags import REPOSITORY_LABEL_TAG

from foundation.months import months_between
from foundation.partitions import RANGE_END, RANGE_START

CODE_LOCATION = "orchestration.definitions"  # workspace.yaml's module: the UI's location name


@dataclass
class FlowTimings:
    """Seconds per job step, in run order; `on_record(step, seconds, ok)` hears each one as it
    ends (the demo's progress lines)."""

    seconds: dict[str, float] = field(default_factory=dict)
    on_record: Callable[[str, float, bool], None] | None = None

    def record(self, step: str, started: float, ok: bool) -> None:
        """A step that began at `time.perf_counter()` value `started` has ended."""
        self.seconds[step] = time.perf_counter() - started
        if self.on_record is not None:
            self.on_record(step, self.seconds[step], ok)


def month_keys(first_day: date, last_day: date) -> list[str]:
    """Monthly partition keys (`YYYY-MM-01`) covering the days."""
    return [f"{month}-01" for month in months_between(first_day, last_day)]


def run_job(
    defs: Definitions,
    name: str,
    instance: DagsterInstance,
    tags: dict[str, str] | None = None,
    partition_key: str | None = None,
    raise_on_error: bool = True,
    run_config: dict | None = None,
) -> ExecuteInProcessResult:
    """Execute one job of the definitions in this process, tagged as a run of the code location
    `make ui` serves (so its job page lists it)."""
    job = defs.resolve_job_def(name)
    return job.execute_in_process(
        instance=instance,
        tags={REPOSITORY_LABEL_TAG: f"{SINGLETON_REPOSITORY_NAME}@{CODE_LOCATION}", **(tags or {})},
        partition_key=partition_key,
        raise_on_error=raise_on_error,
        run_config=run_config,
    )


def run_flow(
    defs: Definitions,
    first_day: date,
    last_day: date,
    instance: DagsterInstance,
    raise_on_error: bool = True,
    timings: FlowTimings | None = None,
    history_from: date | None = None,
) -> tuple[list[ExecuteInProcessResult], FlowTimings]:
    """Reference data, then the daily range in one run (from `history_from` when given: days
    validated, not billed), then each month from `first_day` to `last_day`."""
    timings = timings if timings is not None else FlowTimings()
    results = []
    daily_from = min(first_day, history_from or first_day)
    steps: list[tuple[str, dict[str, str], str | None]] = [
        ("reference_job", {}, None),
        ("daily_job", {RANGE_START: daily_from.isoformat(), RANGE_END: last_day.isoformat()}, None),
        *[("monthly_job", {}, key) for key in month_keys(first_day, last_day)],
    ]
    for name, tags, key in steps:
        started = time.perf_counter()
        result = run_job(defs, name, instance, tags, key, raise_on_error)
        timings.record(f"{name}:{key or tags.get(RANGE_START, '')}", started, result.success)
        results.append(result)
        if not result.success:
            break
    return results, timings
