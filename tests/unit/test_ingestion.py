"""Ingestion on hand-made landing files: ledger, duplicates, quarantine, interval labels."""

from __future__ import annotations

import re
import shutil
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from assets.meters.load import ingest_landing
from assets.meters.master_data import MasterDataError, load_master_data
from tests.builders import MASTER_HEADERS, write_csv

HEADER = ["meter_id", "channel", "interval_end", "interval_minutes", "value", "unit", "multiplier"]


@pytest.fixture
def con(tmp_path: Path):
    master = tmp_path / "master"
    write_csv(
        master / "retailers.csv",
        MASTER_HEADERS["retailers"],
        [["R1", "售电", "银行", "6222000011112222", "售电公司", "0", "2025-01-01", ""]],
    )
    write_csv(
        master / "customers.csv",
        MASTER_HEADERS["customers"],
        [
            [
                "C1",
                "客户",
                "R1",
                "industrial",
                "kv_1_10",
                "唐山",
                "钢铁",
                "two_part",
                "400",
                "0.90",
                "capacity",
                "",
                "",
                "2025-01-01",
                "",
            ]
        ],
    )
    write_csv(
        master / "metering_points.csv",
        MASTER_HEADERS["metering_points"],
        [["M1", "C1", "40", "100", "4000", "8", "15", "2025-01-01", ""]],
    )
    write_csv(
        master / "contracts.csv",
        MASTER_HEADERS["contracts"],
        [
            [
                "K1",
                "C1",
                "R1",
                "PKG_FIXED_TOU",
                "2026-01",
                "2026-12",
                "DEV_DEFAULT",
                "20",
                "",
                "active",
            ]
        ],
    )
    write_csv(master / "contract_volumes.csv", MASTER_HEADERS["contract_volumes"], [])
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    load_master_data(connection, master)
    yield connection
    connection.close()


def landing(tmp_path: Path) -> Path:
    return tmp_path / "landing"


def day_file(tmp_path: Path, name: str, rows: list[list]) -> Path:
    return write_csv(landing(tmp_path) / name, HEADER, rows)


def test_end_of_interval_labels_become_interval_starts(con, tmp_path):
    day_file(
        tmp_path,
        "reads_20261001_01.csv",
        [
            ["M1", "kwh_imp", "2026-10-01 00:15", "15", "1.500", "kWh", "4000"],
            ["M1", "kwh_imp", "2026-10-01 24:00", "15", "2.250", "kWh", "4000"],
        ],
    )
    ingest_landing(con, landing(tmp_path), tmp_path / "q")
    starts = con.execute(
        "select interval_start, value from raw.interval_reads order by 1"
    ).fetchall()
    assert [s for s, _ in starts] == [datetime(2026, 10, 1, 0, 0), datetime(2026, 10, 1, 23, 45)]
    assert [str(v) for _, v in starts] == ["1.500", "2.250"]


def test_the_same_file_landed_twice_is_counted_once(con, tmp_path):
    first = day_file(
        tmp_path,
        "reads_20261001_01.csv",
        [
            ["M1", "kwh_imp", "2026-10-01 00:15", "15", "1.500", "kWh", "4000"],
        ],
    )
    ingest_landing(con, landing(tmp_path), tmp_path / "q")
    report = ingest_landing(con, landing(tmp_path), tmp_path / "q")  # same file, second pass
    assert report.files_loaded == [] and report.rows_loaded == 0
    shutil.copy(first, landing(tmp_path) / "reads_20261001_02.csv")  # same bytes, new name
    report = ingest_landing(con, landing(tmp_path), tmp_path / "q")
    assert report.files_duplicate == ["reads_20261001_02.csv"]
    assert con.execute("select count(*) from raw.interval_reads").fetchone() == (1,)
    assert con.execute(
        "select status, error from raw.file_ledger where file_name = 'reads_20261001_02.csv'"
    ).fetchone() == ("duplicate", "same content as reads_20261001_01.csv")


