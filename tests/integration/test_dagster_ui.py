"""The Dagster UI tells the month's story: a real `dagster-webserver` on the workspace, opened on
the instance where the worked-bill month's runs were recorded (reference, daily, monthly: the
scenario runs them on a persistent instance, as `make demo` does), driven by headless chromium.

What a user opening `make ui` after `make demo` must see: the asset graph, the gate checks with
their results, every sensor and the schedule stopped (their documented default) and, under each
job, its runs. Screenshots go to var/screenshots/ui_*.png.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import screenshot, serving
from tests.receivers import free_port
from tests.scenarios import Flow, module_copy_fixture

pytest_plugins = ["browser"]

ROOT = Path(__file__).resolve().parents[2]
LOCATION = "/locations/orchestration.definitions"
SWITCH = "label[class*='formatSwitch'] input[type=checkbox]"  # the UI's on/off toggles
SENSORS = ("landing_file_sensor", "termination_inbox_sensor", "curtailment_sensor",
           "notice_retry_sensor")
SCHEDULE = "monthly_job_schedule"

worked = module_copy_fixture("worked_bill_month", "worked")


@pytest.fixture(scope="module")
def ui(worked: Flow, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The webserver `make ui` runs (without the daemon: nothing is launched), on the scenario's
    instance and warehouse; its base URL."""
    port = free_port()
    webserver = Path(sys.executable).parent / "dagster-webserver"
    log = tmp_path_factory.mktemp("ui") / "webserver.log"
    command = [str(webserver), "-w", str(ROOT / "workspace.yaml"), "-h", "127.0.0.1",
               "-p", str(port)]
    env = {"DAGSTER_HOME": str(worked.dagster_home), "GRIDLEDGER_WAREHOUSE": str(worked.warehouse),
           "GRIDLEDGER_DATA_DIR": str(worked.data_dir)}
    with (worked.dagster_home / "dagster.yaml").open("a") as settings:  # a busy CI machine
        settings.write("\ncode_servers:\n  local_startup_timeout: 600\n")
    base = f"http://127.0.0.1:{port}"
    with serving(command, f"{base}/server_info", log, env=env, timeout=600):
        wait_for_code_location(base, timeout=600)
        yield base


LOCATION_STATUS = """{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus
  locationOrLoadError { __typename ... on PythonError { message } } } } } }"""


