{#-
    Generic test: valid_to, when set, is not before valid_from (both inclusive dates).
    Returns the offending rows.
-#}
{% test valid_date_range(model, valid_from='valid_from', valid_to='valid_to') %}

select *
from {{ model }}
where {{ valid_to }} is not null
  and {{ valid_to }} < {{ valid_from }}

{% endtest %}
