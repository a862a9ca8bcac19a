"""The raw schema: file ledger, loaded reads and quarantine tables.

Every landing file gets exactly one ledger row per distinct (name, checksum); a file whose
checksum was already loaded under any name is recorded as `duplicate` and loads nothing.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb


@dataclass
class FileReport:
    """What one pass over a folder of files did; the loaders add their row counts by rule."""

    files_loaded: list[str] = field(default_factory=list)
    files_duplicate: list[str] = field(default_factory=list)
    files_quarantined: dict[str, str] = field(default_factory=dict)
    rows_loaded: int = 0


RAW_DDL = """
create schema if not exists raw;
create sequence if not exists raw.load_seq start 1;
create table if not exists raw.file_ledger (
    file_id bigint primary key,
    file_name varchar not null,
    file_kind varchar not null,
    sha256 varchar not null,
    size_bytes bigint not null,
    status varchar not null,          -- loaded | duplicate | quarantined
    rows_total bigint not null,
    rows_loaded bigint not null,
    rows_quarantined bigint not null,
    error varchar,
    min_timestamp timestamp,
    max_timestamp timestamp,
    ingested_at timestamp not null
);
create table if not exists raw.interval_reads (
    file_id bigint not null,
    source_row bigint not null,
    meter_id varchar not null,
    channel varchar not null,
    interval_start timestamp not null,
    interval_minutes smallint not null,
    value decimal(18, 3) not null,
    unit varchar not null,
    multiplier integer
);
create table if not exists raw.register_reads (
    file_id bigint not null,
    source_row bigint not null,
    meter_id varchar not null,
    channel varchar not null,
    read_at timestamp not null,
    register_value decimal(18, 2) not null
);
create table if not exists raw.weather_daily (
    file_id bigint not null,
    source_row bigint not null,
    region varchar not null,
    day date not null,
    temperature_c decimal(5, 1) not null,
    source varchar not null            -- observed | forecast
);
create table if not exists raw.quarantine_rows (
    file_id bigint not null,
    file_name varchar not null,
    source_row bigint not null,
    rule varchar not null,
    reason varchar not null,
    raw_record varchar
);
"""


@dataclass(frozen=True)
class LandingFile:
    """A file found in the landing folder, with its checksum."""

    path: Path
    sha256: str
    size_bytes: int

    @property
    def kind(self) -> str:
        """`interval`, `register`, `weather` or `unknown`, from the file-name prefix."""
        name = self.path.name
        if name.startswith("reads_"):
            return "interval"
        if name.startswith("registers_"):
            return "register"
        if name.startswith("weather_"):
            return "weather"
        return "unknown"


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw schema and tables if they do not exist."""
    con.execute(RAW_DDL)


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def quarantine_copy_name(name: str, sha256: str) -> str:
    """A safe file name for a quarantine copy: checksum prefix + a tame, short original name
    (the original name stays in the ledger)."""
    tame = re.sub(r"[^A-Za-z0-9._-]+", "_", name)[-80:].lstrip(".")
    return f"{sha256[:16]}_{tame}"


def link_checksum(path: Path) -> str:
    """Identity of a symbolic link: its target's path, never the content it points to."""
    return "link:" + hashlib.sha256(str(path.readlink()).encode()).hexdigest()[5:]


def scan_landing(landing_dir: Path) -> list[LandingFile]:
    """All files in the landing folder, sorted by name (arrival order of batches).

    Symbolic links are listed with the checksum of their target's path and never read, so
    the platform does not follow a link out of its folders (ingestion quarantines them)."""
    if not landing_dir.exists():
        return []
    found = []
    for p in sorted(landing_dir.iterdir()):
        if p.name.startswith("."):
            continue
        if p.is_symlink():
            found.append(LandingFile(p, link_checksum(p), 0))
        elif p.is_file():
            found.append(LandingFile(p, sha256_of(p), p.stat().st_size))
    return found


def pending_files(con: duckdb.DuckDBPyConnection, files: list[LandingFile]) -> list[LandingFile]:
    """Files whose (name, checksum) has no ledger row yet."""
    seen = set(con.execute("select file_name, sha256 from raw.file_ledger").fetchall())
    return [f for f in files if (f.path.name, f.sha256) not in seen]


def loaded_checksums(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Checksum → name of the file that loaded it."""
    rows = con.execute(
        "select sha256, file_name from raw.file_ledger where status = 'loaded'"
    ).fetchall()
    return dict(rows)


def next_file_id(con: duckdb.DuckDBPyConnection) -> int:
    """A new, increasing file id (also the version order of reads)."""
    return int(con.execute("select nextval('raw.load_seq')").fetchone()[0])
