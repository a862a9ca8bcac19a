"""Shared fixtures: an isolated warehouse and data folder per test, and the flow runner."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


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