def test_a_malformed_file_is_quarantined_and_the_run_continues(con, tmp_path):
    bad = landing(tmp_path) / "reads_20261001_99.csv"
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_text('meter;chan;when\n"M1;kwh_imp\n', encoding="utf-8")
    day_file(
        tmp_path,
        "reads_20261002_01.csv",
        [
            ["M1", "kwh_imp", "2026-10-02 00:15", "15", "1.000", "kWh", "4000"],
        ],
    )
    report = ingest_landing(con, landing(tmp_path), tmp_path / "q")
    assert "reads_20261001_99.csv" in report.files_quarantined
    assert "missing required columns" in report.files_quarantined["reads_20261001_99.csv"]
    assert report.files_loaded == ["reads_20261002_01.csv"]
    assert list((tmp_path / "q").iterdir())[0].name.endswith("reads_20261001_99.csv")
    status, error = con.execute(
        "select status, error from raw.file_ledger where file_name = 'reads_20261001_99.csv'"
    ).fetchone()
    assert status == "quarantined" and error.startswith("reads_20261001_99.csv:")


def test_invalid_rows_are_quarantined_with_file_line_and_rule(con, tmp_path):
    day_file(
        tmp_path,
        "reads_20261001_01.csv",
        [
            ["M1", "kwh_imp", "2026-10-01 00:15", "15", "1.000", "kWh", "4000"],  # line 2: good
            [
                "M9",
                "kwh_imp",
                "2026-10-01 00:30",
                "15",
                "1.000",
                "kWh",
                "4000",
            ],  # line 3: unknown meter
            ["M1", "kwh_imp", "2026-10-01 00:45", "15", "abc", "kWh", "4000"],  # line 4: bad number
            [
                "M1",
                "kwh_imp",
                "2026-10-01 00:50",
                "15",
                "1.000",
                "kWh",
                "4000",
            ],  # line 5: misaligned
            [
                "M1",
                "kwh_imp",
                "2026-13-01 01:00",
                "15",
                "1.000",
                "kWh",
                "4000",
            ],  # line 6: bad timestamp
            ["M1", "kvarh_imp", "2026-10-01 01:00", "15", "1.000", "kWh", "4000"],  # line 7: unit
            [
                "M1",
                "kwh_imp",
                "2026-10-01 01:15",
                "15",
                "-3.000",
                "kWh",
                "4000",
            ],  # line 8: VEE's job
        ],
    )
    report = ingest_landing(con, landing(tmp_path), tmp_path / "q")
    rows = con.execute(
        "select source_row, rule, reason from raw.quarantine_rows order by source_row"
    ).fetchall()
    assert [(r, rule) for r, rule, _ in rows] == [
        (3, "unknown_meter"),
        (4, "bad_number"),
        (5, "misaligned_timestamp"),
        (6, "bad_timestamp"),
        (7, "unit_mismatch"),
    ]
    assert rows[0][2] == "meter M9 is not in master.metering_points on 2026-10-01"
    assert report.rows_loaded == 2 and report.rows_quarantined == 5
    assert con.execute(
        "select rows_total, rows_loaded, rows_quarantined from raw.file_ledger"
    ).fetchone() == (7, 2, 5)


def test_rows_with_a_wrong_field_count_keep_their_line_numbers(con, tmp_path):
    path = landing(tmp_path) / "reads_20261001_01.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        ",".join(HEADER) + "\n"
        "M1,kwh_imp,2026-10-01 00:15,15,1.000,kWh,4000\n"
        "M1,kwh_imp,2026-10-01 00:30\n"
        "M1,kwh_imp,2026-10-01 00:45,15,2.000,kWh,4000\n",
        encoding="utf-8",
    )
    ingest_landing(con, landing(tmp_path), tmp_path / "q")
    assert con.execute("select source_row, rule from raw.quarantine_rows").fetchall() == [
        (3, "malformed_row")
    ]
    assert con.execute("select source_row from raw.interval_reads order by 1").fetchall() == [
        (2,),
        (4,),
    ]


