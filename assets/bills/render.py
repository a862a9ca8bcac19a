"""Bill documents people read: one HTML page per customer and month, and its PDF.

    with connect(warehouse, read_only=True) as con:
        html = render_bill_html(con, "C_WORKED", "2026-07")
    pdf = render_bill_pdf(html)

`render_bill_html` reads through `data.load_bill`; the asset reads a whole month with
`data.load_bills`, closes DuckDB and calls `render_bill_document` per customer. Everything shown
is computed from Decimal (money) or from the warehouse's own rounding; floats only place chart
marks. The PDF engine is WeasyPrint; it fetches nothing (only `data:` URLs are allowed), and it
needs a CJK font installed for fontconfig (see `cjk_fonts`).
"""

from __future__ import annotations

import functools
import logging
import shutil
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from assets.bills import charts
from assets.bills.adjustments import AdjustmentNotice, adjustment_rows
from assets.bills.customer_texts import line_text, note_text
from assets.bills.data import BillData, BillLine, load_bill
from assets.bills.explanations import deviation_bands, price_formula
from assets.bills.formatting import (
    BASIC_MODES,
    BLOCK_NAMES,
    BLOCK_ORDER,
    CUSTOMER_CLASSES,
    PACKAGE_MODELS,
    SECTIONS,
    TARIFF_TYPES,
    UNITS,
    VOLTAGE_LEVELS,
    capital_yuan,
    line_quantity,
    line_unit_price,
    number,
    percent,
    section_of,
    signed_yuan,
    yuan,
)
from foundation.months import month_end
from notifications.masking import mask_account
from quality.bill_documents import bill_number

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
CONTRACT_STATUS = {"active": "有效", "terminated": "已解约", "pending": "待生效"}
FLAGS = {"ACTUAL": "实测", "ESTIMATED": "估算", "FAILED": "校验未通过"}
BASE_PRICE_LABELS = {"TIERED": "第一档电价", "SINGLE": "综合电价", "LINKED": "固定价（平段）"}


@functools.cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )


def _or_dash(value: Any) -> str:
    return "—" if value is None or value == "" else str(value)


def _energy_dp(bill: BillData) -> int:
    """Decimals for kWh on this bill: 0 when every billed kWh figure is whole, else 3 for all."""
    values = [bill.bill["billed_kwh"]] + [x.quantity for x in bill.lines if x.unit == "kWh"]
    whole = all(v is None or v == v.to_integral_value() for v in values)
    return 0 if whole else 3


def _line_rows(bill: BillData) -> tuple[list[dict], Decimal]:
    """Table rows grouped by bill section (domain.md §1), each section with its subtotal."""
    kwh_dp = _energy_dp(bill)
    order = [key for key, _, _ in SECTIONS] + ["other"]
    grouped: dict[str, tuple[str, list]] = {}
    segmented = len({line.segment_no for line in bill.lines}) > 1
    for line in bill.lines:
        key, title = section_of(line.line_code)
        grouped.setdefault(key, (title, []))[1].append(line)
    rows, total = [], Decimal(0)
    for key in order:
        if key not in grouped:
            continue
        title, lines = grouped[key]
        subtotal = sum((line.amount_yuan for line in lines), Decimal(0))
        total += subtotal
        rows.append({"kind": "section", "title": title, "amount": yuan(subtotal)})
        for line in lines:
            text = line_text(line.line_code, bill.bill["period_start"])
            rows.append({
                "kind": "line",
                "name": text.label + (_segment_label(line) if segmented else ""),
                "explanation": text.explanation,
                "key": f"{line.line_no}:{line.segment_no}",  # data-line: checked against finance
                "quantity": (number(line.quantity, kwh_dp, kwh_dp) if line.unit == "kWh"
                             else line_quantity(line.quantity, line.unit)),
                "unit": "调整基数 元" if line.unit == "元" else UNITS.get(line.unit, line.unit),
                "unit_price": line_unit_price(line.unit_price, line.unit),
                "price_unit": "" if line.unit == "元" else f"元/{UNITS.get(line.unit, line.unit)}",
                "amount": yuan(line.amount_yuan),
                "negative": line.amount_yuan < 0,
            })
    return rows, total


def _segment_label(line: BillLine) -> str:
    """A month priced in segments (master data changed inside it): the days of the line."""
    if line.segment_from and line.segment_to:
        return (f"（{line.segment_from.month}月{line.segment_from.day}日—"
                f"{line.segment_to.month}月{line.segment_to.day}日）")
    return f"（第{line.segment_no}段）"


def issued_block_kwh(bill: BillData) -> dict[str, Decimal]:
    """Block kWh as issued: the energy_<block> lines' quantities when the bill has them (a bill
    rendered later must not show corrected reads beside issued lines), else the usage blocks."""
    issued: dict[str, Decimal] = {}
    for line in bill.lines:
        block = line.line_code.removeprefix("energy_")
        if line.unit == "kWh" and block in BLOCK_ORDER:
            issued[block] = issued.get(block, Decimal(0)) + line.quantity
    if issued:
        return issued
    return {block.block: block.kwh for block in bill.blocks}


