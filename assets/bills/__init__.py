"""Bill documents and finance exports: what customers and the finance team read each month.

- `render_bill_html(con, customer_id, period)`: a Chinese utility-style bill as one HTML page
  (header, summary, line items, inline SVG charts, quality mix, contract and package).
- `render_bill_pdf(html)`: the same as PDF (WeasyPrint, offline; needs a CJK font installed).
- `export_finance(con, out_dir, period)`: CSV and Parquet of finance.bills / finance.bill_lines.
- `assets.bills` (the Dagster asset `finance/bill_documents`) writes them all per month.
"""

from assets.bills.data import BillData, load_bill, load_bills
from assets.bills.exports import export_finance
from assets.bills.render import (
    cjk_fonts,
    render_bill_document,
    render_bill_html,
    render_bill_pdf,
)

__all__ = [
    "BillData", "cjk_fonts", "export_finance", "load_bill", "load_bills", "render_bill_document",
    "render_bill_html", "render_bill_pdf",
]
