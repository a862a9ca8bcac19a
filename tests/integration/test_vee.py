"""MDM-grade VEE through the real flow.

1. Generated data (40 meters × October 2026, fixed seed: the session's `october_demo` scenario,
   shared with test_flow.py) scored against the generator's ground truth (tools.vee_score), the
   conflict log, the gate's counts, anomalies, then a late corrected file, a manual edit and an
   as-of rebuild on one copy of that warehouse.
2. Hand-built landing files (July 2026), one meter per rule, each with the exact flag, method and
   value computed here from the profile below.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from dagster import DagsterInstance

from orchestration.runner import RANGE_END, RANGE_START, run_job
from tests.builders import MASTER_HEADERS, end_label, write_csv
from tests.scenarios import Flow, copy_flow, pointed_at, scenario_fixture
from tools.vee_score import score

TRANSFORMS = Path(__file__).resolve().parents[2] / "transforms"
READ_HEADER = ["meter_id", "channel", "interval_end", "interval_minutes", "value", "unit",
               "multiplier"]
EDIT_HEADER = ["meter_id", "channel", "interval_start", "value", "reason", "approver", "edited_at"]
LATE_FILE, EDIT_FILE = "reads_20261105_77.csv", "edits_20261106.csv"

TARGETS = {  # fault type -> minimum precision and recall
    "gap": 0.95, "duplicate_identical": 0.95, "duplicate_conflicting": 0.95, "negative": 0.95,
    "register_rollover": 0.95, "spike": 0.90, "stuck_zero": 0.90,
}


def dbt(warehouse: Path, tmp: Path, *args: str) -> subprocess.CompletedProcess:
    """The dbt CLI on a warehouse, with its own target and log folders (the shared manifest stays
    as Dagster parsed it)."""
    exe = Path(sys.executable).parent / "dbt"
    env = {**os.environ, "GRIDLEDGER_WAREHOUSE": str(warehouse)}
    result = subprocess.run(
        [str(exe), *args, "--target-path", str(tmp / "dbt_target"),
         "--log-path", str(tmp / "dbt_logs")],
        cwd=TRANSFORMS, env=env, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    return result


def run_daily(flow: Flow, first: date, last: date):
    with DagsterInstance.ephemeral() as instance:
        tags = {RANGE_START: first.isoformat(), RANGE_END: last.isoformat()}
        return run_job(flow.defs(), "daily_job", instance, tags, raise_on_error=False)


# --------------------------------------------------------------------------------------------
# 1. generated data
# --------------------------------------------------------------------------------------------

def landing_sensor_tick(flow: Flow, cursor: str | None = None):
    """One evaluation of the landing sensor on the flow's folders."""
    from dagster import build_sensor_context

    from foundation.resources import Gridledger
    from orchestration.sensors import landing_file_sensor

    resource = Gridledger(warehouse=str(flow.warehouse), data_dir=str(flow.data_dir))
    with DagsterInstance.ephemeral() as instance:
        return landing_file_sensor(build_sensor_context(
            instance=instance, resources={"gridledger": resource}, cursor=cursor))


def edit_file_requests(flow: Flow, cursor: str | None) -> dict[str, tuple[date, date]]:
    """The landing sensor's requests for files in edits/ new since `cursor`: name → (first day,
    last day) of the day runs that list it (one run per day the file touches)."""
    from orchestration.sensors import request_files

    result = landing_sensor_tick(flow, cursor)
    days: dict[str, list[date]] = {}
    for r in result.run_requests or []:
        for name in request_files(r):
            if name.startswith("edits/"):
                days.setdefault(name, []).append(date.fromisoformat(r.partition_key))
    return {name: (min(listed), max(listed)) for name, listed in days.items()}


generated = scenario_fixture("october_demo", "generated")


def test_vee_finds_the_injected_faults(generated):
    scores, _ = score(generated.warehouse, generated.data_dir)
    by_type = {s.fault_type: s for s in scores}
    for fault_type, target in TARGETS.items():
        s = by_type[fault_type]
        assert s.truth > 0, fault_type
        assert s.recall >= target and s.precision >= target, s
    assert by_type["late_file"].recall == by_type["malformed_file"].recall == 1.0