def _blocks(bill: BillData) -> list[dict]:
    kwh_of = issued_block_kwh(bill)
    total = sum(kwh_of.values(), Decimal(0))
    dp = _energy_dp(bill)
    rows = []
    for block in sorted(bill.blocks, key=lambda b: BLOCK_ORDER.index(b.block)
                        if b.block in BLOCK_ORDER else 99):
        kwh = kwh_of.get(block.block, Decimal(0))
        rows.append({
            "name": BLOCK_NAMES.get(block.block, block.block),
            "kwh": number(kwh, dp, dp),
            "share": percent(kwh / total if total else 0, 1),
            "kvarh": number(block.kvarh, 0),
            "estimated": number(block.estimated_kwh, 0),
            "failed": block.failed_intervals,
        })
    return rows


def build_context(bill: BillData, issued_on: date | None = None) -> dict[str, Any]:
    """Everything the template shows, already formatted (the template does no arithmetic)."""
    b = bill.bill
    start: date = b["period_start"]
    last_day = month_end(start)
    rows, lines_total = _line_rows(bill)
    total: Decimal = b["total_yuan"]
    kwh: Decimal = b["billed_kwh"] or Decimal(0)
    contracted: Decimal | None = b["contracted_kwh"]
    deviation = (kwh - contracted) / contracted if contracted else None
    daily_actual = sum(d.actual_kwh for d in bill.daily)
    daily_estimated = sum(d.estimated_kwh for d in bill.daily)
    daily_failed = sum(d.failed_kwh for d in bill.daily)
    pf_line = next((line for line in bill.lines if line.line_code == "pf_adjustment"), None)
    max_demand = b["max_demand_kw"]
    by_contract = b["basic_charge_mode"] == "contract_demand"
    contract_demand = b["contract_demand_kw"] if by_contract else None
    adjusted = sum((a.amount_delta_yuan for a in bill.adjustments), Decimal(0))

    return {
        "retailer_name": b["retailer_name"] or b["retailer_id"],
        "customer_name": b["customer_name"] or b["customer_id"],
        "customer_id": b["customer_id"],
        "period": b["period"],
        "period_label": f"{start.year}年{start.month:02d}月",
        "period_from": start.isoformat(),
        "period_to": last_day.isoformat(),
        "bill_no": bill_number(b["customer_id"], b["period"]),
        "issued_on": issued_on.isoformat() if issued_on else None,
        "account": {
            "holder": _or_dash(b["account_holder"] or b["retailer_name"]),
            "bank": _or_dash(b["bank_name"]),
            "number": _or_dash(mask_account(b["bank_account"])),
        },
        "customer": {
            "category": " · ".join(dict.fromkeys(
                x for x in (CUSTOMER_CLASSES.get(b["customer_class"], b["customer_class"]),
                            b["industry"], b["region"]) if x)) or "—",
            "voltage": VOLTAGE_LEVELS.get(b["voltage_level"], _or_dash(b["voltage_level"])),
            "tariff": TARIFF_TYPES.get(b["tariff_type"], _or_dash(b["tariff_type"])),
            "region": _or_dash(b["region"]),
            "industry": _or_dash(b["industry"]),
            "capacity_kva": number(b["contract_capacity_kva"], 0) or "—",
            "basic_mode": BASIC_MODES.get(b["basic_charge_mode"], _or_dash(b["basic_charge_mode"])),
            "contract_demand_kw": number(b["contract_demand_kw"], 0) or "—",
        },
        "summary": {
            "total": yuan(total),
            "total_capital": capital_yuan(total),
            "kwh": number(kwh, _energy_dp(bill), _energy_dp(bill)),
            "kvarh": number(b["billed_kvarh"], 0),
            "average_price": number(b["average_price_yuan_per_kwh"], 4, 4) or "—",
            "power_factor": number(b["power_factor"], 2, 2) or "—",
            "pf_assessed": b["pf_standard"] not in (None, "none"),
            "pf_standard": "不考核" if b["pf_standard"] in (None, "none") else b["pf_standard"],
            "pf_rate": line_unit_price(pf_line.unit_price, "元") if pf_line else "0.00%",
            "pf_amount": signed_yuan(pf_line.amount_yuan) if pf_line else "0.00",
            "max_demand": number(max_demand, 3) or "—",
            "contract_demand": number(contract_demand, 0) if contract_demand else None,
            "peak_at": bill.peak_slot.strftime("%m-%d %H:%M") if bill.peak_slot else None,
            "estimated_share": percent(b["estimated_kwh_share"] or 0, 2),
        },
        "contract": {
            "id": _or_dash(b["contract_id"]),
            "term": f"{_or_dash(b['start_month'])} 至 {_or_dash(b['end_month'])}",
            "status": CONTRACT_STATUS.get(b["contract_status"], _or_dash(b["contract_status"])),
            "package_id": _or_dash(b["package_id"]),
            "package_name": _or_dash(b["package_name"]),
            "model": PACKAGE_MODELS.get(b["package_model"], _or_dash(b["package_model"])),
            "flat_price": number(b["flat_price"], 6, 4) if b["flat_price"] is not None else None,
            "flat_price_label": BASE_PRICE_LABELS.get(b["package_model"], "平段基准价"),
            "green_value": number(b["green_value"], 6, 4) if b["green_value"] else None,
            "contracted_kwh": number(contracted, 0) if contracted is not None else None,
            "deviation": percent(deviation, 2, signed=True) if deviation is not None else None,
        },
        "pricing": price_formula(bill),
        "deviation_bands": deviation_bands(bill),
        "adjustments": {
            "rows": adjustment_rows(bill.adjustments, start),
            "total": signed_yuan(adjusted),
            "due_with_adjustments": yuan(total + adjusted),
        } if bill.adjustments else None,
        "rows": rows,
        "lines_total_matches": lines_total == total,
        "lines_total": yuan(lines_total),
        "blocks": _blocks(bill),
        "blocks_total_kwh": number(sum(issued_block_kwh(bill).values(), Decimal(0)),
                                   _energy_dp(bill), _energy_dp(bill)),
        "quality": {
            "counts": [{"flag": FLAGS.get(flag, flag), "intervals": f"{count:,}"}
                       for flag, count in sorted(bill.interval_counts.items(),
                                                 key=lambda kv: list(FLAGS).index(kv[0])
                                                 if kv[0] in FLAGS else 9)],
            "estimated_kwh": number(sum((x.estimated_kwh for x in bill.blocks), Decimal(0)), 0),
        },
        "notes": {"tou": note_text("tou", start), "adjustment": note_text("adjustment", start)},
        "charts": {
            "tou": Markup(charts.tou_chart([(x.block, x.kwh) for x in bill.blocks])),
            "daily": Markup(charts.daily_chart(bill.daily, start)),
            "profile": Markup(charts.profile_chart(
                bill.profile_kw, bill.tou_bands,
                float(max_demand) if max_demand is not None else None,
                float(contract_demand) if contract_demand is not None else None)),
            "quality": Markup(charts.quality_bar(daily_actual, daily_estimated, daily_failed)),
        },
    }


