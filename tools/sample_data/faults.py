"""Where faults go: rates, the whole-run plan and the per-day placement of faulted intervals.

A placed interval (meter, 15-minute slot) carries at most one fault. What the fault does to the
values is in `inject.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from .profiles import INTERVALS

FAULT_TYPES = ("gap", "duplicate_identical", "duplicate_conflicting", "negative", "spike",
               "stuck_zero", "register_rollover", "late_file", "malformed_file")
# per-day event kinds counted by the plan, in placement order
KINDS = ("late_gap", "stuck", "long_gap", "short_gap", "conflict", "dup", "negative", "spike")
MIN_METERS_FOR_ALL = 20  # from this fleet size every fault type occurs at least once


@dataclass(frozen=True)
class FaultRates:
    """Default rates; interval rates are per meter-interval, runs per meter-month."""

    gap: float = 0.003
    duplicate_identical: float = 0.001
    duplicate_conflicting: float = 0.0005
    negative: float = 0.0002
    spike: float = 0.0002
    stuck_zero: float = 0.02
    register_rollover: float = 0.02
    long_gap_share: float = 0.25  # of gap intervals, in 8-40 interval runs

    def scaled(self, factor: float) -> FaultRates:
        scalable = {f.name: getattr(self, f.name) * factor for f in fields(self)
                    if f.name != "long_gap_share"}
        return replace(self, **scalable)


@dataclass
class FaultPlan:
    """Whole-run decisions: counts per day and kind, the late/malformed files, rollover meters."""

    counts: np.ndarray  # [day, kind]
    dup_offset: np.ndarray  # index of each day's first duplicate in the run (for alternation)
    late: tuple[int, int, int] | None  # (day, meter, later day)
    malformed_day: int | None
    rollover: dict[int, int]  # meter -> day index whose 00:00 read shows the wrap


@dataclass
class DayFaults:
    """Faulted cells of one day; arrays of meter and interval indices per fault kind."""

    gap: tuple[np.ndarray, np.ndarray]
    stuck: tuple[np.ndarray, np.ndarray]
    negative: tuple[np.ndarray, np.ndarray]
    spike: tuple[np.ndarray, np.ndarray]
    dup: tuple[np.ndarray, np.ndarray]
    dup_next: np.ndarray
    conflict: tuple[np.ndarray, np.ndarray]
    conflict_offset: np.ndarray


def _total(rate: float, base: float, minimum: int) -> int:
    count = int(rate * base + 0.5)
    return max(count, minimum) if rate > 0 else 0


def make_plan(seed: int, n_days: int, n_months: int, exceeds: np.ndarray, rates: FaultRates,
              enabled: bool) -> FaultPlan:
    """Decide how many faults of each kind fall on which day (deterministic in `seed`)."""
    rng = np.random.default_rng([seed, 31])
    n_meters = len(exceeds)
    counts = np.zeros((n_days, len(KINDS)), dtype=np.int64)
    if not enabled or n_meters == 0:
        return FaultPlan(counts, np.zeros(n_days, np.int64), None, None, {})
    need = 1 if n_meters >= MIN_METERS_FOR_ALL else 0
    cells = n_meters * n_days * INTERVALS
    long_share = rates.long_gap_share
    totals = {
        "stuck": _total(rates.stuck_zero, n_meters * n_months, need),
        "long_gap": _total(rates.gap * long_share / 24, cells, 0),  # mean run 24 intervals
        "short_gap": _total(rates.gap * (1 - long_share) / 2.5, cells, need),  # mean run 2.5
        "conflict": _total(rates.duplicate_conflicting, cells, need),
        "dup": _total(rates.duplicate_identical, cells, 2 * need),
        "negative": _total(rates.negative, cells, need),
        "spike": _total(rates.spike, cells, need),
    }
    for kind, total in totals.items():
        last = n_days - 1 if kind == "conflict" and n_days > 1 else n_days
        counts[:last, KINDS.index(kind)] = rng.multinomial(total, np.full(last, 1.0 / last))
    late = None
    normal = np.flatnonzero(~exceeds)
    if n_days >= 3 and len(normal):
        day = int(rng.integers(0, n_days - 2))
        later = day + int(rng.integers(2, min(4, n_days - 1 - day) + 1))
        late = (day, int(normal[rng.integers(len(normal))]), later)
        counts[day, KINDS.index("late_gap")] = 1
    n_roll = min(n_meters, _total(rates.register_rollover, n_meters, need))
    lo = max(1, int(0.3 * n_days))
    rollover = {int(m): int(rng.integers(lo, max(lo + 1, int(0.7 * n_days))))
                for m in sorted(rng.choice(n_meters, size=n_roll, replace=False).tolist())}
    dup_col = counts[:, KINDS.index("dup")]
    return FaultPlan(counts, np.cumsum(dup_col) - dup_col, late, int(rng.integers(n_days)),
                     rollover)


def _runs(rng: np.random.Generator, taken: np.ndarray, count: int, lengths: tuple[int, int],
          window: tuple[int, int]) -> tuple[list[int], list[int]]:
    """Place `count` runs of consecutive free intervals; returns flat (meter, interval) lists."""
    meters, slots = [], []
    for _ in range(count):
        for _attempt in range(30):
            length = int(rng.integers(lengths[0], lengths[1] + 1))
            first = int(rng.integers(window[0], max(window[0] + 1, window[1] - length + 1)))
            m = int(rng.integers(taken.shape[0]))
            if not taken[m, first:first + length].any():
                taken[m, first:first + length] = True
                meters += [m] * length
                slots += list(range(first, first + length))
                break
    return meters, slots


def _arr(meters: list[int], slots: list[int]) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(meters, dtype=np.int64), np.asarray(slots, dtype=np.int64)


def place_day(seed: int, plan: FaultPlan, d: int, n_days: int, n_meters: int,
              protected: list[tuple[int, int, int, float]]) -> DayFaults:
    """Pick the faulted cells of day `d`, never two faults on one interval."""
    rng = np.random.default_rng([seed, 32, d])
    taken = np.zeros((n_meters, INTERVALS), dtype=bool)
    for m, first, length, _ratio in protected:
        taken[m, first:first + length] = True
    c = dict(zip(KINDS, plan.counts[d].tolist(), strict=True))
    gap_m: list[int] = []
    gap_k: list[int] = []
    if plan.late is not None and plan.late[0] == d:
        length = int(rng.integers(8, 41))
        first = int(rng.integers(0, INTERVALS - length + 1))
        gap_m, gap_k = [plan.late[1]] * length, list(range(first, first + length))
        taken[plan.late[1]] = True  # the re-sent meter-day carries no other fault
    stuck = _runs(rng, taken, c["stuck"], (8, 24), (32, 84))
    for count, lengths in ((c["long_gap"], (8, 40)), (c["short_gap"], (1, 4))):
        more_m, more_k = _runs(rng, taken, count, lengths, (0, INTERVALS))
        gap_m, gap_k = gap_m + more_m, gap_k + more_k
    wanted = c["conflict"] + c["dup"] + c["negative"] + c["spike"]
    free = np.flatnonzero(~taken.ravel())
    picks = rng.choice(free, size=min(wanted, len(free)), replace=False)
    pm, pk = picks // INTERVALS, picks % INTERVALS
    bounds = np.cumsum([0, c["conflict"], c["dup"], c["negative"], c["spike"]])
    part = [(pm[a:b], pk[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    n_dup = len(part[1][0])
    dup_next = ((plan.dup_offset[d] + np.arange(n_dup)) % 2 == 1) & (d < n_days - 1)
    offset = np.minimum(rng.integers(1, 3, len(part[0][0])), n_days - 1 - d)
    return DayFaults(gap=_arr(gap_m, gap_k), stuck=_arr(*stuck), negative=part[2], spike=part[3],
                     dup=part[1], dup_next=dup_next, conflict=part[0], conflict_offset=offset)
