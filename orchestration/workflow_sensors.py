"""Workflow sensors: early termination and curtailment.

- `termination_inbox_sensor` watches `inbox/terminations` and `inbox/payments`. Cursor: JSON map
  `<folder>/<file>` -> SHA-256 of the content. A new or changed file requests one
  `termination_job` run (run key = hash of the changed entries); the run processes every file
  content not yet in `workflow.inbox_files`, so a repeated run does nothing.
- `curtailment_sensor` watches `inbox/curtailment`, `inbox/dr_events` and the clock. Cursor:
  JSON `{"files": {<folder>/<file>: sha256}, "evaluated_at": <ISO China time>}`. It requests a
  `curtailment_job` run, with the sensor's "now" as run config (both of its assets), when a plan
  or DR event file is new or changed, or when a stage time of a plan (publication, reminder,
  all-clear, results deadline) or a retry tick (every 5 min during an emergency plan that needs
  acknowledgement, every hour until the plan's results deadline), or a DR event's window end,
  results deadline or hourly tick in between, falls in (evaluated_at, now]. The run then does
  everything due at that "now" (see `assets.workflows.curtailment` and
  `assets.workflows.dr_events`). `build_curtailment_sensor(clock=...)` builds the same sensor
  with another clock, for tests.

Both start STOPPED (nothing runs on its own when the UI opens): switch them on in the UI
(Automation) or with `dagster sensor start <name>`.

Not here: the workflow assets and logic (assets/workflows), the jobs (jobs.py), the landing
sensor (sensors.py).
"""

