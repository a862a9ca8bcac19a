"""Clean spans of the same meters before and after the generated months (issue 10's demo).

History months before `start` give the forecast its year of validated days (the backtest, last
year's season); days after the months give it a mid-month origin. Both are written without
faults, from random streams of their own: the generated months, their faults and their files are
byte for byte what they are without the spans.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np

from .calendar import day_types
from .inject import Rows
from .master import Fleet
from .profiles import INTERVALS, LoadModel
from .weather import load_factors, write_weather
from .writer import LandingWriter

HISTORY_STREAM, TAIL_STREAM = 13, 14  # day-noise and weather-noise streams of the two spans


def clean_span(data_dir: Path, seed: int, fleet: Fleet, regions: list[str],
               days: list[date], holidays: dict[date, str], fmt: str, stream: int,
               temps: dict[str, np.ndarray] | None, forecast: bool,
               monthly: bool = False) -> list[str]:
    """Write the interval files of `days` (every meter, both channels, no fault; a file a day,
    or a Parquet file a month when `monthly`, like a meter-data system's backfill) and, when
    `temps` (°C per region over `days` and, for `forecast`, the 35 days after) is given, their
    observed weather and the forecast after them; return the files written."""
    factors = None
    files: list[str] = []
    if temps is not None:
        region_of = np.array(regions)[fleet.customer_index]
        factors = load_factors(fleet.cls, np.stack([temps[r][: len(days)] for r in region_of]))
        files += write_weather(data_dir, temps, days[0], len(days),
                               np.random.default_rng([seed, stream]), forecast)
    model = LoadModel(seed, fleet, days, day_types(days, holidays), {}, factors,
                      noise_stream=stream)
    writer = LandingWriter(data_dir, fleet.meter_ids, fleet.multiplier, days, fmt)
    every = np.arange(len(fleet) * 2 * INTERVALS)
    month: list[Rows] = []
    for d in range(len(days)):
        true = np.stack(model.day(d), axis=1)  # meters x channel x interval, milli
        rows = Rows.of(every // (2 * INTERVALS), (every // INTERVALS) % 2, d, every % INTERVALS,
                       true.ravel())
        if not monthly:
            writer.write_reads(writer.file_name(d), rows)
            continue
        month.append(rows)
        if d + 1 == len(days) or days[d + 1].month != days[d].month:
            writer.write_reads(f"reads_{days[d]:%Y%m}01_hist.parquet", Rows.concat(month))
            month = []
    return files + writer.written
