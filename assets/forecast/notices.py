"""The deviation projection notice (issue 10 item 4): a contract's projected risk state, to
its account managers, once per change of state; and the retail risk notice (item 7): a retailer
the projection puts at risk (analytics.retail_risk_projection), to its account managers
subscribed to `deviation_risk`, once per retailer, month and forecast origin.

`analytics.deviation_projection` gives each contract of the open month a risk state. The last
state told is kept in `analytics.deviation_risk_states` (contract, month). A contract whose state
changed since then into `outside_free_band` or `beyond_tier2`, or back to `within_free_band`
from one of them, is sent as a `deviation_projection` notice (topic `deviation_risk`) to the
account managers responsible for it who subscribe to the topic. The notice key names the
contract, month, state and forecast origin: a re-run on the same origin sends nothing new (the
state is already told, and the ledger knows the key), a later origin with another state is a new
notice. `no_forecast` and `no_price` tell nobody and keep the last state. A contract without a
subscribed account manager is counted (`no_recipient`), its state still recorded.

No `from __future__ import annotations` here: Dagster rejects string annotations on `context`.
"""

import json
from collections import Counter

import duckdb
import pandas as pd
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from assets.alerts.notices import unreached_check, unreached_result
from assets.analytics.notices import RECIPIENT_TABLES, current_customers
from foundation.resources import Gridledger
from foundation.warehouse import connect, table_exists, transaction
from notifications.recipients import manager_recipients
from notifications.resource import DeliveryResource
from notifications.service import DeliveryTally, Notice

NOTICE_TYPE = "deviation_projection"
RISK_NOTICE = "retail_risk"
PROJECTION_KEY = AssetKey(["analytics", "deviation_projection"])
RETAIL_RISK_KEY = AssetKey(["analytics", "retail_risk_projection"])
AT_RISK_SQL = """
select retailer_id, period, origin_day, projected_spread_yuan, expected_deviation_cost_yuan,
       risk_exposure_yuan, margin_guarantee_yuan
from analytics.retail_risk_projection where is_at_risk order by retailer_id
"""
NOTICES_KEY = AssetKey(["analytics", "deviation_risk_notices"])
RISKY = ("outside_free_band", "beyond_tier2")
TOLD = (*RISKY, "within_free_band")
# customers with a forecast but no contract projected: no contract volume in the open month
UNPROJECTED_SQL = """
select distinct f.customer_id from analytics.load_forecast_daily f
where f.customer_id not in (select customer_id from analytics.deviation_projection)
order by 1
"""
STATES_DDL = """
create table if not exists analytics.deviation_risk_states (
    contract_id varchar, period varchar, risk_state varchar, origin_day date,
    told_at timestamp default current_timestamp, primary key (contract_id, period))
"""


def notice_key(contract_id: str, period: str, state: str, origin_day: str) -> str:
    """One per contract, month, state and forecast origin."""
    return f"{NOTICE_TYPE}:{contract_id}:{period}:{state}:{origin_day}"


def changed_states(projection: pd.DataFrame, told: dict[tuple[str, str], str]) -> pd.DataFrame:
    """The projection rows to tell: a risky state other than the last one told, or a return
    to the free band after a risky one."""
    def tell(row) -> bool:
        last = told.get((row.contract_id, row.period))
        if row.risk_state not in TOLD or row.risk_state == last:
            return False
        return row.risk_state in RISKY or last in RISKY
    return projection[[tell(r) for r in projection.itertuples()]]


def notice_context(row, customer_name: str | None) -> dict:
    """Template context of one deviation_projection row."""
    ratio = row.p50_deviation_ratio
    return {"customer_name": customer_name or row.customer_id, "customer_id": row.customer_id,
            "contract_id": row.contract_id, "period": row.period,
            "origin_day": str(row.origin_day)[:10], "contracted_kwh": row.contracted_kwh,
            "p10_kwh": row.projected_p10_kwh, "p50_kwh": row.projected_p50_kwh,
            "p90_kwh": row.projected_p90_kwh, "deviation_pct": f"{100 * float(ratio):+.1f}",
            "expected_cost_yuan": row.expected_deviation_cost_yuan,
            "risk_state": row.risk_state}


def retail_risk_context(row) -> dict:
    """Template context of one retail_risk_projection row at risk."""
    return {"retailer_id": row.retailer_id, "period": row.period,
            "origin_day": str(row.origin_day)[:10], "spread_yuan": row.projected_spread_yuan,
            "deviation_cost_yuan": row.expected_deviation_cost_yuan,
            "exposure_yuan": row.risk_exposure_yuan,
            "guarantee_yuan": row.margin_guarantee_yuan or 0}


