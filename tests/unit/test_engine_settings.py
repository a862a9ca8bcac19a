"""DuckDB's memory limit and threads come from configuration and reach the platform's own
connections (foundation.warehouse); a bad value is refused naming the variable. dbt's side:
tests/integration/test_engine_settings_dbt.py."""

from __future__ import annotations

import pytest

from foundation.warehouse import MEMORY_LIMIT_ENV, THREADS_ENV, connect, engine_settings


def settings_of(con) -> tuple[str, str]:
    return con.execute("select current_setting('memory_limit'), "
                       "current_setting('threads')::varchar").fetchone()


def test_the_configured_memory_limit_and_threads_reach_every_connection(tmp_path, monkeypatch):
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "1GiB")
    monkeypatch.setenv(THREADS_ENV, "1")
    with connect(tmp_path / "warehouse.duckdb") as con:
        assert settings_of(con) == ("1.0 GiB", "1")
    with connect(tmp_path / "warehouse.duckdb", read_only=True) as con:
        assert settings_of(con) == ("1.0 GiB", "1")


def test_unset_leaves_duckdbs_defaults(tmp_path, monkeypatch):
    monkeypatch.delenv(MEMORY_LIMIT_ENV, raising=False)
    monkeypatch.delenv(THREADS_ENV, raising=False)
    assert engine_settings() == {}
    with connect(tmp_path / "warehouse.duckdb") as con:
        memory, threads = settings_of(con)
    assert memory != "1.0 GiB" and int(threads) >= 1


@pytest.mark.parametrize(("variable", "value", "expected"), [
    (MEMORY_LIMIT_ENV, "80%", "expected a size such as 8GB"),
    (MEMORY_LIMIT_ENV, "8GB'; drop table x; --", "expected a size such as 8GB"),
    (THREADS_ENV, "0", "expected a whole number of threads >= 1"),
    (THREADS_ENV, "two", "expected a whole number of threads >= 1"),
])
def test_a_bad_value_is_refused_naming_the_variable(variable, value, expected, tmp_path,
                                                    monkeypatch):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError, match=f"{variable}=.*{expected}"):
        engine_settings()
    with pytest.raises(ValueError, match=variable), connect(tmp_path / "warehouse.duckdb"):
        pass
