"""Monthly notices: bill-ready and alert notices through the delivery service (one ledger).

Each notice has a stable key (`bill_ready:<customer>:<period>`, the alert id), so re-running a
month sends nothing twice; contacts receive only the notice types they subscribe to.
"""

from collections import Counter

from dagster import AssetExecutionContext, AssetKey, BackfillPolicy, MaterializeResult, asset

from foundation.partitions import monthly_partitions
from foundation.resources import Gridledger
from foundation.warehouse import connect
from notifications.recipients import Audience, resolve_recipients
from notifications.resource import DeliveryResource

BILLS_SQL = """
select b.customer_id, c.customer_name, b.period, b.total_yuan
from finance.bills b join master.customers c using (customer_id)
where b.period_start >= ? and b.period_start < ? and c.valid_to is null
order by b.customer_id, b.period
"""

ALERTS_SQL = """
select a.alert_id, a.alert_type, a.rule, a.customer_id, a.meter_id, a.period, a.metric_value,
       a.threshold, a.detail, c.customer_name, c.contract_capacity_kva,
       v.contracted_kwh, v.kwh
from marts.alerts a
join master.customers c on c.customer_id = a.customer_id and c.valid_to is null
left join (select distinct customer_id, period, contracted_kwh, kwh from core.fct_deviation_tiers) v
    on v.customer_id = a.customer_id and v.period = a.period
where a.period_start >= ? and a.period_start < ?
order by a.alert_id
"""


MANAGERS_SQL = "select contact_id from restricted.contacts where role = 'account_manager'"


def alert_context(row: dict) -> dict:
    """Template context of one alert row."""
    base = {"customer_name": row["customer_name"], "period": row["period"]}
    if row["alert_type"] == "capacity_exceeded":
        return {
            **base,
            "meter_id": row["customer_id"],
            "days": row["detail"].split(" ")[0],
            "max_kw": round(row["metric_value"], 1),
            "contract_kva": row["contract_capacity_kva"],
            "ratio": round(row["metric_value"] / float(row["contract_capacity_kva"]), 2),
        }
    if row["alert_type"] == "deviation_risk":
        return {
            **base,
            "contracted_kwh": row["contracted_kwh"],
            "forecast_kwh": row["kwh"],
            "deviation_pct": round(100 * row["metric_value"], 1),
        }
    return {
        **base,
        "meter_id": row["meter_id"],
        "day": row["period"],
        "check": row["rule"],
        "detail": row["detail"],
    }


@asset(
    key=AssetKey(["notify", "monthly_notices"]),
    group_name="alerts",
    deps=[AssetKey(["finance", "bills"]), AssetKey(["marts", "alerts"])],
    partitions_def=monthly_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    description="Bill-ready and alert notices of the month, delivered and ledgered.",
)
def monthly_notices(
    context: AssetExecutionContext, gridledger: Gridledger, delivery: DeliveryResource
) -> MaterializeResult:
    """Deliver the month's bill-ready and alert notices to subscribed contacts."""
    window = context.partition_time_window
    span = [window.start.date(), window.end.date()]
    # One connection held for the whole batch: the ledger's and the outbox's own connections in
    # this process reuse the open database instead of opening (and checkpointing) the file for
    # every write, and recipients are resolved on it.
    with connect(gridledger.warehouse_path) as con:
        bills = con.execute(BILLS_SQL, span).df().to_dict("records")
        alerts = con.execute(ALERTS_SQL, span).df().to_dict("records")
        managers = tuple(r[0] for r in con.execute(MANAGERS_SQL).fetchall())
        service = delivery.service(gridledger.warehouse_path)
        sent: Counter = Counter()
        for bill in bills:
            recipients = resolve_recipients(
                con, "bill_ready", Audience(customer_ids=(bill["customer_id"],))
            )
            report = service.deliver(
                f"bill_ready:{bill['customer_id']}:{bill['period']}",
                "bill_ready",
                {
                    "customer_name": bill["customer_name"],
                    "period": bill["period"],
                    "amount_yuan": bill["total_yuan"],
                },
                recipients,
            )
            sent["bill_ready"] += len(report.sent)
        for alert in alerts:
            recipients = resolve_recipients(
                con,
                alert["alert_type"],
                # the customer's own contacts and the account managers, each if subscribed
                Audience(customer_ids=(alert["customer_id"],), contact_ids=managers),
            )
            report = service.deliver(
                alert["alert_id"], alert["alert_type"], alert_context(alert), recipients
            )
            sent[alert["alert_type"]] += len(report.sent)
    return MaterializeResult(
        metadata={
            "bills": len(bills),
            "alerts": len(alerts),
            "notices_sent": dict(sent),
        }
    )
