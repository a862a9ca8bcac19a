"""Daily validated kWh per customer as one dense matrix (customers × days), with the day types
of the calendar (core.dim_calendar: workday / weekend / holiday) up to the forecast horizon and
the like-day levels core.int_customer_like_day_levels keeps (VEE's like-day rule, in SQL).

A day with a FAILED interval is missing (NaN), never zero: its kWh is not the customer's load.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd

from foundation.warehouse import table_exists

DAY_TYPES = ("workday", "weekend", "holiday")


@dataclass(frozen=True)
class DailySeries:
    """`kwh[c, d]` = customer c's validated kWh on `days[d]`; NaN = no complete day. `days`
    runs from the first read day to `horizon` days after the last one (`last` = its index)."""

    customers: np.ndarray
    classes: np.ndarray
    class_codes: np.ndarray
    days: pd.DatetimeIndex
    day_types: np.ndarray
    kwh: np.ndarray
    last: int
    temperature: np.ndarray | None = None  # °C by customer and day (its region); NaN = none
    # origin column -> (customers, day types, 3): like_kwh, band_p10, band_p90; NaN = no day
    like_levels: dict[int, np.ndarray] = field(default_factory=dict)

    @property
    def temperatures(self) -> np.ndarray:
        """The temperature matrix, all NaN without a weather input."""
        if self.temperature is None:
            return np.full(self.kwh.shape, np.nan)
        return self.temperature

    def subset(self, rows: np.ndarray) -> DailySeries:
        """The same days for the customers at `rows` (class codes kept)."""
        return replace(self, customers=self.customers[rows], classes=self.classes[rows],
                       class_codes=self.class_codes[rows], kwh=self.kwh[rows],
                       temperature=None if self.temperature is None
                       else self.temperature[rows],
                       like_levels={o: v[rows] for o, v in self.like_levels.items()})

    def history_days(self) -> np.ndarray:
        """Complete days per customer up to `last`."""
        return (~np.isnan(self.kwh[:, : self.last + 1])).sum(axis=1)


def build_series(rows: pd.DataFrame, calendar: pd.Series, horizon: int,
                 weather: pd.DataFrame | None = None,
                 levels: pd.DataFrame | None = None) -> DailySeries:
    """`rows`: one per customer and day: customer_id, customer_class, day, kwh (NaN for an
    incomplete day);
    `calendar`: day type by day (read_calendar) over the read days and `horizon` days after;
    `weather`: customer_id, day, temperature_c (the customer's region's), when there is any;
    `levels`: core.int_customer_like_day_levels' rows (origin_day, customer_id, day_type,
    like_kwh, band_p10, band_p90)."""
    first, last = rows["day"].min(), rows["day"].max()
    days = pd.date_range(first, last + timedelta(days=horizon), freq="D")
    classes = rows.groupby("customer_id")["customer_class"].last()
    customers = classes.index.to_numpy()
    wide = (rows.pivot(index="customer_id", columns="day", values="kwh")  # one row a day
            .reindex(index=customers, columns=days))
    types = calendar.reindex(days).to_numpy()
    temperature = None
    if weather is not None and len(weather):
        temperature = (weather.assign(day=pd.to_datetime(weather["day"]))
                       .pivot(index="customer_id", columns="day", values="temperature_c")
                       .reindex(index=customers, columns=days).to_numpy(dtype=float))
    return DailySeries(customers=customers, classes=classes.to_numpy(),
                       class_codes=pd.Categorical(classes).codes.astype(float), days=days,
                       day_types=types, kwh=wide.to_numpy(dtype=float),
                       last=len(days) - 1 - horizon, temperature=temperature,
                       like_levels=_level_arrays(levels, customers, days))


LEVEL_COLUMNS = ["like_kwh", "band_p10", "band_p90"]


def _level_arrays(levels: pd.DataFrame | None, customers: np.ndarray,
                  days: pd.DatetimeIndex) -> dict[int, np.ndarray]:
    """Per origin column, the levels as (customers, day types, 3), NaN where a customer has no
    day of a type."""
    if levels is None or levels.empty:
        return {}
    rows = pd.Index(customers).get_indexer(levels["customer_id"])
    columns = days.get_indexer(pd.to_datetime(levels["origin_day"]))
    types = pd.Index(DAY_TYPES).get_indexer(levels["day_type"])
    known = (rows >= 0) & (columns >= 0) & (types >= 0)
    origins = np.unique(columns[known])
    out = np.full((len(origins), len(customers), len(DAY_TYPES), 3), np.nan)
    out[np.searchsorted(origins, columns[known]), rows[known], types[known]] = (
        levels.loc[known, LEVEL_COLUMNS].to_numpy(dtype=float))
    return {int(origin): out[i] for i, origin in enumerate(origins)}


LEVELS_SQL = """
select origin_day, customer_id, day_type, like_kwh, band_p10, band_p90
from core.int_customer_like_day_levels
"""


def read_series(con: duckdb.DuckDBPyConnection, horizon: int) -> DailySeries | None:
    """From core.int_customer_day_blocks (the daily run's validated energy by block) and
    core.int_customer_like_day_levels (built from it by forecast_job first); None before any day
    was validated."""
    rows = con.execute("""
        select b.customer_id, coalesce(c.customer_class, 'unknown') as customer_class,
               b.reading_date as day,
               case when sum(b.failed_intervals) = 0 then sum(b.kwh)::double end as kwh
        from core.int_customer_day_blocks b
        left join (select customer_id, arg_max(customer_class, valid_from) as customer_class
                   from master.customers group by customer_id) c using (customer_id)
        group by all order by 1, 3
    """).df()
    if rows.empty:
        return None
    rows["day"] = pd.to_datetime(rows["day"])
    last = rows["day"].max().date()
    span = [rows["day"].min().date(), last + timedelta(days=horizon)]
    levels = con.execute(LEVELS_SQL).df() if table_exists(
        con, "core", "int_customer_like_day_levels") else None
    return build_series(rows, read_calendar(con, *span), horizon, read_weather(con, *span),
                        levels)


WEATHER_SQL = """
with weather as (  -- per region and day: observed before forecast, then the latest file's row
    select region, day,
           arg_max(temperature_c, (source = 'observed', file_id, source_row))::double
               as temperature_c
    from raw.weather_daily
    where day between ? and ?
    group by all
)
select c.customer_id, w.day, w.temperature_c
from (select customer_id, arg_max(region, valid_from) as region
      from master.customers group by customer_id) c
join weather w using (region)
"""


def read_weather(con: duckdb.DuckDBPyConnection, first: date, last: date) -> pd.DataFrame | None:
    """Daily mean temperature of each customer's region (raw.weather_daily, the landing
    `weather_*` files); None before any weather file was loaded."""
    if not table_exists(con, "raw", "weather_daily"):
        return None
    return con.execute(WEATHER_SQL, [first, last]).df()


def weather_coverage(series: DailySeries, first: int, last: int) -> float:
    """Share of the customer-days in columns [first, last] with a temperature."""
    if series.temperature is None or last < first:
        return 0.0
    return float(np.isfinite(series.temperature[:, first: last + 1]).mean())


def read_calendar(con: duckdb.DuckDBPyConnection, first: date, last: date) -> pd.Series:
    """Day type by day (a DatetimeIndex) from core.dim_calendar; a day it lacks is a workday
    or weekend by its weekday."""
    found = con.execute("select day, day_type from core.dim_calendar where day between ? and ?",
                        [first, last]).df()
    days = pd.date_range(first, last, freq="D")
    types = found.assign(day=pd.to_datetime(found["day"])).set_index("day")["day_type"]
    fallback = pd.Series(np.where(days.weekday >= 5, "weekend", "workday"), index=days)
    return types.reindex(days).fillna(fallback)

