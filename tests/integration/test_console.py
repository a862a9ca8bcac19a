"""The finance console (tools/console) on the BI snapshot, and the snapshot while a job runs.

- The console runs as a real `streamlit run` process on a free port and is driven by headless
  chromium: bills, adjustments, margin and alerts show the figures of the snapshot's own tables
  (queried here, formatted here).
- Issue 13's check: a reader holding the snapshot open while the monthly job re-settles a closed
  month (a corrected file landed) keeps seeing the old state, the job succeeds, and after
  reconnecting the reader (and the console) sees the new one.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from browser import screenshot, serving

from foundation.paths import PROJECT_ROOT, bi_snapshot_path
from tests.scenarios import Flow, scenario_fixture

pytest_plugins = ["browser"]

october = scenario_fixture("october_demo", "october")
PERIOD = "2026-10"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def console(flow: Flow, log: Path) -> Iterator[str]:
    """`streamlit run tools/console/app.py` on the flow's snapshot; yields its URL."""
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run",
               str(PROJECT_ROOT / "tools" / "console" / "app.py"),
               "--server.address", "127.0.0.1", "--server.port", str(port),
               "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    env = {"GRIDLEDGER_WAREHOUSE": str(flow.warehouse), "PYTHONPATH": str(PROJECT_ROOT)}
    url = f"http://127.0.0.1:{port}"
    with serving(command, f"{url}/_stcore/health", log, env=env):
        yield url


def yuan(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def snapshot_sql(flow: Flow, query: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(bi_snapshot_path(flow.warehouse)), read_only=True) as con:
        return con.execute(query, params or []).fetchall()


def open_console(page, url: str) -> None:
    page.goto(url)
    page.get_by_text("taken at").wait_for()
    page.get_by_test_id("stMetric").first.wait_for()


def metric(page, label: str) -> str:
    """The value of the st.metric labelled `label` in the visible tab."""
    box = page.get_by_role("tabpanel").get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True))
    return box.get_by_test_id("stMetricValue").inner_text().strip()


def table_rows(page) -> dict[str, list[str]]:
    """Rows of the st.tables in the visible tab, by their first cell.

    Streamlit sends the metrics before the tables below them; wait until the last table of the
    tab has its rows (a busy machine rendered the metrics and not yet the table: KeyError).
    """
    tables = page.get_by_role("tabpanel").get_by_test_id("stTable")
    tables.last.locator("tbody tr").first.wait_for()
    rows = tables.locator("tbody tr")
    cells = [[c.strip() for c in row.locator("th, td").all_inner_texts()] for row in rows.all()]
    return {row[0]: row[1:] for row in cells}


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()
    page.get_by_role("tabpanel").get_by_test_id("stTable").first.wait_for()


def test_the_monthly_job_leaves_a_snapshot_of_its_own_run(october: Flow):
    snapshot = bi_snapshot_path(october.warehouse)
    assert snapshot.exists()
    monthly_run = october.results[2].run_id
    assert snapshot_sql(october, "select distinct run_id from _snapshot.tables") == [
        (monthly_run,)]
    relations = {r for (r,) in snapshot_sql(october, "select relation from _snapshot.tables")}
    assert {"finance.bills", "finance.adjustments", "finance.retailer_margin", "marts.alerts",
            "marts.meter_vee_quality", "marts.meter_daily_load",
            "marts.meter_load_profile"} <= relations
    # the marts over validated intervals agree with the warehouse they were copied from
    kwh = october.sql("select sum(value) from core.int_interval_validated "
                      "where channel = 'kwh_imp'")[0][0]
    assert snapshot_sql(october, "select sum(kwh) from marts.meter_daily_load")[0][0] == kwh
    assert snapshot_sql(october, "select sum(energy) from marts.meter_vee_quality "
                                 "where channel = 'kwh_imp'")[0][0] == kwh
    # 15-minute meters: 96 points a day, the last one ends at 24:00
    assert snapshot_sql(october, """
        select distinct count(*), min(time_of_day), max(time_of_day)
        from marts.meter_load_profile where interval_minutes = 15
        group by meter_id, period""") == [(96, "00:15", "24:00")]


