"""Row rules applied to landing rows in SQL: each failing row gets one rule and a readable reason.

Structural problems only (a row the platform cannot place or type). Values that are wrong but
well-formed — negatives, spikes, duplicates — pass through here and are judged by VEE.

Parsing is strict: numbers are plain decimals (no digit separators such as `1_000`, no
exponents), interval lengths and multipliers whole numbers (`15.4` is not 15, `abc` is not
absent). Timestamps: naive values are China wall-clock time (Asia/Shanghai, UTC+8, no DST);
values with a zone or offset are converted to China wall-clock time, never to UTC.
"""

from __future__ import annotations

from foundation.clock import CHINA_TZ

# End-of-interval label to timestamp: `24:00` is the end of its own date. A label with a zone
# or UTC offset (`2026-10-01 00:15+08:00`, `...Z`) is converted to China wall-clock time.
_PARSE_TS = r"""
case when substr({col}, 11, 6) in (' 24:00', 'T24:00') and length({col}) in (16, 19)
     then try_strptime(substr({col}, 1, 10), '%Y-%m-%d') + interval 1 day
     else coalesce(try_strptime({col}, '%Y-%m-%d %H:%M'),
                   try_strptime({col}, '%Y-%m-%d %H:%M:%S'),
                   try_strptime({col}, '%Y-%m-%d %H:%M:%S.%f'),
                   try_strptime({col}, '%Y-%m-%dT%H:%M:%S'),
                   case when regexp_matches({col}, '(Z|[+-]\d\d:?\d\d)$')
                        then timezone('{tz}', coalesce(try_cast({col} as timestamptz),
                                                       try_strptime({col}, '%Y-%m-%d %H:%M%z')))
                   end) end
"""

_PLAIN_DECIMAL = r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*$"
_WHOLE_NUMBER = r"^\s*\+?\d+(\.0*)?\s*$"


def strict_cast(col: str, sql_type: str, pattern: str) -> str:
    """Cast text only when it matches the pattern; typed (Parquet) numbers cast as they are."""
    text_fails = f"not regexp_matches({col}::varchar, '{pattern}')"
    return (f"case when typeof({col}) = 'VARCHAR' and {text_fails} "
            f"then null else try_cast({col} as {sql_type}) end")


def whole_number(col: str) -> str:
    """An integer only when the value is whole (15 or 15.0, never 15.4)."""
    return (f"case when try_cast({col} as double) = try_cast(try_cast({col} as double) as bigint) "
            f"then {strict_cast(col, 'integer', _WHOLE_NUMBER)} end")


def timestamp_sql(col: str, ts_is_text: bool, zoned: bool = False) -> str:
    """The typing of a time column: text labels parsed, typed columns cast, zoned converted."""
    if ts_is_text:
        return _PARSE_TS.format(col=f"{col}::varchar", tz=CHINA_TZ)
    if zoned:
        return f"timezone('{CHINA_TZ}', try_cast({col} as timestamptz))"
    return f"try_cast({col} as timestamp)"


def interval_typed(ts_is_text: bool, zoned: bool = False) -> str:
    """SELECT typing the `batch` view's interval rows; raw text kept only for reasons."""
    ts = timestamp_sql("interval_end", ts_is_text, zoned)
    return f"""
select source_row, trim(meter_id::varchar) as meter_id, trim(channel::varchar) as channel,
       trim(unit::varchar) as unit, interval_end::varchar as interval_end,
       interval_minutes::varchar as interval_minutes, value::varchar as value,
       multiplier::varchar as multiplier,
       {whole_number("interval_minutes")} as minutes,
       {strict_cast("value", "decimal(18, 3)", _PLAIN_DECIMAL)} as val,
       {whole_number("multiplier")} as mult,
       {ts} as ts_end
from batch
"""


INTERVAL_RULES = """
with placed as (
  select t.*, t.ts_end - to_minutes(t.minutes) as interval_start,
    (select min(m.interval_minutes) from master.metering_points m
     where m.meter_id = t.meter_id
       and (t.ts_end - to_minutes(t.minutes))::date >= m.valid_from
       and (m.valid_to is null or (t.ts_end - to_minutes(t.minutes))::date <= m.valid_to)
    ) as master_minutes
  from typed t
)
select t.* exclude (master_minutes),
  case
    when coalesce(t.meter_id, '') = '' or coalesce(t.channel, '') = ''
         or t.interval_end is null or t.value is null or t.unit is null then 'missing_field'
    when t.channel not in ('kwh_imp', 'kvarh_imp') then 'unknown_channel'
    when t.ts_end is null then 'bad_timestamp'
    when t.minutes is null or t.minutes not in (1, 5, 10, 15, 30, 60) then 'bad_interval_length'
    when t.val is null then 'bad_number'
    when t.multiplier is not null and trim(t.multiplier) <> '' and (t.mult is null or t.mult < 1)
      then 'bad_multiplier'
    when (t.channel = 'kwh_imp' and t.unit <> 'kWh')
      or (t.channel = 'kvarh_imp' and t.unit <> 'kvarh') then 'unit_mismatch'
    when (hour(t.ts_end) * 60 + minute(t.ts_end)) % t.minutes <> 0
      or second(t.ts_end) <> 0 then 'misaligned_timestamp'
    when t.master_minutes is null then 'unknown_meter'
    when t.minutes <> t.master_minutes then 'interval_mismatch'
  end as rule
from placed t
"""

