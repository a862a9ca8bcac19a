"""Bill documents and finance exports, on the domain.md §1 worked bill run through the real flow,
and bills as documents of record on the generated October (`october_demo`) re-settled.

The amounts asserted are domain.md's hand computation as a person reads it on the bill
(thousands separators, 2 dp), not numbers read back from the code. The months are the session's
`worked_bill_month` and `october_demo` scenarios; formatting, charts and PDF isolation without a
warehouse are in tests/unit/test_bill_formatting.py.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
from datetime import date
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
from assets.bills.adjustments import pending_adjustments
from assets.bills.issued import carried_before, read_record
from foundation.warehouse import connect
from quality.bill_documents import (
    printed_number,
    read_figures,
    verify_bill_notices,
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
demo = scenario_fixture("october_demo", "demo")


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


# --- documents of record: the generated October, closed and re-settled --------------------

def _document_bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.suffix in (".html", ".pdf")}


@pytest.fixture
def resettled(demo):
    """October closed, a corrected file for one meter-day landed (tools.demo_resettlement, as
    `make demo` does) and the daily and monthly jobs re-run; done once per module copy."""
    if not hasattr(demo, "issued_documents"):
        from dagster import DagsterInstance

        from orchestration.runner import RANGE_END, RANGE_START, run_job
        from tools.demo_resettlement import close_and_correct

        folder = demo.root / "bills" / "2026-10"
        demo.issued_documents = _document_bytes(folder)
        correction = close_and_correct(demo.warehouse, demo.data_dir / "landing" / "reads",
                                       date(2026, 10, 1))
        day = correction.day.isoformat()
        with DagsterInstance.ephemeral() as instance:
            defs = demo.defs()
            assert run_job(defs, "daily_job", instance,
                           {RANGE_START: day, RANGE_END: day}).success
            result = run_job(defs, "monthly_job", instance, partition_key="2026-10-01")
            assert result.success
        demo.correction = correction
        demo.monthly = result
    return demo


@pytest.mark.writes("resettled")
def test_a_closed_months_documents_stay_byte_identical_after_re_settlement(resettled) -> None:
    (adjusted,), = resettled.sql("select count(distinct customer_id) from finance.adjustments")
    assert adjusted == 1  # the re-settlement did change the month ...
    issued = resettled.issued_documents
    (bills,), = resettled.sql("select count(*) from finance.bills where period = '2026-10' "
                              "and coalesce(bill_status, 'issued') = 'issued'")
    assert len([name for name in issued if name.endswith(".pdf")]) == min(bills, 20)  # max_pdfs
    now = _document_bytes(resettled.root / "bills" / "2026-10")
    bills_now = {name: data for name, data in now.items() if "/" not in name}
    assert bills_now == issued  # ... and not one byte of an issued document, nor a new one
    meta = resettled.monthly.asset_materializations_for_node("finance__bill_documents")[0].metadata
    assert meta["documents_kept"].value == meta["bills"].value
    assert meta["html_files"].value == 0 and meta["adjustment_notices"].value == 1


@pytest.mark.writes("resettled")
def test_re_settlement_issues_an_adjustment_notice_with_every_line(resettled) -> None:
    (customer,), = resettled.sql("select distinct customer_id from finance.adjustments")
    rows = resettled.sql(
        "select line_no, coalesce(segment_no, 1), quantity_delta, amount_delta_yuan, "
        "original_bill_ref, run_id from finance.adjustments order by line_no")
    (bill_run,), = resettled.sql("select run_id from finance.bills where customer_id = ? and "
                                 "period = '2026-10'", [customer])
    assert {r[4] for r in rows} == {f"{customer}:2026-10:{bill_run}"}
    notices = list((resettled.root / "bills" / "2026-10" / "adjustments").iterdir())
    (run_id,) = {r[5] for r in rows}
    assert [p.name for p in notices] == [f"{customer}_{run_id.rsplit('-', 1)[1]}.html"]
    html = notices[0].read_text(encoding="utf-8")
    figures = read_figures(html)
    assert figures.attributes["data-original-bill"] == f"202610-{customer}"
    assert f"原账单编号 <strong>202610-{customer}</strong>" in html
    assert "计量数据更正" in html  # the reason, in customer wording
    printed = dict(figures.adjustments)
    assert set(printed) == {f"2026-10:{r[0]}:{r[1]}" for r in rows}
    for line_no, segment, quantity, amount, _, _ in rows:
        row = printed[f"2026-10:{line_no}:{segment}"]
        assert row["amount"] == f"{amount:+,.2f}"
        assert printed_number(row["quantity"]) == quantity
    total = sum((r[3] for r in rows), Decimal(0))
    assert figures.figures["total"] == f"{total:+,.2f}"
    for code in ("td_energy", "energy_", "late_or_corrected", "validated consumption"):
        assert code not in html, code


@pytest.mark.writes("resettled")
def test_adjusted_kwh_and_amount_by_hand_from_the_corrected_reads(resettled) -> None:
    """The corrected file raised 08:00–20:00 of one meter-day by 10 %: the kWh delta is the
    difference of the two landed versions of those reads, and the T&D line's delta is
    round(kWh × price, 2) of the new quantity minus the issued amount."""
    correction = resettled.correction
    (delta_kwh,), = resettled.sql("""
        with corrected as (
            select r.interval_start, r.value
            from raw.interval_reads r join raw.file_ledger l using (file_id)
            where l.file_name = ? and r.meter_id = ? and r.channel = 'kwh_imp'),
        first_landed as (
            select interval_start, value from raw.interval_reads
            where meter_id = ? and channel = 'kwh_imp'
            qualify row_number() over (partition by interval_start
                                       order by file_id, source_row) = 1)
        select sum(c.value - f.value) from corrected c join first_landed f using (interval_start)
        """, [correction.file.name, correction.meter_id, correction.meter_id])
    (customer, quantity, amount), = resettled.sql(
        "select customer_id, quantity_delta, amount_delta_yuan from finance.adjustments "
        "where line_code = 'td_energy'")
    assert quantity == delta_kwh and quantity > 0
    (issued_kwh, price, issued_amount), = resettled.sql(
        "select quantity, unit_price, amount_yuan from finance.bill_lines where customer_id = ? "
        "and period = '2026-10' and line_code = 'td_energy'", [customer])
    expected = ((issued_kwh + quantity) * price).quantize(Decimal("0.01"), "ROUND_HALF_UP")
    assert amount == expected - issued_amount


@pytest.mark.writes("resettled")
def test_the_next_bill_carries_the_pending_adjustments(resettled) -> None:
    root = resettled.root / "bills"
    assert carried_before(root, "2026-11") == set()  # no bill carried them yet
    with connect(resettled.warehouse, read_only=True) as con:
        pending = pending_adjustments(con, "2026-11", set())
        (customer,), = con.execute("select distinct customer_id from finance.adjustments")\
            .fetchall()
        assert pending_adjustments(con, "2026-10", set()) == {}  # not the corrected month's
        bill = load_bill(con, customer, "2026-10")  # stands in for November (no reads yet)
    assert list(pending) == [customer]
    bill.adjustments = pending[customer]
    html = render_bill_document(bill)
    figures = read_figures(html)
    assert "往期追退补" in html and f"202610-{customer}" in html
    total = sum((a.amount_delta_yuan for a in pending[customer]), Decimal(0))
    assert figures.figures["adjustments-total"] == f"{total:+,.2f}"
    assert len(figures.adjustments) == len(pending[customer])
    record = read_record(root / "2026-10")
    assert record["bills"][customer]["adjustments_carried"] == []


@pytest.mark.writes("resettled")
def test_document_check_passes_on_real_documents_and_fails_on_an_altered_one(
    resettled, tmp_path: Path
) -> None:
    from dagster import DagsterInstance, materialize

    from assets.bills.assets import bill_documents
    from foundation.resources import Gridledger

    folder = resettled.root / "bills" / "2026-10"
    (customer,), = resettled.sql("select distinct customer_id from finance.adjustments")
    with connect(resettled.warehouse, read_only=True) as con:
        assert verify_month(con, folder, "2026-10") == []
        (amount,) = con.execute("select amount_yuan from finance.bill_lines where customer_id = "
                                "? and period = '2026-10' and line_no = 40", [customer]).fetchone()
    altered = folder / f"{customer}.html"
    text = altered.read_text(encoding="utf-8")
    printed = f'data-field="amount">{amount:,.2f}<'
    assert text.count(printed) == 1
    altered.write_text(text.replace(printed, f'data-field="amount">{amount + 1:,.2f}<'),
                       encoding="utf-8")
    with connect(resettled.warehouse, read_only=True) as con:
        problems = verify_month(con, folder, "2026-10")
    assert len(problems) == 1 and f"{customer}.html line 40:1 amount" in problems[0]

    # the asset keeps the issued (here: altered) file and its check reports it
    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            [bill_documents], partition_key="2026-10-01", instance=instance,
            resources={"gridledger": Gridledger(warehouse=str(resettled.warehouse),
                                                data_dir=str(resettled.data_dir))},
            run_config={"ops": {"finance__bill_documents": {"config": {"max_pdfs": 0}}}})
    (check,) = result.get_asset_check_evaluations()
    assert not check.passed and check.metadata["differences"].value == 1


@pytest.mark.writes("resettled")
def test_bill_ready_notices_match_their_bills_and_an_altered_one_is_caught(resettled) -> None:
    with connect(resettled.warehouse, read_only=True) as con:
        checked, problems = verify_bill_notices(con)
        (bills,) = con.execute("select count(distinct notice_key) from notify.outbox "
                               "where notice_key like 'bill_ready:%'").fetchone()
    assert checked >= bills > 0 and problems == []
    with connect(resettled.warehouse) as con:
        (key,) = con.execute("select min(notice_key) from notify.outbox "
                             "where notice_key like 'bill_ready:%'").fetchone()
        con.execute("update notify.outbox set body = regexp_replace(body, '应缴金额[0-9,.]+元', "
                    "'应缴金额1.00元') where notice_key = ?", [key])
        checked, problems = verify_bill_notices(con)
    (total,), = resettled.sql("select total_yuan from finance.bills "
                              "where customer_id || ':' || period = ?", [key.split(":", 1)[1]])
    assert total != Decimal("1.00")
    assert problems == [f"{key}: notice says 1.00, bill {total}"]


def test_linked_and_spread_bills_print_their_price_formula(demo) -> None:
    """PKG_LINKED: (1 − 0.3) × 0.390 + 0.3 × 0.414 (agency price, October 2026) = 0.3972;
    PKG_SPREAD: 0.366 (market average) − 0.030 × 0.5 + 0 = 0.3510 (retail_packages.csv,
    market_index_prices.csv)."""
    folder = demo.root / "bills" / "2026-10"
    expected = {
        "LINKED": ("(1 − 联动比例 0.3) × 合同固定价 0.3900 + 联动比例 0.3 × 电网企业代理购电价格 "
                   "0.4140 = 0.3972 元/kWh", Decimal("0.397200")),
        "SPREAD": ("市场月度交易均价 0.3660 − 价差 0.0300 × 分成比例 0.5 + 浮动价 0.0000 = 0.3510 "
                   "元/kWh", Decimal("0.351000")),
    }
    for model, (formula, price) in expected.items():
        (customer, flat), = demo.sql(
            "select b.customer_id, l.unit_price from finance.bills b join finance.bill_lines l "
            "using (customer_id, period) where b.period = '2026-10' and b.package_model = ? "
            "and l.line_code = 'energy_flat' order by 1 limit 1", [model])
        assert flat == price
        html = (folder / f"{customer}.html").read_text(encoding="utf-8")
        assert formula in html, model
        assert "% 以内</td><td>0.00</td><td>免考核" in html  # the clause's free band
