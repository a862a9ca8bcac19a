"""Config coverage of a month, checked before the monthly run writes anything.

Every customer with a metering point in the month needs, in force on the month's first day:
the grid_regions row of its region (its grid and TOU calendar), the tariff rows of that grid,
voltage level and tariff type (T&D energy, system operation,
government funds, line loss, and the basic charge of a two-part tariff), its package version,
the market index rows its package model reads (LINKED: the linked index, SPREAD: the reference
index; a FIXED package reads none), its TOU calendar for the month, the power-factor table of
its PF standard, its contract's deviation clause; every retailer needs a wholesale_costs row
or the month's market_avg index (its wholesale cost is derived from it), and the portfolio
deviation clause; the settlement parameters must be in force. Each rule returns the missing
rows as (key, needed_by); `missing_config` names the seed file, the key and the period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from foundation.months import month_bounds, months_between
from foundation.warehouse import table_exists

SEEDS_FOLDER = "transforms/seeds/config"
REQUIRED_PARAMETERS = (
    "pf_base_includes_line_loss", "pf_base_includes_system_operation",
    "pf_base_includes_td_energy", "demand_band_factor", "demand_excess_multiplier",
    "min_contract_demand_share", "contract_demand_band_billed_at_base",
    "lt_1kv_no_sharp_deep_blocks", "line_loss_base_agency_price",
)


def _in_force(alias: str) -> str:
    """SQL: the row `alias` is in force on the month's first day."""
    return (f"$start >= {alias}.valid_from "
            f"and ({alias}.valid_to is null or $start <= {alias}.valid_to)")


# The month's customers (a metering point in the month), their contracts and package versions.
SCOPE = f"""
with metered as (
    select distinct customer_id from staging.stg_metering_points m
    where m.valid_from < $end and (m.valid_to is null or m.valid_to >= $start)
),
customers as (  -- with the grid and TOU calendar its region selects (config.grid_regions)
    select c.*, g.grid, g.tou_calendar_id
    from staging.stg_customers c join metered using (customer_id)
    left join config.grid_regions g on g.region = c.region and {_in_force('g')}
    where {_in_force('c')}
),
contracts as (
    select k.* from staging.stg_contracts k join metered using (customer_id)
    where $start between k.start_date and k.end_date
),
packages as (
    select p.*, k.customer_id from contracts k join config.retail_packages p using (package_id)
    where {_in_force('p')}
)
"""


def _needed_by(what: str, column: str) -> str:
    return (f"count(distinct {column}) || ' {what}, e.g. ' || min({column})")


@dataclass(frozen=True)
class Rule:
    """Missing rows of one seed: a query returning (key, needed_by) for the month."""

    seed: str
    sql: str


def _contract_reference(seed: str, column: str) -> Rule:
    """The contracts of the month name a `column` that has no row of config seed `seed` in force."""
    return Rule(seed, f"""
        select '{column}=' || {column}, {_needed_by('contracts', 'contract_id')}
        from contracts k
        where {column} is not null and not exists (
            select 1 from config.{seed} x
            where x.{column} = k.{column} and {_in_force('x')})
        group by all""")


