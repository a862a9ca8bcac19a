"""Cumulative register dials (secondary side, 0.01 resolution) driven by the true intervals.

Dial = start + round(primary energy / multiplier, 2), wrapping at 10^register_digits. Rollover
meters start just below the wrap point so that the dial wraps around a planned day.
"""

from __future__ import annotations

import numpy as np

from .master import Fleet


class Registers:
    """Daily 00:00 dial readings for every meter and channel (arrays of centi-units)."""

    def __init__(self, rng: np.random.Generator, fleet: Fleet, rollover_centi: dict[int, int]):
        n = len(fleet)
        self.mult = fleet.multiplier.astype(np.int64)
        self.modulus = (10 ** (fleet.digits.astype(np.int64) + 2))[:, None]  # centi
        self.start = (rng.random((n, 2)) * 0.6 * self.modulus).astype(np.int64)
        for m, centi in rollover_centi.items():
            self.start[m, 0] = centi
        self.cum = np.zeros((n, 2), dtype=np.int64)  # primary milli-units since the first read
        self.turns = np.zeros((n, 2), dtype=np.int64)

    def read(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(dial, unwrapped, wrapped-since-last-read) for the current instant."""
        mult = self.mult[:, None]
        unwrapped = self.start + (self.cum + 5 * mult) // (10 * mult)
        turns = unwrapped // self.modulus
        wrapped_now = turns > self.turns
        self.turns = turns
        return unwrapped % self.modulus, unwrapped, wrapped_now

    def add(self, day_milli: np.ndarray) -> None:
        """Advance by one day of true primary energy (meters x 2, milli-units)."""
        self.cum += day_milli


def rollover_starts(fleet: Fleet, daily_kwh_until: dict[int, float]) -> dict[int, int]:
    """Start dials so each planned meter wraps after roughly the given primary kWh."""
    out = {}
    for m, kwh in daily_kwh_until.items():
        modulus = 10 ** (int(fleet.digits[m]) + 2)
        out[m] = modulus - max(1, int(round(kwh / int(fleet.multiplier[m]) * 100)))
    return out
