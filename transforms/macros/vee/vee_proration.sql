{#- VEE stage proration: the register delta of a candidate day against its intervals.
    Takes: pre_values (edits), params, rules.
    Gives the CTEs: day_totals (per candidate meter-day: register delta, estimated and fixed sums)
    and day_checks (+ factor: the scale of the day's proratable estimates so the day matches
    ΔR × multiplier, NULL when not prorated; validated_sum; sum_fails: the sum check after
    proration). -#}
{% macro vee_proration() -%}
-- where a register delta exists, prorate the estimates so the day matches ΔR × multiplier,
-- unless the register is too coarse for the energy to distribute or the factor is implausible
day_totals as (
    select
        meter_id, channel, day,
        any_value(primary_delta) as primary_delta,
        any_value(register_multiplier) as register_multiplier,
        sum(pre_value) filter (where quality_flag = 'ESTIMATED' and is_proratable and not is_edited)
            as estimated_sum,
        coalesce(sum(pre_value) filter (where not (quality_flag = 'ESTIMATED' and is_proratable)), 0)
            as fixed_sum,
        bool_or(quality_flag = 'FAILED') as any_failed
    from pre_values
    group by all
),

day_checks as (
    select
        d.*,
        f.factor,
        d.fixed_sum + coalesce(d.estimated_sum * f.factor, d.estimated_sum, 0) as validated_sum,
        rules.on_sum and d.primary_delta is not null and not d.any_failed
            and abs(d.fixed_sum + coalesce(d.estimated_sum * f.factor, d.estimated_sum, 0) - d.primary_delta)
                > greatest(p.sum_tolerance * abs(d.primary_delta), p.register_resolution * d.register_multiplier)
            as sum_fails
    from day_totals d
    cross join params p
    cross join rules
    cross join lateral (
        select case
            when d.primary_delta is not null and not d.any_failed and d.estimated_sum > 0
             and d.primary_delta - d.fixed_sum > 0
             and p.register_resolution * d.register_multiplier
                 <= p.prorate_uncertainty * (d.primary_delta - d.fixed_sum)
             and (d.primary_delta - d.fixed_sum) / d.estimated_sum
                 between 1.0 / p.prorate_max_factor and p.prorate_max_factor
            then (d.primary_delta - d.fixed_sum) / d.estimated_sum
        end as factor
    ) f
)
{%- endmacro %}
