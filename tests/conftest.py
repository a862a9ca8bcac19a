"""Shared fixtures: an isolated warehouse and data folder per test, and the flow runner.

Layout: tests/unit (fast: no Dagster run, no dbt build) and tests/integration (real jobs, real
dbt, real receivers). The helper modules beside this file (builders, receivers) are importable
as `tests.<name>` and by their plain names (`pytest_plugins = ["receivers"]`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

TESTS_DIR = Path(__file__).resolve().parent
if str(TESTS_DIR) not in sys.path:  # `import builders`, `pytest_plugins = ["receivers"]`
    sys.path.insert(0, str(TESTS_DIR))


class Flow:
    """Run the real Dagster jobs in-process against one temporary warehouse."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.warehouse = root / "warehouse.duckdb"
        self.data_dir = root / "data"

    def defs(self):
        from foundation.resources import Gridledger
        from orchestration.build import build_defs

        return build_defs(
            {"gridledger": Gridledger(warehouse=str(self.warehouse), data_dir=str(self.data_dir))}
        )

    def run(self, first: date, last: date, raise_on_error: bool = False):
        from dagster import DagsterInstance

        from orchestration.runner import run_flow

        with DagsterInstance.ephemeral() as instance:
            results, _ = run_flow(self.defs(), first, last, instance, raise_on_error)
        return results

    def sql(self, query: str, params: list | None = None) -> list[tuple]:
        from foundation.warehouse import connect

        with connect(self.warehouse, read_only=True) as con:
            return con.execute(query, params or []).fetchall()


def _flow(root: Path, monkeypatch: pytest.MonkeyPatch) -> Flow:
    flow = Flow(root)
    monkeypatch.setenv("GRIDLEDGER_WAREHOUSE", str(flow.warehouse))
    monkeypatch.setenv("GRIDLEDGER_DATA_DIR", str(flow.data_dir))
    return flow


@pytest.fixture
def flow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Flow:
    """A fresh warehouse and data folder for one test."""
    return _flow(tmp_path, monkeypatch)


@pytest.fixture(scope="module")
def module_flow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flow]:
    """A warehouse shared by the tests of one module (the flow is slow to run)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield _flow(tmp_path_factory.mktemp("flow"), monkeypatch)
