"""Reading personal data back from the restricted catalog, for what the customer receives.

The main warehouse file carries residential customers' names masked (`master.customers`,
`workflow.curtailment_customers`); the full names are in `restricted.customer_names` (the
restricted file, attached by `foundation.warehouse.connect`). Bills and notices, which go to the
customer, render the full name through these SQL expressions; nothing writes it back into the
main file.
"""

from __future__ import annotations

import duckdb

from foundation.warehouse import table_exists

CUSTOMER_NAMES = "restricted.customer_names"  # customer_id, valid_from, customer_name


def customer_name_sql(alias: str, *, versioned: bool = True) -> str:
    """SQL for the full name of the customer row `alias` (a resident's from the restricted file,
    anyone else's as `alias.customer_name`). `versioned`: `alias` has a `valid_from` and the
    name of that version is taken; otherwise the latest one."""
    if versioned:
        name = (f"(select any_value(n.customer_name) from {CUSTOMER_NAMES} n"
                f" where n.customer_id = {alias}.customer_id"
                f" and n.valid_from = {alias}.valid_from)")
    else:
        name = (f"(select arg_max(n.customer_name, n.valid_from) from {CUSTOMER_NAMES} n"
                f" where n.customer_id = {alias}.customer_id)")
    return f"coalesce({name}, {alias}.customer_name)"


def personal_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every person's name on file (contacts, residential customers): what free text stored in
    the main file must not show (`notifications.masking.scrub_text(text, names)`)."""
    sources = (("contacts", "contact_name"), ("customer_names", "customer_name"))
    parts = [f"select {column} as name from restricted.{table}" for table, column in sources
             if table_exists(con, "restricted", table)]
    if not parts:
        return []
    rows = con.execute(" union ".join(parts)).fetchall()
    return [name for (name,) in rows if name]
