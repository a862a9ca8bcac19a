"""Dagster asset `finance/bill_documents`: each month's bill documents and finance exports.

Writes, per month of the partition window, into `<data_dir>/../bills/<YYYY-MM>/`:

- `<customer_id>.html` for every bill of the month (self-contained: inline CSS and SVG);
- `<customer_id>.pdf` for every bill issued by the run (run config `max_pdfs`: at most that
  many, in customer_id order; 0 for none), rendered by `pdf_workers` worker processes (default:
  one per core; a PDF costs ~0.6 s of one core); the HTML is always complete;
- `exports/bills_<period>.csv|parquet` and `exports/bill_lines_<period>.csv|parquet`;
- `adjustments/<customer_id>_<run>.html`: a 追退补通知 per customer and re-settlement run of the
  month (assets/bills/adjustments.py), quoting the original bill number;
- `issued.json`: the record of the documents issued (assets/bills/issued.py).

Bills are documents of record: a document issued for a bill (customer:period:run_id) is carried
over byte for byte by every later run, never rendered again (a closed month's re-settlement
changes `finance.adjustments`, not the bill, so its documents stay as issued, PDF or not). A
customer's next new bill carries the adjustments of earlier
months that no earlier bill carried. The month's folder is built beside the old one and swapped
in whole, so a re-run never leaves documents of customers that are no longer billed. The check
`documents_match_finance` then reads the figures back from the HTML (quality/bill_documents.py).
DuckDB is opened read-only, everything is read
(and exported) at once and it is closed before rendering: other steps write to the same file.

No `from __future__ import annotations` here: Dagster rejects string annotations on `context`.
"""

import os
import shutil
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    BackfillPolicy,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
)
from pydantic import Field

from assets.bills.adjustments import AdjustmentNotice, month_notices, pending_adjustments
from assets.bills.data import AdjustmentLine, BillData, load_bills
from assets.bills.exports import export_finance
from assets.bills.issued import carried_before, carry_over, read_record, sha256, write_record
from assets.bills.pdfs import render_pdfs
from assets.bills.render import (
    cjk_fonts,
    render_adjustment_notice,
    render_bill_document,
)
from assets.settlement.publish import PUBLISH_KEY
from foundation.months import months_between
from foundation.partitions import monthly_partitions
from foundation.paths import contained
from foundation.resources import Gridledger
from foundation.warehouse import connect
from quality.bill_documents import bill_number, verify_month

BILL_DOCUMENTS = AssetKey(["finance", "bill_documents"])
DOCUMENTS_CHECK = "documents_match_finance"


class BillDocumentsConfig(Config):
    """Run config of `finance/bill_documents`."""

    max_pdfs: int | None = Field(
        default=None, ge=0,
        description="At most this many PDFs per run (customer_id order); none: every bill. "
                    "HTML is written for all.",
    )
    pdf_workers: int = Field(
        default=0, ge=0,
        description="Worker processes rendering the PDFs; 0: one per core.",
    )


def bills_root(gridledger: Gridledger) -> Path:
    """`<data_dir>/../bills`: documents sit beside the data directory, not inside the inbox."""
    return Path(gridledger.data_dir).resolve().parent / "bills"


def bill_ref(bill: BillData) -> str:
    """`customer:period:run_id`: the issued bill a document belongs to (finance.adjustments
    quotes it as original_bill_ref); a new run_id means a new bill and a new document."""
    return f"{bill.customer_id}:{bill.period}:{bill.bill['run_id']}"


def _publish(staging: Path, final: Path) -> None:
    """Replace `final` by `staging` (old folder moved aside first, then removed)."""
    old = final.with_name(f".{final.name}.old-{os.getpid()}")
    if final.exists():
        final.rename(old)
    staging.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def _bill_document(
    bill: BillData, final: Path, staging: Path, issued: dict | None,
    pending: list[AdjustmentLine], issued_on: date,
) -> tuple[dict, str, bool]:
    """(record entry, HTML, kept) of one bill: the issued document carried over unchanged when
    the bill is the one it was issued for, else a new document carrying the pending
    adjustments."""
    name = f"{bill.customer_id}.html"
    if issued and issued["bill_ref"] == bill_ref(bill) and carry_over(final, staging, name):
        carry_over(final, staging, f"{bill.customer_id}.pdf")
        return issued, contained(staging, name).read_text(encoding="utf-8"), True
    bill.adjustments = pending
    html = render_bill_document(bill, issued_on)
    path = contained(staging, name)
    path.write_text(html, encoding="utf-8")
    return {"bill_ref": bill_ref(bill), "bill_no": bill_number(bill.customer_id, bill.period),
            "issued_on": issued_on.isoformat(), "html_sha256": sha256(path),
            "adjustments_carried": [a.adjustment_id for a in pending]}, html, False


