-- Every customer's region has a grid and TOU calendar (config seed grid_regions): a region
-- without a mapping would leave the customer's kWh out of the TOU blocks
-- (core.int_customer_day_calendar) and its tariffs unknown.
select distinct c.customer_id, c.region
from {{ ref('stg_customers') }} c
where c.region is null or c.region not in (select region from {{ ref('grid_regions') }})
