"""forecast_job (issue 10) end to end on the October demo: the Python forecast assets, then the
dbt deviation projection over them, in one job on a real warehouse (a copy). October is too
short for a backtest, so the forecast is the like-day average from 2026-10-31 and November is
projected whole (no validated November day yet) at October's settled energy price."""

from __future__ import annotations

from decimal import Decimal

import pytest
from dagster import AssetKey, DagsterInstance

from tests.scenarios import Flow, scenario_fixture

demo = scenario_fixture("october_demo", "demo")


@pytest.fixture
def ran(demo: Flow) -> Flow:
    """The job once per module: both tests share one copy (marker group `forecast_job`)."""
    if demo.sql("select count(*) from information_schema.tables "
                "where table_name = 'deviation_projection'")[0][0]:
        return demo
    result = demo.defs().resolve_job_def("forecast_job").execute_in_process(
        instance=DagsterInstance.ephemeral())
    assert result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["model_beats_best_baseline"] is False  # warns: one month, no backtest
    return demo


@pytest.mark.writes("forecast_job")
def test_every_november_contract_is_projected_from_the_forecast_and_octobers_price(ran):
    rows = ran.sql("""
        select p.contract_id, p.origin_day, p.actual_kwh, p.forecast_days, p.projected_p50_kwh,
               f.p50, p.energy_price_yuan_per_kwh, p.price_period, p.risk_state,
               p.projected_p10_kwh <= p.projected_p50_kwh
                   and p.projected_p50_kwh <= p.projected_p90_kwh
        from analytics.deviation_projection p
        left join (select customer_id, sum(p50_kwh) as p50 from analytics.load_forecast_daily
                   where target_day between date '2026-11-01' and date '2026-11-30'
                   group by all) f using (customer_id)
    """)
    volumes = ran.sql("select count(*) from master.contract_volumes v "
                      "join master.contracts k using (contract_id) "
                      "where v.period = '2026-11' and v.contracted_kwh > 0")[0][0]
    assert len(rows) == volumes > 0
    for (contract, origin, actual, days, p50, forecast_p50, price, price_period, state,
         ordered) in rows:
        assert str(origin) == "2026-10-31" and actual == Decimal("0.000"), contract
        assert days == 30 and p50 == forecast_p50 and ordered, contract
        assert price is not None and price_period == "2026-10", contract
        assert state in {"beyond_tier2", "outside_free_band", "within_free_band"}, contract


@pytest.mark.writes("forecast_job")
def test_the_expected_cost_is_the_weighted_cost_of_the_three_projections(ran):
    """The 0.3 / 0.4 / 0.3 weights on the clause tier costs, recomputed here from the clause
    rows in force for every contract (the model and this query share no SQL)."""
    rows = ran.sql("""
        with p as (
            select p.*, k.deviation_clause_id from analytics.deviation_projection p
            join master.contracts k using (contract_id)
        ), s as (
            select contract_id, 0.3 as w, projected_p10_kwh as kwh from p
            union all select contract_id, 0.4, projected_p50_kwh from p
            union all select contract_id, 0.3, projected_p90_kwh from p
        ), cost as (
            select p.contract_id, sum(s.w * c.coefficient * p.energy_price_yuan_per_kwh * (
                case when abs(s.kwh - p.contracted_kwh) <= c.lower_ratio * p.contracted_kwh
                     then 0
                     when c.upper_ratio is null
                       or abs(s.kwh - p.contracted_kwh) < c.upper_ratio * p.contracted_kwh
                     then abs(s.kwh - p.contracted_kwh) - c.lower_ratio * p.contracted_kwh
                     else (c.upper_ratio - c.lower_ratio) * p.contracted_kwh end)) as yuan
            from p join s using (contract_id)
            join config.deviation_clauses c on c.deviation_clause_id = p.deviation_clause_id
             and c.valid_from <= date '2026-11-01'
             and (c.valid_to is null or c.valid_to >= date '2026-11-01')
            group by all
        )
        select p.contract_id, p.expected_deviation_cost_yuan, round(cost.yuan, 2)
        from p join cost using (contract_id)
    """)
    assert rows and all(expected == recomputed for _, expected, recomputed in rows)
    assert any(expected > 0 for _, expected, _ in rows)


