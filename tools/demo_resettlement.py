"""`make demo`, last step: close the month, land a corrected file, re-settle.

Finance closes the demo month (a row in `finance.period_close`), then the head-end re-sends one
meter-day with higher readings (the original values × 1.10 between 08:00 and 20:00). The daily
job re-validates that day, the monthly job re-settles the month: the issued bills stay as they
were and the difference becomes `finance.adjustments` lines (追退补) that reference them.

The corrected file is derived from the *first* version of each reading, so a second `make demo`
writes the same bytes, the ledger skips them as already loaded, and nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from foundation.warehouse import connect

CORRECTION_FACTOR = "1.10"

CLOSE_SQL = """
insert into finance.period_close
select ?, current_date, 'demo', 'closed by make demo before a corrected file', now()
where ? not in (select period from finance.period_close)
"""

# the first meter (by id) whose kWh reads of the day are all ACTUAL
METER_SQL = """
select meter_id from core.int_interval_validated
where reading_date = ? and channel = 'kwh_imp'
group by meter_id having bool_and(quality_flag = 'ACTUAL')
order by meter_id limit 1
"""

# the first landed version of each of its reads that day, in the landing contract
CORRECTION_SQL = """
copy (
    select meter_id, channel,
           case when cast(interval_start + to_minutes(interval_minutes) as time) = time '00:00'
                then strftime(interval_start, '%Y-%m-%d') || ' 24:00'
                else strftime(interval_start + to_minutes(interval_minutes), '%Y-%m-%d %H:%M')
           end as interval_end,
           interval_minutes,
           case when hour(interval_start) between 8 and 19
                then cast(round(value * {factor}, 3) as decimal(18, 3)) else value end as value,
           unit, multiplier
    from raw.interval_reads
    where meter_id = '{meter}' and channel = 'kwh_imp'
      and interval_start >= date '{day}' and interval_start < date '{day}' + 1
    qualify row_number() over (partition by interval_start order by file_id, source_row) = 1
    order by interval_start
) to '{path}' (header, delimiter ',')
"""


@dataclass(frozen=True)
class Correction:
    """The month closed and the meter-day re-sent."""

    period: str
    meter_id: str
    day: date
    file: Path


def close_and_correct(warehouse: Path, landing_dir: Path, period_start: date) -> Correction:
    """Close the month and write the corrected file for its 15th into the landing folder."""
    period, day = f"{period_start:%Y-%m}", period_start.replace(day=15)
    sent_on = (period_start.replace(day=28) + timedelta(days=4)).replace(day=5)
    path = landing_dir / f"reads_{sent_on:%Y%m%d}_90.csv"
    with connect(warehouse) as con:
        con.execute(CLOSE_SQL, [period, period])
        (meter,) = con.execute(METER_SQL, [day]).fetchone()
        if not path.exists():
            con.execute(CORRECTION_SQL.format(factor=CORRECTION_FACTOR, meter=meter,
                                              day=day.isoformat(), path=path))
    return Correction(period, meter, day, path)