def test_bad_master_data_names_file_line_and_rule(tmp_path):
    master = tmp_path / "master"
    write_csv(
        master / "retailers.csv",
        MASTER_HEADERS["retailers"],
        [["R1", "售电", "银行", "1", "售电公司", "0", "2025-01-01", ""]],
    )
    write_csv(
        master / "customers.csv",
        MASTER_HEADERS["customers"],
        [
            [
                "C1",
                "客户",
                "R1",
                "industrial",
                "kv_1_10",
                "唐山",
                "钢铁",
                "two_part",
                "lots",
                "0.90",
                "capacity",
                "",
                "",
                "2025-01-01",
                "",
            ]
        ],
    )
    for stem in ("metering_points", "contracts", "contract_volumes"):
        write_csv(master / f"{stem}.csv", MASTER_HEADERS[stem], [])
    with duckdb.connect(str(tmp_path / "w.duckdb")) as connection:
        with pytest.raises(
            MasterDataError,
            match=r"customers.csv line 2: column "
            r"contract_capacity_kva = 'lots'",
        ):
            load_master_data(connection, master)


def test_a_weather_file_loads_its_good_days_and_quarantines_each_bad_row_by_rule(con, tmp_path):
    """Weather files (issue 10) share the reads' ledger and quarantine: file, line, rule."""
    landing, quarantine = tmp_path / "landing", tmp_path / "quarantine"
    write_csv(landing / "weather_20261101_01.csv", ["region", "day", "temperature_c", "source"], [
        ["唐山", "2026-10-30", "12.5", "observed"],      # line 2: loaded
        ["唐山", "2026-10-31", "-3.0", ""],              # line 3: loaded, observed by default
        ["唐山", "2026-11-01", "9.0", "forecast"],       # line 4: loaded
        ["唐山", "2026-31-10", "11.0", "observed"],      # line 5: bad_date
        ["唐山", "2026-10-29", "warm", "observed"],      # line 6: bad_number
        ["唐山", "2026-10-28", "85.0", "observed"],      # line 7: out_of_range
        ["北京", "2026-10-30", "10.0", "observed"],      # line 8: unknown_region
        ["唐山", "2026-10-27", "10.0", "guess"],         # line 9: unknown_source
        ["", "2026-10-27", "10.0", "observed"],          # line 10: missing_field
        ["唐山", "2026-10-26", "8.0", "observed"],       # lines 11-12: duplicate_key
        ["唐山", "2026-10-26", "8.5", "observed"],
    ])
    report = ingest_landing(con, landing, quarantine)
    assert report.files_loaded == ["weather_20261101_01.csv"]
    assert con.execute("select day::varchar, temperature_c::varchar, source "
                       "from raw.weather_daily order by day").fetchall() == [
        ("2026-10-30", "12.5", "observed"), ("2026-10-31", "-3.0", "observed"),
        ("2026-11-01", "9.0", "forecast")]
    rules = con.execute("select source_row, rule from raw.quarantine_rows "
                        "where file_name = 'weather_20261101_01.csv' order by 1").fetchall()
    assert rules == [(5, "bad_date"), (6, "bad_number"), (7, "out_of_range"),
                     (8, "unknown_region"), (9, "unknown_source"), (10, "missing_field"),
                     (11, "duplicate_key"), (12, "duplicate_key")]
    assert con.execute("select rows_total, rows_loaded, rows_quarantined from raw.file_ledger"
                       ).fetchone() == (11, 3, 8)
    reason = con.execute("select reason from raw.quarantine_rows where rule = 'out_of_range'"
                         ).fetchone()[0]
    assert reason == "temperature_c 85.0 is outside -60..60 °C"
    # the same bytes again load nothing (a duplicate), as for reads
    shutil.copy(landing / "weather_20261101_01.csv", landing / "weather_20261101_02.csv")
    again = ingest_landing(con, landing, quarantine)
    assert again.files_duplicate == ["weather_20261101_02.csv"]
    assert con.execute("select count(*) from raw.weather_daily").fetchone()[0] == 3


def test_a_contract_status_other_than_active_or_pre_signed_is_refused(con, tmp_path):
    master = tmp_path / "master"
    path = master / "contracts.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",active", ",expired"),
                    encoding="utf-8")
    with duckdb.connect(str(tmp_path / "other.duckdb")) as connection:
        with pytest.raises(MasterDataError, match=re.escape(
                "contracts.csv line 2: column status = 'expired' is not one of "
                "['active', 'pre_signed'] (rule: enumeration)")):
            load_master_data(connection, master)
