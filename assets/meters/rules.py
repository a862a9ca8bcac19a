"""Row rules applied to landing rows in SQL: each failing row gets one rule and a readable reason.

Structural problems only (a row the platform cannot place or type). Values that are wrong but
well-formed — negatives, spikes, duplicates — pass through here and are judged by VEE.
"""

from __future__ import annotations

# End-of-interval label to timestamp: `24:00` is the end of its own date.
_PARSE_TS = """
case when substr({col}, 11, 6) in (' 24:00', 'T24:00') and length({col}) in (16, 19)
     then try_strptime(substr({col}, 1, 10), '%Y-%m-%d') + interval 1 day
     else coalesce(try_strptime({col}, '%Y-%m-%d %H:%M'),
                   try_strptime({col}, '%Y-%m-%d %H:%M:%S'),
                   try_strptime({col}, '%Y-%m-%d %H:%M:%S.%f'),
                   try_strptime({col}, '%Y-%m-%dT%H:%M:%S')) end
"""

# Typed columns (Parquet) cast directly; text columns (CSV) go through the label parser.
def interval_typed(ts_is_text: bool) -> str:
    """SELECT typing the `batch` view's interval rows; raw text kept only for reasons."""
    ts = _PARSE_TS.format(col="interval_end::varchar") if ts_is_text else (
        "try_cast(interval_end as timestamp)"
    )
    return f"""
select source_row, trim(meter_id::varchar) as meter_id, trim(channel::varchar) as channel,
       trim(unit::varchar) as unit, interval_end::varchar as interval_end,
       interval_minutes::varchar as interval_minutes, value::varchar as value,
       multiplier::varchar as multiplier,
       try_cast(interval_minutes as integer) as minutes,
       try_cast(value as decimal(18, 3)) as val,
       try_cast(multiplier as integer) as mult,
       {ts} as ts_end
from batch
"""


INTERVAL_RULES = """
select t.*,
  t.ts_end - to_minutes(t.minutes) as interval_start,
  case
    when coalesce(t.meter_id, '') = '' or coalesce(t.channel, '') = ''
         or t.interval_end is null or t.value is null or t.unit is null then 'missing_field'
    when t.channel not in ('kwh_imp', 'kvarh_imp') then 'unknown_channel'
    when t.ts_end is null then 'bad_timestamp'
    when t.minutes is null or t.minutes not in (1, 5, 10, 15, 30, 60) then 'bad_interval_length'
    when t.val is null then 'bad_number'
    when (t.channel = 'kwh_imp' and t.unit <> 'kWh')
      or (t.channel = 'kvarh_imp' and t.unit <> 'kvarh') then 'unit_mismatch'
    when (hour(t.ts_end) * 60 + minute(t.ts_end)) % t.minutes <> 0
      or second(t.ts_end) <> 0 then 'misaligned_timestamp'
    when not exists (
        select 1 from master.metering_points m
        where m.meter_id = t.meter_id
          and (t.ts_end - to_minutes(t.minutes))::date >= m.valid_from
          and (m.valid_to is null or (t.ts_end - to_minutes(t.minutes))::date <= m.valid_to)
    ) then 'unknown_meter'
  end as rule
from typed t
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
  when 'bad_number' then 'value ' || coalesce(value, 'NULL') || ' is not a decimal number'
  when 'unit_mismatch'
    then 'unit ' || coalesce(unit, 'NULL') || ' does not match channel ' || channel
  when 'misaligned_timestamp' then 'interval_end ' || interval_end || ' is not on a '
       || minutes || '-minute boundary'
  when 'unknown_meter' then 'meter ' || meter_id || ' is not in master.metering_points on '
       || interval_start::date
end
"""

INTERVAL_RAW_RECORD = """
concat_ws(',', meter_id, channel, interval_end, interval_minutes, value, unit, multiplier)
"""

def register_typed(ts_is_text: bool) -> str:
    """SELECT typing the `batch` view's register rows."""
    ts = _PARSE_TS.format(col="read_at::varchar") if ts_is_text else (
        "try_cast(read_at as timestamp)"
    )
    return f"""
select source_row, trim(meter_id::varchar) as meter_id, trim(channel::varchar) as channel,
       read_at::varchar as read_at, register_value::varchar as register_value,
       try_cast(register_value as decimal(18, 2)) as val,
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
