"""Do the bill documents say what finance says? The figures printed, read back from the HTML.

The documents mark what they print (assets/bills/templates): the `<body>` carries the bill or
notice number and period (`data-bill-no` / `data-notice-no`, `data-original-bill`), each bill
line row `data-line="<line_no>:<segment_no>"`, each adjustment row `data-adjustment="<period>:
<line_no>:<segment_no>"`, and the cells or spans printing a figure `data-field` (`quantity`,
`amount`, `total`, `kwh`, `adjustments-total`). `verify_month` parses every document of a month
folder with the stdlib `html.parser`, reads the printed text as Decimal and compares it with
`finance.bills`, `finance.bill_lines` and `finance.adjustments`. It returns the differences found
(empty: the documents agree).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from html.parser import HTMLParser
from pathlib import Path

import duckdb

BILLS_SQL = """
select customer_id, total_yuan, billed_kwh from finance.bills
where period = ? and coalesce(bill_status, 'issued') = 'issued'
"""
LINES_SQL = """
select customer_id, line_no, coalesce(segment_no, 1), quantity, amount_yuan
from finance.bill_lines where period = ?
"""
ADJUSTMENTS_SQL = """
select customer_id, period, line_no, coalesce(segment_no, 1), quantity_delta, amount_delta_yuan,
       run_id
from finance.adjustments
"""


@dataclass
class PrintedFigures:
    """What one document prints: body attributes, standalone figures, rows of figures."""

    attributes: dict[str, str] = field(default_factory=dict)
    figures: dict[str, str] = field(default_factory=dict)
    lines: dict[str, dict[str, str]] = field(default_factory=dict)
    adjustments: list[tuple[str, dict[str, str]]] = field(default_factory=list)


class _FigureParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found = PrintedFigures()
        self._row: dict[str, str] | None = None
        self._field: tuple[str, str] | None = None  # (field name, tag capturing it)
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = {k: v or "" for k, v in attrs}
        if tag == "body":
            self.found.attributes = {k: v for k, v in named.items() if k.startswith("data-")}
        if tag == "tr" and "data-line" in named:
            self._row = self.found.lines.setdefault(named["data-line"], {})
        elif tag == "tr" and "data-adjustment" in named:
            self._row = {}
            self.found.adjustments.append((named["data-adjustment"], self._row))
        if "data-field" in named and self._field is None:
            self._field, self._text = (named["data-field"], tag), []

    def handle_data(self, data: str) -> None:
        if self._field is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._field is not None and tag == self._field[1]:
            text = "".join(self._text).strip()
            (self._row if self._row is not None else self.found.figures)[self._field[0]] = text
            self._field = None
        if tag == "tr":
            self._row = None


def read_figures(html: str) -> PrintedFigures:
    """The figures a bill or notice document prints."""
    parser = _FigureParser()
    parser.feed(html)
    parser.close()
    return parser.found


def printed_number(text: str | None) -> Decimal | None:
    """A printed figure as Decimal: `190,137.734 kWh` → 190137.734, `+2,187.13` → 2187.13."""
    if not text:
        return None
    try:
        return Decimal(text.split()[0].replace(",", "").replace("¥", ""))
    except (InvalidOperation, IndexError):
        return None


def bill_number(customer_id: str, period: str) -> str:
    """The number printed on a bill and quoted by its notices: `YYYYMM-<customer_id>`."""
    return f"{period.replace('-', '')}-{customer_id}"


def run_tag(run_id: str) -> str:
    """The distinctive part of a settlement run id (`SR-202610-3b154d773d5b` → `3b154d773d5b`),
    naming its adjustment notices (`<customer>_<tag>.html`, notice number `ZTB-…-<tag[:8]>`)."""
    return run_id.rsplit("-", 1)[-1][:12]


def _differs(label: str, printed: str | None, expected: Decimal | None) -> list[str]:
    value = printed_number(printed)
    if expected is None or value != expected:
        return [f"{label}: printed {printed!r}, finance {expected}"]
    return []


def _check_bill(path: Path, customer: str, period: str, total: Decimal, kwh: Decimal,
                lines: dict[str, tuple[Decimal, Decimal]],
                adjustments: list[tuple]) -> list[str]:
    found = read_figures(path.read_text(encoding="utf-8"))
    name = path.name
    problems = []
    if found.attributes.get("data-bill-no") != bill_number(customer, period):
        problems.append(f"{name}: bill number {found.attributes.get('data-bill-no')!r}")
    problems += _differs(f"{name} total", found.figures.get("total"), total)
    problems += _differs(f"{name} kWh", found.figures.get("kwh"), kwh)
    if set(found.lines) != set(lines):
        problems.append(f"{name}: lines {sorted(found.lines)} vs finance {sorted(lines)}")
    for key, (quantity, amount) in lines.items():
        row = found.lines.get(key, {})
        problems += _differs(f"{name} line {key} quantity", row.get("quantity"), quantity)
        problems += _differs(f"{name} line {key} amount", row.get("amount"), amount)
    carried = Decimal(0)
    for key, row in found.adjustments:  # adjustments of earlier months carried by this bill
        amount = printed_number(row.get("amount"))
        carried += amount or 0
        adj_period, line_no, segment = key.split(":")
        if not any(a[0] == customer and a[1] == adj_period and a[2] == int(line_no)
                   and a[3] == int(segment) and a[5] == amount for a in adjustments):
            problems.append(f"{name}: adjustment {key} {row.get('amount')!r} not in finance")
    if found.adjustments:
        problems += _differs(f"{name} adjustments total",
                             found.figures.get("adjustments-total"), carried)
    return problems


def _check_notice(path: Path, period: str, bills: dict[str, tuple],
                  adjustments: list[tuple]) -> list[str]:
    found = read_figures(path.read_text(encoding="utf-8"))
    name, customer = path.name, found.attributes.get("data-customer", "")
    problems = []
    if found.attributes.get("data-period") != period or customer not in bills:
        return [f"{name}: no issued bill of {customer!r} in {found.attributes.get('data-period')}"]
    if found.attributes.get("data-original-bill") != bill_number(customer, period):
        problems.append(f"{name}: original bill {found.attributes.get('data-original-bill')!r}")
    tag = path.stem.rsplit("_", 1)[-1]  # <customer>_<run tag>.html
    rows = [a for a in adjustments if a[0] == customer and a[1] == period
            and run_tag(a[6]) == tag]
    expected = {f"{a[1]}:{a[2]}:{a[3]}": a for a in rows}
    printed = dict(found.adjustments)
    if not rows or set(printed) != set(expected):
        problems.append(f"{name}: lines {sorted(printed)} vs finance {sorted(expected)}")
    for key, row in printed.items():
        if key in expected:
            problems += _differs(f"{name} {key} quantity", row.get("quantity"), expected[key][4])
            problems += _differs(f"{name} {key} amount", row.get("amount"), expected[key][5])
    problems += _differs(f"{name} total", found.figures.get("total"),
                         sum((a[5] for a in rows), Decimal(0)))
    return problems


def verify_month(con: duckdb.DuckDBPyConnection, folder: Path, period: str) -> list[str]:
    """Differences between a month folder's documents and finance (empty: they agree)."""
    bills = {c: (t, k) for c, t, k in con.execute(BILLS_SQL, [period]).fetchall()}
    lines: dict[str, dict[str, tuple[Decimal, Decimal]]] = {}
    for customer, line_no, segment, quantity, amount in con.execute(LINES_SQL, [period]).fetchall():
        lines.setdefault(customer, {})[f"{line_no}:{segment}"] = (quantity, amount)
    adjustments = con.execute(ADJUSTMENTS_SQL).fetchall() if con.execute(
        "select count(*) from information_schema.tables where table_schema = 'finance' "
        "and table_name = 'adjustments'").fetchone()[0] else []
    problems = []
    documents = {p.stem: p for p in folder.glob("*.html")}
    for customer in sorted(set(documents) - set(bills)):
        problems.append(f"{customer}.html: no issued bill in finance.bills for {period}")
    for customer, (total, kwh) in sorted(bills.items()):
        if customer not in documents:
            problems.append(f"{customer}.html: missing")
            continue
        problems += _check_bill(documents[customer], customer, period, total, kwh,
                                lines.get(customer, {}), adjustments)
    notices = sorted((folder / "adjustments").glob("*.html"))
    noticed = {tuple(p.stem.rsplit("_", 1)) for p in notices}  # <customer>_<run tag>
    for customer, run_id in sorted({(a[0], a[6]) for a in adjustments if a[1] == period}):
        if (customer, run_tag(run_id)) not in noticed:
            problems.append(f"adjustments of {customer} (run {run_id}): no notice")
    for path in notices:
        problems += _check_notice(path, period, bills, adjustments)
    return problems


