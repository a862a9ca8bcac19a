"""Dagster asset `finance/bill_documents`: each month's bill documents and finance exports.

Writes, per month of the partition window, into `<data_dir>/../bills/<YYYY-MM>/`:

- `<customer_id>.html` for every bill of the month (self-contained: inline CSS and SVG);
- `<customer_id>.pdf` for at most `max_pdfs` customers per run, in customer_id order (run
  config; a PDF costs ~1 s, so a 10,000-customer benchmark renders a few PDFs, not 10,000;
  set it to 0 for none or above the customer count for all; the HTML is always complete);
- `exports/bills_<period>.csv|parquet` and `exports/bill_lines_<period>.csv|parquet`.

The month's folder is built beside the old one and swapped in whole, so a re-run never leaves
documents of customers that are no longer billed. DuckDB is opened read-only, everything is read
(and exported) at once and it is closed before rendering: other steps write to the same file.

No `from __future__ import annotations` here: Dagster rejects string annotations on `context`.
"""

import os
import shutil
import time
from datetime import date, timedelta
from pathlib import Path

from dagster import (
    AssetExecutionContext,
    AssetKey,
    BackfillPolicy,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
)
from pydantic import Field

from assets.bills.data import load_bills
from assets.bills.exports import export_finance
from assets.bills.render import cjk_fonts, render_bill_document, render_bill_pdf
from assets.settlement.publish import PUBLISH_KEY
from foundation.months import months_between
from foundation.partitions import monthly_partitions
from foundation.paths import contained
from foundation.resources import Gridledger
from foundation.warehouse import connect


class BillDocumentsConfig(Config):
    """Run config of `finance/bill_documents`."""

    max_pdfs: int = Field(
        default=20, ge=0,
        description="At most this many PDFs per run (customer_id order); HTML is written for all.",
    )


def bills_root(gridledger: Gridledger) -> Path:
    """`<data_dir>/../bills`: documents sit beside the data directory, not inside the inbox."""
    return Path(gridledger.data_dir).resolve().parent / "bills"


def _publish(staging: Path, final: Path) -> None:
    """Replace `final` by `staging` (old folder moved aside first, then removed)."""
    old = final.with_name(f".{final.name}.old-{os.getpid()}")
    if final.exists():
        final.rename(old)
    staging.rename(final)
    shutil.rmtree(old, ignore_errors=True)


@asset(
    key=AssetKey(["finance", "bill_documents"]),
    group_name="finance",
    deps=[AssetKey(["finance", "bills"]), AssetKey(["finance", "bill_lines"]), PUBLISH_KEY],
    partitions_def=monthly_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    description=(
        "Per-customer bill documents (HTML for all, PDF for up to max_pdfs per run) and CSV/"
        "Parquet finance exports, in <data_dir>/../bills/<period>/."
    ),
)
def bill_documents(
    context: AssetExecutionContext, config: BillDocumentsConfig, gridledger: Gridledger
) -> MaterializeResult:
    """Render the month's bills for people and export the finance tables for accounting."""
    window = context.partition_time_window
    # `YYYY-MM` of every month in [start, end)
    periods = months_between(window.start.date(), window.end.date() - timedelta(days=1))
    root = bills_root(gridledger)
    root.mkdir(parents=True, exist_ok=True)
    pdf_budget, issued_on = config.max_pdfs, date.today()
    counts = {"bills": 0, "html": 0, "pdf": 0, "pdf_skipped": 0, "export_files": 0}
    seconds = {"read": 0.0, "html": 0.0, "pdf": 0.0}
    if pdf_budget and not cjk_fonts():
        context.log.warning("no CJK font known to fontconfig: Chinese text in the PDFs will not "
                            "render (Debian package fonts-wqy-microhei or fonts-noto-cjk)")

    for period in periods:
        final = root / period
        staging = root / f".{period}.tmp-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        started = time.perf_counter()
        with connect(gridledger.warehouse_path, read_only=True) as con:
            bills = load_bills(con, period)
            exports = export_finance(con, staging / "exports", period)
        seconds["read"] += time.perf_counter() - started

        for bill in bills:
            started = time.perf_counter()
            html = render_bill_document(bill, issued_on)
            contained(staging, f"{bill.customer_id}.html").write_text(html, encoding="utf-8")
            seconds["html"] += time.perf_counter() - started
            if pdf_budget > 0:
                started = time.perf_counter()
                contained(staging, f"{bill.customer_id}.pdf").write_bytes(render_bill_pdf(html))
                seconds["pdf"] += time.perf_counter() - started
                pdf_budget -= 1
                counts["pdf"] += 1
            else:
                counts["pdf_skipped"] += 1
        _publish(staging, final)
        counts["bills"] += len(bills)
        counts["html"] += len(bills)
        counts["export_files"] += len(exports)
        context.log.info(f"bill documents {period}: {len(bills)} bills in {final}")

    if counts["pdf_skipped"]:
        context.log.info(f"{counts['pdf_skipped']} PDFs not rendered (max_pdfs={config.max_pdfs})")
    folder = root / periods[0] if len(periods) == 1 else root
    return MaterializeResult(metadata={
        "periods": periods,
        "bills": counts["bills"],
        "html_files": counts["html"],
        "pdf_files": counts["pdf"],
        "pdfs_skipped": counts["pdf_skipped"],
        "max_pdfs": config.max_pdfs,
        "export_files": counts["export_files"],
        "folder": MetadataValue.path(str(folder)),
        "cjk_fonts": ", ".join(cjk_fonts()) or "none",
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
    })
