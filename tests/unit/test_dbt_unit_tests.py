"""The dbt unit tests (`unit_tests:` given/expect in transforms/models/**/_*.yml) on a fresh DuckDB.

Model inputs are SQL fixtures and seed inputs dict rows, so dbt only needs the seed tables to
exist (for their column types): `dbt seed`, then `dbt test --select test_type:unit`. Target and
log folders are temporary, so transforms/target (Dagster's manifest) is never touched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from foundation.paths import TRANSFORMS_DIR

UNIT_TESTS = {  # model.test; hand-computed expectations in the model's YAML
    "fct_settlement_lines.tiered_package_splits_kwh_into_volume_tiers",
    "int_customer_month.power_factor_rate_from_table_in_force",
    "fct_deviation_tiers.deviation_split_into_clause_tiers",
}


def dbt(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "dbt"
    env = {**os.environ, "GRIDLEDGER_WAREHOUSE": str(tmp / "warehouse.duckdb"),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    return subprocess.run(
        [str(exe), *args, "--project-dir", str(TRANSFORMS_DIR),
         "--profiles-dir", str(TRANSFORMS_DIR),
         "--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs")],
        cwd=tmp, env=env, capture_output=True, text=True,
    )


def test_dbt_unit_tests_pass_on_a_fresh_warehouse(tmp_path):
    seeded = dbt(tmp_path, "seed")
    assert seeded.returncode == 0, seeded.stdout[-3000:]

    result = dbt(tmp_path, "test", "--select", "test_type:unit")
    assert result.returncode == 0, result.stdout[-5000:]

    results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    assert len(results) == len(UNIT_TESTS) == 3
    assert {r["unique_id"] for r in results} == {f"unit_test.gridledger.{t}" for t in UNIT_TESTS}
    assert {r["status"] for r in results} == {"pass"}