RULES = (
    Rule("grid_regions", f"""
        select 'region=' || region, {_needed_by('customers', 'customer_id')}
        from customers where grid is null
        group by all"""),
    Rule("tariffs", f"""
        , needs as (
            select customer_id, grid, voltage_level, tariff_type, code
            from customers, (values ('td_energy'), ('system_operation'), ('government_funds'),
                                    ('line_loss_rate')) v(code)
            union all
            select customer_id, grid, voltage_level, tariff_type,
                   case basic_charge_mode when 'capacity' then 'basic_capacity'
                        else 'basic_demand' end
            from customers
            where tariff_type = 'two_part'
              and basic_charge_mode in ('capacity', 'contract_demand', 'actual_demand')
        )
        select 'tariff_code=' || code || ', grid=' || grid || ', voltage_level=' || voltage_level
               || ', tariff_type=' || tariff_type, {_needed_by('customers', 'customer_id')}
        from needs n
        where n.grid is not null and not exists (
            select 1 from config.tariffs t
            where t.tariff_code = n.code and t.grid = n.grid
              and t.voltage_level in (n.voltage_level, '*')
              and t.tariff_type in (n.tariff_type, '*') and {_in_force('t')})
        group by all"""),
    _contract_reference("retail_packages", "package_id"),
    Rule("market_index_prices", f"""
        , needs as (
            select linked_target as index_code, 'package ' || package_id || ' (LINKED)' as why
            from packages where model_code = 'LINKED' and linked_target is not null
            union
            select reference_type, 'package ' || package_id || ' (SPREAD)'
            from packages where model_code = 'SPREAD' and reference_type is not null
            union
            select 'agency_price', 'settlement parameter line_loss_base_agency_price = 1'
            from config.settlement_parameters s
            where s.parameter = 'line_loss_base_agency_price' and s.value = 1
              and {_in_force('s')}
            union
            select 'market_avg', 'retailer ' || c.retailer_id
                   || ' (no wholesale_costs.csv row: its wholesale cost is derived)'
            from customers c
            where not exists (select 1 from config.wholesale_costs w
                              where w.retailer_id = c.retailer_id and w.period = $period)
        )
        select 'period=' || $period || ', index_code=' || index_code,
               string_agg(why, '; ' order by why)
        from needs n
        where not exists (select 1 from config.market_index_prices m
                          where m.period = $period and m.index_code = n.index_code)
        group by all"""),
    Rule("tou_periods", f"""
        select 'calendar_id=' || c.tou_calendar_id || ', month=' || month($start),
               {_needed_by('customers', 'c.customer_id')}
        from customers c
        where c.tou_calendar_id is not null and not exists (
            select 1 from config.tou_periods tp
            where tp.calendar_id = c.tou_calendar_id and tp.valid_from < $end
              and (tp.valid_to is null or tp.valid_to >= $start)
              and list_contains(string_split(tp.months, ';'), cast(month($start) as varchar)))
        group by all"""),
    Rule("pf_adjustment_rates", f"""
        select 'pf_standard=' || c.pf_standard || ' (hundredths 0..100)',
               {_needed_by('customers', 'c.customer_id')}
        from customers c
        where c.pf_standard is not null and c.pf_standard <> 'none' and (
            select count(distinct r.pf_hundredths) from config.pf_adjustment_rates r
            where cast(r.pf_standard as decimal(4, 2)) = try_cast(c.pf_standard as decimal(4, 2))
              and r.pf_hundredths between 0 and 100 and {_in_force('r')}) < 101
        group by all"""),
    _contract_reference("deviation_clauses", "deviation_clause_id"),
    Rule("portfolio_deviation_clauses", f"""
        select 'deviation_clause_id=DEV_PORTFOLIO', {_needed_by('retailers', 'retailer_id')}
        from customers
        where not exists (
            select 1 from config.portfolio_deviation_clauses d
            where d.deviation_clause_id = 'DEV_PORTFOLIO' and {_in_force('d')})
        group by all
        having count(*) > 0"""),
    Rule("settlement_parameters", f"""
        select 'parameter=' || p.parameter, 'every customer'
        from (select unnest($parameters) as parameter) p
        where exists (select 1 from customers) and not exists (
            select 1 from config.settlement_parameters s
            where s.parameter = p.parameter and {_in_force('s')})"""),
)


@dataclass(frozen=True)
class MissingConfig:
    """One config row a month needs and does not have."""

    seed: str
    key: str
    period: str
    needed_by: str

    def __str__(self) -> str:
        return (f"{SEEDS_FOLDER}/{self.seed}.csv: no row {self.key} in force for {self.period} "
                f"(needed by {self.needed_by})")


def missing_config(con: duckdb.DuckDBPyConnection, first: date, last: date) -> list[MissingConfig]:
    """The config rows missing for each month of [first, last] (empty when all are present)."""
    if not table_exists(con, "staging", "stg_metering_points"):
        return []  # no master data yet: the reference job has not run, nothing can be billed
    missing = []
    for period in months_between(first, last):
        start, end = month_bounds(period)
        for rule in RULES:
            params = {"start": start, "end": end, "period": period,
                      "parameters": list(REQUIRED_PARAMETERS)}
            sql = SCOPE + rule.sql
            used = {name: value for name, value in params.items() if f"${name}" in sql}
            for key, needed_by in con.execute(sql, used).fetchall():
                missing.append(MissingConfig(rule.seed, key, period, needed_by))
    return missing
