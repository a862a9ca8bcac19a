"""Business workflows fed by inbox files: early termination and orderly power use (curtailment).

- `foundation/workflow_schema.py`: the `workflow` schema (state that must survive master-data
  reloads)
- `inbox.py`: reading and validating inbox CSVs, file ledger, rejections
- `termination.py`: request -> fee -> payment instruction -> payment result -> notices;
  the fee itself in `termination_fee.py`
- `curtailment/`: plan -> affected customers -> notice / reminder / escalation / all-clear
  -> reduction vs baseline (`rules`, `plans`, `baseline`, `messages`, `evaluation`); lead times
  in `curtailment_rules.csv`
- `assets.py`: the Dagster assets; `tools/demo_inbox.py` writes demo inbox files

This module holds the recipient rules both workflows share. Contacts carry no retailer id in the
CRM export, so "the retailer side" is resolved as: account managers attached to a customer of
that retailer (or to the customer itself), and when there is none, every account manager not
tied to a customer. Those operational notices go out regardless of subscriptions.
"""

from __future__ import annotations

import duckdb

from notifications.recipients import Audience, Recipient, resolve_recipients

MANAGERS_SQL = """
select contact_id from restricted.contacts
where role = 'account_manager'
  and (customer_id = $customer_id
       or customer_id in (select customer_id from master.customers
                          where retailer_id = $retailer_id and valid_to is null))
order by contact_id
"""
UNLINKED_MANAGERS_SQL = """
select contact_id from restricted.contacts
where role = 'account_manager' and customer_id is null order by contact_id
"""


def manager_recipients(
    con: duckdb.DuckDBPyConnection, notice_type: str, retailer_id: str | None,
    customer_id: str | None = None, subscribed_only: bool = False,
) -> list[Recipient]:
    """Account managers responsible for a retailer's customer (see the module docstring);
    with `subscribed_only`, only those of them subscribed to the notice's topic (the
    analytics measure notices: a subscription, not an operational notice)."""
    params = {"customer_id": customer_id, "retailer_id": retailer_id}
    ids = [r[0] for r in con.execute(MANAGERS_SQL, params).fetchall()]
    if not ids:
        ids = [r[0] for r in con.execute(UNLINKED_MANAGERS_SQL).fetchall()]
    if not ids:
        return []
    return resolve_recipients(con, notice_type, Audience(contact_ids=tuple(ids)),
                              subscribed_only=subscribed_only)


def customer_recipients(
    con: duckdb.DuckDBPyConnection, notice_type: str, customer_id: str,
    fallback_to_all: bool = False,
) -> list[Recipient]:
    """The customer's own contacts subscribed to the notice's topic.

    With `fallback_to_all`, a customer none of whose contacts subscribes still hears through
    all its contacts (for transactional notices the customer asked for, e.g. a termination).
    """
    audience = Audience(customer_ids=(customer_id,))
    found = [r for r in resolve_recipients(con, notice_type, audience)
             if r.customer_id == customer_id]
    if found or not fallback_to_all:
        return found
    return [r for r in resolve_recipients(con, notice_type, audience, subscribed_only=False)
            if r.customer_id == customer_id]


__all__ = ["customer_recipients", "manager_recipients"]
