"""The measure notice (issue 11 item 3): each customer's measure to its account manager(s).

One `customer_measure` notice per customer of `analytics.customer_measures` whose risk band ×
value grade the `customer_measures` seed marks `notify_account_manager`, to the account
managers responsible for it (`assets.workflows.manager_recipients`: managers tied to the
customer or to a customer of its retailer, else every manager tied to none) who subscribe to
the topic `customer_measures`. The notice key is `customer_measure:<customer>:<month>:<measure
code>`: re-materializing sends nothing new (the delivery ledger knows the key), a changed
measure for the same month is a new notice. A customer with no subscribed account manager is
counted (`no_recipient`), not an error.

No `from __future__ import annotations` here: Dagster rejects string annotations on `context`.
"""

import json
from collections import Counter
from datetime import date

import duckdb
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from assets.alerts.notices import unreached_check, unreached_result
from foundation.resources import Gridledger
from foundation.restricted import CUSTOMER_NAMES, customer_name_sql
from foundation.warehouse import connect, table_exists
from notifications.recipients import manager_recipients
from notifications.resource import DeliveryResource
from notifications.service import DeliveryTally, Notice

from . import config

NOTICE_TYPE = "customer_measure"
MEASURE_NOTICES_KEY = AssetKey(["analytics", "measure_notices"])
MEASURES_KEY = AssetKey(["analytics", "customer_measures"])
# what resolving an account manager reads; without any of them nobody can be addressed
RECIPIENT_TABLES = (("restricted", "contacts"), ("master", "customers"),
                    ("master", "contact_groups"), ("master", "contact_group_members"),
                    ("master", "contact_subscriptions"))

MEASURES_SQL = """
select month, customer_id, churn_probability_90d, risk_band, value_grade, credit_grade,
       measure_code, measure
from analytics.customer_measures
where measure_code is not null
order by customer_id
"""


def notice_key(customer_id: str, month: str, measure_code: str) -> str:
    """The notice's ledger key: one per customer, month and measure."""
    return f"{NOTICE_TYPE}:{customer_id}:{month}:{measure_code}"


def current_customers(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str | None, str | None]]:
    """customer_id -> (retailer_id, name) of the current master version (the full name: the
    notice goes to the account manager, as unbilled_energy does)."""
    if not table_exists(con, "master", "customers"):
        return {}
    name = (customer_name_sql("c") if table_exists(con, *CUSTOMER_NAMES.split("."))
            else "c.customer_name")
    rows = con.execute(f"select c.customer_id, c.retailer_id, {name} from master.customers c"
                       " where c.valid_to is null").fetchall()
    return {cid: (retailer, customer_name) for cid, retailer, customer_name in rows}


def notice_context(row: dict, customer_name: str | None) -> dict:
    """Template context of one customer_measures row."""
    credit = row["credit_grade"]
    return {
        "customer_name": customer_name or row["customer_id"],
        "customer_id": row["customer_id"],
        "month": row["month"],
        "churn_pct": f"{100 * float(row['churn_probability_90d']):.1f}",
        "risk_band": row["risk_band"],
        "value_grade": row["value_grade"],
        "credit_grade": "" if credit is None or credit != credit else credit,
        "measure_code": row["measure_code"],
        "measure": row["measure"],
    }


@asset(
    key=MEASURE_NOTICES_KEY,
    group_name="analytics",
    deps=[MEASURES_KEY],
    check_specs=[unreached_check(MEASURE_NOTICES_KEY)],
    description="The customer_measure notice (topic customer_measures, account managers only): "
                "one per customer whose band × grade the customer_measures seed marks "
                "notify_account_manager, to its subscribed account managers; keyed by "
                "customer, month and measure in the delivery ledger, so a re-run sends nothing "
                "new and a changed measure is sent again.",
)
def measure_notices(context: AssetExecutionContext, gridledger: Gridledger,
                    delivery: DeliveryResource) -> MaterializeResult:
    """Plan under one read-only connection (measures, names, recipients), then send."""
    plan: list[tuple[str, dict, list]] = []
    no_recipient: list[str] = []
    with connect(gridledger.warehouse_path, read_only=True) as con:
        rows = con.execute(MEASURES_SQL).df().to_dict("records")
        month = str(rows[0]["month"]) if rows else None
        notified = config.notified_pairs(date.fromisoformat(f"{month}-01")) if month else set()
        actionable = [r for r in rows if (r["risk_band"], r["value_grade"]) in notified]
        addressable = all(table_exists(con, *t) for t in RECIPIENT_TABLES)
        customers = current_customers(con) if addressable else {}
        for row in actionable:
            retailer_id, name = customers.get(row["customer_id"], (None, None))
            recipients = (manager_recipients(con, NOTICE_TYPE, retailer_id, row["customer_id"],
                                             subscribed_only=True) if addressable else [])
            if not recipients:
                no_recipient.append(row["customer_id"])
                continue
            plan.append((notice_key(row["customer_id"], row["month"], row["measure_code"]),
                         notice_context(row, name), recipients))
    if not addressable:
        context.log.warning("no contacts or master data in the warehouse: every measure notice "
                            "is counted as no_recipient")
    service = delivery.service(gridledger.warehouse_path)
    tally = DeliveryTally()
    outcome: Counter = Counter()
    by_measure: Counter = Counter()
    reports = service.deliver_many(Notice(key, NOTICE_TYPE, values, recipients)
                                   for key, values, recipients in plan)
    for (_, values, _), report in zip(plan, reports, strict=True):
        tally.add(report)
        if report.sent:
            outcome["sent"] += 1
            by_measure[values["measure_code"]] += 1
        elif report.unreached:
            outcome["unreached"] += 1
        else:
            outcome["skipped"] += 1  # every recipient had it already (an earlier run)
    if tally.unreached:
        context.log.warning(f"{tally.unreached} contacts unreached; notice_retry_sensor "
                            "retries them")
    return MaterializeResult(
        metadata={
            "month": month or "none: analytics.customer_measures is empty",
            "customers_with_measure": len(rows),
            "customers_actionable": len(actionable),
            "customers_not_actionable": len(rows) - len(actionable),
            "customers_sent": outcome["sent"],
            "customers_skipped": outcome["skipped"],
            "customers_unreached": outcome["unreached"],
            "customers_no_recipient": len(no_recipient),
            "no_recipient_customers": ", ".join(no_recipient[:20])
            + (f" … (+{len(no_recipient) - 20})" if len(no_recipient) > 20 else ""),
            "sent_by_measure": json.dumps(dict(sorted(by_measure.items()))),
            **tally.metadata(),
        },
        check_results=[unreached_result(MEASURE_NOTICES_KEY, tally)],
    )