def render_bill_document(bill: BillData, issued_on: date | None = None) -> str:
    """The HTML bill of data already read (see `data.load_bills`)."""
    return _environment().get_template("bill.html.j2").render(**build_context(bill, issued_on))


def render_bill_html(
    con: duckdb.DuckDBPyConnection, customer_id: str, period: str, issued_on: date | None = None
) -> str:
    """The HTML bill of one customer and `YYYY-MM` period, read from the open warehouse."""
    return render_bill_document(load_bill(con, customer_id, period), issued_on)


@functools.cache
def cjk_fonts() -> tuple[str, ...]:
    """Font families fontconfig offers for Chinese (empty: PDFs would show missing glyphs)."""
    if shutil.which("fc-list") is None:
        return ()
    try:
        out = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True,
                             timeout=30, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    return tuple(sorted({line.split(",")[0].strip() for line in out.splitlines() if line.strip()}))


@functools.cache
def _check_cjk_font() -> None:
    """Warn once per process when PDFs would lack Chinese glyphs."""
    if not cjk_fonts():
        log.warning("no CJK font for fontconfig: Chinese text in bill PDFs will not render; "
                    "install fonts-wqy-microhei or fonts-noto-cjk")


def render_bill_pdf(html: str) -> bytes:
    """PDF of a bill document with WeasyPrint, offline: only `data:` URLs may be fetched.

    Chinese text needs a CJK font known to fontconfig (Debian: `fonts-wqy-microhei` or
    `fonts-noto-cjk`); without one the PDF is still written, with missing glyphs, and a warning
    is logged once. Font subsetting is ~4× faster with HarfBuzz's subsetter (Debian:
    `libharfbuzz-subset0`); without it WeasyPrint falls back to fontTools (~2.5 s per bill with
    a CJK font instead of ~0.6 s).
    """
    from weasyprint import HTML  # heavy import, only when PDFs are made
    from weasyprint.urls import URLFetcher

    _check_cjk_font()
    fetcher = URLFetcher(allowed_protocols=("data",))
    return HTML(string=html, url_fetcher=fetcher).write_pdf()


def render_adjustment_notice(
    notice: AdjustmentNotice, corrected: BillData | None, issued_on: date | None = None
) -> str:
    """The 追退补通知 of one customer and settlement run; `corrected` is the bill it corrects
    (None when none was issued: the notice then names the customer by id)."""
    start = date.fromisoformat(f"{notice.period}-01")
    b = corrected.bill if corrected else {}
    return _environment().get_template("adjustment_notice.html.j2").render(
        notice_no=notice.notice_no,
        customer_id=notice.customer_id,
        customer_name=b.get("customer_name") or notice.customer_id,
        retailer_name=b.get("retailer_name") or b.get("retailer_id") or "售电公司",
        period=notice.period,
        period_label=f"{start.year}年{start.month:02d}月",
        original_bill_no=notice.original_bill_no or "—",
        issued_on=issued_on.isoformat() if issued_on else None,
        rows=adjustment_rows(notice.lines, start),
        total=signed_yuan(notice.total),
        refund=notice.total < 0,
        note=note_text("adjustment", start),
    )