@pytest.mark.writes("forecast_job")
def test_each_risky_contract_is_told_to_its_managers_once(ran):
    risky = {c for c, in ran.sql("select contract_id from analytics.deviation_projection "
                                 "where risk_state in ('outside_free_band', 'beyond_tier2')")}
    told = dict(ran.sql("select contract_id, risk_state from analytics.deviation_risk_states"))
    assert risky and set(told) == risky
    keys = {k for k, in ran.sql("select distinct notice_key from notify.delivery_ledger "
                                "where notice_type = 'deviation_projection'")}
    assert keys and {k.split(":")[1] for k in keys} <= risky
    assert all(k.endswith(":2026-10-31") and k.split(":")[3] == told[k.split(":")[1]]
               for k in keys)
    before = ran.sql("select count(*) from notify.delivery_ledger")[0][0]
    again = ran.defs().resolve_job_def("forecast_job").execute_in_process(
        instance=DagsterInstance.ephemeral())
    assert again.success
    assert ran.sql("select count(*) from notify.delivery_ledger")[0][0] == before
    notices = [e for e in again.get_asset_materialization_events()
               if e.asset_key.to_user_string() == "analytics/deviation_risk_notices"]
    metadata = notices[0].materialization.metadata
    assert metadata["changes_of_state"].value == 0
    # a customer forecast without a contract volume for November is named with the reason
    unprojected = ran.sql("select count(distinct customer_id) from analytics.load_forecast_daily"
                          " where customer_id not in (select customer_id"
                          " from analytics.deviation_projection)")[0][0]
    assert metadata["customers_not_projected"].value == unprojected
    if unprojected:
        assert metadata["not_projected_reason"].value.startswith(
            "no contract with a volume above zero in 2026-11: ")


@pytest.mark.writes("forecast_job")
def test_every_coming_contract_month_gets_a_volume_no_costlier_than_the_current_one(ran):
    rows = ran.sql("""
        select a.period, a.status, a.contracted_kwh, a.suggested_kwh,
               a.expected_cost_current_yuan, a.expected_cost_suggested_yuan,
               a.expected_saving_yuan, m.p50_kwh = a.forecast_p50_kwh
        from analytics.purchase_adjustment a
        join analytics.load_forecast_monthly m
          on m.customer_id = a.customer_id and m.period = a.period""")
    assert rows and {r[0] for r in rows} <= {f"2026-{m}" for m in ("11", "12")} | {
        f"2027-{m:02d}" for m in range(1, 11)}
    assert "2026-11" in {r[0] for r in rows}  # the first month after the origin
    for period, status, current, suggested, cost_now, cost_then, saving, same in rows:
        assert same and status in {"adjust", "keep"}, period
        assert cost_then <= cost_now and saving == cost_now - cost_then
        assert (status == "keep") == (suggested == current)
    assert any(status == "adjust" for _, status, *_ in rows)
    portfolio = ran.sql("select status, expected_cost_current_yuan, expected_cost_suggested_yuan"
                        " from analytics.portfolio_purchase_adjustment")
    assert portfolio and all(then <= now for _, now, then in portfolio)


@pytest.mark.writes("forecast_job")
def test_each_retailers_portfolio_sums_its_contract_projections(ran):
    rows = ran.sql("""
        select r.retailer_id, r.contracts, r.projected_p50_kwh, c.n, c.p50,
               r.bought_source, r.expected_deviation_cost_yuan, r.risk_state
        from analytics.portfolio_projection r
        join (select retailer_id, count(*) as n,
                     sum(coalesce(projected_p50_kwh, contracted_kwh)) as p50
              from analytics.deviation_projection group by 1) c using (retailer_id)""")
    retailers = ran.sql("select count(distinct retailer_id) from analytics.deviation_projection")
    assert rows and len(rows) == retailers[0][0]
    for retailer, contracts, p50, n, summed, source, cost, state in rows:
        assert contracts == n and p50 == summed, retailer
        assert source in {"wholesale_costs", "contracted_market_avg"}, retailer
        assert cost is not None and cost >= 0 and state != "no_forecast", retailer
    risk = ran.sql("select r.retailer_id, r.risk_exposure_yuan, r.expected_deviation_cost_yuan,"
                   " r.projected_spread_yuan, r.is_at_risk, r.margin_guarantee_yuan "
                   "from analytics.retail_risk_projection r")
    assert len(risk) == len(rows)
    for retailer, exposure, cost, spread, at_risk, guarantee in risk:
        assert exposure == max(-spread, 0) + cost, retailer
        assert at_risk == (exposure > (guarantee or 0)), retailer


@pytest.mark.writes("forecast_job")
def test_the_day_ahead_profile_spreads_the_next_days_forecast_over_96_quarter_hours(ran):
    rows = ran.sql("""
        select p.customer_id, count(*), sum(p.share), sum(p.p50_kwh), any_value(d.p50_kwh)
        from analytics.load_forecast_profile p
        join analytics.load_forecast_daily d
          on d.customer_id = p.customer_id and d.horizon_days = 1
        group by p.customer_id""")
    assert rows
    for customer, slots, share, summed, daily in rows:
        assert slots == 96 and abs(share - 1) < Decimal("0.000001"), customer
        assert abs(summed - daily) <= Decimal("0.048"), customer  # 96 roundings of 0.0005


