"""Query codes as data: `query_codes.csv` (code, query, meaning), `$GRIDLEDGER_SMS_CODES` to use
another file. A text is matched after NFKC normalisation (full-width letters become ASCII),
trimming and upper-casing, so `yl`, `ＹＬ` and ` YL ` all ask `remaining`; anything else is
`help`.
"""

from __future__ import annotations

import csv
import os
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

CODES_ENV = "GRIDLEDGER_SMS_CODES"
DEFAULT_CODES = Path(__file__).with_name("query_codes.csv")
QUERIES: tuple[str, ...] = ("remaining", "yesterday", "reads", "bill", "help")
HELP = "help"


def normalise_code(text: str) -> str:
    """The form codes are compared in: NFKC, no surrounding blanks or punctuation, upper case."""
    return unicodedata.normalize("NFKC", text).strip().strip("。.!！?？").strip().upper()


@dataclass(frozen=True)
class QueryCodes:
    """Code -> query, and the codes to list in the help answer (one per query, first seen)."""

    by_code: Mapping[str, str]

    @classmethod
    def load(cls, path: Path | str | None = None) -> QueryCodes:
        """Read the codes file (default: `$GRIDLEDGER_SMS_CODES`, else the shipped CSV)."""
        path = Path(path or os.environ.get(CODES_ENV) or DEFAULT_CODES)
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
        by_code: dict[str, str] = {}
        for line, row in enumerate(rows, start=2):
            code, query = normalise_code(row["code"] or ""), (row["query"] or "").strip()
            if not code or query not in QUERIES:
                raise ValueError(f"{path}:{line}: code {row['code']!r} query {query!r} "
                                 f"(queries: {', '.join(QUERIES)})")
            if code in by_code:
                raise ValueError(f"{path}:{line}: code {row['code']!r} listed twice")
            by_code[code] = query
        return cls(by_code)

    def query_of(self, text: str) -> str:
        """The query a text asks; `help` for anything unknown."""
        return self.by_code.get(normalise_code(text), HELP)

    def listing(self) -> list[tuple[str, str]]:
        """(codes joined with '/', query) per query other than help, in file order."""
        grouped: dict[str, list[str]] = {}
        for code, query in self.by_code.items():
            if query != HELP:
                grouped.setdefault(query, []).append(code)
        return [("/".join(codes), query) for query, codes in grouped.items()]
