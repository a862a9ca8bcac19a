{{ config(materialized='ephemeral') }}
-- The grid and TOU calendar of each customer on each day of the window: the customer's region
-- (master data) → the grid_regions row in force on the day. The region is taken from the
-- customer version in force on the day; on a day without one (its kWh are finance.unbilled,
-- customer_not_active, yet still split into TOU blocks) from the nearest version: the latest
-- one starting before the day, else the first one. A region without a grid_regions row leaves
-- grid and tou_calendar_id NULL (singular test assert_every_customer_region_has_a_grid).
-- Inlined (ephemeral) into the daily and monthly models so it is always computed for their
-- window.

with days as (
    select day from {{ ref('dim_calendar') }}
    where day >= {{ window_start() }} and day < {{ window_end() }}
),

regions as (
    select d.day, c.customer_id, c.region
    from days d
    join {{ ref('stg_customers') }} c on true
    qualify row_number() over (
        partition by c.customer_id, d.day
        order by (d.day >= c.valid_from and (c.valid_to is null or d.day <= c.valid_to)) desc,
                 (c.valid_from <= d.day) desc,
                 abs(date_diff('day', c.valid_from, d.day))
    ) = 1
)

select r.customer_id, r.day, r.region, g.grid, g.tou_calendar_id, g.valid_from as grid_valid_from
from regions r
left join {{ ref('grid_regions') }} g
    on g.region = r.region and r.day >= g.valid_from and (g.valid_to is null or r.day <= g.valid_to)
