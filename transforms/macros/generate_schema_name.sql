{#- Use the configured schema name as is (finance, marts, ...), not <target>_<schema>.
    The finance models go to the schema named by the var `finance_schema` (default `finance`):
    the monthly Dagster run builds and tests them in `finance_staging` and its publish step
    (finance/publish) copies them into `finance` in one transaction once every gate passed. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}
    {%- elif custom_schema_name | trim == 'finance' -%}{{ var('finance_schema', 'finance') }}
    {%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
