"""Read landing files (CSV or Parquet) into Arrow tables of text columns plus `source_row`.

Typing and rules happen later in SQL, so a bad value becomes a quarantined row, not a crash.
`source_row` is the physical line number in a CSV file where the row starts (header = line 1;
blank lines and newlines inside quoted fields counted) or the 1-based row in Parquet. A UTF-8
byte-order mark (what Excel writes) is ignored; a header that repeats a column name makes the
file unreadable. Parquet timestamps with a time zone are converted to China wall-clock time.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

REQUIRED_COLUMNS = {
    "interval": ("meter_id", "channel", "interval_end", "interval_minutes", "value", "unit"),
    "register": ("meter_id", "channel", "read_at", "register_value"),
    "weather": ("region", "day", "temperature_c"),
}
OPTIONAL_COLUMNS = {"interval": ("multiplier",), "register": (), "weather": ("source",)}


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
    zoned_timestamps: bool = False  # ... with a time zone: converted to Asia/Shanghai wall-clock


def read_landing_file(path: Path, kind: str) -> ReadResult:
    """Read one landing file of the given kind; raise MalformedFile when it is unreadable."""
    if kind not in REQUIRED_COLUMNS:
        raise MalformedFile(
            f"unknown file kind for name {path.name!r} (expected reads_*, registers_* or weather_*)"
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
    with path.open("r", encoding="utf-8-sig", errors="strict", newline="") as handle:
        line = handle.readline().strip("\r\n")
    if not line:
        raise MalformedFile("empty file or empty header line")
    names = next(csv.reader([line]))
    names = [name.strip() for name in names]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise MalformedFile(f"header repeats column name(s) {repeated}; header has {names}")
    return names


def _needs_line_map(path: Path) -> bool:
    """True when record numbers and physical lines may differ (blank lines, quoted fields)."""
    data = path.read_bytes()
    return b'"' in data or b"\n\n" in data or b"\n\r\n" in data


def physical_lines(path: Path) -> list[int]:
    """Physical start line of every non-blank CSV record, header first (1-based)."""
    starts: list[int] = []
    with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as handle:
        reader = csv.reader(handle)
        last = 0
        for record in reader:
            if record:
                starts.append(last + 1)
            last = reader.line_num
    return starts


def _read_csv(path: Path) -> ReadResult:
    try:
        names = _header(path)
    except UnicodeDecodeError as exc:
        raise MalformedFile(f"header is not UTF-8 text: {exc}") from exc
    bad: list[tuple[int | None, str]] = []
    mapped = _needs_line_map(path)

    def on_invalid(row: pacsv.InvalidRow) -> str:
        bad.append((row.number, row.text))
        return "skip"

    def read(use_threads: bool) -> pa.Table:
        bad.clear()
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(
                use_threads=use_threads, column_names=names, skip_rows=1
            ),
            parse_options=pacsv.ParseOptions(
                invalid_row_handler=on_invalid, newlines_in_values=mapped
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names}, strings_can_be_null=True
            ),
        )

    try:
        table = read(use_threads=True)
        if bad:  # re-read single-threaded so every skipped row has its exact record number
            table = read(use_threads=False)
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise MalformedFile(f"CSV cannot be parsed: {exc}") from exc
    # Arrow numbers the file's non-blank records from 1 (the header is record 1).
    bad_records = sorted(int(n) for n, _ in bad if n is not None)
    records = _record_numbers(table.num_rows, bad_records)
    starts = np.asarray(physical_lines(path), dtype=np.int64) if mapped else None

    def line_of(record: np.ndarray | int):
        return record if starts is None else starts[np.asarray(record) - 1]

    table = table.append_column("source_row", pa.array(line_of(records), pa.int64()))
    bad_rows = [(int(line_of(int(n))) if n is not None else 0, text) for n, text in bad]
    return ReadResult(table, bad_rows, columns=names)


def _record_numbers(n_rows: int, bad_records: list[int]) -> np.ndarray:
    """Record numbers (header = 1) of the kept rows, skipping the rejected records."""
    records = np.arange(2, 2 + n_rows + len(bad_records), dtype=np.int64)
    return records[~np.isin(records, bad_records)][:n_rows]


def _read_parquet(path: Path) -> ReadResult:
    """Check the schema only; DuckDB scans the file itself (much faster than via Arrow)."""
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise MalformedFile(f"Parquet cannot be read: {exc}") from exc
    names = list(schema.names)
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise MalformedFile(f"schema repeats column name(s) {repeated}; columns are {names}")
    time_types = [f.type for f in schema if f.name in ("interval_end", "read_at")]
    typed = bool(time_types) and all(pa.types.is_timestamp(t) for t in time_types)
    zoned = typed and any(t.tz is not None for t in time_types)
    return ReadResult(None, parquet_path=path, columns=names, typed_timestamps=typed,
                      zoned_timestamps=zoned)
