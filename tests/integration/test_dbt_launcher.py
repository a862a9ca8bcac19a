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


def singular_test_descriptions(target: Path) -> dict[str, str]:
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    return {node["name"]: node["description"] for node in manifest["nodes"].values()
            if node["resource_type"] == "test" and node["name"].startswith("assert_")}


def test_a_changed_macro_means_a_full_parse_so_singular_tests_keep_their_yaml(tmp_path):
    """dbt-core 1.11 re-parses a singular test after a macro changed without re-reading the YAML
    that describes it (tests/_tests.yml), so the test loses its description. The launcher does
    a full parse instead. The change is simulated in the saved parse (the macro's checksum), so
    the project's files stay as they are."""
    from dbt.contracts.graph.manifest import Manifest
    from dbt.parser.manifest import extended_mashumaro_encoder, extended_mashumuro_decoder

    def with_changed_macro(parsed: str, name: str) -> None:
        """tmp/name: the saved parse of tmp/parsed with macros/money.sql's checksum changed."""
        saved = Manifest.from_msgpack((tmp_path / parsed / PARSE_FILE).read_bytes(),
                                      decoder=extended_mashumuro_decoder)
        (money,) = [f for f in saved.files.values() if f.path.relative_path == "money.sql"
                    and f.path.searched_path == "macros"]
        money.checksum = type(money.checksum)(name="sha256", checksum="0" * 64)
        (tmp_path / name).mkdir()
        (tmp_path / name / PARSE_FILE).write_bytes(saved.to_msgpack(extended_mashumaro_encoder))

    vars_a = window("2026-07-01", "2026-08-01", "a")
    first, _ = parse(tmp_path, "first", vars_a)
    described = singular_test_descriptions(first)
    assert len(described) >= 5 and all(described.values())
    with_changed_macro("first", "changed")
    launched, log = parse(tmp_path, "launched", vars_a, seed_from="changed")
    assert "a macro or singular test changed" in log
    assert singular_test_descriptions(launched) == described

    # dbt alone reuses its own parse and drops them (the bug the launcher works around)
    plain_dbt = str(Path(sys.executable).parent / "dbt")
    parse(tmp_path, "plain_first", vars_a, executable=plain_dbt)
    with_changed_macro("plain_first", "plain_changed")
    plain, plain_log = parse(tmp_path, "plain", vars_a, seed_from="plain_changed",
                             executable=plain_dbt)
    assert "Unable to do partial parsing" not in plain_log
    assert not all(singular_test_descriptions(plain).values())