def test_the_console_shows_the_snapshots_figures(october: Flow, page, tmp_path: Path):
    (bills, billed, held, held_yuan), = snapshot_sql(october, """
        select count(*), sum(total_yuan), count(*) filter (where bill_status = 'held'),
               coalesce(sum(total_yuan) filter (where bill_status = 'held'), 0)
        from finance.bills where period = ?""", [PERIOD])
    (lines, adjusted), = snapshot_sql(october, "select count(*), coalesce(sum(amount_delta_yuan), "
                                               "0) from finance.adjustments where period = ?",
                                      [PERIOD])
    margin = snapshot_sql(october, """
        select retailer_id, customers, retail_revenue_yuan, wholesale_cost_yuan, spread_yuan
        from finance.retailer_margin where period = ?""", [PERIOD])
    alerts = dict(snapshot_sql(october, "select alert_type, count(*) from marts.alerts "
                                        "where period = ? group by 1", [PERIOD]))
    (run_id,), = snapshot_sql(october, "select distinct run_id from _snapshot.tables")
    assert bills > 0 and margin and alerts

    with console(october, tmp_path / "console.log") as url:
        open_console(page, url)
        assert run_id in page.get_by_text("taken at").inner_text()
        assert metric(page, "Bills") == str(bills)
        assert metric(page, "Billed (元)") == yuan(billed)
        assert metric(page, "Held bills") == str(held)
        assert metric(page, "Held (元)") == yuan(held_yuan)
        assert metric(page, "Adjustment lines") == str(lines)
        assert metric(page, "Adjustments (元)") == yuan(adjusted)
        assert table_rows(page)[PERIOD] == [str(bills), yuan(billed), str(held), str(lines),
                                            yuan(adjusted), yuan(billed + adjusted)]
        screenshot(page, "console_bills")

        open_tab(page, "Margin")
        rows = table_rows(page)
        assert set(rows) == {retailer for retailer, *_ in margin}
        for retailer, customers, revenue, cost, spread in margin:
            assert rows[retailer][0] == str(customers)
            assert rows[retailer][2:5] == [yuan(revenue), yuan(cost), yuan(spread)]
        screenshot(page, "console_margin")

        open_tab(page, "Alerts")
        assert metric(page, "Alerts") == str(sum(alerts.values()))
        assert {t: int(n[0]) for t, n in table_rows(page).items()} == alerts
        screenshot(page, "console_alerts")

        open_tab(page, "VEE quality")
        screenshot(page, "console_quality")
        page.get_by_role("tab", name="Load").click()
        page.get_by_role("tabpanel").get_by_text("Load profile of").wait_for()
        assert "(96 points)" in page.get_by_role("tabpanel").inner_text()
        screenshot(page, "console_load")


# Holds the snapshot open and reads it every 0.2 s (one JSON line per read to the log) until a
# line arrives on stdin; then reads once more on the same connection, reconnects and reads again.
READER = r"""
import json, sys, threading, time, duckdb

STATE = '''
    select (select max(run_id) from _snapshot.tables),
           (select count(*) from finance.adjustments),
           (select coalesce(sum(amount_delta_yuan), 0)::varchar from finance.adjustments),
           (select sum(total_yuan)::varchar from finance.bills)'''

def read(con, label, log):
    run_id, lines, adjusted, billed = con.execute(STATE).fetchone()
    log.write(json.dumps({"label": label, "at": time.time(), "run_id": run_id, "lines": lines,
                          "adjusted": adjusted, "billed": billed}) + "\n")
    log.flush()

stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()
with open(sys.argv[2], "w") as log:
    con = duckdb.connect(sys.argv[1], read_only=True)
    while not stop.is_set():
        read(con, "held", log)
        time.sleep(0.2)
    read(con, "held", log)
    con.close()
    read(duckdb.connect(sys.argv[1], read_only=True), "reconnected", log)
"""


