"""Blocking Dagster asset checks backed by Great Expectations suites.

A failing check stops every downstream asset in the run; its metadata names each failed rule
and how many rows broke it. dbt tests with severity error gate the dbt stages the same way.
"""


from datetime import date

import pandas as pd
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetKey,
    MetadataValue,
    asset_check,
)

from foundation.resources import Gridledger
from foundation.warehouse import connect
from quality.bill_documents import verify_bill_notices
from quality.gx_runner import SuiteOutcome, validate_frame
from quality.suites import (
    LANDING_LEDGER,
    VALIDATED_CONSUMPTION,
    VEE_RULES,
    ledger_suite,
    validated_consumption_suite,
    vee_rules_suite,
)

VALIDATED = AssetKey(["core", "int_interval_validated"])

LEDGER_SQL = """
with loaded as (
    select file_id, count(*) as n from raw.interval_reads group by 1
    union all
    select file_id, count(*) from raw.register_reads group by 1
    union all
    select file_id, count(*) from raw.manual_edits group by 1
    union all
    select file_id, count(*) from raw.weather_daily group by 1
),
quarantined as (select file_id, count(*) as n from raw.quarantine_rows group by 1)
select l.file_name, l.status, l.rows_total,
       l.rows_total - coalesce((select sum(n) from loaded d where d.file_id = l.file_id), 0)
                    - coalesce((select sum(n) from quarantined q where q.file_id = l.file_id), 0)
           as unreconciled_rows
from raw.file_ledger l
"""

# The run's window [$lo, $hi) of reading dates: a run judges the days it validated, not history.
IN_WINDOW = "reading_date >= $lo and reading_date < $hi"

METER_DAY_SQL = f"""
select meter_id, channel, reading_date,
       count(*) filter (where quality_flag = 'FAILED') as failed_intervals,
       avg(case when quality_flag in ('ACTUAL', 'EDITED') then 1.0 else 0.0 end) as actual_share
from core.int_interval_validated
where {IN_WINDOW}
group by all
"""

FLAG_COUNTS_SQL = f"""
select quality_flag::varchar as quality_flag, method::varchar as method, count(*) as intervals
from core.int_interval_validated
where {IN_WINDOW}
group by all order by all
"""

RULE_COUNTS_SQL = f"""
select rule, count(*) as intervals
from (select unnest(string_split(failed_rules, ';')) as rule
      from core.int_interval_validated where failed_rules is not null and {IN_WINDOW})
group by all order by all
"""

KNOWN_RULES_SQL = """
select distinct rule from config.vee_rules
where stage = 'vee' and level in ('interval', 'day')
"""

MIN_SHARE_SQL = """
select cast(value as double) from config.vee_parameters
where parameter = 'min_actual_share_per_day' and valid_to is null
"""


def _result(outcome: SuiteOutcome, rows: int, sample: pd.DataFrame) -> AssetCheckResult:
    metadata = {
        "rows_checked": rows,
        **{f"rule:{name}": MetadataValue.json(rule) for name, rule in outcome.rules.items()},
    }
    if not outcome.success:
        summary = ", ".join(
            f"{name} ({rule['unexpected_count']} rows)"
            for name, rule in outcome.failed_rules.items()
        )
        metadata["failed_rules"] = summary
        metadata["sample"] = MetadataValue.md(sample.head(20).to_markdown(index=False))
    return AssetCheckResult(
        passed=outcome.success, metadata=metadata, severity=AssetCheckSeverity.ERROR
    )


@asset_check(asset=AssetKey(["raw", "interval_reads"]), blocking=True,
             description="Every landing file reconciles: rows read = rows loaded + quarantined.")
def landing_ledger_reconciles(gridledger: Gridledger) -> AssetCheckResult:
    """GX suite `landing_ledger` on one row per ledgered file."""
    with connect(gridledger.warehouse_path, read_only=True) as con:
        frame = con.execute(LEDGER_SQL).df()
    outcome = validate_frame(frame, LANDING_LEDGER, ledger_suite())
    return _result(outcome, len(frame), frame[frame["unreconciled_rows"] != 0])