# bill-ready notices as written to the local outbox (amounts are not masked there), the parts of
# a long SMS ("…(1/2)", "…(2/2)") joined again per recipient and channel
BILL_NOTICES_SQL = r"""
select notice_key,
       string_agg(coalesce(title, '') || regexp_replace(body, '\(\d+/\d+\)$', ''), ''
                  order by written_at) as text
from notify.outbox where notice_key like 'bill_ready:%'
group by notice_key, recipient, channel
"""
NOTICE_AMOUNT = re.compile(r"应缴金额\s*([\d,]+\.\d{2})\s*元")


def verify_bill_notices(con: duckdb.DuckDBPyConnection) -> tuple[int, list[str]]:
    """(notices read, differences): each bill-ready notice in `notify.outbox` names the period
    and the amount of an issued bill of `finance.bills` (key `bill_ready:<customer>:<period>`).
    Notices sent through live channels leave no text to read: only the outbox's are checked."""
    if not con.execute("select count(*) from information_schema.tables where table_schema = "
                       "'notify' and table_name = 'outbox'").fetchone()[0]:
        return 0, []
    bills = {(c, p): t for c, p, t in con.execute(
        "select customer_id, period, total_yuan from finance.bills "
        "where coalesce(bill_status, 'issued') = 'issued'").fetchall()}
    notices = con.execute(BILL_NOTICES_SQL).fetchall()
    problems = []
    for notice_key, text in notices:
        _, customer, period = notice_key.split(":", 2)
        total = bills.get((customer, period))
        printed = [printed_number(amount) for amount in NOTICE_AMOUNT.findall(text)]
        if total is None:
            problems.append(f"{notice_key}: no issued bill of {customer} in {period}")
        elif not printed or any(amount != total for amount in printed):
            said = ", ".join(str(amount) for amount in printed) or "no amount"
            problems.append(f"{notice_key}: notice says {said}, bill {total}")
        if period not in text:
            problems.append(f"{notice_key}: the notice does not name the period {period}")
    return len(notices), problems
