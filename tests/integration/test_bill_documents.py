"""Bill documents and finance exports, on the domain.md §1 worked bill run through the real flow
(bills as documents of record on the generated October re-settled: test_bill_records.py).

The amounts asserted are domain.md's hand computation as a person reads it on the bill
(thousands separators, 2 dp), not numbers read back from the code. The month is the session's
`worked_bill_month` scenario; formatting, charts and PDF isolation without a
warehouse are in tests/unit/test_bill_formatting.py.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from assets.bills import (
    export_finance,
    load_bill,
    render_bill_document,
    render_bill_html,
    render_bill_pdf,
)
from foundation.warehouse import connect
from quality.bill_documents import (
    read_figures,
    verify_month,
)
from tests.scenarios import scenario_fixture

WORKED_AMOUNTS = [
    "36,720.00", "47,600.00", "40,000.00", "10,200.00",  # energy: sharp, peak, flat, valley
    "3,974.70",  # line loss
    "40,950.00",  # T&D energy
    "7,500.00",  # system operation
    "30,324.00", "1,444.00",  # basic demand 31,768.00 = 840 × 36.1 + 20 × 72.2
    "2,187.13",  # PF adjustment
    "7,220.63",  # government funds
]


worked = scenario_fixture("worked_bill_month", "worked")


@pytest.fixture(scope="module")
def html(worked_bill_month) -> str:
    with connect(worked_bill_month.warehouse, read_only=True) as con:  # restricted file attached
        return render_bill_html(con, "C_WORKED", "2026-07")


@pytest.fixture(scope="module")
def pdf(html) -> bytes:
    return render_bill_pdf(html)


# --- the worked bill -----------------------------------------------------------------------

def test_bill_html_shows_customer_period_every_line_and_the_total(html: str) -> None:
    for text in ("唐山示范钢铁", "C_WORKED", "2026年07月", "2026-07-01", "2026-07-31",
                 "冀北示范售电", "K_WORKED", "PKG_FIXED_TOU"):
        assert text in html, text
    for amount in [*WORKED_AMOUNTS, "228,120.46"]:
        assert f">{amount}<" in html, amount
    assert "贰拾贰万捌仟壹佰贰拾元肆角陆分" in html
    assert "300,000" in html and "0.7604" in html  # kWh and average price in the summary


def test_bill_html_names_lines_in_chinese(html: str) -> None:
    for name in ("尖峰电量电费", "高峰电量电费", "平段电量电费", "低谷电量电费", "上网环节线损费用",
                 "输配电费（电量电价）", "系统运行费", "基本电费（按合同需量）",
                 "基本电费（超合同需量部分）", "功率因数调整电费", "政府性基金及附加"):
        assert name in html, name


def test_bill_html_shows_power_factor_demand_and_quality(html: str) -> None:
    assert "0.88" in html and "0.90" in html and "+1.00%" in html
    assert "860" in html and "800" in html and "07-31 22:45" in html  # max demand, its time
    assert "0.00%" in html  # estimated kWh share: all readings actual
    assert "实测" in html and "2,976" in html  # 31 days × 96 intervals


def test_bill_html_masks_the_bank_account(html: str) -> None:
    assert "0402000000000001234" not in html
    assert "***************1234" in html


def test_bill_html_has_inline_svg_charts_and_fetches_nothing(html: str) -> None:
    assert html.count("<svg") == 4  # TOU blocks, daily kWh, load profile, quality mix
    assert "<script" not in html
    without_svg_namespace = html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    for remote in ("http://", "https://", "src=", "url(", "@import", "<link"):
        assert remote not in without_svg_namespace, remote


def test_lines_that_do_not_add_up_are_flagged_on_the_bill(worked) -> None:
    with connect(worked.warehouse, read_only=True) as con:  # restricted file attached
        bill = load_bill(con, "C_WORKED", "2026-07")
    assert "不一致" not in render_bill_document(bill)
    bill.bill["total_yuan"] = Decimal("228120.47")
    assert "明细合计 228,120.46 元与账单总额 228,120.47 元不一致" in render_bill_document(bill)


def test_unknown_customer_has_no_bill(worked) -> None:
    with connect(worked.warehouse, read_only=True) as con:  # restricted file attached
        with pytest.raises(LookupError):
            render_bill_html(con, "NOBODY", "2026-07")
        with pytest.raises(ValueError):
            render_bill_html(con, "C_WORKED", "2026-7")


def test_bill_pdf_is_a_pdf(pdf: bytes) -> None:
    assert pdf.startswith(b"%PDF")
    assert len(pdf) > 10_000


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_bill_pdf_text_has_the_total(pdf: bytes, tmp_path: Path) -> None:
    path = tmp_path / "bill.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "228,120.46" in text
    assert "2,187.13" in text


def test_exports_hold_the_period_rows(worked, tmp_path: Path) -> None:
    with connect(worked.warehouse, read_only=True) as con:  # restricted file attached
        files = export_finance(con, tmp_path / "exports", "2026-07")
        empty = export_finance(con, tmp_path / "empty", "2026-06")
    assert sorted(p.name for p in files) == [
        "bill_lines_2026-07.csv", "bill_lines_2026-07.parquet",
        "bills_2026-07.csv", "bills_2026-07.parquet",
    ]
    by_name = {p.name: p for p in files}
    with by_name["bills_2026-07.csv"].open(encoding="utf-8") as handle:
        bills = list(csv.DictReader(handle))
    assert [(b["customer_id"], b["total_yuan"]) for b in bills] == [("C_WORKED", "228120.46")]
    with by_name["bill_lines_2026-07.csv"].open(encoding="utf-8") as handle:
        lines = list(csv.DictReader(handle))
    assert len(lines) == 11
    assert sum(Decimal(line["amount_yuan"]) for line in lines) == Decimal("228120.46")
    con = duckdb.connect()
    try:
        (count, total), = con.execute(
            "select count(*), sum(amount_yuan) from read_parquet(?)",
            [str(by_name["bill_lines_2026-07.parquet"])]).fetchall()
        (bill_rows,), = con.execute("select count(*) from read_parquet(?)",
                                    [str(by_name["bills_2026-07.parquet"])]).fetchall()
    finally:
        con.close()
    assert (count, total, bill_rows) == (11, Decimal("228120.46"), 1)
    assert all(p.exists() for p in empty)  # a month without bills: header-only files


@pytest.mark.writes
def test_asset_writes_documents_pdfs_up_to_max_and_exports(worked) -> None:
    from dagster import DagsterInstance, materialize

    from assets.bills.assets import bill_documents
    from foundation.resources import Gridledger

    folder = worked.root / "bills" / "2026-07"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "C_GONE.html").write_text("stale", encoding="utf-8")
    resources = {"gridledger": Gridledger(warehouse=str(worked.warehouse),
                                          data_dir=str(worked.data_dir))}

    def run(max_pdfs: int):
        with DagsterInstance.ephemeral() as instance:
            result = materialize(
                [bill_documents], partition_key="2026-07-01", resources=resources,
                instance=instance,
                run_config={"ops": {"finance__bill_documents": {"config": {"max_pdfs": max_pdfs}}}},
            )
            assert result.success
            return result.asset_materializations_for_node("finance__bill_documents")[0].metadata

    issued = {name: (folder / name).read_bytes() for name in ("C_WORKED.html", "C_WORKED.pdf")}
    meta = run(0)  # the scenario's monthly run issued the bill: kept, not rendered again
    assert meta["bills"].value == 1 and meta["documents_kept"].value == 1
    assert meta["html_files"].value == 0 and meta["pdf_files"].value == 0
    assert sorted(p.name for p in folder.iterdir()) == [  # stale gone
        "C_WORKED.html", "C_WORKED.pdf", "exports", "issued.json"]
    assert {name: (folder / name).read_bytes() for name in issued} == issued

    (folder / "issued.json").unlink()  # a month without a record is issued anew ...
    meta = run(0)
    assert meta["html_files"].value == 1 and meta["pdfs_skipped"].value == 1
    assert not (folder / "C_WORKED.pdf").exists()
    meta = run(1)  # ... and then kept: no PDF is added to an issued bill
    assert meta["documents_kept"].value == 1 and meta["pdf_files"].value == 0
    assert not (folder / "C_WORKED.pdf").exists()
    (folder / "issued.json").unlink()
    meta = run(1)
    assert meta["pdf_files"].value == 1 and meta["export_files"].value == 4
    assert Path(meta["folder"].value).resolve() == folder.resolve()
    assert (folder / "C_WORKED.pdf").read_bytes().startswith(b"%PDF")
    assert "228,120.46" in (folder / "C_WORKED.html").read_text(encoding="utf-8")
    assert len(list((folder / "exports").iterdir())) == 4
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no leftovers


# --- customer wording --------------------------------------------------------------------

LINE_CODES = ("energy_sharp", "energy_peak", "energy_flat", "energy_valley", "line_loss",
              "td_energy", "system_operation", "basic_demand", "basic_demand_excess",
              "pf_adjustment", "government_funds")


def test_bill_prints_no_internal_line_code_or_internal_note(html: str, worked) -> None:
    codes = {code for (code,) in worked.sql(
        "select distinct line_code from finance.bill_lines where customer_id = 'C_WORKED'")}
    assert codes == set(LINE_CODES)
    for code in codes:
        assert code not in html, code
    (source,), = worked.sql("select string_agg(distinct source, ' ') from config.tou_periods "
                            "where calendar_id = 'jibei'")
    assert "to verify" in source  # the internal note exists in config ...
    for internal in ("to verify", "1711号", "DEV_DEFAULT", "FIXED）"):
        assert internal not in html, internal  # ... and is not printed
    assert "尖峰时段用电量 × 尖峰电价" in html  # explanation from customer_texts.csv


def test_section_headings_are_kept_with_what_follows(html: str) -> None:
    assert "h2, h3, .caption { break-after: avoid;" in html
    assert "table.lines tr, table.grid tr { break-inside: avoid; }" in html


def test_document_check_passes_on_the_worked_bill(worked) -> None:
    with connect(worked.warehouse, read_only=True) as con:
        assert verify_month(con, worked.root / "bills" / "2026-07", "2026-07") == []
    figures = read_figures((worked.root / "bills" / "2026-07" / "C_WORKED.html")
                           .read_text(encoding="utf-8"))
    assert figures.figures["total"] == "228,120.46" and figures.figures["kwh"] == "300,000"
    assert figures.lines["61:1"] == {"quantity": "840", "amount": "30,324.00"}  # 840 × 36.1
    assert figures.lines["62:1"] == {"quantity": "20", "amount": "1,444.00"}  # 20 × 72.2
