"""Scenarios shared by the integration tests: each is built once per test run (session scope).

Test modules take them through `scenarios.scenario_fixture` (read-only sharing, a copy for tests
marked `writes`); see tests/scenarios.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cached_property
from pathlib import Path

import pytest

from tests import scenarios
from tests.scenarios import Flow


@pytest.fixture(scope="session", autouse=True)
def dbt_version_asked_once() -> Iterator[None]:
    """dagster-dbt runs `dbt --version` (a Python start-up of dbt plus a PyPI query: several
    seconds) once per DbtCliResource instance, that is for every job run with a dbt step. The
    installed dbt does not change during a test run: ask it once per executable."""
    from dagster_dbt import DbtCliResource

    probe = DbtCliResource.__dict__.get("_cli_version")
    if not isinstance(probe, cached_property):  # dagster-dbt changed: leave it alone
        yield
        return
    versions: dict[str, object] = {}

    def cli_version(resource: DbtCliResource):
        if resource.dbt_executable not in versions:
            versions[resource.dbt_executable] = probe.func(resource)
        return versions[resource.dbt_executable]

    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(DbtCliResource, "_cli_version", property(cli_version))
        yield


def _built(factory: pytest.TempPathFactory, name: str, build: Callable[[Path], Flow]) -> Flow:
    return build(factory.mktemp(name, numbered=True))


@pytest.fixture(scope="session")
def october_demo(tmp_path_factory: pytest.TempPathFactory) -> Flow:
    """Generated October 2026 (40 meters, seed 5) through every job; shared, read-only."""
    return _built(tmp_path_factory, "october_demo", scenarios.october_demo)


@pytest.fixture(scope="session")
def worked_bill_month(tmp_path_factory: pytest.TempPathFactory) -> Flow:
    """domain.md §1 worked bill, July 2026, through every job; shared, read-only."""
    return _built(tmp_path_factory, "worked_bill_month", scenarios.worked_bill_month)
