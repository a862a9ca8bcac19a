"""The service snapshot: what the SMS query service reads, copied out of the warehouse.

Written by the platform (asset `sms/service_snapshot`, or `write_service_snapshot` on a writable
warehouse connection) with the one snapshot writer, `foundation.snapshots.write_snapshot`, into
`<stem>.service.duckdb` beside the warehouse (`$GRIDLEDGER_SERVICE_SNAPSHOT`). The service opens
it read-only per request and never opens the warehouse. Unlike the BI snapshot it holds personal
data (customer contacts' phone numbers, to match senders): keep it with the restricted file,
never hand it to BI tools.

- `service.contacts`: customer contacts with a phone (contact_id, customer_id, contact_name,
  phone);
- `service.contract_volumes`: customer_id, period (`YYYY-MM`), contracted_kwh in force;
- `service.daily_kwh`: customer_id, reading_date, validated kWh (`core.int_interval_validated`);
- `service.latest_reads`: per meter its latest register read (kWh dial, 2 dp), else its latest
  validated interval (kWh, 3 dp);
- `service.bills`: issued bills (`finance.bills`, `bill_status = 'issued'`): period, billed_kwh,
  total_yuan.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from foundation.snapshots import write_snapshot
from foundation.warehouse import table_exists


@dataclass(frozen=True)
class Relation:
    """One snapshot table: the tables it reads, its query, and its columns (name, type), which
    it has empty while a source table does not exist yet (a fresh warehouse before its first
    monthly run has no `finance.bills`; master data without `contacts.csv` no contacts)."""

    sources: tuple[str, ...]
    query: str
    columns: tuple[tuple[str, str], ...]

    def sql(self, con: duckdb.DuckDBPyConnection) -> str:
        if all(table_exists(con, *source.split(".")) for source in self.sources):
            return self.query
        typed = ", ".join(f"null::{kind} as {name}" for name, kind in self.columns)
        return f"select {typed} where false"


SERVICE_RELATIONS: dict[str, Relation] = {
    "service.contacts": Relation(("restricted.contacts",), """
        select contact_id, customer_id, contact_name, phone from restricted.contacts
        where role = 'customer_contact' and customer_id is not null
          and coalesce(trim(phone), '') <> ''""",
        (("contact_id", "varchar"), ("customer_id", "varchar"), ("contact_name", "varchar"),
         ("phone", "varchar"))),
    "service.contract_volumes": Relation(("master.contracts", "master.contract_volumes"), """
        select c.customer_id, v.period, sum(v.contracted_kwh) as contracted_kwh
        from master.contracts c join master.contract_volumes v using (contract_id)
        where v.period between c.start_month and c.end_month
        group by all""",
        (("customer_id", "varchar"), ("period", "varchar"), ("contracted_kwh", "decimal(38,3)"))),
    "service.daily_kwh": Relation(("core.int_interval_validated",), """
        select customer_id, reading_date, sum(value) as kwh
        from core.int_interval_validated
        where channel = 'kwh_imp' and customer_id is not null
        group by all""",
        (("customer_id", "varchar"), ("reading_date", "date"), ("kwh", "decimal(38,3)"))),
    "service.latest_reads": Relation(
        ("master.metering_points", "raw.register_reads", "core.int_interval_validated"), """
        with meters as (
            select meter_id, arg_max(customer_id, valid_from) as customer_id
            from master.metering_points group by meter_id
        ), registers as (
            select meter_id, 'register' as read_kind, 2 as decimals,
                   max(read_at) as read_at, arg_max(register_value, (read_at, file_id)) as value
            from raw.register_reads where channel = 'kwh_imp' group by meter_id
        ), intervals as (
            select meter_id, 'interval' as read_kind, 3 as decimals,
                   max(interval_start + to_minutes(interval_minutes)) as read_at,
                   arg_max(value, interval_start) as value
            from core.int_interval_validated
            where channel = 'kwh_imp' and value is not null group by meter_id
        )
        select m.customer_id, r.meter_id, r.read_kind, r.read_at, r.value, r.decimals
        from (select * from registers union all
              select * from intervals i
              where not exists (select 1 from registers g where g.meter_id = i.meter_id)) r
        join meters m using (meter_id)""",
        (("customer_id", "varchar"), ("meter_id", "varchar"), ("read_kind", "varchar"),
         ("read_at", "timestamp"), ("value", "decimal(18,3)"), ("decimals", "integer"))),
    "service.bills": Relation(("finance.bills",), """
        select customer_id, period, billed_kwh, total_yuan from finance.bills
        where bill_status = 'issued'""",
        (("customer_id", "varchar"), ("period", "varchar"), ("billed_kwh", "decimal(38,3)"),
         ("total_yuan", "decimal(18,2)"))),
}


def write_service_snapshot(con: duckdb.DuckDBPyConnection, target: Path, run_id: str
                           ) -> dict[str, int]:
    """Write the service snapshot from a writable warehouse connection (restricted attached);
    a table whose sources do not exist yet is written empty."""
    return write_snapshot(con, target, {name: relation.sql(con) for name, relation
                                        in SERVICE_RELATIONS.items()}, run_id)
