{#- A read's version key: its ledger file id and source row in one sortable number
    (file_id × 10^9 + source_row), so arg_max/max pick the latest version, then the last row. -#}
{% macro version_key(alias) %}({{ alias }}.file_id * 1000000000 + {{ alias }}.source_row){% endmacro %}
{% macro version_of(key) %}({{ key }} // 1000000000){% endmacro %}
{% macro source_row_of(key) %}({{ key }} % 1000000000){% endmacro %}
