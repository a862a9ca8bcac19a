"""Run a Great Expectations suite on a pandas DataFrame and summarise the result.

Why pandas batches of aggregates: GX's SQL datasource failed on DuckDB through duckdb_engine
(metric bundle error), and pandas batches of raw intervals would not scale to 30 M rows. DuckDB
aggregates each stage to one row per unit that the rule is about (meter-day, file, bill), and GX
validates that frame: thousands of rows, not millions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pandas as pd

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import great_expectations as gx  # noqa: E402  (after disabling analytics: no network here)


@dataclass
class SuiteOutcome:
    """Passed or not, and for every expectation its rule and unexpected row count."""

    success: bool
    rules: dict[str, dict] = field(default_factory=dict)

    @property
    def failed_rules(self) -> dict[str, dict]:
        return {name: rule for name, rule in self.rules.items() if not rule["success"]}


def validate_frame(
    frame: pd.DataFrame, name: str, expectations: list[gx.expectations.Expectation]
) -> SuiteOutcome:
    """Validate a DataFrame against a named suite of expectations in an ephemeral GX context."""
    context = gx.get_context(mode="ephemeral")
    suite = context.suites.add(gx.ExpectationSuite(name=name, expectations=expectations))
    source = context.data_sources.add_pandas(name=f"{name}_source")
    asset = source.add_dataframe_asset(name=f"{name}_frame")
    batch = asset.add_batch_definition_whole_dataframe("whole").get_batch(
        batch_parameters={"dataframe": frame}
    )
    result = batch.validate(suite)
    rules = {}
    for item in result.results:
        config = item.expectation_config
        name = (config.meta or {}).get("rule") or f"{config.type}:{config.kwargs.get('column')}"
        rules[name] = {
            "success": bool(item.success),
            "unexpected_count": int(item.result.get("unexpected_count", 0) or 0),
            "element_count": int(item.result.get("element_count", len(frame)) or 0),
            "expectation": config.type,
        }
    return SuiteOutcome(bool(result.success), rules)
