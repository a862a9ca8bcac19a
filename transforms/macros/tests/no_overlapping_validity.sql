{#-
    Generic test: for each key (`partition_by` columns), no two distinct validity ranges
    [valid_from, valid_to] overlap. Both ends are inclusive dates; a NULL valid_to is open-ended.

    Rows are first reduced to distinct (key, valid_from, valid_to) versions, so a table whose
    version holds many rows (e.g. the TOU periods of one calendar version) is checked per version.
    Exact duplicate rows are left to `unique_combination`.
    Returns one row per overlapping pair of versions.
-#}
{% test no_overlapping_validity(model, partition_by, valid_from='valid_from', valid_to='valid_to') %}

{%- set open_end = "date '9999-12-31'" -%}

with versions as (
    select distinct
        {% for col in partition_by %}{{ col }}, {% endfor %}
        {{ valid_from }} as valid_from,
        {{ valid_to }} as valid_to
    from {{ model }}
),

overlapping_pairs as (
    select
        {% for col in partition_by %}a.{{ col }}, {% endfor %}
        a.valid_from as a_valid_from,
        a.valid_to as a_valid_to,
        b.valid_from as b_valid_from,
        b.valid_to as b_valid_to
    from versions as a
    inner join versions as b
        on {% for col in partition_by %}a.{{ col }} = b.{{ col }} and {% endfor %}
           (a.valid_from < b.valid_from
            or (a.valid_from = b.valid_from
                and coalesce(a.valid_to, {{ open_end }}) < coalesce(b.valid_to, {{ open_end }})))
    where a.valid_from <= coalesce(b.valid_to, {{ open_end }})
      and b.valid_from <= coalesce(a.valid_to, {{ open_end }})
)

select * from overlapping_pairs

{% endtest %}
