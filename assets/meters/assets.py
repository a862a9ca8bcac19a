"""Dagster assets for ingestion: master data, the daily landing-file load and manual edits."""


from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    BackfillPolicy,
    MaterializeResult,
    multi_asset,
)

from assets.meters.load import ingest_landing
from assets.meters.manual_edits import load_manual_edits
from assets.meters.master_data import MASTER_FILES, load_master_data
from foundation.partitions import daily_partitions
from foundation.resources import Gridledger
from foundation.warehouse import connect
from quality.config_rules import validate_config

RAW_TABLES = ("interval_reads", "register_reads", "file_ledger", "quarantine_rows", "manual_edits")


@multi_asset(
    specs=[
        AssetSpec(
            AssetKey([schema, stem]),
            group_name="reference",
            description=f"Master data {stem} from the CRM export ({schema} schema).",
        )
        for stem, (schema, _, _) in MASTER_FILES.items()
    ],
    name="master_data",
)
def master_data(context: AssetExecutionContext, gridledger: Gridledger):
    """Validate the config seeds and the master-data export, then load the master data; a bad
    row fails the run with file, line, column and rule before anything is written."""
    config_rows = validate_config()
    context.log.info(f"config seeds: {config_rows} rows within their documented rules")
    with connect(gridledger.warehouse_path) as con:
        counts = load_master_data(con, gridledger.master_dir)
    for stem, (schema, _, _) in MASTER_FILES.items():
        yield MaterializeResult(
            asset_key=AssetKey([schema, stem]), metadata={"dagster/row_count": counts[stem]}
        )


@multi_asset(
    specs=[
        AssetSpec(
            AssetKey(["raw", table]),
            group_name="ingestion",
            deps=[AssetKey(["master", "metering_points"])],
            description=(f"raw.{table}: loaded from landing files (append-only, ledgered)."
                         if table != "manual_edits" else
                         "raw.manual_edits: approved interval edits from <data_dir>/edits/*.csv "
                         "(ledgered; rejected rows quarantined with the reason)."),
        )
        for table in RAW_TABLES
    ],
    partitions_def=daily_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    name="landing_reads",
)
def landing_reads(context: AssetExecutionContext, gridledger: Gridledger):
    """Load every landing file not yet in the ledger, then report the partition window.

    Files are the unit of idempotency (name + SHA-256), not days: a file touching several days is
    loaded once, by whichever run sees it first; re-running a day loads nothing twice.
    """
    window = context.partition_time_window
    with connect(gridledger.warehouse_path) as con:
        report = ingest_landing(con, gridledger.landing_dir, gridledger.quarantine_dir)
        edits_dir = gridledger.edits_dir
        edits = load_manual_edits(con, edits_dir, gridledger.quarantine_dir)
        in_window = con.execute(
            """select count(*) from raw.interval_reads
               where interval_start >= ? and interval_start < ?""",
            [window.start.replace(tzinfo=None), window.end.replace(tzinfo=None)],
        ).fetchone()[0]
        counts = dict(
            con.execute(
                "select 'file_ledger', count(*) from raw.file_ledger union all "
                "select 'quarantine_rows', count(*) from raw.quarantine_rows union all "
                "select 'register_reads', count(*) from raw.register_reads union all "
                "select 'manual_edits', count(*) from raw.manual_edits"
            ).fetchall()
        )
    for name, reason in {**report.files_quarantined, **edits.files_quarantined}.items():
        context.log.warning(f"quarantined file {name}: {reason}")
    common = {
        "files_loaded": len(report.files_loaded),
        "files_duplicate": len(report.files_duplicate),
        "files_quarantined": len(report.files_quarantined),
        "rows_loaded": report.rows_loaded,
        "rows_quarantined": report.rows_quarantined,
        "quarantined_by_rule": dict(report.quarantined_by_rule),
        "edit_files_loaded": len(edits.files_loaded),
        "edit_rows_loaded": edits.rows_loaded,
        "edit_rows_rejected": edits.rows_rejected,
        "edits_rejected_by_rule": edits.rejected_by_rule,
    }
    yield MaterializeResult(
        asset_key=AssetKey(["raw", "interval_reads"]),
        metadata={**common, "reads_in_window": in_window},
    )
    for table in RAW_TABLES[1:]:
        yield MaterializeResult(
            asset_key=AssetKey(["raw", table]), metadata={"dagster/row_count": counts[table]}
        )
