"""True 15-minute load: class shapes x season x smooth day noise, plus capacity exceedances.

Values are produced as integer milli-units (0.001 kWh / kvarh) so that files, registers and the
ground truth agree exactly.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from .calendar import WORKDAY
from .master import COM, IND, RES, Fleet

INTERVALS = 96
HOURS = np.arange(INTERVALS) * 0.25 + 0.125  # interval midpoints
CAP_FACTOR = 1.15  # true kW of a normal meter never exceeds 1.15 x its kVA share
EXCEED_RATIO = (1.25, 1.45)  # capacity-audit customers: kW / kVA on exceedance days


def _curve(points: list[tuple[float, float]]) -> np.ndarray:
    hours, values = zip(*points, strict=True)
    return np.interp(HOURS, hours, values)


def _class_shapes() -> np.ndarray:
    """[class, day type, interval] relative load; workday mean = 1 for every class."""
    three_shift = _curve([(0, 0.84), (0.4, 1.0), (7.6, 1.0), (8.0, 0.82), (8.4, 1.0), (9, 1.05),
                          (15.6, 1.05), (16.0, 0.82), (16.4, 1.0), (23.6, 1.0), (24, 0.84)])
    commerce = _curve([(0, 0.28), (6, 0.28), (7, 0.45), (8, 1.35), (11, 1.5), (14, 1.62),
                       (17, 1.5), (20, 1.35), (21, 1.2), (22, 0.45), (24, 0.28)])
    commerce_off = _curve([(0, 0.28), (7, 0.3), (9, 0.9), (12, 1.0), (16, 1.0), (20, 0.9),
                           (21, 0.7), (22, 0.35), (24, 0.28)])
    evening = _curve([(0, 0.5), (5, 0.4), (6.5, 0.9), (7.5, 1.1), (8.5, 0.7), (12, 0.65),
                      (17, 0.75), (18, 1.5), (20, 2.0), (21.5, 1.9), (22.5, 1.2), (24, 0.5)])
    evening_off = _curve([(0, 0.55), (6, 0.45), (8, 0.9), (9.5, 1.15), (12, 1.0), (14, 0.9),
                          (17, 1.0), (18, 1.6), (20, 2.1), (21.5, 2.0), (22.5, 1.3), (24, 0.55)])
    shapes = np.empty((3, 3, INTERVALS))
    shapes[IND] = [three_shift, 0.93 * three_shift, 0.85 * three_shift]
    shapes[COM] = [commerce, commerce_off, 0.9 * commerce_off]
    shapes[RES] = [evening, evening_off, 1.05 * evening_off]
    return shapes / shapes[:, WORKDAY].mean(axis=1)[:, None, None]


SHAPES = _class_shapes()
SEASONAL = np.array([  # [class, month-1]: Jibei winter heating and summer cooling peaks
    [1.03, 0.95, 1.00, 0.98, 0.98, 1.00, 1.05, 1.05, 1.00, 0.98, 1.00, 1.03],
    [1.05, 0.95, 0.90, 0.85, 0.90, 1.05, 1.25, 1.25, 1.00, 0.88, 0.95, 1.05],
    [1.25, 1.15, 0.95, 0.85, 0.85, 1.00, 1.20, 1.20, 0.95, 0.85, 1.00, 1.20],
])
SIGMA_DAY = np.array([0.04, 0.07, 0.12])  # smooth day-to-day noise (AR(1), rho below)
SIGMA_INTERVAL = np.array([0.02, 0.04, 0.10])
RHO = 0.7


def meter_shapes(rng: np.random.Generator, fleet: Fleet) -> np.ndarray:
    """[meter, day type, interval]: class shape shifted by +-0.5 h and with its own amplitude."""
    n = len(fleet)
    reach = np.array([0, 2, 3])[fleet.cls]
    shift = np.round(rng.uniform(-1, 1, n) * reach).astype(np.int64)
    amp = rng.uniform(0.8, 1.2, n)
    idx = (np.arange(INTERVALS)[None, :] - shift[:, None]) % INTERVALS
    base = SHAPES[fleet.cls]  # (n, 3, 96)
    rolled = np.take_along_axis(base, idx[:, None, :], axis=2)
    shaped = 1.0 + amp[:, None, None] * (rolled - 1.0)
    return shaped / shaped[:, WORKDAY].mean(axis=1)[:, None, None]


def expected_daily_kwh(fleet: Fleet, shape_sums: np.ndarray, month: int,
                       day_type: int) -> np.ndarray:
    """Noise-free energy of one day per meter (kWh); `shape_sums` = meter_shapes(...).sum(2)."""
    return fleet.avg_kw * 0.25 * shape_sums[:, day_type] * SEASONAL[fleet.cls, month - 1]


def plan_exceedances(
    rng: np.random.Generator, fleet: Fleet, days: list[date]
) -> dict[int, list[tuple[int, int, int, float]]]:
    """day index -> [(meter, first interval, length, kW/kVA)] on 3-5 days per month."""
    plan: dict[int, list[tuple[int, int, int, float]]] = {}
    months = sorted({(d.year, d.month) for d in days})
    for m in np.flatnonzero(fleet.exceeds):
        for ym in months:
            in_month = [i for i, d in enumerate(days) if (d.year, d.month) == ym]
            picks = rng.choice(in_month, size=min(len(in_month), int(rng.integers(3, 6))),
                               replace=False)
            for d in sorted(picks.tolist()):
                length = int(rng.integers(2, 7))
                first = int(rng.integers(36, 61))
                ratio = float(rng.uniform(*EXCEED_RATIO))
                plan.setdefault(d, []).append((int(m), first, length, ratio))
    return plan


class LoadModel:
    """Produces the true interval values day by day (call `day` with increasing indices)."""

    def __init__(self, seed: int, fleet: Fleet, days: list[date], day_type: np.ndarray,
                 exceedances: dict[int, list[tuple[int, int, int, float]]],
                 weather: np.ndarray | None = None, noise_stream: int = 12) -> None:
        rng = np.random.default_rng([seed, 11])
        self.seed, self.fleet, self.days, self.day_type = seed, fleet, days, day_type
        self.noise_stream = noise_stream  # another span of the same meters: another stream
        self.weather = weather  # (meters, days) load factors of the temperature, or None
        self.shapes = meter_shapes(rng, fleet)
        self.state = rng.standard_normal(len(fleet))
        self.exceedances = exceedances
        self.tan_phi = np.tan(np.arccos(fleet.pf))

    def day(self, d: int) -> tuple[np.ndarray, np.ndarray]:
        """(kWh, kvarh) as int64 milli-units, each of shape (meters, 96)."""
        fleet, n = self.fleet, len(self.fleet)
        rng = np.random.default_rng([self.seed, self.noise_stream, d])
        self.state = RHO * self.state + np.sqrt(1 - RHO**2) * rng.standard_normal(n)
        day_factor = np.clip(1 + SIGMA_DAY[fleet.cls] * self.state, 0.5, 1.6)
        raw = rng.standard_normal((n, INTERVALS + 2))
        smooth = (0.25 * raw[:, :-2] + 0.5 * raw[:, 1:-1] + 0.25 * raw[:, 2:]) / 0.6124
        noise = np.clip(1 + SIGMA_INTERVAL[fleet.cls][:, None] * smooth, 0.3, 2.0)
        season = SEASONAL[fleet.cls, self.days[d].month - 1]
        if self.weather is not None:
            day_factor = day_factor * self.weather[:, d]
        level = (fleet.avg_kw * season * day_factor)[:, None]
        kw = level * self.shapes[:, self.day_type[d]] * noise
        kw = np.minimum(kw, CAP_FACTOR * fleet.kva_meter[:, None])
        for m, first, length, ratio in self.exceedances.get(d, []):
            kw[m, first:first + length] = fleet.kva_customer[m] * ratio
        kwh = np.maximum(1, np.rint(kw * 250.0)).astype(np.int64)
        q_noise = np.clip(1 + 0.03 * rng.standard_normal((n, INTERVALS)), 0.85, 1.15)
        kvarh = np.maximum(1, np.rint(kwh * self.tan_phi[:, None] * q_noise)).astype(np.int64)
        return kwh, kvarh
