"""Monthly notices: bill-ready and alert notices through the delivery service (one ledger).

Each notice has a stable key (`bill_ready:<customer>:<period>`, the alert id), so re-running a
month sends nothing twice; contacts receive only the notice types they subscribe to.
Run metadata counts sent, failed and unreached per notice type; the WARN check
`all_contacts_reached` fails when a contact was not reached (`notice_retry_sensor` retries).
"""

import duckdb
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    BackfillPolicy,
    MaterializeResult,
    asset,
)

from assets.settlement.publish import PUBLISH_KEY
from foundation.partitions import monthly_partitions
from foundation.resources import Gridledger
from foundation.restricted import customer_name_sql
from foundation.warehouse import connect, table_exists
from notifications.recipients import Audience, manager_recipients, resolve_each
from notifications.resource import DeliveryResource
from notifications.service import DeliveryTally, Notice

BILLS_SQL = f"""
select b.customer_id, {customer_name_sql('c')} as customer_name, b.period, b.total_yuan
from finance.bills b join master.customers c using (customer_id)
where b.period_start >= ? and b.period_start < ? and c.valid_to is null
  and coalesce(b.bill_status, 'issued') = 'issued'  -- a held bill (finance.bill_holds) waits
order by b.customer_id, b.period
"""

# Alerts of customers with a current master version; unbilled_energy alerts also for a customer
# no longer (or not yet) in force and for a meter without customer (named by its id);
# retail_risk alerts of a retailer (its id in customer_id), with its finance.retailer_margin row
# ({margin}: the table, or no rows where it was never built).
ALERTS_SQL = f"""
select a.alert_id, a.alert_type, a.rule, a.customer_id, a.meter_id, a.period, a.metric_value,
       a.threshold, a.detail,
       coalesce({customer_name_sql('c')}, a.customer_id, a.meter_id) as customer_name,
       c.contract_capacity_kva, v.contracted_kwh, v.kwh,
       u.kwh as unbilled_kwh, u.days as unbilled_days, u.first_day, u.last_day,
       m.spread_yuan, m.forecast_deviation_cost_yuan, m.risk_exposure_yuan,
       m.margin_guarantee_yuan, m.forecast_source,
       coalesce(m.forecast_origin_day, last_day(m.period_start)) as as_of
from marts.alerts a
left join master.customers c on c.customer_id = a.customer_id and c.valid_to is null
left join (select distinct customer_id, period, contracted_kwh, kwh from core.fct_deviation_tiers) v
    on v.customer_id = a.customer_id and v.period = a.period
left join finance.unbilled u
    on a.alert_type = 'unbilled_energy'
   and u.unbilled_id = coalesce(a.customer_id, a.meter_id) || ':' || a.period || ':' || a.rule
left join {{margin}} m
    on a.alert_type = 'retail_risk' and m.retailer_id = a.customer_id and m.period = a.period
where a.period_start >= ? and a.period_start < ?
  and (c.customer_id is not null or a.alert_type = 'unbilled_energy'
       or m.retailer_id is not null)
order by a.alert_id
"""


MANAGERS_SQL = "select contact_id from restricted.contacts where role = 'account_manager'"
NO_MARGIN = ("(select cast(null as varchar) as retailer_id, cast(null as varchar) as period, "
             "cast(null as date) as period_start, cast(null as decimal(18, 2)) as spread_yuan, "
             "cast(null as decimal(18, 2)) as forecast_deviation_cost_yuan, "
             "cast(null as decimal(18, 2)) as risk_exposure_yuan, "
             "cast(null as decimal(18, 2)) as margin_guarantee_yuan, "
             "cast(null as varchar) as forecast_source, "
             "cast(null as date) as forecast_origin_day where false)")


