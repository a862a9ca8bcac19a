"""The Great Expectations suites that gate each stage; thresholds come from config rows.

Each function returns the expectations of one suite; `gx_runner.validate_frame` names and runs it.
"""

from __future__ import annotations

import great_expectations.expectations as gxe

from quality import gx_runner  # noqa: F401  (sets GX_ANALYTICS_ENABLED before use)

VALIDATED_CONSUMPTION = "validated_consumption"
LANDING_LEDGER = "landing_ledger"
VEE_RULES = "vee_rules"


def validated_consumption_suite(min_actual_share: float) -> list[gxe.Expectation]:
    """One row per meter, channel and day: no FAILED interval left, enough actual reads."""
    return [
        gxe.ExpectColumnValuesToBeBetween(
            column="failed_intervals", min_value=0, max_value=0,
            meta={"rule": "no_unestimated_failed_intervals"},
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="actual_share", min_value=min_actual_share, max_value=1,
            meta={"rule": f"actual_share_at_least_{min_actual_share}"},
        ),
        gxe.ExpectColumnValuesToNotBeNull(column="meter_id", meta={"rule": "meter_id_present"}),
    ]


def ledger_suite() -> list[gxe.Expectation]:
    """One row per landing file: loaded + quarantined rows reconcile with the rows read."""
    return [
        gxe.ExpectColumnValuesToBeInSet(
            column="status", value_set=["loaded", "duplicate", "quarantined"],
            meta={"rule": "file_status_known"},
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="unreconciled_rows", min_value=0, max_value=0,
            meta={"rule": "rows_read_equal_rows_loaded_plus_quarantined"},
        ),
    ]


def vee_rules_suite(known_rules: list[str]) -> list[gxe.Expectation]:
    """One row per failed VEE rule with its interval count: every rule is in the catalogue
    (seed vee_rules), so a rule the model emits is always documented, enabled or not."""
    return [
        gxe.ExpectColumnValuesToBeInSet(
            column="rule", value_set=sorted(known_rules),
            meta={"rule": "failed_rules_are_catalogued_in_vee_rules"},
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="intervals", min_value=1, meta={"rule": "rule_counts_positive"},
        ),
    ]