def test_estimates_are_close_to_the_true_values(generated):
    _, errors = score(generated.warehouse, generated.data_dir)
    overall = {e.fault_type: e for e in errors}["all"]
    assert overall.n > 500
    assert overall.mape < 0.08 and abs(overall.bias) < 0.02, overall


def test_conflicting_duplicates_are_logged_with_every_version(generated):
    keys = generated.sql(
        "select count(*) from core.int_interval_validated where has_conflict")[0][0]
    assert keys > 0
    rows = generated.sql("""
        select meter_id, channel, interval_start, count(*) as versions,
               count(*) filter (where is_winner) as winners,
               max(version) filter (where is_winner) = max(version) as latest_wins,
               bool_and(validated_value = (
                   select value from core.vee_duplicate_conflicts w
                   where w.meter_id = c.meter_id and w.channel = c.channel
                     and w.interval_start = c.interval_start and w.is_winner))
        from core.vee_duplicate_conflicts c group by all""")
    assert len(rows) == keys
    assert all(versions >= 2 and winners == 1 and latest and same
               for _, _, _, versions, winners, latest, same in rows)


def test_the_gate_reports_intervals_per_flag_and_rule(generated):
    evaluation = [e for e in generated.daily_result.get_asset_check_evaluations()
                  if e.check_name == "validated_consumption_gate"][0]
    assert evaluation.passed
    by_rule = evaluation.metadata["intervals_by_rule"].value
    by_flag = evaluation.metadata["intervals_by_flag"].value
    expected = dict(generated.sql("""
        select rule, count(*) from (select unnest(string_split(failed_rules, ';')) as rule
        from core.int_interval_validated) group by 1"""))
    assert {r: n for r, n in by_rule.items() if n} == expected
    assert by_flag == {"ACTUAL": by_flag["ACTUAL"], "ESTIMATED": by_flag["ESTIMATED"],
                       "EDITED": 0, "FAILED": 0}
    assert sum(by_flag.values()) == generated.sql(
        "select count(*) from core.int_interval_validated")[0][0]


def test_stuck_meters_become_meter_anomaly_alerts(generated):
    stuck = {m for (m,) in generated.sql("""
        select meter_id from core.int_interval_validated
        where contains(failed_rules, 'stuck_zero') group by 1 having count(*) >= 8""")}
    assert stuck
    anomalies = {m for (m,) in generated.sql(
        "select meter_id from core.meter_anomalies where anomaly = 'stuck_meter'")}
    alerts = {m for (m,) in generated.sql(
        "select meter_id from marts.alerts "
        "where alert_type = 'meter_anomaly' and rule = 'zero_run'")}
    assert stuck == anomalies == alerts


def test_the_quality_summary_adds_up_to_validated_consumption(generated):
    ((kwh, est, intervals, missing),) = generated.sql("""
        select sum(value) filter (where channel = 'kwh_imp'),
               sum(value) filter (where channel = 'kwh_imp' and quality_flag = 'ESTIMATED'),
               count(*), count(*) filter (where contains(failed_rules, 'missing'))
        from core.int_interval_validated""")
    assert generated.sql("""
        select sum(kwh), sum(estimated_kwh), sum(intervals), sum(missing), count(*)
        from core.meter_quality_monthly where period = '2026-10'""") == [
        (kwh, est, intervals, missing, 40)]


