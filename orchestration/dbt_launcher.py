"""The dbt command every run uses: dbt itself, with partial parsing kept across runs whose vars
differ only in values read when the SQL runs.

dbt re-parses the whole project (about ten seconds here) whenever its `--vars` or its profile's
connection change, because a var could change what parsing produces (a config, a ref). Ours
mostly do not: the partition window (`min_date`, `max_date`) and the run's warehouse and
restricted files (`gridledger_warehouse`, `gridledger_restricted`, which set the profile's paths)
are read only when SQL is compiled and run. The launcher leaves those out of the two hashes dbt
keeps in `partial_parse.msgpack` (the warehouse by file name only: the file name is the catalog
name in every relation), so a run with a new window or warehouse reuses the last parse, and dbt's
own checks still re-parse every changed file. Every other var (`finance_schema`, `as_of`, ...)
still forces a full parse, and a test (tests/unit/test_dbt_launcher.py) parses the project
under two windows and two warehouses and finds the manifests equal.

Parses are kept per set of parse-affecting vars in `target/partial_parse/` (`seed_parse` before
a run, `keep_parse` after it). The launcher script is written under `target/bin/`, pointing at
this interpreter: dagster-dbt runs it as its `dbt_executable`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pprint
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from foundation.paths import PROJECT_ROOT, TRANSFORMS_DIR

TARGET_DIR = TRANSFORMS_DIR / "target"
PARSE_CACHE_DIR = TARGET_DIR / "partial_parse"
PARSE_FILE = "partial_parse.msgpack"
# read when SQL is compiled and run, never when the project is parsed
RUNTIME_VARS = frozenset({"min_date", "max_date", "gridledger_warehouse", "gridledger_restricted"})
# part of every kept parse's key: a new version ignores the parses kept before it (version 2:
# parses kept before FULL_PARSE_FOLDERS may lack the singular tests' YAML patches)
CACHE_VERSION = 2


# dbt-core 1.11 drops a singular test's YAML patch (tests/_tests.yml: description, config) when
# partial parsing re-parses the test after its SQL or a macro changed, because it does not
# re-read the YAML that patches it (same family as dbt-core #10801). Any change under these
# folders therefore means a full parse.
FULL_PARSE_FOLDERS = ("macros", "tests")


def main() -> None:
    """Run dbt's command line with the runtime vars left out of the partial-parse check."""
    from dbt.cli.main import cli

    keep_parse_across_runtime_vars()
    full_parse_when_singular_tests_would_lose_patches()
    sys.exit(cli())


def full_parse_when_singular_tests_would_lose_patches() -> None:
    """Wrap dbt's `is_partial_parsable`: a saved parse whose macros or tests/ files differ from
    the project's (content hash, as dbt checksums them, or a file added or removed) is not
    reused (dbt-core 1.11; another version is left unpatched)."""
    from dbt.events.types import UnableToPartialParse
    from dbt.parser.manifest import ManifestLoader, ReparseReason
    from dbt_common.events.functions import fire_event

    original: Callable = ManifestLoader.is_partial_parsable
    if getattr(original, "_gridledger", False):
        return

    def is_partial_parsable(self, manifest):
        valid, reason = original(self, manifest)
        root = self.root_project.project_root
        if valid and _saved_hashes(manifest, root) != _project_hashes(root):
            fire_event(UnableToPartialParse(reason="a macro or singular test changed (its YAML "
                                                   "patch would be lost: full parse)"))
            return False, ReparseReason.file_not_found
        return valid, reason

    is_partial_parsable._gridledger = True  # type: ignore[attr-defined]
    ManifestLoader.is_partial_parsable = is_partial_parsable


def _saved_hashes(manifest: Any, project_root: str) -> dict[str, str]:
    """path in the project -> sha256 of the saved parse's project files under
    FULL_PARSE_FOLDERS (not the adapters' own macros)."""
    saved = {}
    for f in manifest.files.values():
        path = PurePosixPath(f.path.searched_path) / f.path.relative_path
        if (f.path.project_root == project_root and path.parts[0] in FULL_PARSE_FOLDERS
                and path.suffix in (".sql", ".yml", ".yaml")):
            saved[str(path)] = f.checksum.checksum
    return saved


