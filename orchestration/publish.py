"""Dagster asset `finance/publish`: the monthly job's last finance step.

It depends on every dbt model of the finance schema (read from the manifest, so a new finance
model is published too) and so runs only after the monthly `dbt build` built them in
`finance_staging` and every dbt test (blocking asset checks) passed. It then replaces the
finance tables by the staged ones in one DuckDB transaction (assets/settlement/publish.py).
Bill documents and notices depend on it: they are made from published data only.

No `from __future__ import annotations` here: Dagster rejects string annotations on `context`.
"""

from functools import cache

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    BackfillPolicy,
    MaterializeResult,
    asset,
)

from assets.settlement.publish import PUBLISH_KEY, publish
from foundation.partitions import monthly_partitions
from foundation.resources import Gridledger
from foundation.warehouse import connect
from orchestration.dbt import finance_tables


@cache
def build_publish_asset() -> AssetsDefinition:
    """`finance/publish`, depending on every finance model."""
    tables = finance_tables()

    @asset(
        key=PUBLISH_KEY,
        group_name="finance",
        deps=sorted(tables, key=lambda key: key.to_user_string()),
        partitions_def=monthly_partitions,
        backfill_policy=BackfillPolicy.single_run(),
        description=(
            "Publishes the month: replaces every finance table (" + ", ".join(sorted(
                tables.values())) + ") by the copy the run built and tested in finance_staging, "
            "in one transaction, once every gate of the run passed."
        ),
    )
    def publish_finance(context: AssetExecutionContext, gridledger: Gridledger
                        ) -> MaterializeResult:
        """Publish the staged finance tables of this run; metadata: rows per table."""
        with connect(gridledger.warehouse_path) as con:
            rows = publish(con, sorted(tables.values()), context.run_id)
        context.log.info("published " + ", ".join(f"finance.{t} ({n} rows)"
                                                   for t, n in rows.items()))
        return MaterializeResult(metadata={f"rows:{t}": n for t, n in rows.items()})

    return publish_finance
