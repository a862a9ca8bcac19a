"""Warehouses built by the real Dagster jobs, once per test run, and cheap copies of them.

A scenario is a folder with `warehouse.duckdb` (the same file name in every copy, so dbt's
compiled SQL finds the same DuckDB catalog) and `data/` (landing, master, edits, inbox). Building
one runs reference, daily and monthly jobs (a minute or more); copying one is a file copy.

The session fixtures (tests/integration/conftest.py) build each scenario once per test run. A test
module takes one through `scenario_fixture`: tests that only read share the built warehouse
(`Flow.sql` opens it read-only), and after each such test the files under the scenario's root are
compared with before, so a test that writes fails loudly. A test that writes is marked
`@pytest.mark.writes` and gets its own copy of the warehouse and data folder;
`@pytest.mark.writes("name")` gives the tests of a module marked with the same name one copy
between them (in file order), for tests that build on each other's changes.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest

OCTOBER = (date(2026, 10, 1), date(2026, 10, 31))
JULY = (date(2026, 7, 1), date(2026, 7, 31))


class Flow:
    """Run the real Dagster jobs in-process against one temporary warehouse."""

    def __init__(self, root: Path, record_runs: bool = False) -> None:
        self.root = root
        self.warehouse = root / "warehouse.duckdb"
        self.data_dir = root / "data"
        # runs on the persistent instance in `dagster_home` (for a UI opened on the scenario),
        # else on an ephemeral one: a persistent instance captures compute logs (a `tail`
        # process per step), which costs every run of the suite time
        self.record_runs = record_runs

    def defs(self):
        from foundation.resources import Gridledger
        from orchestration.build import build_defs

        return build_defs(
            {"gridledger": Gridledger(warehouse=str(self.warehouse), data_dir=str(self.data_dir))}
        )

    @property
    def dagster_home(self) -> Path:
        """The scenario's persistent Dagster instance: its runs are recorded there, as `make demo`
        records its own in `var/dagster_home`, so a UI opened on it shows them (copied along)."""
        return self.root / "dagster_home"

    def instance(self):
        """The scenario's Dagster instance (created with the project's `dagster.yaml`)."""
        from dagster import DagsterInstance

        from foundation.paths import PROJECT_ROOT

        self.dagster_home.mkdir(parents=True, exist_ok=True)
        settings = self.dagster_home / "dagster.yaml"
        if not settings.exists():
            shutil.copyfile(PROJECT_ROOT / "dagster.yaml", settings)
        return DagsterInstance.local_temp(str(self.dagster_home))

    def run(self, first: date, last: date, raise_on_error: bool = False):
        from dagster import DagsterInstance

        from orchestration.runner import run_flow

        with (self.instance() if self.record_runs else DagsterInstance.ephemeral()) as instance:
            results, _ = run_flow(self.defs(), first, last, instance, raise_on_error)
        return results

    def sql(self, query: str, params: list | None = None) -> list[tuple]:
        from foundation.warehouse import connect

        with connect(self.warehouse, read_only=True) as con:
            return con.execute(query, params or []).fetchall()


PATH_ATTRIBUTES = ("root", "warehouse", "data_dir", "record_runs")  # not carried to a copy
COPIES = pytest.StashKey[dict[tuple[str, str, str], Flow]]()


@contextmanager
def pointed_at(flow: Flow) -> Iterator[Flow]:
    """`$GRIDLEDGER_WAREHOUSE` and `$GRIDLEDGER_DATA_DIR` at the flow's files, restored after."""
    saved = {name: os.environ.get(name) for name in ("GRIDLEDGER_WAREHOUSE",
                                                     "GRIDLEDGER_DATA_DIR")}
    os.environ["GRIDLEDGER_WAREHOUSE"] = str(flow.warehouse)
    os.environ["GRIDLEDGER_DATA_DIR"] = str(flow.data_dir)
    try:
        yield flow
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def copy_flow(source: Flow, root: Path) -> Flow:
    """A private copy of a built scenario (warehouse, data folder, everything under its root),
    with the attributes its builder recorded (manifest, job results, ...)."""
    shutil.copytree(source.root, root, dirs_exist_ok=True)
    copy = Flow(root)
    for name, value in vars(source).items():
        if name not in PATH_ATTRIBUTES:
            setattr(copy, name, value)
    return copy


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Size and modification time of every file under a scenario root (to catch writers)."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def build(root: Path, write: Callable[[Flow], None], span: tuple[date, date],
          record_runs: bool = False) -> Flow:
    """Write a scenario's input files, then run reference, daily and monthly jobs over a span of
    one month; every job must succeed. `record_runs`: on the scenario's persistent instance."""
    flow = Flow(root, record_runs)
    with pointed_at(flow):
        write(flow)
        flow.results = flow.run(*span)
    assert [r.success for r in flow.results] == [True, True, True]  # reference, daily, monthly
    return flow


