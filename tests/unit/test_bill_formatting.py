"""Bill formatting without a warehouse: capital numerals, money and price formatting, charts, and a
PDF rendering that fetches nothing. The worked bill's documents are in
tests/integration/test_bill_documents.py."""

from __future__ import annotations

import http.server
import threading
from datetime import date
from decimal import Decimal

import pytest

from assets.bills import render_bill_pdf
from assets.bills.charts import daily_chart, nice_ticks, profile_chart, tou_chart
from assets.bills.formatting import capital_yuan, line_unit_price, number, yuan

# --- formatting (no warehouse) -------------------------------------------------------------

@pytest.mark.parametrize("amount, words", [
    ("228120.46", "贰拾贰万捌仟壹佰贰拾元肆角陆分"),
    ("0", "零元整"),
    ("0.05", "伍分"),
    ("0.40", "肆角"),
    ("10", "壹拾元整"),
    ("10005", "壹万零伍元整"),
    ("100010", "壹拾万零壹拾元整"),
    ("200100", "贰拾万零壹佰元整"),
    ("100001000", "壹亿零壹仟元整"),
    ("12345678.9", "壹仟贰佰叁拾肆万伍仟陆佰柒拾捌元玖角"),
    ("1001.01", "壹仟零壹元零壹分"),
    ("-1200.00", "负壹仟贰佰元整"),
])
def test_capital_numerals(amount: str, words: str) -> None:
    assert capital_yuan(Decimal(amount)) == words


def test_money_and_price_formatting_keep_decimal_precision() -> None:
    assert yuan(Decimal("228120.46")) == "228,120.46"
    assert yuan(Decimal("2187.125")) == "2,187.13"  # half up, not banker's
    assert yuan(Decimal("-1444")) == "-1,444.00"
    assert number(Decimal("300000.000"), 0) == "300,000"
    assert line_unit_price(Decimal("0.02406875"), "kWh") == "0.02406875"
    assert line_unit_price(Decimal("0.81600000"), "kWh") == "0.8160"
    assert line_unit_price(Decimal("36.10000000"), "kW") == "36.10"
    # basic charge prorated by days in service: 22.6 × 16 / 31
    assert line_unit_price(Decimal("11.66451613"), "kVA") == "11.66451613"
    assert line_unit_price(Decimal("0.01000000"), "元") == "+1.00%"
    assert line_unit_price(Decimal("-0.00750000"), "元") == "-0.75%"


def test_charts_are_plain_svg_even_without_data() -> None:
    assert nice_ticks(860 * 1.08) == [0, 200, 400, 600, 800, 1000]
    for svg in (tou_chart([]), daily_chart([], date(2026, 2, 1)), profile_chart({}, {})):
        assert svg.startswith("<svg") and svg.endswith("</svg>")
        assert "<script" not in svg


def test_pdf_rendering_fetches_no_url() -> None:
    hits: list[str] = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        pdf = render_bill_pdf(f'<html><head><link rel="stylesheet" href="{url}/a.css"></head>'
                              f'<body><img src="{url}/logo.png"><p>账单</p></body></html>')
    finally:
        server.shutdown()
        server.server_close()
    assert pdf.startswith(b"%PDF")
    assert hits == []