def state(flow: Flow) -> dict:
    """What the reader reads, from the warehouse itself (read-only, after the job)."""
    (lines, adjusted, billed), = flow.sql(
        "select (select count(*) from finance.adjustments), "
        "(select coalesce(sum(amount_delta_yuan), 0)::varchar from finance.adjustments), "
        "(select sum(total_yuan)::varchar from finance.bills)")
    return {"lines": lines, "adjusted": adjusted, "billed": billed}


@pytest.mark.writes
def test_a_reader_sees_the_old_snapshot_during_the_monthly_job_then_the_new_one(
        october: Flow, page, tmp_path: Path):
    from dagster import DagsterInstance

    from foundation.resources import Gridledger
    from orchestration.runner import RANGE_END, RANGE_START, run_job
    from tools.demo_resettlement import close_and_correct

    october_1 = date(2026, 10, 1)
    landing = Gridledger(warehouse=str(october.warehouse),
                         data_dir=str(october.data_dir)).landing_dir
    correction = close_and_correct(october.warehouse, landing, october_1)
    before = state(october)
    snapshot = bi_snapshot_path(october.warehouse)
    defs = october.defs()
    with DagsterInstance.ephemeral() as instance:
        day = f"{correction.day}"
        daily = run_job(defs, "daily_job", instance, {RANGE_START: day, RANGE_END: day})
        assert daily.success
        (daily_snapshot,), = snapshot_sql(october, "select distinct run_id from _snapshot.tables")
        assert daily_snapshot == daily.run_id  # the daily run refreshed the snapshot too
        started = [e.step_key for e in daily.all_events if e.event_type_value == "STEP_START"]
        # the snapshots last: after the blocking VEE gate passed
        gate = started.index("core__int_interval_validated_validated_consumption_gate")
        assert set(started[-2:]) == {"bi__snapshot", "sms__service_snapshot"}
        assert gate < started.index("bi__snapshot")

        log = tmp_path / "reader.jsonl"
        reader = subprocess.Popen([sys.executable, "-c", READER, str(snapshot), str(log)],
                                  stdin=subprocess.PIPE, text=True)
        try:
            while not log.exists() or not log.read_text():  # the reader holds the snapshot
                assert reader.poll() is None
                time.sleep(0.1)
            monthly = run_job(defs, "monthly_job", instance, partition_key=f"{october_1}",
                              raise_on_error=False)
            ended = json.loads(log.read_text().splitlines()[-1])["at"]
            reader.stdin.write("\n")
            reader.stdin.flush()
            assert reader.wait(timeout=60) == 0
        finally:
            if reader.poll() is None:
                reader.kill()
    assert monthly.success  # the job did not fail with a reader on the snapshot
    after = state(october)
    assert after["lines"] > before["lines"] == 0  # the corrected day became adjustments
    assert after["billed"] == before["billed"]  # the issued bills stayed as they were

    reads = [json.loads(line) for line in log.read_text().splitlines()]
    held, reconnected = reads[:-1], reads[-1]
    assert len([r for r in held if r["at"] <= ended]) > 10  # read all along the job
    for read in held:  # the held connection: the daily run's snapshot, before the job
        assert (read["run_id"], read["lines"], read["adjusted"], read["billed"]) == (
            daily.run_id, before["lines"], before["adjusted"], before["billed"])
    assert reconnected["label"] == "reconnected"
    assert (reconnected["run_id"], reconnected["lines"], reconnected["adjusted"],
            reconnected["billed"]) == (monthly.run_id, after["lines"], after["adjusted"],
                                       after["billed"])

    with console(october, tmp_path / "console.log") as url:  # a new page: the new snapshot
        open_console(page, url)
        assert monthly.run_id in page.get_by_text("taken at").inner_text()
        assert metric(page, "Adjustment lines") == str(after["lines"])
        assert metric(page, "Adjustments (元)") == yuan(Decimal(after["adjusted"]))
        screenshot(page, "console_after_resettlement")
