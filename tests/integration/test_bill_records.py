"""Bills as documents of record on the generated October (`october_demo`), closed and re-settled:
issued documents stay byte-identical, adjustments get their own notices, the document and notice
checks catch an altered figure; and the price formulas of linked and spread bills. The worked
bill's documents: test_bill_documents.py.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from assets.bills import (
    load_bill,
    render_bill_document,
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

demo = scenario_fixture("october_demo", "demo")


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
    assert len([name for name in issued if name.endswith(".pdf")]) == bills  # every bill
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