INTERVAL_REASON = """
case rule
  when 'missing_field'
    then 'a required field (meter_id, channel, interval_end, value, unit) is empty'
  when 'unknown_channel'
    then 'channel ' || coalesce(channel, 'NULL') || ' is not kwh_imp or kvarh_imp'
  when 'bad_timestamp'
    then 'interval_end ' || coalesce(interval_end, 'NULL') || ' is not a timestamp'
  when 'bad_interval_length' then 'interval_minutes ' || coalesce(interval_minutes, 'NULL')
       || ' is not one of 1, 5, 10, 15, 30, 60'
  when 'bad_number' then 'value ' || coalesce(value, 'NULL') || ' is not a plain decimal number'
  when 'bad_multiplier' then 'multiplier ' || multiplier || ' is not a positive whole number'
  when 'unit_mismatch'
    then 'unit ' || coalesce(unit, 'NULL') || ' does not match channel ' || channel
  when 'misaligned_timestamp' then 'interval_end ' || interval_end || ' is not on a '
       || minutes || '-minute boundary'
  when 'unknown_meter' then 'meter ' || meter_id || ' is not in master.metering_points on '
       || interval_start::date
  when 'interval_mismatch' then 'interval_minutes ' || minutes || ' differs from the master '
       || 'interval of meter ' || meter_id || ' on ' || interval_start::date
end
"""

INTERVAL_RAW_RECORD = """
concat_ws(',', meter_id, channel, interval_end, interval_minutes, value, unit, multiplier)
"""

def register_typed(ts_is_text: bool, zoned: bool = False) -> str:
    """SELECT typing the `batch` view's register rows."""
    ts = timestamp_sql("read_at", ts_is_text, zoned)
    return f"""
select source_row, trim(meter_id::varchar) as meter_id, trim(channel::varchar) as channel,
       read_at::varchar as read_at, register_value::varchar as register_value,
       {strict_cast("register_value", "decimal(18, 2)", _PLAIN_DECIMAL)} as val,
       {ts} as ts
from batch
"""


REGISTER_RULES = """
select t.*,
  case
    when coalesce(t.meter_id, '') = '' or coalesce(t.channel, '') = ''
         or t.read_at is null or t.register_value is null then 'missing_field'
    when t.channel not in ('kwh_imp', 'kvarh_imp') then 'unknown_channel'
    when t.ts is null then 'bad_timestamp'
    when t.val is null or t.val < 0 then 'bad_number'
    when not exists (select 1 from master.metering_points m where m.meter_id = t.meter_id)
      then 'unknown_meter'
  end as rule
from typed t
"""

REGISTER_REASON = """
case rule
  when 'missing_field' then 'a required field (meter_id, channel, read_at, register_value) is empty'
  when 'unknown_channel'
    then 'channel ' || coalesce(channel, 'NULL') || ' is not kwh_imp or kvarh_imp'
  when 'bad_timestamp' then 'read_at ' || coalesce(read_at, 'NULL') || ' is not a timestamp'
  when 'bad_number' then 'register_value ' || coalesce(register_value, 'NULL')
       || ' is not a non-negative decimal'
  when 'unknown_meter' then 'meter ' || meter_id || ' is not in master.metering_points'
end
"""

REGISTER_RAW_RECORD = "concat_ws(',', meter_id, channel, read_at, register_value)"


WEATHER_SOURCES = ("observed", "forecast")
WEATHER_RANGE_C = (-60, 60)


def weather_typed(ts_is_text: bool, zoned: bool = False) -> str:
    """SELECT typing the `batch` view's weather rows (a day, not a time: `ts_is_text` and
    `zoned` do not apply)."""
    return f"""
select source_row, trim(region::varchar) as region, trim(day::varchar) as day_text,
       temperature_c::varchar as temperature_c,
       coalesce(nullif(trim(source::varchar), ''), 'observed') as source,
       try_strptime(trim(day::varchar), '%Y-%m-%d')::date as day,
       {strict_cast("temperature_c", "decimal(5, 1)", _PLAIN_DECIMAL)} as temp
from batch
"""


WEATHER_RULES = f"""
select t.*,
  case
    when coalesce(t.region, '') = '' or t.day_text is null or t.temperature_c is null
      then 'missing_field'
    when t.day is null then 'bad_date'
    when t.temp is null then 'bad_number'
    when t.temp < {WEATHER_RANGE_C[0]} or t.temp > {WEATHER_RANGE_C[1]} then 'out_of_range'
    when t.source not in {WEATHER_SOURCES} then 'unknown_source'
    when not exists (select 1 from master.customers c where c.region = t.region)
      then 'unknown_region'
    when count(*) over (partition by t.region, t.day, t.source) > 1 then 'duplicate_key'
  end as rule
from typed t
"""

WEATHER_REASON = f"""
case rule
  when 'missing_field' then 'a required field (region, day, temperature_c) is empty'
  when 'bad_date' then 'day ' || day_text || ' is not a date (YYYY-MM-DD)'
  when 'bad_number' then 'temperature_c ' || temperature_c || ' is not a decimal'
  when 'out_of_range' then 'temperature_c ' || temperature_c || ' is outside '
       || '{WEATHER_RANGE_C[0]}..{WEATHER_RANGE_C[1]} °C'
  when 'unknown_source' then 'source ' || source || ' is not observed or forecast'
  when 'unknown_region' then 'region ' || region || ' has no customer in master.customers'
  when 'duplicate_key' then 'region ' || region || ', day ' || day_text || ' and source '
       || source || ' appear more than once in the file'
end
"""

WEATHER_RAW_RECORD = "concat_ws(',', region, day_text, temperature_c, source)"