@pytest.fixture(scope="module")
def corrected(october_demo: Flow, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A private copy of the October warehouse taken through two corrections, in order: a late
    corrected file for one meter-day of 10 October (ingested "5 Nov"), then a manual edit of one
    interval of 20 October ("6 Nov"). The facts each step produced are recorded for the tests
    below (none of them depends on another test having run first)."""
    flow = copy_flow(october_demo, tmp_path_factory.mktemp("october_corrected"))
    facts: dict = {"flow": flow}
    with pointed_at(flow):
        facts["late"] = land_late_corrected_file(flow, date(2026, 10, 10))
        facts["edit"] = land_manual_edit(flow)
    return facts


def land_late_corrected_file(flow: Flow, day: date) -> dict:
    """+1 kWh on the noon intervals of one all-ACTUAL meter-day, landed as a new file."""
    meter, customer = flow.sql("""
        select meter_id, customer_id from core.int_interval_validated
        where reading_date = ? and quality_flag = 'ACTUAL' and meter_id not in (
            select meter_id from core.int_interval_validated
            where reading_date = ? and quality_flag <> 'ACTUAL')
        order by meter_id limit 1""", [day, day])[0]
    requests_before = flow.sql("select count(*) from core.resettlement_requests")[0][0]
    before = flow.sql("select * from core.int_interval_validated order by all")
    rows = flow.sql("""
        select channel, interval_start, interval_minutes, value from core.int_interval_validated
        where meter_id = ? and reading_date = ? order by channel, interval_start""", [meter, day])
    corrected = {(c, ts): (v + Decimal("1.000") if ts.hour == 12 and c == "kwh_imp" else v)
                 for c, ts, _, v in rows}
    write_csv(flow.data_dir / "landing" / "reads" / LATE_FILE, READ_HEADER,
              [[meter, c, end_label(ts), 15, f"{v}", "kWh" if c == "kwh_imp" else "kvarh", ""]
               for (c, ts), v in corrected.items()])
    success = run_daily(flow, day, day).success
    version = flow.sql("select file_id from raw.file_ledger where file_name = ?", [LATE_FILE])
    return {
        "meter": meter, "customer": customer, "day": day, "corrected": corrected,
        "success": success, "requests_before": requests_before, "versions": version,
        "changed": {(r[0], r[2], r[3]) for r in set(
            flow.sql("select * from core.int_interval_validated order by all")) - set(before)},
        "meter_day": flow.sql("""
            select count(*), min(version), max(version),
                   sum(value) filter (where channel = 'kwh_imp')
            from core.int_interval_validated where meter_id = ? and reading_date = ?""",
            [meter, day]),
        "requests": flow.sql("""
            select period, customer_id, reason, first_seen_version, kwh_change
            from core.resettlement_requests"""),
    }


def land_manual_edit(flow: Flow) -> dict:
    """An approved edit of one ACTUAL interval of 20 October plus a row for an unknown meter."""
    meter, customer, ts, value, version = flow.sql("""
        select meter_id, customer_id, interval_start, value, version
        from core.int_interval_validated
        where reading_date = '2026-10-20' and channel = 'kwh_imp' and quality_flag = 'ACTUAL'
          and customer_id not in (select customer_id from core.resettlement_requests)
        order by meter_id, interval_start limit 1""")[0]
    seen = landing_sensor_tick(flow).cursor  # the landing files, seen before the edit lands
    write_csv(flow.data_dir / "edits" / EDIT_FILE, EDIT_HEADER, [
        [meter, "kwh_imp", f"{ts:%Y-%m-%d %H:%M}", "123.456",
         "CT replaced, value from check meter", "王工", "2026-11-06 09:30"],
        ["MP999999", "kwh_imp", f"{ts:%Y-%m-%d %H:%M}", "1.000", "typo", "王工",
         "2026-11-06 09:31"],
    ])
    sensor_range = edit_file_requests(flow, seen).get(f"edits/{EDIT_FILE}")
    success = run_daily(flow, ts.date(), ts.date()).success
    return {
        "meter": meter, "customer": customer, "ts": ts, "value": value, "version": version,
        "sensor_range": sensor_range, "success": success,
        "ledger": flow.sql("""
            select file_id, status, rows_total, rows_loaded, rows_quarantined
            from raw.file_ledger where file_name = ?""", [EDIT_FILE]),
        "interval": flow.sql("""
            select quality_flag, method, value, raw_value, version, source_row
            from core.int_interval_validated where meter_id = ? and channel = 'kwh_imp'
              and interval_start = ?""", [meter, ts]),
        "quarantine": flow.sql(
            "select rule, reason from raw.quarantine_rows where file_name = ?", [EDIT_FILE]),
        "requests": flow.sql(
            "select period, customer_id, reason, first_seen_version "
            "from core.resettlement_requests"),
    }


def test_a_late_corrected_file_revalidates_its_day_and_requests_resettlement(corrected):
    """A corrected file for 10 October: only that meter-day gets the new version, everything else
    is unchanged, and exactly that customer-month is listed for re-settlement."""
    late = corrected["late"]
    assert late["requests_before"] == 0
    assert late["success"]
    assert len(late["versions"]) == 1, late["versions"]
    new_version = late["versions"][0][0]
    assert late["changed"] == {(late["meter"], c, ts) for c, ts in late["corrected"]}
    assert late["meter_day"] == [
        (192, new_version, new_version,
         sum(v for (c, _), v in late["corrected"].items() if c == "kwh_imp"))]
    assert late["requests"] == [
        ("2026-10", late["customer"], "late_or_corrected_reads", new_version, Decimal("4.000"))]


def test_a_manual_edit_is_a_new_version_flagged_edited(corrected):
    edit = corrected["edit"]
    ts = edit["ts"]
    assert edit["sensor_range"] == (ts.date(), ts.date())
    assert edit["success"]
    ((edit_id, *counts),) = edit["ledger"]
    assert counts == ["loaded", 2, 1, 1]
    assert edit["interval"] == [
        ("EDITED", "manual_edit", Decimal("123.456"), edit["value"], edit_id, 2)]
    assert edit["version"] < edit_id
    assert edit["quarantine"] == [
        ("unknown_meter", f"meter MP999999 is not in master.metering_points on {ts.date()}")]
    assert ("2026-10", edit["customer"], "manual_edit", edit_id) in edit["requests"]


def test_as_of_rebuild_uses_only_files_ingested_by_then(corrected, tmp_path):
    """What did we know on 4 Nov: not the corrected file (ingested 5 Nov) nor the edit (6 Nov)."""
    from foundation.warehouse import connect

    flow: Flow = corrected["flow"]
    with connect(flow.warehouse) as con:
        con.execute("""update raw.file_ledger set ingested_at = case
            when file_name = ? then timestamp '2026-11-05 08:00'
            when file_name = ? then timestamp '2026-11-06 09:40'
            else timestamp '2026-11-01 08:00' end""", [LATE_FILE, EDIT_FILE])
    window = '"min_date": "2026-10-10", "max_date": "2026-10-21"'
    for as_of in ("2026-11-04", "2026-11-06"):
        dbt(flow.warehouse, tmp_path, "run", "--select", "vee_register_days",
            "int_interval_validated", "--vars", f'{{"as_of": "{as_of}", {window}}}')
        known = flow.sql("""
            select a.meter_id, a.channel, a.interval_start, a.value, a.version, a.quality_flag
            from core.int_interval_validated_as_of a order by all""")
        if as_of == "2026-11-04":
            before_late = known
    files = dict(flow.sql("select file_name, file_id from raw.file_ledger"))
    assert LATE_FILE in files and EDIT_FILE in files, sorted(files)
    assert not [r for r in before_late if r[4] in (files[LATE_FILE], files[EDIT_FILE])]
    assert {r[5] for r in before_late} <= {"ACTUAL", "ESTIMATED"}
    now = flow.sql("""
        select meter_id, channel, interval_start, value, version, quality_flag
        from core.int_interval_validated
        where reading_date >= '2026-10-10' and reading_date < '2026-10-21' order by all""")
    assert known == now  # as of 6 Nov we knew everything the production table holds
    assert len(before_late) == len(now) and before_late != now


# --------------------------------------------------------------------------------------------
# 2. hand-built cases (July 2026, one meter per rule)
# --------------------------------------------------------------------------------------------

DAYS = [date(2026, 7, 1) + timedelta(days=i) for i in range(28)]
FAULT_DAY = date(2026, 7, 15)  # a Wednesday; nearest like-days: 14, 16, 13 (then 17)
LIKE_DAYS = (date(2026, 7, 14), date(2026, 7, 16), date(2026, 7, 13))
MIL = Decimal("0.001")


def true_value(scale: int, day: date, k: int) -> Decimal:
    """kWh of interval k (0..95) on a day: scale × (1 + k/100) × (1 + day/100), 3 dp."""
    raw = Decimal(scale) * (1 + Decimal(k) / 100) * (1 + Decimal(day.day) / 100)
    return raw.quantize(MIL, ROUND_HALF_UP)


def q3(x: Decimal) -> Decimal:
    return x.quantize(MIL, ROUND_HALF_UP)


def like_average(scale: int, k: int) -> Decimal:
    return q3(sum(true_value(scale, d, k) for d in LIKE_DAYS) / 3)


def slot(day: date, k: int) -> datetime:
    return datetime(day.year, day.month, day.day) + timedelta(minutes=15 * k)


# meter -> (scale, master multiplier, register digits)
HAND_METERS = {
    "M01": 1, "M02": 1, "M03": 1, "M04": 1, "M05": 10, "M06": 1, "M07": 1, "M08": 1, "M09": 1,
    "M10": 1, "M12": 1, "M13": 1, "M14": 1, "M15": 1, "M16": 1, "M18": 1,
}
MULTIPLIER = {"M08": 100}


def hand_rows() -> tuple[list[list], list[list]]:
    """Landing rows (main file, correction file) for every hand meter."""
    main, later = [], []

    def row(meter, ts, value, multiplier=None, minutes=15, label=None):
        return [meter, "kwh_imp", label or end_label(ts), minutes, f"{value}", "kWh",
                multiplier if multiplier is not None else MULTIPLIER.get(meter, 1)]

    for meter, scale in HAND_METERS.items():
        for day in DAYS:
            if meter == "M18" and day != DAYS[-1]:
                continue  # M18 reads only on the last day, and only until noon
            for k in range(96):
                ts, value = slot(day, k), true_value(scale, day, k)
                fault = day == FAULT_DAY
                if meter == "M18" and k >= 48:
                    continue
                if fault and meter == "M01" and k in (40, 41, 42):
                    continue  # short gap
                if fault and meter == "M02" and 40 <= k < 60:
                    continue  # long gap
                if fault and meter == "M10" and 40 <= k < 60:
                    continue  # long gap on a meter with register reads
                if fault and meter == "M03" and k == 50:
                    value = Decimal("-5.000")
                if fault and meter == "M04" and k == 50:
                    value = Decimal("200.000")
                if fault and meter == "M05" and k == 50:
                    value = Decimal("35.000")  # above 1.2 × kVA × 0.25 h, but a real overload
                if fault and meter == "M06" and 40 <= k < 50:
                    value = Decimal("0.000")  # 10 zeros: stuck
                if fault and meter == "M07" and 40 <= k < 45:
                    value = Decimal("0.000")  # 5 zeros: not a stuck run
                if meter == "M12" and day == date(2026, 7, 22):
                    value = value * 4  # a high-usage day
                if fault and meter == "M08" and 60 <= k < 64:
                    main.append(row(meter, ts, q3(value / 2), multiplier=50))
                    continue  # head-end applied multiplier 50 instead of 100
                main.append(row(meter, ts, value))
                if fault and meter == "M09" and k == 10:
                    main.append(row(meter, ts, value))  # identical duplicate
                if fault and meter == "M09" and k == 20:
                    later.append(row(meter, ts, Decimal("7.777")))  # conflicting correction
        if meter == "M15":
            for minute in (7, 22, 37, 52):  # a drifting clock: quarantined at ingestion
                main.append(row(meter, None, "1.000",
                                label=f"2026-07-15 10:{minute:02d}"))
    return main, later


def register_rows() -> list[list]:
    """Daily 00:00 reads: M10 rolls over on 2 July; M14 disagrees with its intervals on 10 July;
    M16's register goes back on 20 July (meter change)."""
    rows = []
    for meter, start in (("M10", Decimal("999980.00")), ("M14", Decimal("1000.00")),
                         ("M16", Decimal("500000.00"))):
        dial = start
        for day in [*DAYS, DAYS[-1] + timedelta(days=1)]:
            if meter == "M16" and day == date(2026, 7, 20):
                dial = Decimal("100.00")
            rows.append([meter, "kwh_imp", f"{day} 00:00", f"{dial % 1000000:.2f}"])
            total = sum(true_value(1, day, k) for k in range(96))
            if meter == "M14" and day == date(2026, 7, 10):
                total = total * Decimal("1.1")
            dial = (dial + total).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return rows


def write_hand_case(data_dir: Path) -> None:
    master = data_dir / "master"
    write_csv(master / "retailers.csv", MASTER_HEADERS["retailers"],
              [["R01", "售电", "银行", "6222000011112222", "售电公司", "0", "2025-01-01", ""]])
    write_csv(master / "customers.csv", MASTER_HEADERS["customers"], [
        [f"C{m}", f"客户{m}", "R01", "commercial", "kv_1_10", "唐山", "商业", "single_part", "100",
         "0.90", "none", "", "", "2025-01-01", ""] for m in HAND_METERS])
    write_csv(master / "metering_points.csv", MASTER_HEADERS["metering_points"], [
        [m, f"C{m}", MULTIPLIER.get(m, 1), 1, MULTIPLIER.get(m, 1), 6, 15, "2025-01-01", ""]
        for m in HAND_METERS])
    write_csv(master / "contracts.csv", MASTER_HEADERS["contracts"], [])
    write_csv(master / "contract_volumes.csv", MASTER_HEADERS["contract_volumes"], [])
    main, later = hand_rows()
    landing = data_dir / "landing" / "reads"
    write_csv(landing / "reads_20260701_01.csv", READ_HEADER, main)
    write_csv(landing / "reads_20260716_02.csv", READ_HEADER, later)
    write_csv(landing / "registers_20260701_01.csv",
              ["meter_id", "channel", "read_at", "register_value"], register_rows())
    write_csv(data_dir / "edits" / "edits_20260720.csv", EDIT_HEADER, [
        ["M13", "kwh_imp", "2026-07-15 07:30", "9.999", "meter test", "Li Wei", "2026-07-20 10:00"],
        ["MX999", "kwh_imp", "2026-07-15 07:30", "1.000", "typo", "Li Wei", "2026-07-20 10:01"],
        ["M13", "kwh_imp", "2026-07-15 07:45", "1.000", "no approver", "", "2026-07-20 10:02"],
    ])


@pytest.fixture(scope="module")
def hand(tmp_path_factory):
    flow = Flow(tmp_path_factory.mktemp("vee_hand"))
    write_hand_case(flow.data_dir)
    with pointed_at(flow):
        with DagsterInstance.ephemeral() as instance:
            assert run_job(flow.defs(), "reference_job", instance).success
        result = run_daily(flow, DAYS[0], DAYS[-1])
    assert result.success
    return flow


def interval(flow: Flow, meter: str, k: int, day: date = FAULT_DAY) -> tuple:
    return flow.sql("""
        select quality_flag, method, failed_rule, failed_rules, value, raw_value
        from core.int_interval_validated
        where meter_id = ? and channel = 'kwh_imp' and interval_start = ?""",
        [meter, slot(day, k)])[0]


def test_a_short_gap_is_interpolated_linearly(hand):
    before, after = true_value(1, FAULT_DAY, 39), true_value(1, FAULT_DAY, 43)
    for i, k in enumerate((40, 41, 42), start=1):
        assert interval(hand, "M01", k) == (
            "ESTIMATED", "linear_interpolation", "missing", "missing",
            q3(before + (after - before) * i / 4), None)


def test_a_long_gap_is_the_average_of_the_three_nearest_like_days(hand):
    for k in range(40, 60):
        assert interval(hand, "M02", k) == (
            "ESTIMATED", "like_day_average", "missing", "missing", like_average(1, k), None)


def test_negative_and_spike_values_are_replaced(hand):
    mid = q3((true_value(1, FAULT_DAY, 49) + true_value(1, FAULT_DAY, 51)) / 2)
    assert interval(hand, "M03", 50) == (
        "ESTIMATED", "linear_interpolation", "negative", "negative", mid, Decimal("-5.000"))
    assert interval(hand, "M04", 50) == (
        "ESTIMATED", "linear_interpolation", "spike", "spike", mid, Decimal("200.000"))


def test_a_real_overload_close_to_its_like_days_is_kept(hand):
    assert interval(hand, "M05", 50) == (
        "ACTUAL", "actual", None, None, Decimal("35.000"), Decimal("35.000"))


def test_eight_or_more_zeros_over_real_load_are_a_stuck_run(hand):
    for k in range(40, 50):
        assert interval(hand, "M06", k) == (
            "ESTIMATED", "like_day_average", "stuck_zero", "stuck_zero", like_average(1, k),
            Decimal("0.000"))
    for k in range(40, 45):  # five zeros are left alone
        assert interval(hand, "M07", k)[:4] == ("ACTUAL", "actual", None, None)


def test_a_wrong_multiplier_is_rescaled_to_master_data(hand):
    for k in range(60, 64):
        raw = q3(true_value(1, FAULT_DAY, k) / 2)
        assert interval(hand, "M08", k) == (
            "ESTIMATED", "multiplier_rescale", "multiplier_mismatch", "multiplier_mismatch",
            raw * 2, raw)


def test_duplicates_collapse_and_the_latest_conflicting_version_wins(hand):
    ((dup, conflict),) = hand.sql("""
        select duplicate_rows, has_conflict from core.int_interval_validated
        where meter_id = 'M09' and interval_start = ?""", [slot(FAULT_DAY, 10)])
    assert (dup, conflict) == (1, False)
    late = hand.sql("select file_id from raw.file_ledger where file_name = 'reads_20260716_02.csv'")
    assert hand.sql("""
        select value, version, duplicate_rows, has_conflict, quality_flag
        from core.int_interval_validated where meter_id = 'M09' and interval_start = ?""",
        [slot(FAULT_DAY, 20)]) == [(Decimal("7.777"), late[0][0], 1, True, "ACTUAL")]
    assert hand.sql("""
        select file_name, value, is_winner from core.vee_duplicate_conflicts
        where meter_id = 'M09' order by version_rank""") == [
        ("reads_20260716_02.csv", Decimal("7.777"), True),
        ("reads_20260701_01.csv", true_value(1, FAULT_DAY, 20), False)]


def test_register_rollover_reset_and_proration(hand):
    events = hand.sql("""
        select meter_id, read_at, event, register_delta from core.vee_register_days
        where event <> 'normal' order by all""")
    day1 = sum(true_value(1, DAYS[0], k) for k in range(96))
    assert events == [
        ("M10", datetime(2026, 7, 2), "rollover", day1.quantize(Decimal("0.01"), ROUND_HALF_UP)),
        ("M16", datetime(2026, 7, 20), "register_reset", None)]
    # M10's long gap: like-day estimates prorated so the day adds up to the register delta
    (delta,) = hand.sql("""select primary_delta from core.vee_register_days
                           where meter_id = 'M10' and reading_date = ?""", [FAULT_DAY])[0]
    actual = sum(true_value(1, FAULT_DAY, k) for k in range(96) if not 40 <= k < 60)
    estimates = {k: like_average(1, k) for k in range(40, 60)}
    factor = (delta - actual) / sum(estimates.values())
    rows = hand.sql("""
        select interval_start, value, method, prorated from core.int_interval_validated
        where meter_id = 'M10' and reading_date = ? and quality_flag = 'ESTIMATED'
        order by 1""", [FAULT_DAY])
    assert [(ts, v, m, p) for ts, v, m, p in rows] == [
        (slot(FAULT_DAY, k), q3(estimates[k] * factor), "like_day_average", True)
        for k in range(40, 60)]
    day_total = hand.sql("""select sum(value) from core.int_interval_validated
                            where meter_id = 'M10' and reading_date = ?""", [FAULT_DAY])[0][0]
    assert abs(day_total - delta) <= Decimal("0.01")


def test_a_day_that_disagrees_with_its_register_fails_the_sum_check(hand):
    assert hand.sql("""
        select reading_date, count(*), min(quality_flag), max(quality_flag)
        from core.int_interval_validated
        where meter_id = 'M14' and failed_rules is not null group by 1""") == [
        (date(2026, 7, 10), 96, "ACTUAL", "ACTUAL")]
    assert interval(hand, "M14", 0, date(2026, 7, 10))[2:4] == ("sum_check", "sum_check")


def test_a_day_far_above_the_meters_history_is_high_usage(hand):
    assert hand.sql("""
        select reading_date, count(*), min(failed_rules), min(quality_flag)
        from core.int_interval_validated
        where meter_id = 'M12' and failed_rules is not null group by 1""") == [
        (date(2026, 7, 22), 96, "high_daily_usage", "ACTUAL")]


def test_a_one_sided_gap_without_like_days_is_flat_filled(hand):
    last = DAYS[-1]
    assert interval(hand, "M18", 47, last)[:2] == ("ACTUAL", "actual")
    for k in (48, 70, 95):
        assert interval(hand, "M18", k, last) == (
            "ESTIMATED", "flat_fill", "missing", "missing", true_value(1, last, 47), None)


def test_manual_edits_apply_as_edited_versions_and_bad_rows_are_rejected(hand):
    (edit_id,) = hand.sql(
        "select file_id from raw.file_ledger where file_name = 'edits_20260720.csv'")[0]
    assert hand.sql("""
        select quality_flag, method, value, raw_value, version, source_row
        from core.int_interval_validated where meter_id = 'M13' and interval_start = ?""",
        [slot(FAULT_DAY, 30)]) == [
        ("EDITED", "manual_edit", Decimal("9.999"), true_value(1, FAULT_DAY, 30), edit_id, 2)]
    assert hand.sql("""select source_row, rule from raw.quarantine_rows
                       where file_name = 'edits_20260720.csv' order by 1""") == [
        (3, "unknown_meter"), (4, "missing_field")]
    assert hand.sql("select count(*) from raw.manual_edits") == [(1,)]


def test_misaligned_reads_are_quarantined_and_raise_a_clock_drift_anomaly(hand, tmp_path):
    assert hand.sql("""select count(*) from raw.quarantine_rows
                       where rule = 'misaligned_timestamp'""") == [(4,)]
    dbt(hand.warehouse, tmp_path, "run", "--select", "fct_meter_anomalies",
        "--vars", '{"min_date": "2026-07-01", "max_date": "2026-08-01"}')
    anomalies = hand.sql("""select meter_id, anomaly, notice_check, n_intervals
                            from core.meter_anomalies order by all""")
    assert ("M15", "clock_drift", "time_check", 4) in anomalies
    assert ("M06", "stuck_meter", "zero_run", 10) in anomalies
    assert ("M16", "register_reset", "rollover", 1) in anomalies


def test_as_of_a_day_reads_after_it_are_future_and_later_files_unknown(hand, tmp_path):
    from foundation.warehouse import connect

    with connect(hand.warehouse) as con:
        con.execute("""update raw.file_ledger set ingested_at = case
            when file_name = 'reads_20260716_02.csv' then timestamp '2026-07-17 06:00'
            when file_name = 'edits_20260720.csv' then timestamp '2026-07-20 10:05'
            else timestamp '2026-07-16 06:00' end""")
    dbt(hand.warehouse, tmp_path, "run", "--select", "vee_register_days", "int_interval_validated",
        "--vars", '{"as_of": "2026-07-16", "min_date": "2026-07-15", "max_date": "2026-07-18"}')
    rows = hand.sql("""
        select reading_date, quality_flag, failed_rule, count(*)
        from core.int_interval_validated_as_of where meter_id = 'M01' group by all order by all""")
    assert rows == [
        (date(2026, 7, 15), "ACTUAL", None, 93),
        (date(2026, 7, 15), "ESTIMATED", "missing", 3),
        (date(2026, 7, 16), "ACTUAL", None, 96),
        (date(2026, 7, 17), "FAILED", "future_timestamp", 96)]
    # the correction file (17 July) and the edit (20 July) were not known on 16 July
    assert hand.sql("""
        select value, has_conflict from core.int_interval_validated_as_of
        where meter_id = 'M09' and interval_start = ?""", [slot(FAULT_DAY, 20)]) == [
        (true_value(1, FAULT_DAY, 20), False)]
    assert hand.sql("""
        select quality_flag, value from core.int_interval_validated_as_of
        where meter_id = 'M13' and interval_start = ?""", [slot(FAULT_DAY, 30)]) == [
        ("ACTUAL", true_value(1, FAULT_DAY, 30))]
    # and the production table is untouched
    assert interval(hand, "M13", 30)[0] == "EDITED"
