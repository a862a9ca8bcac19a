{#- DuckDB's memory limit and threads from configuration, applied before every dbt command
    (on-run-start in dbt_project.yml): the same variables and checks as
    foundation.warehouse.engine_settings. SET is instance-wide: every thread's connection of
    this dbt process gets it. Unset: DuckDB's defaults and the hook does nothing (SQLMesh, which
    runs on-run-start as before_all, sees `select 1`); set, it logs what DuckDB runs with. -#}
{% macro apply_engine_settings() %}
  {%- if execute -%}
    {%- set memory = env_var('GRIDLEDGER_DUCKDB_MEMORY_LIMIT', '') | trim -%}
    {%- set threads = env_var('GRIDLEDGER_DUCKDB_THREADS', '') | trim -%}
    {%- if memory -%}
      {%- if not modules.re.fullmatch('\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)', memory) -%}
        {{ exceptions.raise_compiler_error("GRIDLEDGER_DUCKDB_MEMORY_LIMIT='" ~ memory ~ "': expected a size such as 8GB or 6GiB (units KB, MB, GB, TB, KiB, MiB, GiB, TiB)") }}
      {%- endif -%}
      {%- do run_query("set memory_limit = '" ~ memory ~ "'") -%}
    {%- endif -%}
    {%- if threads -%}
      {%- if not modules.re.fullmatch('[1-9][0-9]*', threads) -%}
        {{ exceptions.raise_compiler_error("GRIDLEDGER_DUCKDB_THREADS='" ~ threads ~ "': expected a whole number of threads >= 1") }}
      {%- endif -%}
      {%- do run_query("set threads = " ~ threads) -%}
    {%- endif -%}
    {%- if memory or threads -%}
    {%- set now = run_query("select current_setting('memory_limit'), current_setting('threads')") -%}
    {{ log("DuckDB engine: memory_limit=" ~ now.columns[0].values()[0] ~ " threads=" ~ now.columns[1].values()[0], info=True) }}
    {%- endif -%}
  {%- endif -%}
  select 1
{% endmacro %}
