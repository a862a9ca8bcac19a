"""Who receives a notice: contacts picked by group, customer or id, filtered by subscription.

Reads `restricted.contacts` (full phone/email; only this service reads it) and the master tables
`master.contact_groups`, `master.contact_group_members`, `master.contact_subscriptions`.

An `Audience` is a union of selectors, as in the curtailment SMS system (by region, industry,
custom group, plan membership, single contacts) plus customer ids for customer notices. By
default a selected contact receives a notice only if subscribed to its topic (`bill_ready`,
`deviation_risk`, `capacity_exceeded`, `meter_anomaly`, `curtailment`, `termination`,
`unbilled_energy` and `customer_measures` — account managers only).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from foundation.warehouse import connect
from notifications.channels import CHANNELS

DEFAULT_CHANNELS: tuple[str, ...] = ("sms", "email")

TOPICS: dict[str, str] = {
    "curtailment_notice": "curtailment",
    "curtailment_reminder": "curtailment",
    "curtailment_all_clear": "curtailment",
    "curtailment_escalation": "curtailment",
    "bill_ready": "bill_ready",
    "deviation_risk": "deviation_risk",
    "deviation_projection": "deviation_risk",
    "retail_risk": "deviation_risk",
    "capacity_exceeded": "capacity_exceeded",
    "meter_anomaly": "meter_anomaly",
    "unbilled_energy": "unbilled_energy",
    "customer_measure": "customer_measures",
    "termination_completed": "termination",
    "termination_failed": "termination",
}


@dataclass(frozen=True)
class Recipient:
    """A contact with its addresses and channels in preference order."""

    contact_id: str
    contact_name: str | None = None
    customer_id: str | None = None
    role: str | None = None
    phone: str | None = None
    email: str | None = None
    channels: tuple[str, ...] = DEFAULT_CHANNELS

    def address(self, channel: str) -> str | None:
        """The address on `channel`: phone for SMS, email for email, contact id otherwise."""
        if channel == "sms":
            return self.phone or None
        if channel == "email":
            return self.email or None
        if channel in CHANNELS:
            return self.contact_id
        return None


@dataclass(frozen=True)
class Audience:
    """Selectors whose union is the audience; plan ids match a plan group's id or name."""

    group_ids: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()
    plan_ids: tuple[str, ...] = ()
    customer_ids: tuple[str, ...] = ()
    contact_ids: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()  # optional filter applied to the union, e.g. ("government",)


def parse_channels(value: str | None) -> tuple[str, ...]:
    """`'sms;email'` -> `('sms', 'email')`; empty means the default `sms;email`."""
    channels = tuple(dict.fromkeys(c.strip().lower() for c in (value or "").split(";")))
    channels = tuple(c for c in channels if c)
    return channels or DEFAULT_CHANNELS