def _told(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], str]:
    if not table_exists(con, "analytics", "deviation_risk_states"):
        return {}
    return {(c, p): s for c, p, s in con.execute(
        "select contract_id, period, risk_state from analytics.deviation_risk_states").fetchall()}


@asset(
    key=NOTICES_KEY, group_name="forecast", deps=[PROJECTION_KEY, RETAIL_RISK_KEY],
    check_specs=[unreached_check(NOTICES_KEY)],
    description="The deviation_projection notice (topic deviation_risk, account managers): a "
                "contract whose projected risk state changed (outside the free band, beyond "
                "tier 2, or back within), once per change; the last state told per contract "
                "and month in analytics.deviation_risk_states. And the retail_risk notice to "
                "the account managers of a retailer the projection puts at risk, once per "
                "retailer, month and forecast origin.",
)
def deviation_risk_notices(context: AssetExecutionContext, gridledger: Gridledger,
                           delivery: DeliveryResource) -> MaterializeResult:
    """Plan under one read-only connection, send, then record the states told."""
    plan, no_recipient = [], []
    with connect(gridledger.warehouse_path, read_only=True) as con:
        projection = con.execute("select * from analytics.deviation_projection "
                                 "order by contract_id").df()
        unprojected = [c for c, in con.execute(UNPROJECTED_SQL).fetchall()]
        to_tell = changed_states(projection, _told(con))
        addressable = all(table_exists(con, *t) for t in RECIPIENT_TABLES)
        customers = current_customers(con) if addressable else {}
        for row in to_tell.itertuples():
            retailer_id, name = customers.get(row.customer_id, (row.retailer_id, None))
            recipients = (manager_recipients(con, NOTICE_TYPE, retailer_id, row.customer_id,
                                             subscribed_only=True) if addressable else [])
            if recipients:
                plan.append((notice_key(row.contract_id, row.period, row.risk_state,
                                        str(row.origin_day)[:10]),
                             notice_context(row, name), recipients, NOTICE_TYPE))
            else:
                no_recipient.append(row.contract_id)
        at_risk = (con.execute(AT_RISK_SQL).df()
                   if table_exists(con, "analytics", "retail_risk_projection") else None)
        for row in (at_risk.itertuples() if at_risk is not None else []):
            recipients = (manager_recipients(con, RISK_NOTICE, row.retailer_id,
                                             subscribed_only=True) if addressable else [])
            plan.append((f"{RISK_NOTICE}:{row.retailer_id}:{row.period}:"
                         f"{str(row.origin_day)[:10]}", retail_risk_context(row), recipients,
                         RISK_NOTICE))
    service = delivery.service(gridledger.warehouse_path)
    tally, outcome = DeliveryTally(), Counter()
    for report in service.deliver_many(Notice(key, notice_type, values, recipients)
                                       for key, values, recipients, notice_type in plan):
        tally.add(report)
        outcome[f"{report.notice_type}:" + ("sent" if report.sent else "unreached"
                                            if report.unreached else "skipped")] += 1
    with connect(gridledger.warehouse_path) as con, transaction(con):
        con.execute(STATES_DDL)
        for row in to_tell.itertuples():
            con.execute("insert or replace into analytics.deviation_risk_states "
                        "(contract_id, period, risk_state, origin_day) values (?, ?, ?, ?)",
                        [row.contract_id, row.period, row.risk_state, row.origin_day])
    context.log.info(f"deviation projection: {len(to_tell)} changes of state, "
                     f"{outcome[NOTICE_TYPE + ':sent']} notices sent")
    return MaterializeResult(
        metadata={
            "contracts_by_state": json.dumps(projection["risk_state"].value_counts().to_dict()),
            "customers_not_projected": len(unprojected),
            "not_projected_reason": (
                f"no contract with a volume above zero in "
                f"{projection['period'].iloc[0] if len(projection) else 'the open month'}: "
                + ", ".join(unprojected[:20]) + (" …" if len(unprojected) > 20 else ""))
            if unprojected else "none",
            "changes_of_state": len(to_tell),
            "contracts_sent": outcome[f"{NOTICE_TYPE}:sent"],
            "contracts_skipped": outcome[f"{NOTICE_TYPE}:skipped"],
            "contracts_unreached": outcome[f"{NOTICE_TYPE}:unreached"],
            "retailers_at_risk": 0 if at_risk is None else len(at_risk),
            "retail_risk_sent": outcome[f"{RISK_NOTICE}:sent"],
            "contracts_no_recipient": len(no_recipient),
            "no_recipient_contracts": ", ".join(no_recipient[:20]),
            **tally.metadata(),
        },
        check_results=[unreached_result(NOTICES_KEY, tally)],
    )
