"""Write the analytics tables: each replaced whole, all in one transaction."""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pandas as pd

from foundation.warehouse import transaction

SCHEMA = "analytics"


def replace_tables(con: duckdb.DuckDBPyConnection,
                   frames: dict[str, tuple[pd.DataFrame, dict[str, str]]]) -> None:
    """`name -> (frame, {column: SQL type})`: typed columns are cast (money as DECIMAL from
    its text, never through a float); the others keep DuckDB's inferred type."""
    with transaction(con):
        con.execute(f"create schema if not exists {SCHEMA}")
        for name, (frame, types) in frames.items():
            frame = frame.copy()
            for column in types:  # pd.isna per column, not per value (same test, vectorised)
                values, missing = frame[column], frame[column].isna().to_numpy()
                frame[column] = [None if m else str(v)
                                 for v, m in zip(values, missing, strict=True)]
            select = ", ".join(f'cast("{c}" as {types[c]}) as "{c}"' if c in types else f'"{c}"'
                               for c in frame.columns)
            con.register("_analytics_frame", frame)
            con.execute(f"create or replace table {SCHEMA}.{name} as "
                        f"select {select} from _analytics_frame")
            con.unregister("_analytics_frame")


def read_table(con: duckdb.DuckDBPyConnection, name: str,
               decimals: tuple[str, ...] = ()) -> pd.DataFrame:
    """The table; the `decimals` columns as `Decimal` (read as text, never through a float)."""
    replace = ", ".join(f'cast("{c}" as varchar) as "{c}"' for c in decimals)
    frame = con.execute(f"select * {f'replace ({replace})' if decimals else ''} "
                        f"from {SCHEMA}.{name}").df()
    for column in decimals:
        frame[column] = frame[column].map(lambda v: None if pd.isna(v) else Decimal(v))
    return frame