def wait_for_code_location(base: str, timeout: float) -> None:
    """Wait until the webserver has loaded the code location (definitions, dbt manifest): it
    answers /server_info before that. Fails with the load error if loading failed."""
    deadline = time.monotonic() + timeout
    while True:
        request = urllib.request.Request(f"{base}/graphql", method="POST",
                                         data=json.dumps({"query": LOCATION_STATUS}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            entries = json.load(response)["data"]["workspaceOrError"]["locationEntries"]
        loaded = [e for e in entries if e["loadStatus"] == "LOADED"]
        if loaded and all(e["locationOrLoadError"]["__typename"] == "RepositoryLocation"
                          for e in loaded):
            return
        errors = [e["locationOrLoadError"].get("message") for e in loaded]
        assert not any(errors), f"the code location did not load: {errors}"
        if time.monotonic() > deadline:
            pytest.fail(f"the code location did not load in {timeout:.0f} s: {entries}")
        time.sleep(2)


def open_page(page, url: str) -> None:
    """Go to `url`; the UI's one-time community dialog, whenever it covers the page, is skipped."""
    if not getattr(page, "_skips_dialog", False):
        page.add_locator_handler(page.get_by_role("button", name="Skip"),
                                 lambda skip: skip.click())
        page._skips_dialog = True
    page.goto(url)


def test_the_asset_graph_shows_the_stages_and_the_finance_assets(ui, page):
    open_page(page, f"{ui}/asset-groups")
    for group in ("reference", "ingestion", "validation", "settlement", "finance", "alerts"):
        page.get_by_text(group, exact=True).first.wait_for()
    screenshot(page, "ui_asset_graph")

    open_page(page, f"{ui}{LOCATION}/asset-groups/finance/lineage")  # centred on the bills
    # the graph fits the group to the screen and leaves the labels of far nodes out: look for
    # the two at its ends, and for every finance table in the catalog
    for asset in ("bills", "config_preflight"):
        page.get_by_text(asset, exact=True).first.wait_for()
    screenshot(page, "ui_finance_group")
    open_page(page, f"{ui}/assets/finance")
    for asset in ("bills", "bill_lines", "bill_documents", "adjustments"):
        page.get_by_text(asset, exact=True).first.wait_for()
    screenshot(page, "ui_finance_catalog")


def test_the_gate_check_shows_its_result_and_the_dbt_checks_their_descriptions(ui, page):
    open_page(page, f"{ui}/assets/core/int_interval_validated?view=checks")
    page.get_by_text("validated_consumption_gate", exact=True).first.click()
    # every interval of the worked month is an actual read: the gate passes
    page.get_by_text("This is a blocking asset check.").wait_for()
    page.get_by_text("Passed", exact=True).first.wait_for()
    screenshot(page, "ui_gate_check")

    # the list shows long check names truncated in the middle
    page.get_by_text("unique_combinat").filter(visible=True).first.click()
    page.get_by_text("One row of").first.wait_for()  # the dbt test's description
    assert page.get_by_text("No description provided").count() == 0


def test_every_sensor_and_the_schedule_start_stopped(ui, page):
    open_page(page, f"{ui}/automation")
    for name in (*SENSORS, SCHEDULE):
        page.get_by_text(name, exact=True).wait_for()
    page.locator(SWITCH).nth(len(SENSORS)).wait_for(state="attached")  # loaded after the list
    toggles = page.locator(SWITCH)
    assert toggles.count() == len(SENSORS) + 1
    assert [toggles.nth(i).is_checked() for i in range(toggles.count())] == [False] * 5
    screenshot(page, "ui_automation")

    for kind, name in [*(("sensors", s) for s in SENSORS), ("schedules", SCHEDULE)]:
        open_page(page, f"{ui}{LOCATION}/{kind}/{name}")
        page.get_by_text("Latest tick").first.wait_for()
        assert not page.locator(SWITCH).is_checked(), name


def test_each_job_page_lists_its_runs(ui, page, worked):
    reference, daily, monthly = worked.results
    for job, run in (("reference_job", reference), ("daily_job", daily),
                     ("monthly_job", monthly)):
        open_page(page, f"{ui}{LOCATION}/jobs/{job}/runs")
        page.get_by_text(run.run_id[:8], exact=True).wait_for()
        assert page.get_by_text("No runs found").count() == 0
        if job == "monthly_job":
            page.get_by_text("partition: 2026-07-01").first.wait_for()
            screenshot(page, "ui_monthly_job_runs")
    # one run each: the other jobs' runs are not listed under the monthly job
    assert page.get_by_text(daily.run_id[:8], exact=True).count() == 0


def test_dbt_materializations_carry_row_counts_and_column_types(worked):
    """What the asset pages show as row count and columns: dagster-dbt's queries after dbt
    exited, on the tables the run built (the bills in the run's staging schema)."""
    from dagster import AssetKey, DagsterInstance

    with DagsterInstance.local_temp(str(worked.dagster_home)) as instance:
        def metadata(*key: str) -> dict:
            event = instance.get_latest_materialization_event(AssetKey(list(key)))
            return event.asset_materialization.metadata

        bills, lines = metadata("finance", "bills"), metadata("finance", "bill_lines")
        validated = metadata("core", "int_interval_validated")
    assert bills["dagster/row_count"].value == 1  # C_WORKED, July 2026
    assert lines["dagster/row_count"].value == 11  # the 11 lines of domain.md §1
    assert validated["dagster/row_count"].value == 31 * 96 * 2  # 31 days × 96 × 2 channels
    types = {c.name: c.type for c in bills["dagster/column_schema"].value.columns}
    assert types["total_yuan"] == "DECIMAL(18,2)" and types["billed_kwh"] == "DECIMAL(38,3)"
