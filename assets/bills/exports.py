"""Finance exports: finance.bills and finance.bill_lines of one month as CSV and Parquet.

Written with DuckDB `COPY`, so money keeps its DECIMAL type in Parquet and its exact 2-dp text in
CSV (UTF-8, comma, header). Files: `bills_<period>.csv|parquet`, `bill_lines_<period>.csv|parquet`.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from foundation.months import parse_month

EXPORTS = {
    "bills": "select * from finance.bills where period = '{period}' order by customer_id",
    "bill_lines": (
        "select * from finance.bill_lines where period = '{period}' "
        "order by customer_id, line_no, segment_no, line_code"
    ),
}
FORMATS = {"csv": "(FORMAT csv, HEADER true, DELIMITER ',')",
           "parquet": "(FORMAT parquet, COMPRESSION zstd)"}


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def export_finance(con: duckdb.DuckDBPyConnection, out_dir: Path | str, period: str) -> list[Path]:
    """Write the period's bills and bill lines as CSV and Parquet into `out_dir`; return the files.

    `COPY` takes no bound parameters, so the period is checked (`YYYY-MM`) before it is inlined.
    """
    parse_month(period, "period")  # raises ValueError unless YYYY-MM
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for table, query in EXPORTS.items():
        for ext, options in FORMATS.items():
            path = out / f"{table}_{period}.{ext}"
            con.execute(f"COPY ({query.format(period=period)}) TO {_literal(path)} {options}")
            written.append(path)
    return written