@contextmanager
def _open(source: Path | str | duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    if isinstance(source, duckdb.DuckDBPyConnection):
        yield source
        return
    with connect(source, read_only=True) as con:
        yield con


# One query for many audiences: `audience_items` has a row per selector value (idx, kind, value;
# kind is an `Audience` field), `audience_topics` the topic of each audience (idx, topic).
RESOLVE_SQL = """
with selected as (
    select i.idx, m.contact_id from audience_items i
    join master.contact_groups g on g.group_id = i.value
    join master.contact_group_members m on m.group_id = g.group_id
    where i.kind = 'group_ids'
    union
    select i.idx, m.contact_id from audience_items i
    join master.contact_groups g on g.group_type = 'region' and g.region = i.value
    join master.contact_group_members m on m.group_id = g.group_id
    where i.kind = 'regions'
    union
    select i.idx, m.contact_id from audience_items i
    join master.contact_groups g on g.group_type = 'industry' and g.industry = i.value
    join master.contact_group_members m on m.group_id = g.group_id
    where i.kind = 'industries'
    union
    select i.idx, m.contact_id from audience_items i
    join master.contact_groups g on g.group_type = 'plan'
                                 and (g.group_id = i.value or g.group_name = i.value)
    join master.contact_group_members m on m.group_id = g.group_id
    where i.kind = 'plan_ids'
    union
    select i.idx, c.contact_id from audience_items i
    join restricted.contacts c on c.customer_id = i.value
    where i.kind = 'customer_ids'
    union
    select i.idx, c.contact_id from audience_items i
    join restricted.contacts c on c.contact_id = i.value
    where i.kind = 'contact_ids'
),
roles as (select idx, value as role from audience_items where kind = 'roles')
select s.idx, c.contact_id, c.contact_name, c.customer_id, c.role, c.phone, c.email, c.channels
from selected s
join restricted.contacts c on c.contact_id = s.contact_id
join audience_topics t on t.idx = s.idx
where (s.idx not in (select idx from roles)
       or exists (select 1 from roles r where r.idx = s.idx and r.role = c.role))
  and (not $subscribed_only or exists (
        select 1 from master.contact_subscriptions sub
        where sub.contact_id = c.contact_id and sub.notice_type = t.topic))
order by s.idx, c.contact_id
"""
_SELECTORS = ("group_ids", "regions", "industries", "plan_ids", "customer_ids", "contact_ids",
              "roles")


def resolve_recipients(
    source: Path | str | duckdb.DuckDBPyConnection,
    notice_type: str,
    audience: Audience,
    *,
    subscribed_only: bool = True,
) -> list[Recipient]:
    """The contacts `audience` selects for `notice_type`, each once, ordered by contact_id.

    `source` is a warehouse path (opened read-only and closed again) or an open connection.
    """
    return resolve_each(source, [(notice_type, audience)], subscribed_only=subscribed_only)[0]


def resolve_each(
    source: Path | str | duckdb.DuckDBPyConnection,
    requests: Sequence[tuple[str, Audience]],
    *,
    subscribed_only: bool = True,
) -> list[list[Recipient]]:
    """`resolve_recipients` of many (notice_type, audience) requests in one query, in order."""
    unknown = sorted({t for t, _ in requests if t not in TOPICS})
    if unknown:
        raise ValueError(f"unknown notice type {unknown[0]!r}")
    items = pd.DataFrame(
        [(idx, kind, str(value)) for idx, (_, audience) in enumerate(requests)
         for kind in _SELECTORS for value in getattr(audience, kind)],
        columns=["idx", "kind", "value"],
    ).astype({"idx": "int64", "kind": object, "value": object})
    topics = pd.DataFrame([(idx, TOPICS[t]) for idx, (t, _) in enumerate(requests)],
                          columns=["idx", "topic"]).astype({"idx": "int64", "topic": object})
    found: list[list[Recipient]] = [[] for _ in requests]
    if items.empty:
        return found
    with _open(source) as con:
        cursor = con.cursor()  # its own views: a shared connection's are left alone
        try:
            cursor.register("audience_items", items)
            cursor.register("audience_topics", topics)
            rows = cursor.execute(RESOLVE_SQL, {"subscribed_only": subscribed_only}).fetchall()
        finally:
            cursor.close()
    for idx, cid, name, customer, role, phone, email, channels in rows:
        found[idx].append(Recipient(
            contact_id=cid, contact_name=name, customer_id=customer, role=role,
            phone=phone or None, email=email or None, channels=parse_channels(channels),
        ))
    return found


def recipients_by_id(
    source: Path | str | duckdb.DuckDBPyConnection, contact_ids: list[str]
) -> list[Recipient]:
    """The contacts with these ids (no subscription filter), ordered by contact_id.

    Used to retry a notice: the audience was chosen when it was first sent.
    """
    with _open(source) as con:
        rows = con.execute(
            "select contact_id, contact_name, customer_id, role, phone, email, channels"
            " from restricted.contacts where list_contains(?::varchar[], contact_id)"
            " order by contact_id", [list(contact_ids)],
        ).fetchall()
    return [
        Recipient(
            contact_id=cid, contact_name=name, customer_id=customer, role=role,
            phone=phone or None, email=email or None, channels=parse_channels(channels),
        )
        for cid, name, customer, role, phone, email, channels in rows
    ]


# The retailer side of a notice. Contacts carry no retailer id in the CRM export, so it is
# resolved as: account managers attached to a customer of that retailer (or to the customer
# itself), and when there is none, every account manager not tied to a customer. Workflow
# (operational) notices go out regardless of subscriptions; the others pass `subscribed_only`.
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
