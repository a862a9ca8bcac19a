"""Daily temperature per region and its effect on load (issue 10: forecasting's weather input).

Per region a daily mean °C: a Hebei-like season (−6 °C in mid-January, 27 °C in mid-July) plus a
day-to-day wander (AR(1), σ 3.5 °C) shared by the region. Load is multiplied by a class factor:
cooling above 24 °C (industrial 0.5 %, commercial 2.5 %, residential 3 % per °C) and heating
below 8 °C (0.3 %, 1.5 %, 2 % per °C; Hebei heats mostly by district heat, not electricity).
The files written are the landing `weather_*` files of docs/data_contracts.md: one per month of
observed days, and one of forecasts (the truth + 1.5 °C noise) for the 35 days after the data.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np

from .master import COM, IND, RES
from .writer import write_csv

FORECAST_DAYS = 35
COOLING = {IND: 0.005, COM: 0.025, RES: 0.03}
HEATING = {IND: 0.003, COM: 0.015, RES: 0.02}
COOL_ABOVE, HEAT_BELOW = 24.0, 8.0
HEADER = ["region", "day", "temperature_c", "source"]


def _season(first: date, days: int) -> np.ndarray:
    doy = np.array([(first + timedelta(days=d)).timetuple().tm_yday for d in range(days)])
    return 10.5 - 16.5 * np.cos(2 * np.pi * (doy - 15) / 365)


def _wander(rng: np.random.Generator, start: float, days: int) -> np.ndarray:
    """AR(1) day-to-day deviation from the season, from `start` on the first day."""
    wander = np.zeros(days)
    wander[0] = start
    shocks = rng.normal(0, 3.5 * np.sqrt(1 - 0.7 ** 2), days)
    for d in range(1, days):
        wander[d] = 0.7 * wander[d - 1] + shocks[d]
    return wander


def temperatures(rng: np.random.Generator, regions: list[str], first: date,
                 days: int) -> dict[str, np.ndarray]:
    """°C per region for `days` days from `first` (0.1 °C)."""
    season = _season(first, days)
    return {region: np.round(season + _wander(rng, 0.0, days), 1) for region in regions}


def extended(temps: dict[str, np.ndarray], first: date, extra: int,
             rng: np.random.Generator) -> dict[str, np.ndarray]:
    """`temps` (from `first`) and `extra` more days, the wander continued from the last day."""
    n = len(next(iter(temps.values())))
    season = _season(first, n + extra)
    out = {}
    for region, values in temps.items():
        wander = _wander(rng, 0.7 * (values[-1] - season[n - 1]), extra + 1)[1:]
        out[region] = np.concatenate([values, np.round(season[n:] + wander, 1)])
    return out


def load_factors(classes: np.ndarray, temps: np.ndarray) -> np.ndarray:
    """(meters, days) load multipliers from each meter's class and its region's temperatures
    (`temps`: meters × days)."""
    cool = np.array([COOLING[IND], COOLING[COM], COOLING[RES]])[classes][:, None]
    heat = np.array([HEATING[IND], HEATING[COM], HEATING[RES]])[classes][:, None]
    return (1 + cool * np.maximum(0, temps - COOL_ABOVE)
            + heat * np.maximum(0, HEAT_BELOW - temps))


def write_weather(data_dir: Path, temps: dict[str, np.ndarray], first: date, days: int,
                  rng: np.random.Generator, forecast: bool = True) -> list[str]:
    """Observed files per month over the data's `days`, and (`forecast`) the forecast file
    after them; their paths under `data_dir`."""
    landing = data_dir / "landing" / "reads"
    by_month: dict[str, list[list]] = {}
    for d in range(days):
        day = first + timedelta(days=d)
        for region, values in temps.items():
            by_month.setdefault(f"{day:%Y%m}01", []).append(
                [region, f"{day:%Y-%m-%d}", f"{values[d]:.1f}", "observed"])
    paths = [write_csv(landing / f"weather_{month}_01.csv", HEADER, rows)
             for month, rows in sorted(by_month.items())]
    if forecast:
        ahead = first + timedelta(days=days)
        rows = [[region, f"{ahead + timedelta(days=k):%Y-%m-%d}",
                 f"{values[days + k] + rng.normal(0, 1.5):.1f}", "forecast"]
                for k in range(FORECAST_DAYS) for region, values in temps.items()]
        paths.append(write_csv(landing / f"weather_{ahead:%Y%m%d}_fc.csv", HEADER, rows))
    return [path.relative_to(data_dir).as_posix() for path in paths]
