"""Shared fixtures: an isolated warehouse and data folder per test, and the flow runner.

Layout: tests/unit (fast: no Dagster run, no dbt build) and tests/integration (real jobs, real
dbt, real receivers). The helper modules beside this file (builders, receivers, scenarios) are
importable as `tests.<name>` and by their plain names (`pytest_plugins = ["receivers"]`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
# Set, not defaulted, before any project import (the partitions read it once): the earliest
# month any test uses is October 2012, the real SGSC sample (tests/integration/test_real_data.py).
# The default (foundation.partitions.DEFAULT_FIRST_MONTH) is the demo's first month, later than
# most scenarios.
os.environ["GRIDLEDGER_FIRST_MONTH"] = "2012-10"

from tests.scenarios import Flow  # noqa: E402

TESTS_DIR = Path(__file__).resolve().parent
if str(TESTS_DIR) not in sys.path:  # `import builders`, `pytest_plugins = ["receivers"]`
    sys.path.insert(0, str(TESTS_DIR))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "writes(name=None): the test changes its scenario, so it gets a copy (one per test, or "
        "one per module and name); see tests/scenarios.py",
    )


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With pytest-xdist (`--dist loadgroup`), keep each module on one worker and the modules
    that share a session scenario together, so that every warehouse is still built once."""
    if not config.pluginmanager.hasplugin("xdist"):
        return
    from tests.scenarios import xdist_group

    for item in items:
        module = getattr(item, "module", None)
        if module is not None and item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(xdist_group(module.__name__)))


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
