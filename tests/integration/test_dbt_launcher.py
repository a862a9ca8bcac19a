"""The dbt launcher (orchestration/dbt_launcher.py) reuses a parse across runtime vars only, and
the reused parse is the parse dbt itself would make."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from orchestration.dbt_launcher import PARSE_FILE, parse_key
from tests.builders import run_dbt_cli

VOLATILE = {"created_at", "generated_at", "invocation_id", "invocation_started_at",
            "run_started_at", "checksum"}


def parse(tmp: Path, name: str, dbt_vars: dict, seed_from: str | None = None,
          executable: str | None = None) -> tuple[Path, str]:
    """`dbt parse` into tmp/name (seeded with the partial parse of tmp/seed_from); its target
    folder and its log."""
    target = tmp / name
    if seed_from is not None:
        target.mkdir()
        shutil.copyfile(tmp / seed_from / PARSE_FILE, target / PARSE_FILE)
    done = run_dbt_cli(target, "parse", dbt_vars=dbt_vars, executable=executable)
    assert done.returncode == 0, done.stdout[-3000:]
    return target, (target / "dbt.log").read_text(encoding="utf-8")


def nodes(target: Path) -> dict:
    """The manifest's nodes, sources and macros without timestamps and ids (and sorted lists:
    dbt writes some dependency lists in no fixed order)."""
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))

    def clean(value):
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if k not in VOLATILE}
        if isinstance(value, list):
            return sorted((clean(v) for v in value), key=json.dumps)
        return value

    return clean({key: manifest[key] for key in ("nodes", "sources", "macros")})


def window(start: str, end: str, folder: str) -> dict:
    return {"min_date": start, "max_date": end,
            "gridledger_warehouse": f"/tmp/{folder}/warehouse.duckdb",
            "gridledger_restricted": f"/tmp/{folder}/warehouse.restricted.duckdb"}


def test_a_new_window_and_warehouse_reuse_the_parse_and_parse_the_same(tmp_path):
    first, _ = parse(tmp_path, "first", window("2026-07-01", "2026-08-01", "a"))
    other_window = window("2025-01-01", "2025-03-01", "b")
    reused, log = parse(tmp_path, "reused", other_window, seed_from="first")
    assert "Unable to do partial parsing" not in log
    assert "PartialParsingEnabled" in log or "Partial parsing enabled" in log

    # a full parse by dbt itself (no launcher) under the second window gives the same manifest
    plain, plain_log = parse(tmp_path, "plain", other_window, seed_from="first",
                             executable=str(Path(sys.executable).parent / "dbt"))
    assert "Unable to do partial parsing" in plain_log
    assert nodes(reused) == nodes(plain)
    # the test whose `where` names the window keeps placeholders, filled when it runs
    (where,) = {node["config"].get("where") for node in nodes(reused)["nodes"].values()
                if node["config"].get("where")}
    assert where == "reading_date >= __window_start__ and reading_date < __window_end__"


def test_a_parse_affecting_var_still_parses_the_whole_project(tmp_path):
    parse(tmp_path, "first", window("2026-07-01", "2026-08-01", "a"))
    staged = {**window("2026-07-01", "2026-08-01", "a"), "finance_schema": "finance_staging"}
    reparsed, log = parse(tmp_path, "staged", staged, seed_from="first")
    assert "Unable to do partial parsing because config vars" in log
    schemas = {node["schema"] for node in nodes(reparsed)["nodes"].values()
               if node["resource_type"] == "model" and "finance" in node["fqn"]}
    assert schemas == {"finance_staging"}
    assert parse_key(["build", "--vars", json.dumps(staged)]) != parse_key(
        ["build", "--vars", json.dumps(window("2025-01-01", "2025-03-01", "b"))])
    assert parse_key(["build"]) == parse_key(
        ["build", "--vars", json.dumps(window("2025-01-01", "2025-03-01", "b"))])