import csv
import hashlib
import io
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from dagster import (
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from assets.workflows.curtailment import RULES_PATH, Timeline, load_rules, sensor_timeline
from assets.workflows.dr_events import sensor_windows
from assets.workflows.inbox import china_now, file_checksum, inbox_files
from foundation.resources import Gridledger
from orchestration.jobs import curtailment_job, termination_job

EMERGENCY_TICK = timedelta(minutes=5)
RETRY_TICK = timedelta(hours=1)


def _checksums(inbox: Path, *kinds: str) -> dict[str, str]:
    return {f"{kind}/{path.name}": file_checksum(path)
            for kind in kinds for path in inbox_files(inbox / kind)}


@sensor(
    job=termination_job, minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.STOPPED,
    description="New or changed files in inbox/terminations or inbox/payments request one "
                "termination_job run. Cursor: JSON map file -> SHA-256.",
)
def termination_inbox_sensor(context: SensorEvaluationContext, gridledger: Gridledger):
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    current = _checksums(gridledger.inbox_dir, "terminations", "payments")
    changed = {name: digest for name, digest in current.items() if seen.get(name) != digest}
    cursor = json.dumps(current, sort_keys=True)
    if not changed:
        return SensorResult(skip_reason=SkipReason("no new termination or payment files"),
                            cursor=cursor)
    run_key = "termination:" + hashlib.sha256(
        json.dumps(changed, sort_keys=True).encode()).hexdigest()[:16]
    return SensorResult(
        run_requests=[RunRequest(run_key=run_key,
                                 tags={"inbox_files": ",".join(sorted(changed))[:200]})],
        cursor=cursor,
    )


def _crossed(anchor: datetime, end: datetime, step: timedelta, last: datetime | None,
             now: datetime) -> bool:
    """True if a tick anchor + k*step (k >= 1, tick <= end) lies in (last, now]."""
    upper = min(now, end)
    if upper <= anchor:
        return False
    k_now = (upper - anchor) // step
    if last is None or last < anchor:
        return k_now >= 1
    return k_now > (last - anchor) // step


def due_reasons(timelines: dict[str, Timeline], last: datetime | None, now: datetime
                ) -> list[str]:
    """Why an evaluation is due now: stage times and retry ticks in (last, now]."""
    reasons = []
    for plan_id, t in sorted(timelines.items()):
        moments = {"notice": t.notice_at, "reminder": t.reminder_at,
                   "all_clear": t.all_clear_at, "results_until": t.results_until}
        for stage, moment in moments.items():
            if moment is not None and (last is None or moment > last) and moment <= now:
                reasons.append(f"{plan_id}:{stage}")
        if t.ack_timeout_minutes is not None and _crossed(
                t.notice_at, t.window_end, EMERGENCY_TICK, last, now):
            reasons.append(f"{plan_id}:ack_tick")
        if _crossed(t.notice_at, t.results_until, RETRY_TICK, last, now):
            reasons.append(f"{plan_id}:hourly_tick")
    return reasons


def dr_due_reasons(windows: dict[str, tuple[datetime, datetime]], last: datetime | None,
                   now: datetime) -> list[str]:
    """Why an evaluation is due for the DR events: a window's end (its results are due), its
    results deadline, and an hourly retry tick in between (window data that arrive late)."""
    reasons = []
    for event_id, (end, until) in sorted(windows.items()):
        for stage, moment in (("window_end", end), ("results_until", until)):
            if (last is None or moment > last) and moment <= now:
                reasons.append(f"dr:{event_id}:{stage}")
        if _crossed(end, until, RETRY_TICK, last, now):
            reasons.append(f"dr:{event_id}:hourly_tick")
    return reasons


def _plan_rows(folder: Path) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for path in inbox_files(folder):
        try:
            text = path.read_text(encoding="utf-8-sig")
            rows += [{(k or "").strip(): (v or "") for k, v in row.items()}
                     for row in csv.DictReader(io.StringIO(text, newline=""))]
        except (UnicodeDecodeError, csv.Error):
            continue  # the run rejects the file with its reason
    return rows


def build_curtailment_sensor(
    clock: Callable[[], datetime] = china_now, name: str = "curtailment_sensor",
    rules_path: Path = RULES_PATH,
):
    """The curtailment sensor with an injectable clock (naive China Standard Time)."""

    @sensor(
        name=name, job=curtailment_job, minimum_interval_seconds=60,
        default_status=DefaultSensorStatus.STOPPED,
        description="Curtailment plans, DR events and their clock: new plan or DR event files, "
                    "stage times, window ends and retry ticks request a curtailment_job run "
                    "evaluated at the sensor's now. Cursor: JSON {files: file -> SHA-256, "
                    "evaluated_at}.",
    )
    def _curtailment_sensor(context: SensorEvaluationContext, gridledger: Gridledger):
        now = clock().replace(microsecond=0)
        state = json.loads(context.cursor) if context.cursor else {}
        last = datetime.fromisoformat(state["evaluated_at"]) if state.get("evaluated_at") else None
        folder = gridledger.inbox_dir / "curtailment"
        current = _checksums(gridledger.inbox_dir, "curtailment", "dr_events")
        seen = state.get("files", {})
        reasons = [f"file:{n}" for n, digest in sorted(current.items()) if seen.get(n) != digest]
        rules = load_rules(rules_path)
        reasons += due_reasons(sensor_timeline(_plan_rows(folder), rules), last, now)
        reasons += dr_due_reasons(
            sensor_windows(_plan_rows(gridledger.inbox_dir / "dr_events"), rules), last, now)
        cursor = json.dumps({"files": current, "evaluated_at": now.isoformat(sep=" ")},
                            sort_keys=True)
        if not reasons:
            return SensorResult(skip_reason=SkipReason("nothing due"), cursor=cursor)
        stamp = now.isoformat(sep=" ")
        return SensorResult(
            run_requests=[RunRequest(
                run_key=f"curtailment:{now:%Y%m%dT%H%M%S}",
                run_config={"ops": {op: {"config": {"now": stamp}}
                                    for op in ("curtailment_workflow", "dr_event_workflow")}},
                tags={"curtailment_now": stamp, "reasons": ",".join(reasons)[:200]},
            )],
            cursor=cursor,
        )

    return _curtailment_sensor


curtailment_sensor = build_curtailment_sensor()

workflow_sensors = [termination_inbox_sensor, curtailment_sensor]

__all__ = [
    "build_curtailment_sensor", "curtailment_sensor", "dr_due_reasons", "due_reasons",
    "termination_inbox_sensor", "workflow_sensors",
]
