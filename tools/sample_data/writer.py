"""File writers for everything the generator emits, byte-for-byte reproducible.

Interval CSVs label intervals by their end (`24:00` stays on the same date); Parquet stores the
real end timestamp (next day 00:00). Decimals are written from integer milli/centi units.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .inject import CHANNELS, UNITS, Rows
from .profiles import INTERVALS

READ_COLUMNS = ("meter_id", "channel", "interval_end", "interval_minutes", "value", "unit",
                "multiplier")
REGISTER_COLUMNS = ("meter_id", "channel", "read_at", "register_value")
FAULT_COLUMNS = ("fault_type", "meter_id", "channel", "interval_start", "true_value",
                 "injected_value", "file_name")
OWN_LANDING = re.compile(r"^(reads|registers)_\d{8}_\d{2}\.(csv|parquet)$")
MASTER_FILES = ("retailers", "customers", "metering_points", "contracts", "contract_volumes",
                "contacts", "contact_groups", "contact_group_members", "contact_subscriptions",
                "contract_history", "service_tickets")
GROUND_TRUTH_FILES = ("faults.csv", "manifest.json", "churn_coefficients.csv")
CSV_OPTIONS = pacsv.WriteOptions(include_header=False, quoting_style="none")


def decimal_array(units: np.ndarray, scale: int) -> pa.Array:
    """Exact decimal128(18, scale) from integer units of 10**-scale (no float round trip)."""
    units = np.ascontiguousarray(units, dtype=np.int64)
    words = np.empty((len(units), 2), dtype=np.int64)
    words[:, 0], words[:, 1] = units, units >> 63
    return pa.Array.from_buffers(pa.decimal128(18, scale), len(units),
                                 [None, pa.py_buffer(words)])


def clean_outputs(data_dir: Path) -> None:
    """Delete only files a previous generator run could have written."""
    reads = data_dir / "landing" / "reads"
    if reads.is_dir():
        for path in sorted(reads.iterdir()):
            if path.is_file() and OWN_LANDING.match(path.name):
                path.unlink()
    for folder, stems in (("master", [f"{s}.csv" for s in MASTER_FILES]),
                          ("ground_truth", GROUND_TRUTH_FILES)):
        for name in stems:
            (data_dir / folder / name).unlink(missing_ok=True)
    for folder in ("landing/reads", "master", "ground_truth"):
        (data_dir / folder).mkdir(parents=True, exist_ok=True)


def write_csv(path: Path, header: Sequence[str], rows: list[list]) -> Path:
    """Write a CSV file with a header (hand-made inputs: demo inbox, test cases)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_rows_csv(path: Path, columns: tuple[str, ...] | list[str], rows: list[dict]) -> None:
    """Small master/ground-truth CSV: UTF-8, `\\n`, None -> empty field."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(columns)
        for row in rows:
            out.writerow(["" if row[c] is None else row[c] for c in columns])


def write_manifest(path: Path, manifest: dict) -> None:
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=True) + "\n",
                    encoding="utf-8")


class LandingWriter:
    """Writes interval and register files for one run into `landing/reads/`."""

    def __init__(self, data_dir: Path, meter_ids: list[str], multiplier: np.ndarray,
                 days: list[date], fmt: str) -> None:
        self.folder = data_dir / "landing" / "reads"
        self.days, self.fmt = days, fmt
        self.meter_ids = pa.array(meter_ids)
        self.multiplier = np.asarray(multiplier, dtype=np.int64)
        times = [f"{(k + 1) * 15 // 60:02d}:{(k + 1) * 15 % 60:02d}" for k in range(INTERVALS)]
        self.labels = pa.array([f"{day.isoformat()} {t}" for day in days for t in times])
        self.epoch = np.datetime64(days[0].isoformat(), "us")
        self.written: list[str] = []

    def file_name(self, d: int, batch: str = "01", parquet: bool | None = None) -> str:
        if parquet is None:
            parquet = self.fmt == "parquet" or (self.fmt == "mixed" and d % 2 == 1)
        return f"reads_{self.days[d]:%Y%m%d}_{batch}.{'parquet' if parquet else 'csv'}"

    def _table(self, rows: Rows, parquet: bool) -> pa.Table:
        pos = rows.day * INTERVALS + rows.slot
        if parquet:
            ends = self.epoch + (pos + 1) * np.timedelta64(15, "m")
            interval_end = pa.array(ends.astype("datetime64[us]"))
        else:
            interval_end = self.labels.take(pa.array(pos))
        channel = pa.array(rows.channel)
        return pa.table({
            "meter_id": self.meter_ids.take(pa.array(rows.meter)),
            "channel": pa.array(CHANNELS).take(channel),
            "interval_end": interval_end,
            "interval_minutes": pa.array(np.full(len(rows), 15, dtype=np.int32)),
            "value": decimal_array(rows.milli, 3),
            "unit": pa.array(UNITS).take(channel),
            "multiplier": pa.array(self.multiplier[rows.meter].astype(np.int32)),
        })

    def write_reads(self, name: str, rows: Rows) -> None:
        path = self.folder / name
        table = self._table(rows, parquet=name.endswith(".parquet"))
        if name.endswith(".parquet"):
            pq.write_table(table, path, compression="zstd")
        else:
            with path.open("wb") as handle:
                handle.write((",".join(READ_COLUMNS) + "\n").encode())
                pacsv.write_csv(table, handle, CSV_OPTIONS)
        self.written.append(f"landing/reads/{name}")

    def write_registers(self, day: date, dial_centi: np.ndarray) -> str:
        """One 00:00 read per meter and channel (dial_centi: meters x 2)."""
        n = len(dial_centi)
        name = f"registers_{day:%Y%m%d}_01.csv"
        table = pa.table({
            "meter_id": self.meter_ids.take(pa.array(np.repeat(np.arange(n), 2))),
            "channel": pa.array(np.tile(CHANNELS, n)),
            "read_at": pa.array(np.full(2 * n, f"{day.isoformat()} 00:00")),
            "register_value": decimal_array(dial_centi.ravel(), 2),
        })
        with (self.folder / name).open("wb") as handle:
            handle.write((",".join(REGISTER_COLUMNS) + "\n").encode())
            pacsv.write_csv(table, handle, CSV_OPTIONS)
        self.written.append(f"landing/reads/{name}")
        return name

    def write_malformed(self, d: int, rows: Rows) -> str:
        """A truncated export with a wrong header and an unterminated quote."""
        name = self.file_name(d, batch="99", parquet=False)
        lines = ["METER;CHANNEL;TIME;VALUE"]
        for i in range(min(len(rows), 12)):
            value = f"{rows.milli[i] / 1000:.3f}"
            label = self.labels[int(rows.day[i] * INTERVALS + rows.slot[i])].as_py()
            quote = '"' if i == 1 else ""
            lines.append(f"{self.meter_ids[int(rows.meter[i])].as_py()},"
                         f"{CHANNELS[rows.channel[i]]},{quote}{label},15,{value},"
                         f"{UNITS[rows.channel[i]]},{int(self.multiplier[rows.meter[i]])}")
        text = "\n".join(lines)
        (self.folder / name).write_bytes(text[: len(text) - 17].encode())
        self.written.append(f"landing/reads/{name}")
        return name


def interval_start_text(days: list[date], day: np.ndarray, slot: np.ndarray) -> np.ndarray:
    """`YYYY-MM-DD HH:MM` start of each (day, slot)."""
    times = [f"{15 * k // 60:02d}:{15 * k % 60:02d}" for k in range(INTERVALS)]
    table = np.array([f"{d.isoformat()} {t}" for d in days for t in times], dtype=object)
    return table[np.asarray(day, dtype=np.int64) * INTERVALS + np.asarray(slot, dtype=np.int64)]
