"""Orderly power use (有序用电): curtailment plans -> notices -> results, after CN102999814A.

A plan arrives as CSV rows in `inbox/curtailment/` (one row per plan x target). Evaluating the
workflow at a time `now` (China Standard Time; the clock is a parameter so tests and the sensor
decide what "now" is) does whatever is due and not done yet:

1. **Accept new plans.** Each target row selects current customers by region, industry and/or
   customer id (non-empty selectors of one row are ANDed; rows are unioned). A customer named by
   its own row gets that row's target_kw, otherwise the largest target of the rows selecting it.
   A row that selects nobody, or a plan whose rows disagree on the plan fields, is rejected.
   Customers are frozen in `workflow.curtailment_customers` (master data may be reloaded).
2. **Notice** (`curtailment_notice`) as soon as the plan is published, per customer, with the
   plan, level, measure, window and required reduction, plus load curves (hourly kW) for
   yesterday, the same day last month and last year relative to the window date ("无数据" when
   there is no validated history). A planned notice sent after its deadline (D-1 17:00 by
   default) is still sent and marked `late`.
3. **Reminder** (`curtailment_reminder`) at the configured lead (T-2 h for planned plans), unless
   the notice itself went out after that moment.
4. **Escalation** (`curtailment_escalation`) when a notice of a plan that requires acknowledgement
   (emergency: 30 min) is still unacknowledged (`DeliveryService.acknowledge`) that long after it
   was sent, to the customer's account managers and the government contacts subscribed to
   curtailment; a customer without any reachable contact is escalated too.
5. **All-clear** (`curtailment_all_clear`) at the window end (+ configured delay).
6. **Results** after the window: per customer, actual average kW in the window vs a baseline
   (average kW in the same clock window over the previous like days: 5 workdays for a workday,
   weekend/holiday days otherwise, days of other plans excluded, only days whose validated data
   cover the window completely), into `workflow.curtailment_results`. Waits for data until
   `results_until`; then records what could not be computed.

Recipients per customer: its own contacts subscribed to `curtailment`, plus members of the plan's
region/industry groups (region-only and industry-only rows) and of a `plan` contact group named
by the plan id who belong to that customer. Group members tied to no customer (e.g. officials in
a plan group) receive one plan-level notice `curtailment:<plan_id>:<stage>:ALL`.
Notice keys are `curtailment:<plan_id>:<stage>:<customer_id>`, so the delivery ledger makes a
re-evaluation send nothing twice; `workflow.curtailment_stages` records each stage.
Lead times, measures and baseline settings are effective-dated rows of `curtailment_rules.csv`.

Modules: `rules` (rules file, timelines), `plans` (accepting plan files, the plan row),
`baseline` (load curves, like days, reduction), `messages` (notice contexts; the wording is in
`notifications/templates/`), `evaluation` (what is due at `now`, deliveries, results).
"""

from assets.workflows.curtailment.baseline import (
    ReductionResult,
    curve_days,
    is_workday,
    load_curves,
    load_holidays,
    measure_reduction,
    window_average_kw,
)
from assets.workflows.curtailment.evaluation import (
    ALL,
    CurtailmentReport,
    Delivery,
    acknowledge,
    evaluate_curtailment,
    notice_key,
)
from assets.workflows.curtailment.messages import curve_summary
from assets.workflows.curtailment.plans import Plan, accept_plan_files
from assets.workflows.curtailment.rules import (
    RULES_PATH,
    CurtailmentRule,
    Timeline,
    load_rules,
    plan_timeline,
    rule_for,
    sensor_timeline,
)

__all__ = [
    "ALL", "RULES_PATH", "CurtailmentReport", "CurtailmentRule", "Delivery", "Plan",
    "ReductionResult", "Timeline", "accept_plan_files", "acknowledge", "curve_days",
    "curve_summary", "evaluate_curtailment", "is_workday", "load_curves", "load_holidays",
    "load_rules", "measure_reduction", "notice_key", "plan_timeline", "rule_for",
    "sensor_timeline", "window_average_kw",
]
