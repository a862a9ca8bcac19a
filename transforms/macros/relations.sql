{% macro relation_or_empty(relation, columns) -%}
{#- `columns` ({name: SQL type}) of `relation` when it exists in the warehouse, else no rows with
    those columns: for a model whose job may run before the job that builds one of its inputs
    (analytics_job before the first monthly run: no re-rating, no bills yet). A relation with
    no schema is a dbt unit test's given input: always there. `relation` none (a model
    disabled here, e.g. under SQLMesh): no rows. -#}
{%- if relation is none
      or (execute and relation.schema is not none
          and adapter.get_relation(relation.database, relation.schema, relation.identifier)
              is none) -%}
(select {% for name, type in columns.items() %}cast(null as {{ type }}) as {{ name }}
        {{- ", " if not loop.last }}{% endfor %} where false)
{%- else -%}
(select {{ columns.keys() | join(', ') }} from {{ relation }})
{%- endif %}
{%- endmacro %}
