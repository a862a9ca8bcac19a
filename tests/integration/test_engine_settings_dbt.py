"""DuckDB's memory limit and threads from configuration reach dbt (the on-run-start hook in
transforms/macros/engine_settings.sql), and dbt refuses a bad value naming the variable."""

from __future__ import annotations

from foundation.warehouse import MEMORY_LIMIT_ENV, THREADS_ENV, connect
from tests.unit.test_dbt_unit_tests import dbt


def test_dbt_runs_with_the_configured_settings_and_refuses_a_bad_one(tmp_path, monkeypatch):
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "1500MB")
    monkeypatch.setenv(THREADS_ENV, "1")
    with connect(tmp_path / "warehouse.duckdb"):  # the warehouse and its restricted file
        pass
    seeded = dbt(tmp_path, "seed", "--select", "churn_risk_bands")
    assert seeded.returncode == 0, seeded.stdout[-3000:]
    # DuckDB shows 1500 MB (10^6 bytes) in MiB
    assert "DuckDB engine: memory_limit=1.3 GiB threads=1" in seeded.stdout

    monkeypatch.setenv(MEMORY_LIMIT_ENV, "lots")
    refused = dbt(tmp_path, "seed", "--select", "churn_risk_bands")
    assert refused.returncode != 0
    assert "GRIDLEDGER_DUCKDB_MEMORY_LIMIT='lots': expected a size such as 8GB" in refused.stdout
