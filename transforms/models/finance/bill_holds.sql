{{ config(
    materialized='incremental', incremental_strategy='delete+insert',
    unique_key=['customer_id', 'period', 'determinant'], full_refresh=false,
    tags=['monthly'],
) }}
-- depends_on: {{ ref('period_close') }}
-- depends_on: {{ ref('int_interval_validated') }}
-- Bills held because a billing determinant rests on VEE estimates (issue 9), one row per
-- customer, month and determinant ('max_demand', 'block:<block>'), with the raw (read) and
-- validated values. Policy: settlement parameter estimated_determinant_policy in force on the
-- month's first day (core.int_customer_month; 1 = hold, 0 = issue: no hold, the bill names the
-- determinants in finance.bills.determinants_on_estimate).
--
-- State across runs (the table continues from the published copy, see finance/publish):
--   held      the determinant rests on estimates and the policy is hold: finance.bills has the
--             bill with bill_status 'held' (its lines stay in finance.bill_lines, so every
--             validated kWh is still on a bill line), no bill document and no bill_ready notice
--   released  a later run of the month finds it no longer on estimates: released_by =
--             'manual_edit:<approver>' (the interval is EDITED by an approved manual edit),
--             'confirming_read' (a read, e.g. a register confirming the day, replaced the
--             estimate) or 'policy_issue' (the policy in force is now issue); released_value =
--             the determinant's value the bill is now issued with
-- A released row stays released (and a later hold of the same determinant holds it again).
-- Locked months (finance.period_close) are never touched.

with cm as (
    select * from {{ ref('int_customer_month') }}
    where period_start >= {{ window_start() }} and period_start < {{ window_end() }}
      and unbilled_reason is null
      and period not in (select period from {{ ref('period_close') }})
),

blocks as (
    select b.customer_id, b.period, b.block, b.kwh, b.estimated_kwh
    from {{ ref('int_customer_month_blocks') }} b
    where b.period_start >= {{ window_start() }} and b.period_start < {{ window_end() }}
),

-- every determinant resting on estimates now, whatever the policy
facts as (
    select customer_id, period, period_start, 'max_demand' as determinant,
           'max_demand_on_estimate' as reason, 'kW' as unit,
           demand_read_max_kw as raw_value, max_demand_kw as validated_value,
           demand_estimate_interval as interval_start, estimated_determinant_policy
    from cm
    where demand_on_estimate
    union all
    select cm.customer_id, cm.period, cm.period_start, 'block:' || b.block,
           'block_estimated_share', 'kWh',
           cast(b.kwh - b.estimated_kwh as decimal(18, 3)), b.kwh,
           cast(null as timestamp), cm.estimated_determinant_policy
    from cm
    join blocks b on b.customer_id = cm.customer_id and b.period = cm.period
    where list_contains(string_split(coalesce(cm.estimated_blocks, ''), ';'), b.block)
),

-- the current value of every determinant (what a released bill is issued with)
current_values as (
    select customer_id, period, 'max_demand' as determinant, max_demand_kw as value from cm
    union all
    select b.customer_id, b.period, 'block:' || b.block, b.kwh
    from blocks b semi join cm on cm.customer_id = b.customer_id and cm.period = b.period
),

previous as (
    {% if is_incremental() %}
    select * from {{ this }}
    where period_start >= {{ window_start() }} and period_start < {{ window_end() }}
      and period in (select period from cm)
    {% else %}
    select cast(null as varchar) as customer_id, cast(null as varchar) as period,
           cast(null as date) as period_start, cast(null as varchar) as determinant,
           cast(null as varchar) as reason, cast(null as varchar) as unit,
           cast(null as decimal(18, 3)) as raw_value, cast(null as decimal(18, 3)) as validated_value,
           cast(null as timestamp) as interval_start, cast(null as varchar) as status,
           cast(null as timestamp) as held_at, cast(null as timestamp) as released_at,
           cast(null as varchar) as released_by, cast(null as decimal(18, 3)) as released_value
    where false
    {% endif %}
),

-- who released a held max-demand interval: the approver of the edit now in force on it
edits as (
    {%- set edits = source('raw', 'manual_edits') %}
    {%- if execute and adapter.get_relation(edits.database, edits.schema, edits.identifier) is not none %}
    select v.customer_id, strftime(v.reading_date, '%Y-%m') as period, v.interval_start,
           max(e.approver) as approver
    from {{ ref('int_interval_validated') }} v
    join {{ edits }} e
        on e.file_id = v.version and e.source_row = v.source_row
    where v.reading_date >= {{ window_start() }} and v.reading_date < {{ window_end() }}
      and v.quality_flag = 'EDITED' and v.channel = 'kwh_imp'
      and v.customer_id in (select customer_id from previous)
    group by all
    {%- else %}
    select cast(null as varchar) as customer_id, cast(null as varchar) as period,
           cast(null as timestamp) as interval_start, cast(null as varchar) as approver
    where false
    {%- endif %}
),

month_edits as (
    select customer_id, period, min(approver) as approver from edits group by all
),

held as (
    select f.customer_id, f.period, f.period_start, f.determinant, f.reason, f.unit,
           f.raw_value, f.validated_value, f.interval_start,
           'held' as status,
           coalesce(p.held_at, current_timestamp::timestamp) as held_at,
           cast(null as timestamp) as released_at,
           cast(null as varchar) as released_by,
           cast(null as decimal(18, 3)) as released_value
    from facts f
    left join previous p
        on p.customer_id = f.customer_id and p.period = f.period and p.determinant = f.determinant
       and p.status = 'held'
    where f.estimated_determinant_policy = 'hold'
),

released as (
    select p.customer_id, p.period, p.period_start, p.determinant, p.reason, p.unit,
           p.raw_value, p.validated_value, p.interval_start,
           'released' as status,
           p.held_at,
           case when p.status = 'released' then p.released_at
                else current_timestamp::timestamp end as released_at,
           case
               when p.status = 'released' then p.released_by
               when f.customer_id is not null then 'policy_issue'
               when coalesce(e.approver, me.approver) is not null
                   then 'manual_edit:' || coalesce(e.approver, me.approver)
               else 'confirming_read'
           end as released_by,
           case when p.status = 'released' then p.released_value
                else cast(c.value as decimal(18, 3)) end as released_value
    from previous p
    left join facts f
        on f.customer_id = p.customer_id and f.period = p.period and f.determinant = p.determinant
    left join edits e
        on p.determinant = 'max_demand' and e.customer_id = p.customer_id
       and e.period = p.period and e.interval_start = p.interval_start
    left join month_edits me
        on p.determinant <> 'max_demand' and me.customer_id = p.customer_id and me.period = p.period
    left join current_values c
        on c.customer_id = p.customer_id and c.period = p.period and c.determinant = p.determinant
    where not exists (
        select 1 from held h
        where h.customer_id = p.customer_id and h.period = p.period and h.determinant = p.determinant)
)

select
    customer_id,
    period,
    period_start,
    determinant,
    reason,
    unit,
    cast(raw_value as decimal(18, 3)) as raw_value,
    cast(validated_value as decimal(18, 3)) as validated_value,
    interval_start,
    status,
    held_at,
    released_at,
    released_by,
    cast(released_value as decimal(18, 3)) as released_value
from held
union all
select
    customer_id, period, period_start, determinant, reason, unit,
    cast(raw_value as decimal(18, 3)), cast(validated_value as decimal(18, 3)), interval_start,
    status, held_at, released_at, released_by, cast(released_value as decimal(18, 3))
from released