def _notice_document(
    notice: AdjustmentNotice, corrected: BillData | None, staging: Path, issued_on: date
) -> dict:
    """Write a new adjustment notice; its record entry."""
    path = contained(staging, "adjustments", notice.file_name)
    path.parent.mkdir(exist_ok=True)
    path.write_text(render_adjustment_notice(notice, corrected, issued_on), encoding="utf-8")
    return {"notice_no": notice.notice_no, "original_bill_no": notice.original_bill_no,
            "issued_on": issued_on.isoformat(), "sha256": sha256(path),
            "adjustment_ids": [line.adjustment_id for line in notice.lines]}


@asset(
    key=BILL_DOCUMENTS,
    group_name="finance",
    deps=[AssetKey(["finance", "bills"]), AssetKey(["finance", "bill_lines"]), PUBLISH_KEY],
    partitions_def=monthly_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    check_specs=[AssetCheckSpec(
        DOCUMENTS_CHECK, asset=BILL_DOCUMENTS,
        description="Every figure the month's bills and adjustment notices print equals "
                    "finance.bills / bill_lines / adjustments (HTML read back with html.parser).",
    )],
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
    pdf_budget = config.max_pdfs if config.max_pdfs is not None else sys.maxsize
    issued_on = date.today()
    counts = {"bills": 0, "html": 0, "kept": 0, "notices": 0, "pdf": 0, "pdf_skipped": 0,
              "export_files": 0}
    seconds = {"read": 0.0, "html": 0.0, "pdf": 0.0}
    if pdf_budget and not cjk_fonts():
        context.log.warning("no CJK font known to fontconfig: Chinese text in the PDFs will not "
                            "render (Debian package fonts-wqy-microhei or fonts-noto-cjk)")

    problems: list[str] = []
    for period in periods:
        final = root / period
        staging = root / f".{period}.tmp-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        started = time.perf_counter()
        with connect(gridledger.warehouse_path, read_only=True) as con:
            bills = load_bills(con, period)
            notices = month_notices(con, period)
            pending = pending_adjustments(con, period, carried_before(root, period))
            exports = export_finance(con, staging / "exports", period)
        seconds["read"] += time.perf_counter() - started

        issued = read_record(final)
        record: dict[str, dict] = {"bills": {}, "notices": {}}
        pdfs: dict[str, tuple[str, Path]] = {}  # customer -> (HTML, PDF path)
        for bill in bills:
            started = time.perf_counter()
            entry, html, kept = _bill_document(
                bill, final, staging, issued["bills"].get(bill.customer_id),
                pending.get(bill.customer_id, []), issued_on)
            counts["kept" if kept else "html"] += 1
            seconds["html"] += time.perf_counter() - started
            # a kept bill keeps the documents issued for it, no more and no fewer
            if not kept and pdf_budget > 0:
                pdfs[bill.customer_id] = (html, contained(staging, f"{bill.customer_id}.pdf"))
                pdf_budget -= 1
            elif not kept:
                counts["pdf_skipped"] += 1
            record["bills"][bill.customer_id] = entry
        started = time.perf_counter()
        for customer_id, digest in render_pdfs(list(pdfs.items()), config.pdf_workers):
            record["bills"][customer_id]["pdf_sha256"] = digest
        seconds["pdf"] += time.perf_counter() - started
        counts["pdf"] += len(pdfs)

        corrected = {bill.customer_id: bill for bill in bills}
        for notice in notices:
            entry = issued["notices"].get(notice.file_name)
            if not (entry and carry_over(final, staging, f"adjustments/{notice.file_name}")):
                entry = _notice_document(notice, corrected.get(notice.customer_id), staging,
                                         issued_on)
                counts["notices"] += 1
            record["notices"][notice.file_name] = entry
        write_record(staging, record)
        _publish(staging, final)
        with connect(gridledger.warehouse_path, read_only=True) as con:
            problems += verify_month(con, final, period)
        counts["bills"] += len(bills)
        counts["export_files"] += len(exports)
        context.log.info(f"bill documents {period}: {len(bills)} bills in {final} "
                         f"({len(notices)} adjustment notices)")

    if counts["pdf_skipped"]:
        context.log.info(f"{counts['pdf_skipped']} PDFs not rendered (max_pdfs={config.max_pdfs})")
    folder = root / periods[0] if len(periods) == 1 else root
    return MaterializeResult(metadata={
        "periods": periods,
        "bills": counts["bills"],
        "html_files": counts["html"],
        "documents_kept": counts["kept"],
        "adjustment_notices": counts["notices"],
        "pdf_files": counts["pdf"],
        "pdfs_skipped": counts["pdf_skipped"],
        "max_pdfs": "all" if config.max_pdfs is None else config.max_pdfs,
        "export_files": counts["export_files"],
        "folder": MetadataValue.path(str(folder)),
        "cjk_fonts": ", ".join(cjk_fonts()) or "none",
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
    }, check_results=[AssetCheckResult(
        check_name=DOCUMENTS_CHECK, passed=not problems, severity=AssetCheckSeverity.ERROR,
        metadata={"differences": len(problems), "first": "\n".join(problems[:20]) or "none"},
    )])
