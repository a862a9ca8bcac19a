"""The bench's analytics stage (issue 11): master data without meter data for a customer count
of its own, and the options it refuses. No Dagster run here (`make bench` is the run)."""

from __future__ import annotations

import pytest

from tools.bench import main, meters_for_customers
from tools.sample_data import generate


def test_master_data_without_landing_files_are_the_same_master_data(tmp_path):
    full = generate(tmp_path / "full", 12, 1, "2026-10", 3, fmt="parquet", history_years=2)
    bare = generate(tmp_path / "bare", 12, 1, "2026-10", 3, fmt="parquet", history_years=2,
                    landing=False)
    assert bare["customers"] == full["customers"] and bare["landing"] is False
    assert not any((tmp_path / "bare" / "landing" / "reads").iterdir())
    for name in ("customers", "metering_points", "contracts", "contacts", "contract_history",
                 "payments", "service_tickets"):
        assert (tmp_path / "bare" / "master" / f"{name}.csv").read_bytes() == \
            (tmp_path / "full" / "master" / f"{name}.csv").read_bytes(), name
    assert set(bare["fault_counts"].values()) == {0}


def test_meters_for_a_customer_count():
    meters = meters_for_customers(300, 7)
    from numpy.random import default_rng

    from tools.sample_data.master import build_customers

    assert len(build_customers(default_rng([7, 1]), meters)) >= 300
    assert meters < 300 / 0.9


@pytest.mark.parametrize("argv", [["--stages", "meters", "--customers", "10"],
                                  ["--customers", "10"], ["--stages", "bills"],
                                  ["--months", "0"]])
def test_options_the_bench_refuses(argv, capsys):
    with pytest.raises(SystemExit):
        main(argv)
    assert "error" in capsys.readouterr().err
