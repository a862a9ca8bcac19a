"""What faults do to one day of true values: the rows each file gets and the ground-truth rows.

Conflicting duplicates follow the correction pattern of a head-end re-collection: the day's own
file carries a wrong value and a later file re-sends the true one (so "latest version wins"
restores the truth). `file_name` in the ground truth is always the file holding `injected_value`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .faults import FAULT_TYPES, DayFaults
from .profiles import INTERVALS

MISSING = np.iinfo(np.int64).min
CHANNELS = ("kwh_imp", "kvarh_imp")
UNITS = ("kWh", "kvarh")


@dataclass
class Rows:
    """Interval rows as parallel arrays (meter index, channel index, day index, slot, milli)."""

    meter: np.ndarray
    channel: np.ndarray
    day: np.ndarray
    slot: np.ndarray
    milli: np.ndarray

    def __len__(self) -> int:
        return len(self.meter)

    @staticmethod
    def of(meter, channel, day, slot, milli) -> Rows:
        arrays = np.broadcast_arrays(*(np.asarray(a, dtype=np.int64)
                                       for a in (meter, channel, day, slot, milli)))
        return Rows(*(np.array(a) for a in arrays))

    @staticmethod
    def concat(parts: list[Rows]) -> Rows:
        return Rows(*(np.concatenate([getattr(p, f) for p in parts])
                      for f in ("meter", "channel", "day", "slot", "milli")))


def empty_rows() -> Rows:
    return Rows.of([], [], [], [], [])


@dataclass
class FaultLog:
    """Ground-truth rows, kept as arrays until `faults.csv` is written."""

    parts: list[dict[str, np.ndarray]] = field(default_factory=list)

    def add(self, kind: str, meter, channel, day, slot, true, injected, file: str,
            decimals: int = 3) -> None:
        meter = np.atleast_1d(np.asarray(meter, dtype=np.int64))
        if len(meter) == 0:
            return
        cols = np.broadcast_arrays(meter, *(np.asarray(v, dtype=np.int64)
                                            for v in (channel, day, slot, true, injected)))
        self.parts.append({
            "kind": np.full(len(meter), FAULT_TYPES.index(kind)), "meter": cols[0],
            "channel": cols[1], "day": cols[2], "slot": cols[3], "true": cols[4],
            "injected": cols[5], "decimals": np.full(len(meter), decimals),
            "file": np.full(len(meter), file, dtype=object),
        })

    def columns(self) -> dict[str, np.ndarray]:
        names = ("kind", "meter", "channel", "day", "slot", "true", "injected", "decimals", "file")
        if not self.parts:
            return {n: np.zeros(0, dtype=object if n == "file" else np.int64) for n in names}
        return {n: np.concatenate([p[n] for p in self.parts]) for n in names}


@dataclass
class DayOutput:
    regular: Rows  # the day's own file, in meter / channel / slot order
    same_file: Rows  # duplicates appended to the day's own file
    carry: dict[int, Rows]  # rows for later days' files (corrections, next-day duplicates)


def _pairs(cells: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Expand (meter, slot) cells to both channels."""
    m, k = cells
    return np.repeat(m, 2), np.tile([0, 1], len(m)), np.repeat(k, 2)


def inject(faults: DayFaults, d: int, true: np.ndarray, kva_customer: np.ndarray,
           rng: np.random.Generator, file_of: Callable[[int], str], log: FaultLog) -> DayOutput:
    """Apply the day's faults to `true` (meters x 2 x 96 milli) and log every affected interval."""
    shown, keep = true.copy(), np.ones(true.shape, dtype=bool)
    own = file_of(d)
    for kind, cells in (("gap", faults.gap), ("stuck_zero", faults.stuck)):
        m, c, k = _pairs(cells)
        if kind == "gap":
            keep[m, c, k] = False
        else:
            shown[m, c, k] = 0
        log.add(kind, m, c, d, k, true[m, c, k], MISSING if kind == "gap" else 0, own)
    m, k = faults.negative
    value = -np.maximum(1, np.rint(true[m, 0, k] * rng.uniform(0.5, 1.5, len(m))))
    shown[m, 0, k] = value
    log.add("negative", m, 0, d, k, true[m, 0, k], value, own)
    m, k = faults.spike
    value = np.rint(kva_customer[m] * 0.25 * 1.2 * rng.uniform(5, 20, len(m)) * 1000)
    shown[m, 0, k] = value
    log.add("spike", m, 0, d, k, true[m, 0, k], value, own)

    carry: dict[int, list[Rows]] = {}
    m, k = faults.conflict
    c = rng.integers(0, 2, len(m))
    factor = np.where(rng.random(len(m)) < 0.5, rng.uniform(0.5, 0.85, len(m)),
                      rng.uniform(1.15, 1.6, len(m)))
    wrong = np.rint(true[m, c, k] * factor).astype(np.int64)
    wrong = np.where(wrong == true[m, c, k], wrong + 1, wrong)
    shown[m, c, k] = wrong
    log.add("duplicate_conflicting", m, c, d, k, true[m, c, k], wrong, own)
    for off in np.unique(faults.conflict_offset):
        sel = faults.conflict_offset == off
        carry.setdefault(d + int(off), []).append(Rows.of(m[sel], c[sel], d, k[sel],
                                                          true[m[sel], c[sel], k[sel]]))

    m, k = faults.dup
    c = rng.integers(0, 2, len(m))
    nxt = faults.dup_next
    for sel, target in ((~nxt, d), (nxt, d + 1)):
        if not sel.any():
            continue
        rows = Rows.of(m[sel], c[sel], d, k[sel], true[m[sel], c[sel], k[sel]])
        log.add("duplicate_identical", rows.meter, rows.channel, d, rows.slot, rows.milli,
                rows.milli, file_of(target))
        carry.setdefault(target, []).append(rows)

    flat = np.flatnonzero(keep.ravel())
    regular = Rows.of(flat // (2 * INTERVALS), (flat // INTERVALS) % 2, d, flat % INTERVALS,
                      shown.ravel()[flat])
    same = carry.pop(d, [])
    return DayOutput(regular, Rows.concat(same) if same else empty_rows(),
                     {t: Rows.concat(parts) for t, parts in carry.items()})
