"""Bill PDFs in worker processes (issue 14): the same bytes as in one process, in job order."""

from __future__ import annotations

import hashlib
from pathlib import Path

from assets.bills.pdfs import render_pdfs


def test_pdfs_rendered_by_two_workers_are_the_bytes_one_process_renders(tmp_path: Path) -> None:
    pages = {f"C{i}": f"<html><body><h1>电费账单 {i}</h1><p>{'度' * (10 * i)}</p></body></html>"
             for i in range(5)}

    def jobs(folder: str) -> list[tuple[str, tuple[str, Path]]]:
        (tmp_path / folder).mkdir()
        return [(c, (html, tmp_path / folder / f"{c}.pdf")) for c, html in pages.items()]

    alone = render_pdfs(jobs("one"), workers=1)
    parallel = render_pdfs(jobs("two"), workers=2, min_per_worker=2)
    assert [c for c, _ in parallel] == list(pages)  # the jobs' order, whatever finished first
    assert parallel == alone
    for customer, digest in parallel:
        data = (tmp_path / "two" / f"{customer}.pdf").read_bytes()
        assert data.startswith(b"%PDF") and hashlib.sha256(data).hexdigest() == digest
    assert len({digest for _, digest in alone}) == len(pages)  # five different documents


def test_too_few_pdfs_for_a_second_worker_are_rendered_in_this_process(tmp_path, monkeypatch):
    import assets.bills.pdfs as pdfs

    monkeypatch.setattr(pdfs, "ProcessPoolExecutor", None)  # a pool would fail
    jobs = [(f"C{i}", ("<p>账单</p>", tmp_path / f"C{i}.pdf")) for i in range(3)]
    assert [c for c, _ in pdfs.render_pdfs(jobs, workers=2)] == ["C0", "C1", "C2"]