FLAGS = ("ACTUAL", "ESTIMATED", "EDITED", "FAILED")


def _vee_counts(flags: pd.DataFrame, rules: pd.DataFrame, known: list[str]) -> dict:
    """Metadata: intervals per quality flag, per flag and method, and per failed rule (zero for
    a flag or catalogued rule that no interval has)."""
    by_flag = {f: 0 for f in FLAGS}
    for flag, n in flags.groupby("quality_flag")["intervals"].sum().items():
        by_flag[flag] = int(n)
    by_rule = {r: 0 for r in sorted(known)}
    by_rule.update({r: int(n) for r, n in rules.itertuples(index=False)})
    return {
        "intervals_by_flag": MetadataValue.json(by_flag),
        "intervals_by_method": MetadataValue.json(
            {f"{f}/{m}": int(n) for f, m, n in flags.itertuples(index=False)}),
        "intervals_by_rule": MetadataValue.json(by_rule),
        **{f"flag:{k}": v for k, v in by_flag.items()},
        **{f"rule_count:{r}": n for r, n in by_rule.items()},
    }


@asset_check(asset=VALIDATED, blocking=True,
             description="No FAILED interval left unestimated; enough actual reads per meter-day.")
def validated_consumption_gate(
    context: AssetCheckExecutionContext, gridledger: Gridledger
) -> AssetCheckResult:
    """GX suite `validated_consumption` on one row per meter, channel and day of the run's
    window; metadata counts the intervals per quality flag and per VEE rule (GX suite
    `vee_rules`: every failed rule is in the vee_rules catalogue)."""
    lo, hi = run_window(context)
    window = {"lo": lo, "hi": hi}
    with connect(gridledger.warehouse_path, read_only=True) as con:
        frame = con.execute(METER_DAY_SQL, window).df()
        min_share = con.execute(MIN_SHARE_SQL).fetchone()[0]
        flags = con.execute(FLAG_COUNTS_SQL, window).df()
        rules = con.execute(RULE_COUNTS_SQL, window).df()
        known = [r for (r,) in con.execute(KNOWN_RULES_SQL).fetchall()]
    outcome = validate_frame(frame, VALIDATED_CONSUMPTION, validated_consumption_suite(min_share))
    rule_outcome = validate_frame(rules, VEE_RULES, vee_rules_suite(known))
    merged = SuiteOutcome(outcome.success and rule_outcome.success,
                          {**outcome.rules, **rule_outcome.rules})
    bad = frame[(frame["failed_intervals"] > 0) | (frame["actual_share"] < min_share)]
    result = _result(merged, len(frame), bad)
    return AssetCheckResult(passed=result.passed, severity=result.severity,
                            metadata={**result.metadata, **_vee_counts(flags, rules, known),
                                      "window": f"[{lo}, {hi})"})


def run_window(context: AssetCheckExecutionContext) -> tuple[date, date]:
    """The run's partition window [start, end) as dates; all time when the run has none."""
    op = context.op_execution_context
    if op.has_partition_key or op.has_partition_key_range:
        window = op.partition_time_window
        return window.start.date(), window.end.date()
    return date(1900, 1, 1), date(2999, 12, 31)


@asset_check(asset=AssetKey(["notify", "monthly_notices"]),
             description="Each bill-ready notice in the outbox names the period and amount of "
                         "an issued bill (finance.bills).")
def bill_notices_match_bills(gridledger: Gridledger) -> AssetCheckResult:
    """quality.bill_documents.verify_bill_notices over the local outbox."""
    with connect(gridledger.warehouse_path, read_only=True) as con:
        checked, problems = verify_bill_notices(con)
    return AssetCheckResult(passed=not problems, severity=AssetCheckSeverity.ERROR, metadata={
        "notices_checked": checked, "differences": len(problems),
        "first": "\n".join(problems[:20]) or "none"})


default_checks = [landing_ledger_reconciles, validated_consumption_gate, bill_notices_match_bills]

__all__ = ["default_checks"]