def october_demo(root: Path) -> Flow:
    """Generated October 2026: 40 meters, seed 5, every injected fault type (tools.sample_data),
    through reference, daily and monthly jobs."""
    from tools.sample_data import generate

    def write(flow: Flow) -> None:
        flow.manifest = generate(flow.data_dir, meters=40, months=1, start="2026-10", seed=5)

    flow = build(root, write, OCTOBER)
    flow.daily_result = flow.results[1]
    return flow


def worked_bill_month(root: Path) -> Flow:
    """domain.md §1 worked bill (Tangshan 10 kV two-part customer, July 2026) through reference,
    daily and monthly jobs."""
    from tests.builders import write_worked_bill_case

    # its runs recorded on its instance: tests/integration/test_dagster_ui.py opens a UI on it
    return build(root, lambda flow: write_worked_bill_case(flow.data_dir), JULY, record_runs=True)


USERS: dict[str, set[str]] = {}  # test module name -> session scenarios it uses


def xdist_group(module_name: str) -> str:
    """Under pytest-xdist: the modules sharing a scenario share a group (one worker builds it),
    every other module is a group of its own (its module fixtures are built once too)."""
    return "+".join(sorted(USERS.get(module_name, ()))) or module_name


def scenario_fixture(scenario: str, name: str):
    """A function fixture `name`: the session scenario `scenario` for a reading test, a copy for a
    test marked `writes`, with `$GRIDLEDGER_WAREHOUSE` / `$GRIDLEDGER_DATA_DIR` pointing at it."""
    USERS.setdefault(sys._getframe(1).f_globals["__name__"], set()).add(scenario)

    @pytest.fixture(name=name)
    def fixture(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                monkeypatch: pytest.MonkeyPatch) -> Iterator[Flow]:
        shared: Flow = request.getfixturevalue(scenario)
        marker = request.node.get_closest_marker("writes")
        if marker is None:
            flow, before = shared, snapshot(shared.root)
        else:
            group = marker.args[0] if marker.args else request.node.nodeid
            copies = request.config.stash.setdefault(COPIES, {})
            key = (request.node.module.__name__, scenario, group)
            if key not in copies:
                copies[key] = copy_flow(
                    shared, tmp_path_factory.mktemp(f"{scenario}_copy", numbered=True))
            flow, before = copies[key], None
        monkeypatch.setenv("GRIDLEDGER_WAREHOUSE", str(flow.warehouse))
        monkeypatch.setenv("GRIDLEDGER_DATA_DIR", str(flow.data_dir))
        yield flow
        if before is not None:
            changed = sorted(set(snapshot(shared.root).items()) ^ set(before.items()))
            assert not changed, (
                f"{request.node.nodeid} changed the shared {scenario} scenario "
                f"({', '.join(sorted({path for path, _ in changed}))}); mark it "
                "@pytest.mark.writes to give it a copy")

    return fixture


def module_copy_fixture(scenario: str, name: str):
    """A module fixture `name`: one private copy of the session scenario `scenario` for every test
    of the module (for a long-lived process that writes beside it, such as a Dagster UI on its
    instance), with `$GRIDLEDGER_WAREHOUSE` / `$GRIDLEDGER_DATA_DIR` pointing at it."""
    USERS.setdefault(sys._getframe(1).f_globals["__name__"], set()).add(scenario)

    @pytest.fixture(name=name, scope="module")
    def fixture(request: pytest.FixtureRequest,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flow]:
        shared: Flow = request.getfixturevalue(scenario)
        copy = copy_flow(shared, tmp_path_factory.mktemp(f"{scenario}_copy", numbered=True))
        with pointed_at(copy):
            yield copy

    return fixture
