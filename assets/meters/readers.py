"""Read landing files (CSV or Parquet) into Arrow tables of text columns plus `source_row`.

Typing and rules happen later in SQL, so a bad value becomes a quarantined row, not a crash.
`source_row` is the line number in a CSV file (header = line 1) or the 1-based row in Parquet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

REQUIRED_COLUMNS = {
    "interval": ("meter_id", "channel", "interval_end", "interval_minutes", "value", "unit"),
    "register": ("meter_id", "channel", "read_at", "register_value"),
}
OPTIONAL_COLUMNS = {"interval": ("multiplier",), "register": ()}


class MalformedFile(ValueError):
    """The file as a whole cannot be read; the message says why."""


@dataclass
class ReadResult:
    """Rows with their source row (an Arrow table, or a Parquet file DuckDB scans directly),
    and the rows that could not be split into fields."""

    table: pa.Table | None
    bad_rows: list[tuple[int, str]] = field(default_factory=list)  # (source_row, raw text)
    parquet_path: Path | None = None
    columns: list[str] = field(default_factory=list)
    typed_timestamps: bool = False  # the time column is a real timestamp (Parquet)


def read_landing_file(path: Path, kind: str) -> ReadResult:
    """Read one landing file of the given kind; raise MalformedFile when it is unreadable."""
    if kind not in REQUIRED_COLUMNS:
        raise MalformedFile(
            f"unknown file kind for name {path.name!r} (expected reads_* or registers_*)"
        )
    suffix = path.suffix.lower()
    if suffix == ".csv":
        result = _read_csv(path)
    elif suffix == ".parquet":
        result = _read_parquet(path)
    else:
        raise MalformedFile(f"unsupported file type {suffix!r} (expected .csv or .parquet)")
    missing = [c for c in REQUIRED_COLUMNS[kind] if c not in result.columns]
    if missing:
        raise MalformedFile(f"missing required columns {missing}; header has {result.columns}")
    if result.table is None:
        return result
    wanted = [*REQUIRED_COLUMNS[kind], *OPTIONAL_COLUMNS[kind]]
    columns = {c: result.table[c] for c in wanted if c in result.table.column_names}
    for c in wanted:
        columns.setdefault(c, pa.nulls(result.table.num_rows, pa.string()))
    columns["source_row"] = result.table["source_row"]
    return ReadResult(pa.table(columns), result.bad_rows)


def _header(path: Path) -> list[str]:
    with path.open("r", encoding="utf-8", errors="strict") as handle:
        line = handle.readline().strip("\r\n")
    if not line:
        raise MalformedFile("empty file or empty header line")
    return [name.strip().strip('"') for name in line.split(",")]


def _read_csv(path: Path) -> ReadResult:
    try:
        names = _header(path)
    except UnicodeDecodeError as exc:
        raise MalformedFile(f"header is not UTF-8 text: {exc}") from exc
    bad: list[tuple[int | None, str]] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        bad.append((row.number, row.text))
        return "skip"

    def read(use_threads: bool) -> pa.Table:
        bad.clear()
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(use_threads=use_threads),
            parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names}, strings_can_be_null=True
            ),
        )

    try:
        table = read(use_threads=True)
        if bad:  # re-read single-threaded so every skipped row has its exact line number
            table = read(use_threads=False)
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise MalformedFile(f"CSV cannot be parsed: {exc}") from exc
    bad_lines = sorted(int(n) for n, _ in bad if n is not None)
    rows = _line_numbers(table.num_rows, bad_lines)
    table = table.append_column("source_row", pa.array(rows, pa.int64()))
    return ReadResult(table, [(int(n or 0), text) for n, text in bad], columns=names)


def _line_numbers(n_rows: int, bad_lines: list[int]) -> np.ndarray:
    """Line numbers of the kept rows, skipping the header and the rejected lines."""
    lines = np.arange(2, 2 + n_rows + len(bad_lines), dtype=np.int64)
    return lines[~np.isin(lines, bad_lines)][:n_rows]


def _read_parquet(path: Path) -> ReadResult:
    """Check the schema only; DuckDB scans the file itself (much faster than via Arrow)."""
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise MalformedFile(f"Parquet cannot be read: {exc}") from exc
    time_types = [f.type for f in schema if f.name in ("interval_end", "read_at")]
    typed = bool(time_types) and all(pa.types.is_timestamp(t) for t in time_types)
    return ReadResult(None, parquet_path=path, columns=list(schema.names), typed_timestamps=typed)