def _project_hashes(project_root: str) -> dict[str, str]:
    """path in the project -> sha256 of the project's .sql and .yml files under
    FULL_PARSE_FOLDERS, as dbt checksums them (the stripped text)."""
    from dbt.contracts.files import FileHash
    from dbt_common.clients.system import load_file_contents

    root = Path(project_root)
    return {str(p.relative_to(root)): FileHash.from_contents(
                load_file_contents(str(p), strip=True)).checksum
            for folder in FULL_PARSE_FOLDERS for p in sorted((root / folder).rglob("*"))
            if p.is_file() and p.suffix in (".sql", ".yml", ".yaml")}


def keep_parse_across_runtime_vars() -> None:
    """Wrap dbt's manifest state check so the runtime vars and the warehouse's folder do not
    count (dbt-core 1.11; another version is left unpatched, which is slower, never wrong)."""
    from dbt.parser.manifest import ManifestLoader

    original: Callable = ManifestLoader.build_manifest_state_check
    if getattr(original, "_gridledger", False):
        return

    def build_manifest_state_check(self):
        state = original(self)
        config = self.root_project
        return dataclasses.replace(
            state,
            vars_hash=_vars_hash(config.cli_vars, getattr(config.args, "profile", ""),
                                 getattr(config.args, "target", "")),
            profile_hash=_profile_hash(config.credentials.connection_info()),
        )

    build_manifest_state_check._gridledger = True  # type: ignore[attr-defined]
    ManifestLoader.build_manifest_state_check = build_manifest_state_check


def _vars_hash(cli_vars: dict[str, Any], profile: str | None, target: str | None):
    """dbt's own vars hash (same formula), over the parse-affecting vars only."""
    from dbt.contracts.files import FileHash
    from dbt.version import __version__

    parse_vars = {k: v for k, v in cli_vars.items() if k not in RUNTIME_VARS}
    return FileHash.from_contents(
        "\x00".join([pprint.pformat(parse_vars), profile or "", target or "", __version__]))


def _profile_hash(connection_info):
    """dbt's own profile hash (same formula), with file paths reduced to their file names."""
    from dbt.contracts.files import FileHash

    keys = sorted((key, _file_names(key, value)) for key, value in connection_info)
    return FileHash.from_contents(pprint.pformat(keys))


def _file_names(key: str, value: Any) -> Any:
    if key == "path" and isinstance(value, str):
        return PurePosixPath(value).name
    if key == "attach" and isinstance(value, list):
        return [{**item, "path": PurePosixPath(str(item.get("path"))).name}
                if isinstance(item, dict) else item for item in value]
    return value


def parse_key(args: Sequence[str]) -> str:
    """The cache key of a dbt command line: a hash of its parse-affecting vars."""
    cli_vars: dict[str, Any] = {}
    if "--vars" in args:
        cli_vars = json.loads(args[list(args).index("--vars") + 1])
    parse_vars = {k: v for k, v in cli_vars.items() if k not in RUNTIME_VARS}
    keyed = {"parse_vars": parse_vars, "cache": CACHE_VERSION}
    return hashlib.sha256(json.dumps(keyed, sort_keys=True).encode()).hexdigest()[:16]


def seed_parse(target_path: Path, args: Sequence[str]) -> None:
    """Put the kept parse for these vars (if any) in a run's target folder before dbt starts,
    unless the folder has a parse already."""
    kept = PARSE_CACHE_DIR / f"{parse_key(args)}.msgpack"
    if kept.exists() and not (target_path / PARSE_FILE).exists():
        target_path.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(kept, target_path / PARSE_FILE)


def keep_parse(target_path: Path, args: Sequence[str]) -> None:
    """Keep a finished run's parse for the next run with the same parse-affecting vars
    (replaced atomically: parallel runs never read half a file)."""
    written = target_path / PARSE_FILE
    if not written.exists():
        return
    PARSE_CACHE_DIR.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=PARSE_CACHE_DIR, suffix=".tmp")
    os.close(handle)
    shutil.copyfile(written, temporary)
    os.replace(temporary, PARSE_CACHE_DIR / f"{parse_key(args)}.msgpack")


def launcher() -> str:
    """The path of the launcher script for this interpreter (written when missing or changed)."""
    script = TARGET_DIR / "bin" / "dbt"
    text = (f"#!{sys.executable}\n"
            "import sys\n"
            f"sys.path.insert(0, {str(PROJECT_ROOT)!r})\n"
            "from orchestration.dbt_launcher import main\n"
            "main()\n")
    if not script.exists() or script.read_text(encoding="utf-8") != text:
        script.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=script.parent, suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, 0o755)
        os.replace(temporary, script)
    return str(script)
