"""Bill PDFs in worker processes: WeasyPrint takes ~0.6 s of one core per bill, so a month of
10,000 bills is rendered by one process per core (issue 14), a month of a few by the step's
own. A worker imports only the bill renderer, not Dagster; the bytes are the same as rendered
in one process (tested).
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from assets.bills.issued import sha256
from assets.bills.render import render_bill_pdf


def write_pdf(html: str, path: Path) -> str:
    """Render one bill's PDF to `path`; its SHA-256."""
    path.write_bytes(render_bill_pdf(html))
    return sha256(path)


MIN_PDFS_PER_WORKER = 8  # a spawned worker costs ~3 s to start (imports), a PDF ~0.6 s


def render_pdfs(jobs: list[tuple[str, tuple[str, Path]]], workers: int,
                min_per_worker: int = MIN_PDFS_PER_WORKER) -> list[tuple[str, str]]:
    """(customer, SHA-256) of each PDF rendered from (customer, (HTML, path)), in up to
    `workers` processes (0: one per core), each given at least `min_per_worker` PDFs (fewer
    PDFs: this process renders them). Processes are spawned, not forked: the step's process
    holds threads (Dagster, DuckDB) a fork would copy mid-lock."""
    workers = min(workers or os.cpu_count() or 1, len(jobs) // max(min_per_worker, 1))
    if workers <= 1:
        return [(customer, write_pdf(html, path)) for customer, (html, path) in jobs]
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        digests = pool.map(write_pdf, [html for _, (html, _) in jobs],
                           [path for _, (_, path) in jobs], chunksize=4)
        return [(customer, digest) for (customer, _), digest in zip(jobs, digests, strict=True)]
