"""Hostile landing files: generated here, never stored. Every file either loads or is
quarantined with its reason, and rows in = rows loaded + rows quarantined for every file."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from assets.meters.load import ingest_landing, quarantine_name
from assets.meters.master_data import MasterDataError, load_master_data
from orchestration.sensors import file_days
from tests.builders import READ_HEADER, CaseCustomer, write_case_master, write_csv

METER = "MC1"


@pytest.fixture
def con(tmp_path: Path):
    customer = CaseCustomer("C1", "PKG_FIXED_TOU", {}, Decimal(0))
    write_case_master(tmp_path, [customer], [("R01", "0")])
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    load_master_data(connection, tmp_path / "master")
    yield connection
    connection.close()


def landing(tmp_path: Path) -> Path:
    return tmp_path / "landing"


def good_rows(day: int = 1) -> list[list]:
    return [[METER, "kwh_imp", f"2026-10-{day:02d} 00:15", "15", "1.500", "kWh", "1"]]


def ingest(con, tmp_path):
    return ingest_landing(con, landing(tmp_path), tmp_path / "quarantine")


def reconciled(con) -> list[tuple]:
    """Per file: rows in, rows loaded, rows quarantined (as the raw tables hold them)."""
    return con.execute(
        """select l.file_name, l.status, l.rows_total,
                  (select count(*) from raw.interval_reads r where r.file_id = l.file_id),
                  (select count(*) from raw.quarantine_rows q where q.file_id = l.file_id)
           from raw.file_ledger l order by l.file_name"""
    ).fetchall()


def quarantined(con) -> dict[int, tuple[str, str]]:
    return {line: (rule, reason) for line, rule, reason in con.execute(
        "select source_row, rule, reason from raw.quarantine_rows order by 1").fetchall()}


def test_one_crashing_file_does_not_hold_back_nine_good_ones(con, tmp_path):
    for day in range(1, 10):
        write_csv(landing(tmp_path) / f"reads_202610{day:02d}_01.csv", READ_HEADER, good_rows(day))
    repeated = landing(tmp_path) / "reads_20261010_01.csv"
    repeated.write_text("meter_id,channel,interval_end,interval_minutes,value,value,unit\n"
                        f"{METER},kwh_imp,2026-10-10 00:15,15,1,2,kWh\n", encoding="utf-8")
    long_name = landing(tmp_path) / ("reads_20261011_" + "x" * 230 + ".csv")
    long_name.write_text("not,a,reads,file\n1,2,3,4\n", encoding="utf-8")

    report = ingest(con, tmp_path)

    assert len(report.files_loaded) == 9
    assert set(report.files_quarantined) == {repeated.name, long_name.name}
    assert "header repeats column name(s) ['value']" in report.files_quarantined[repeated.name]
    assert "missing required columns" in report.files_quarantined[long_name.name]
    rows = {name: (status, total, loaded, bad) for name, status, total, loaded, bad
            in reconciled(con)}
    assert rows[long_name.name][0] == "quarantined"  # the ledger keeps the original name
    copies = sorted(p.name for p in (tmp_path / "quarantine").iterdir())
    assert len(copies) == 2 and all(len(c) <= 100 for c in copies)
    assert quarantine_name_of(con, long_name) in copies
    for status, total, loaded, bad in rows.values():
        assert total == loaded + bad
        assert status in ("loaded", "quarantined")


def quarantine_name_of(con, path: Path) -> str:
    from assets.meters.ledger import LandingFile

    sha = con.execute("select sha256 from raw.file_ledger where file_name = ?",
                      [path.name]).fetchone()[0]
    return quarantine_name(LandingFile(path, sha, 0))


def test_utf8_bom_from_excel_loads(con, tmp_path):
    path = landing(tmp_path) / "reads_20261001_01.csv"
    path.parent.mkdir(parents=True)
    text = ",".join(READ_HEADER) + "\n" + ",".join(good_rows()[0]) + "\n"
    path.write_bytes("\ufeff".encode() + text.encode())
    report = ingest(con, tmp_path)
    assert report.files_loaded == [path.name] and report.rows_loaded == 1


def test_zone_aware_parquet_lands_on_china_wall_clock(con, tmp_path):
    path = landing(tmp_path) / "reads_20261001_01.parquet"
    path.parent.mkdir(parents=True)
    ends = pd.to_datetime(["2026-10-01 00:15", "2026-10-02 00:00"]).tz_localize("Asia/Shanghai")
    pd.DataFrame({
        "meter_id": [METER] * 2, "channel": ["kwh_imp"] * 2, "interval_end": ends,
        "interval_minutes": [15, 15], "value": ["1.000", "2.000"], "unit": ["kWh"] * 2,
    }).to_parquet(path)
    ingest(con, tmp_path)
    starts = [s for (s,) in con.execute(
        "select interval_start from raw.interval_reads order by 1").fetchall()]
    assert starts == [datetime(2026, 10, 1, 0, 0), datetime(2026, 10, 1, 23, 45)]
    assert file_days(path) == (datetime(2026, 10, 1).date(), datetime(2026, 10, 1).date())


def test_zone_aware_and_naive_csv_labels_mean_the_same_interval(con, tmp_path):
    write_csv(landing(tmp_path) / "reads_20261001_01.csv", READ_HEADER, [
        [METER, "kwh_imp", "2026-10-01 00:15", "15", "1", "kWh", "1"],
        [METER, "kwh_imp", "2026-10-01 00:30+08:00", "15", "1", "kWh", "1"],
        [METER, "kwh_imp", "2026-09-30T16:45:00Z", "15", "1", "kWh", "1"],
    ])
    ingest(con, tmp_path)
    starts = [s for (s,) in con.execute(
        "select interval_start from raw.interval_reads order by 1").fetchall()]
    assert starts == [datetime(2026, 10, 1, 0, 0), datetime(2026, 10, 1, 0, 15),
                      datetime(2026, 10, 1, 0, 30)]


@pytest.mark.parametrize(("field", "value", "rule", "reason"), [
    ("interval_minutes", "5", "interval_mismatch",
     "interval_minutes 5 differs from the master interval of meter MC1"),
    ("interval_minutes", "30", "interval_mismatch", "differs from the master interval"),
    ("interval_minutes", "60", "interval_mismatch", "differs from the master interval"),
    ("interval_minutes", "15.4", "bad_interval_length", "interval_minutes 15.4 is not one of"),
    ("value", "1_000", "bad_number", "value 1_000 is not a plain decimal number"),
    ("value", "1e3", "bad_number", "value 1e3 is not a plain decimal number"),
    ("multiplier", "abc", "bad_multiplier", "multiplier abc is not a positive whole number"),
])
def test_values_are_parsed_strictly(con, tmp_path, field, value, rule, reason):
    row = dict(zip(READ_HEADER, good_rows()[0], strict=True))
    row[field] = value
    minutes = int(float(row["interval_minutes"])) if field == "interval_minutes" else 15
    if field == "interval_minutes" and minutes in (5, 30, 60):
        row["interval_end"] = "2026-10-01 01:00"
    write_csv(landing(tmp_path) / "reads_20261001_01.csv", READ_HEADER,
              [list(row.values()), good_rows()[0]])
    report = ingest(con, tmp_path)
    assert report.rows_loaded == 1 and report.rows_quarantined == 1
    got_rule, got_reason = quarantined(con)[2]
    assert got_rule == rule and reason in got_reason


def test_quarantine_lines_are_physical_lines(con, tmp_path):
    path = landing(tmp_path) / "reads_20261001_01.csv"
    path.parent.mkdir(parents=True)
    path.write_text(
        ",".join(READ_HEADER) + "\n"                                    # line 1
        + f"{METER},kwh_imp,2026-10-01 00:15,15,1,kWh,1\n"             # line 2
        + "\n"                                                          # line 3 (blank)
        + f'{METER},kwh_imp,2026-10-01 00:30,15,1,"kWh\nkWh",1\n'      # lines 4-5
        + f"{METER},kwh_imp,2026-10-01 00:45,15,1,kWh,1,extra\n"       # line 6
        + f"{METER},kwh_imp,2026-10-01 01:00,15,-x,kWh,1\n",           # line 7
        encoding="utf-8",
    )
    report = ingest(con, tmp_path)
    lines = quarantined(con)
    assert set(lines) == {4, 6, 7}
    assert lines[4][0] == "unit_mismatch" and lines[6][0] == "malformed_row"
    assert lines[7][0] == "bad_number"
    assert report.rows_loaded == 1
    (name, _, total, loaded, bad), = reconciled(con)
    assert total == loaded + bad == 4


def test_symlinked_landing_file_is_not_followed(con, tmp_path):
    outside = tmp_path / "outside.csv"
    write_csv(outside, READ_HEADER, good_rows())
    link = landing(tmp_path) / "reads_20261001_01.csv"
    link.parent.mkdir(parents=True)
    link.symlink_to(outside)
    report = ingest(con, tmp_path)
    assert "symbolic link" in report.files_quarantined[link.name]
    assert con.execute("select count(*) from raw.interval_reads").fetchone()[0] == 0
    assert not (tmp_path / "quarantine").exists() or not any((tmp_path / "quarantine").iterdir())


def test_sensor_span_ignores_stray_and_unplaceable_rows(tmp_path):
    path = write_csv(tmp_path / "reads_20261001_01.csv", READ_HEADER, [
        *[[METER, "kwh_imp", f"2026-10-01 {h:02d}:00", "15", "1", "kWh", "1"]
          for h in range(1, 24)],
        [METER, "kwh_imp", "2026-10-02 00:00", "15", "1", "kWh", "1"],  # ends Oct 2, starts Oct 1
        [METER, "kwh_imp", "1970-01-01 00:15", "15", "1", "kWh", "1"],
        [METER, "kwh_imp", "2099-01-01 00:15", "15", "1", "kWh", "1"],
        [METER, "kwh_imp", "garbage", "15", "1", "kWh", "1"],
    ])
    first = datetime(2026, 10, 1).date()
    assert file_days(path) == (first, first)


def test_symlinked_master_data_is_not_followed(tmp_path):
    write_case_master(tmp_path, [CaseCustomer("C1", "PKG_FIXED_TOU", {}, Decimal(0))],
                      [("R01", "0")])
    outside = tmp_path / "outside"
    outside.mkdir()
    real = tmp_path / "master" / "customers.csv"
    real.rename(outside / "customers.csv")
    real.symlink_to(outside / "customers.csv")
    with duckdb.connect(str(tmp_path / "w.duckdb")) as connection, \
            pytest.raises(MasterDataError, match="customers.csv: is a symbolic link"):
        load_master_data(connection, tmp_path / "master")


@pytest.mark.parametrize("bad_id", ["../../../X", "/tmp/abs", "C 1", "..", "客户1"])
def test_traversal_ids_are_rejected_at_master_data_load(tmp_path, bad_id):
    customer = CaseCustomer(bad_id, "PKG_FIXED_TOU", {}, Decimal(0))
    write_case_master(tmp_path, [customer], [("R01", "0")])
    con = duckdb.connect()
    with pytest.raises(MasterDataError, match=r"customers\.csv line 2: column customer_id .* "
                                              r"breaks rule id_pattern"):
        load_master_data(con, tmp_path / "master")


def test_edits_without_landed_reads_or_in_the_future_are_rejected(con, tmp_path):
    from assets.meters.manual_edits import load_manual_edits

    write_csv(landing(tmp_path) / "reads_20261001_01.csv", READ_HEADER, good_rows())
    ingest(con, tmp_path)
    header = ["meter_id", "channel", "interval_start", "value", "reason", "approver", "edited_at"]
    write_csv(tmp_path / "edits" / "edits_20261105.csv", header, [
        [METER, "kwh_imp", "2026-10-01 00:15", "2.000", "meter test", "王工", "2026-11-05 10:00"],
        [METER, "kwh_imp", "2026-10-02 00:15", "2.000", "no reads", "王工", "2026-11-05 10:00"],
        [METER, "kwh_imp", "2099-01-01 00:00", "2.000", "future", "王工", "2026-11-05 10:00"],
    ])
    report = load_manual_edits(con, tmp_path / "edits", tmp_path / "quarantine")
    assert report.rows_loaded == 1 and report.rejected_by_rule == {
        "no_landed_reads": 1, "future_interval": 1}
    reasons = dict(con.execute("""select rule, reason from raw.quarantine_rows
                                  where file_name = 'edits_20261105.csv'""").fetchall())
    assert reasons["no_landed_reads"] == (
        "meter MC1 has no landed read on 2026-10-02 (land the day's reads first)")
    assert reasons["future_interval"] == "interval_start 2099-01-01 00:00 is in the future"


def test_edit_quarantine_lines_are_physical_lines(con, tmp_path):
    """Blank lines and a quoted reason holding a newline: the rejected edit is reported at the
    line where its record starts in the file (header = line 1)."""
    from assets.meters.manual_edits import load_manual_edits

    write_csv(landing(tmp_path) / "reads_20261001_01.csv", READ_HEADER, good_rows())
    ingest(con, tmp_path)
    path = tmp_path / "edits" / "edits_20261106.csv"
    path.parent.mkdir(parents=True)
    path.write_text(
        "meter_id,channel,interval_start,value,reason,approver,edited_at\n"  # line 1
        f'{METER},kwh_imp,2026-10-01 00:15,2.000,"two\nlines",王工,2026-11-05 10:00\n'  # 2-3
        "\n"  # line 4
        f"{METER},kwh_imp,2026-10-02 00:15,2.000,no reads,王工,2026-11-05 10:00\n",  # line 5
        encoding="utf-8")
    report = load_manual_edits(con, tmp_path / "edits", tmp_path / "quarantine")
    assert report.rows_loaded == 1
    assert con.execute("select source_row, rule from raw.quarantine_rows where file_name = ?",
                       [path.name]).fetchall() == [(5, "no_landed_reads")]
    assert con.execute("select source_row from raw.manual_edits").fetchall() == [(2,)]