@pytest.mark.writes("forecast_job")
def test_the_meters_forecasts_add_up_to_their_customers(ran):
    rows = ran.sql("""
        select m.customer_id, m.target_day, count(*), sum(m.share), sum(m.p50_kwh),
               any_value(d.p50_kwh)
        from analytics.load_forecast_meter_daily m
        join analytics.load_forecast_daily d using (customer_id, target_day)
        group by all""")
    meters = ran.sql("select count(distinct meter_id) from analytics.load_forecast_meter_daily")
    assert rows and meters[0][0] >= len({r[0] for r in rows})
    for customer, day, n, share, summed, daily in rows:
        assert abs(share - 1) < Decimal("0.000001"), (customer, day)
        assert abs(summed - daily) <= Decimal("0.0005") * n, (customer, day)



def without_guarantee(flow: Flow, table: str, period: str = "2026-11") -> tuple[str, Decimal]:
    """The retailer of the largest risk exposure of `table` in `period` (above zero), its
    margin guarantee set to zero."""
    from foundation.warehouse import connect

    retailer, exposure = flow.sql(f"select retailer_id, risk_exposure_yuan from {table} "
                                  "where period = ? order by risk_exposure_yuan desc limit 1",
                                  [period])[0]
    assert exposure > 0
    with connect(flow.warehouse) as con:
        con.execute("update restricted.retailers set margin_guarantee_yuan = 0 "
                    "where retailer_id = ?", [retailer])
    return retailer, exposure


@pytest.mark.writes("forecast_job")
def test_a_retailer_the_projection_puts_at_risk_is_told_to_its_managers_once(ran):
    """Issue 10 item 7: with its margin guarantee at zero, a retailer whose projected exposure
    is above zero is at risk; its subscribed account managers get retail_risk once."""
    retailer, _ = without_guarantee(ran, "analytics.retail_risk_projection")
    for _ in range(2):  # the second run sends nothing new
        assert ran.defs().resolve_job_def("forecast_job").execute_in_process(
            instance=DagsterInstance.ephemeral()).success
        assert ran.sql("select is_at_risk from analytics.retail_risk_projection "
                       "where retailer_id = ?", [retailer]) == [(True,)]
        sent = ran.sql("select distinct notice_key from notify.delivery_ledger "
                       "where notice_type = 'retail_risk' and notice_key like '%:2026-11:%'")
        assert sent == [(f"retail_risk:{retailer}:2026-11:2026-10-31",)]
    assert ran.sql("select count(*) from notify.delivery_ledger where notice_key = ?",
                   [f"retail_risk:{retailer}:2026-11:2026-10-31"])[0][0] >= 1


@pytest.mark.writes("forecast_job")
def test_a_retailer_settled_at_risk_is_told_to_its_managers_once(ran):
    """The settled month's retail_risk alert (marts.alerts, from finance.retailer_margin)
    reaches the retailer's subscribed account managers, as the projection's does, once; a
    complete month's margin forecasts itself (forecast_source complete_month), also in a
    warehouse whose table predates the forecast columns (the migration adds them)."""
    from foundation.warehouse import connect

    retailer, exposure = without_guarantee(ran, "finance.retailer_margin", "2026-10")
    with connect(ran.warehouse) as con:  # a warehouse from before the forecast columns
        for column in ("forecast_source", "forecast_origin_day"):
            con.execute(f"alter table finance.retailer_margin drop column {column}")
    key = f"retail_risk:{retailer}:2026-10:margin"
    ledger = []
    # the month, then its notices once more: the second sends nothing new
    for selection in (None, [AssetKey(["notify", "monthly_notices"])]):
        assert ran.defs().resolve_job_def("monthly_job").execute_in_process(
            instance=DagsterInstance.ephemeral(), partition_key="2026-10-01",
            asset_selection=selection).success
        ledger.append(ran.sql("select contact_id, channel, status from notify.delivery_ledger "
                              "where notice_key = ? order by all", [key]))
    assert ran.sql("select distinct forecast_source, forecast_origin_day "
                   "from finance.retailer_margin where period = '2026-10'") == [
        ("complete_month", None)]
    assert ran.sql("select is_at_risk, risk_exposure_yuan from finance.retailer_margin "
                   "where retailer_id = ? and period = '2026-10'", [retailer]) == [
        (True, exposure)]
    assert ledger[0] and ledger[0] == ledger[1]
    assert {status for _, _, status in ledger[0]} == {"sent"}
    # account managers only: of the retailer's customers (or of none), never a customer contact
    roles = ran.sql("select distinct c.role, m.retailer_id from restricted.contacts c "
                    "left join master.customers m on m.customer_id = c.customer_id "
                    "and m.valid_to is null where c.contact_id in (select contact_id from "
                    "notify.delivery_ledger where notice_key = ?)", [key])
    assert roles and all(role == "account_manager" and owner in (retailer, None)
                         for role, owner in roles)
    bodies = ran.sql("select title, body from notify.outbox where notice_key = ?", [key])
    assert bodies and all(retailer in title and "2026-10" in title and "2026-10-31" in body
                          for title, body in bodies)
