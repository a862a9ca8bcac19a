{#-
    Generic test: the combination of `combination_of_columns` is unique in `model`.
    Returns one row per duplicated combination (with its row count).
-#}
{% test unique_combination(model, combination_of_columns) %}

{%- set cols = combination_of_columns | join(', ') -%}

select
    {{ cols }},
    count(*) as n_rows
from {{ model }}
group by {{ cols }}
having count(*) > 1

{% endtest %}