def alerts_sql(con: duckdb.DuckDBPyConnection) -> str:
    """ALERTS_SQL on this warehouse (finance.retailer_margin may not exist yet)."""
    margin = ("finance.retailer_margin" if table_exists(con, "finance", "retailer_margin")
              else NO_MARGIN)
    return ALERTS_SQL.replace("{margin}", margin)


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
    if row["alert_type"] == "unbilled_energy":
        return {
            **base,
            "subject_id": row["customer_id"] or row["meter_id"],
            "kwh": f"{float(row['unbilled_kwh']):.3f}",
            "days": row["unbilled_days"],
            "first_day": str(row["first_day"])[:10],
            "last_day": str(row["last_day"])[:10],
            "reason": row["rule"],
        }
    if row["alert_type"] == "retail_risk":  # the same notice as the projection's
        return {
            "retailer_id": row["customer_id"],
            "period": row["period"],
            "origin_day": str(row["as_of"])[:10],
            "spread_yuan": row["spread_yuan"],
            "deviation_cost_yuan": row["forecast_deviation_cost_yuan"],
            "exposure_yuan": row["risk_exposure_yuan"],
            "guarantee_yuan": row["margin_guarantee_yuan"] or 0,
            "settled": row["forecast_source"] == "complete_month",
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


UNREACHED_CHECK = "all_contacts_reached"


def unreached_check(asset_key: AssetKey) -> AssetCheckSpec:
    """The WARN check every notices asset reports: did every contact get its notices?"""
    return AssetCheckSpec(
        UNREACHED_CHECK, asset=asset_key, blocking=False,
        description="Warns when a contact was not reached; notice_retry_sensor retries them.",
    )


def unreached_result(asset_key: AssetKey, tally: DeliveryTally) -> AssetCheckResult:
    """The result of `unreached_check` from a run's tally (fails, as a warning, if any)."""
    return AssetCheckResult(
        asset_key=asset_key, check_name=UNREACHED_CHECK, passed=tally.unreached == 0,
        severity=AssetCheckSeverity.WARN, metadata=tally.metadata(),
    )


MONTHLY_NOTICES = AssetKey(["notify", "monthly_notices"])


@asset(
    key=MONTHLY_NOTICES,
    group_name="alerts",
    deps=[AssetKey(["finance", "bills"]), AssetKey(["marts", "alerts"]), PUBLISH_KEY],
    partitions_def=monthly_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    check_specs=[unreached_check(MONTHLY_NOTICES)],
    description="Bill-ready and alert notices of the month, delivered and ledgered.",
)
def monthly_notices(
    context: AssetExecutionContext, gridledger: Gridledger, delivery: DeliveryResource
) -> MaterializeResult:
    """Deliver the month's bill-ready and alert notices to subscribed contacts."""
    window = context.partition_time_window
    span = [window.start.date(), window.end.date()]
    # Plan under one short read-only connection (bills, alerts, recipients), then send with
    # no connection open: the service writes the ledger in short transactions of its own, so
    # other processes can open the warehouse while messages are on the wire or backing off.
    with connect(gridledger.warehouse_path, read_only=True) as con:
        bills = con.execute(BILLS_SQL, span).df().to_dict("records")
        alerts = con.execute(alerts_sql(con), span).df().to_dict("records")
        managers = tuple(r[0] for r in con.execute(MANAGERS_SQL).fetchall())
        notices = [
            (f"bill_ready:{b['customer_id']}:{b['period']}", "bill_ready",
             {"customer_name": b["customer_name"], "period": b["period"],
              "amount_yuan": b["total_yuan"]},
             Audience(customer_ids=(b["customer_id"],)))
            for b in bills
        ]
        # the customer's own contacts and the account managers, each if subscribed; unbilled
        # energy is an internal matter: account managers only; a retailer at risk: its own
        # account managers subscribed (as the projection's retail_risk)
        notices += [
            (a["alert_id"], a["alert_type"], alert_context(a),
             Audience(contact_ids=managers) if a["alert_type"] == "unbilled_energy"
             else Audience(customer_ids=(a["customer_id"],), contact_ids=managers))
            for a in alerts if a["alert_type"] != "retail_risk"
        ]
        recipients = resolve_each(con, [(kind, audience) for _, kind, _, audience in notices])
        plan = [Notice(key, kind, values, found)
                for (key, kind, values, _), found in zip(notices, recipients, strict=True)]
        plan += [
            Notice(a["alert_id"], "retail_risk", alert_context(a),
                   manager_recipients(con, "retail_risk", a["customer_id"],
                                      subscribed_only=True))
            for a in alerts if a["alert_type"] == "retail_risk"
        ]
    service = delivery.service(gridledger.warehouse_path)
    tally = DeliveryTally()
    for report in service.deliver_many(plan):
        tally.add(report)
    if tally.unreached:
        context.log.warning(
            f"{tally.unreached} contacts unreached; notice_retry_sensor retries them"
        )
    return MaterializeResult(
        metadata={"bills": len(bills), "alerts": len(alerts), **tally.metadata()},
        check_results=[unreached_result(MONTHLY_NOTICES, tally)],
    )
