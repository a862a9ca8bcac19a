"""Real interval data through Gridledger: the Ausgrid SGSC sample (50 households, 30-minute kWh).

    python -m tools.real_data --data-dir var/real [--meters N] [--from 2013-01-01 --to 2013-03-31]
                               [--run] [--report docs/real_data_vee.md]

Converts `/work/shared/data/real/sgsc50_30min_all.parquet` into a self-contained data directory in
our contracts (docs/data_contracts.md): `master/` (one retailer; one residential single-part
customer and one metering point per SGSC meter: multiplier 1, 6 register digits, 30-minute
intervals, 15 kVA supply; no contracts — this is VEE data, not a tariff case) and
`landing/reads/reads_<YYYYMM>01_01.csv`, one interval file per calendar month.

Timestamp assumption: SGSC stamps are naive local wall-clock times (Australia/Sydney) that label the
START of each half hour. On the DST-start days (2012-10-07, 2013-10-06) the 02:00 and 02:30
stamps are missing, which are exactly the half hours that start inside the skipped hour; with end
labels 02:30 and 03:00 would be missing instead. So `interval_end = timestamp + 30 min`, written
as `YYYY-MM-DD HH:MM` with `24:00` for the half hour ending at midnight. Times stay naive local
(no UTC conversion), so the DST quirks reach VEE exactly as published: the doubled 01:00/01:30
rows become duplicates (identical ones collapse, differing ones are conflicts where the later row
of the file wins) and 02:00/02:30 become missing intervals that VEE estimates.

Every source row is written, in source order, including duplicates and exact zeros; nothing is
cleaned here — that is VEE's job. `--run` then runs the real Dagster reference and daily jobs on
`<data-dir>/warehouse.duckdb` over the span and prints what VEE flagged; `--report` writes the
same as Markdown. The data predate the default first partition month, so `--run` lowers
`GRIDLEDGER_FIRST_MONTH` to the span's first month for its own process (`use_first_month`).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from datetime import date
from pathlib import Path

import duckdb

SOURCE = next(
    (p for p in (Path(__file__).resolve().parents[2] / "shared", Path("/work/shared"))
     if (p / "data/real/sgsc50_30min_all.parquet").exists()),
    Path("/work/shared"),
) / "data/real/sgsc50_30min_all.parquet"
VALID_FROM = "2012-01-01"
# Every customer's region must select a grid (config seed grid_regions); the SGSC households
# (New South Wales) are placed in a Jibei prefecture so the platform's reference data covers them.
REGION = "唐山"
SUPPLY_KVA = 15
INTERVAL_MINUTES = 30
READ_HEADER = ("meter_id", "channel", "interval_end", "interval_minutes", "value", "unit",
               "multiplier")
MASTER = {
    "retailers": (["retailer_id", "retailer_name", "bank_name", "bank_account", "account_holder",
                   "margin_guarantee_yuan", "valid_from", "valid_to"],
                  [["R_SGSC", "SGSC sample retailer", "n/a", "0000000000000000", "n/a", "0",
                    VALID_FROM, ""]]),
    "contracts": (["contract_id", "customer_id", "retailer_id", "package_id", "start_month",
                   "end_month", "deviation_clause_id", "termination_rate_yuan_per_mwh",
                   "termination_cap_yuan", "status"], []),
    "contract_volumes": (["contract_id", "period", "contracted_kwh"], []),
}
CUSTOMER_HEADER = ["customer_id", "customer_name", "retailer_id", "customer_class", "voltage_level",
                   "region", "industry", "tariff_type", "contract_capacity_kva", "pf_standard",
                   "basic_charge_mode", "contract_demand_kw", "transformer_kva", "valid_from",
                   "valid_to"]
METER_HEADER = ["meter_id", "customer_id", "ct_ratio", "pt_ratio", "multiplier", "register_digits",
                "interval_minutes", "valid_from", "valid_to"]

# interval end label of the contract: start + 30 min, `24:00` for the last half hour of a day
_ROWS_SQL = """
select meter_id, 'kwh_imp' as channel,
       case when strftime(timestamp + interval 30 minute, '%H:%M') = '00:00'
            then strftime(timestamp, '%Y-%m-%d') || ' 24:00'
            else strftime(timestamp + interval 30 minute, '%Y-%m-%d %H:%M') end as interval_end,
       30 as interval_minutes, printf('%.3f', kwh) as value, 'kWh' as unit, 1 as multiplier,
       strftime(timestamp, '%Y%m') as month
from src
order by src_row
"""


def _write_csv(path: Path, header: list[str] | tuple[str, ...], rows: list) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def convert(data_dir: Path, meters: int | None = None, first: date | None = None,
            last: date | None = None, source: Path = SOURCE) -> dict:
    """Write master data and monthly landing files for the selected meters and days."""
    data_dir = Path(data_dir)
    con = duckdb.connect()
    con.execute(
        "create temp table all_rows as select *, row_number() over () as src_row "
        "from read_parquet(?)", [str(source)])
    ids = [m for (m,) in con.execute(
        "select distinct meter_id from all_rows order by 1").fetchall()][: meters or None]
    con.execute("create temp table chosen (meter_id varchar)")
    con.executemany("insert into chosen values (?)", [[m] for m in ids])
    bounds = [("a.timestamp >= cast(? as date)", first),
              ("a.timestamp < cast(? as date) + 1", last)]
    where = " and ".join(["true", *(sql for sql, value in bounds if value is not None)])
    con.execute(
        f"""create temp table src as select a.* from all_rows a semi join chosen using (meter_id)
            where {where}""",
        [value for _, value in bounds if value is not None])
    span = con.execute("select min(timestamp)::date, max(timestamp)::date, count(*) from src"
                       ).fetchone()
    for stem, (header, rows) in MASTER.items():
        _write_csv(data_dir / "master" / f"{stem}.csv", header, rows)
    _write_csv(data_dir / "master" / "customers.csv", CUSTOMER_HEADER, [
        [f"C_{m}", f"SGSC household {m[5:]}", "R_SGSC", "residential", "lt_1kv", REGION,
         "household", "single_part", SUPPLY_KVA, "none", "none", "", "", VALID_FROM, ""]
        for m in ids])
    _write_csv(data_dir / "master" / "metering_points.csv", METER_HEADER, [
        [m, f"C_{m}", 1, 1, 1, 6, INTERVAL_MINUTES, VALID_FROM, ""] for m in ids])
    landing = data_dir / "landing" / "reads"
    landing.mkdir(parents=True, exist_ok=True)
    for old in landing.glob("reads_*.csv"):
        old.unlink()
    files = []
    for (month,) in con.execute("select distinct strftime(timestamp, '%Y%m') from src order by 1"
                                ).fetchall():
        rows = con.execute(f"select * exclude (month) from ({_ROWS_SQL}) where month = ?",
                           [month]).fetchall()
        name = f"reads_{month}01_01.csv"
        _write_csv(landing / name, READ_HEADER, rows)
        files.append(name)
    con.close()
    return {"meters": len(ids), "rows": span[2], "first_day": span[0], "last_day": span[1],
            "files": files}


def use_first_month(first: date) -> None:
    """Let the partitions reach back to `first` (SGSC data is from 2012–2014; the partitions
    start at `GRIDLEDGER_FIRST_MONTH`, read when `foundation.partitions` is first imported).
    Lowers the variable if needed; fails clearly if the partitions were already built later."""
    configured = os.environ.get("GRIDLEDGER_FIRST_MONTH", "").strip()
    wanted = f"{first:%Y-%m}"
    if not configured or configured > wanted:
        os.environ["GRIDLEDGER_FIRST_MONTH"] = wanted
    partitions = sys.modules.get("foundation.partitions")
    if partitions is not None and partitions.PARTITION_START > first.replace(day=1):
        raise SystemExit(
            f"partitions start {partitions.PARTITION_START:%Y-%m}, after the data ({wanted}): "
            f"set GRIDLEDGER_FIRST_MONTH={wanted} before Gridledger is imported")


def run_flow(data_dir: Path, first: date, last: date) -> dict:
    """Reference and daily jobs (the real Dagster flow) over the span; returns job outcomes."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    use_first_month(first)
    from dagster import DagsterInstance

    from foundation.resources import Gridledger
    from orchestration.build import build_defs
    from orchestration.runner import RANGE_END, RANGE_START, run_job

    warehouse = data_dir / "warehouse.duckdb"
    warehouse.unlink(missing_ok=True)
    os.environ["GRIDLEDGER_WAREHOUSE"] = str(warehouse)
    defs = build_defs({"gridledger": Gridledger(warehouse=str(warehouse),
                                                data_dir=str(data_dir))})
    outcome = {}
    with DagsterInstance.ephemeral() as instance:
        started = time.perf_counter()
        ref = run_job(defs, "reference_job", instance)
        outcome["reference_job"] = ref.success
        started = time.perf_counter()
        daily = run_job(defs, "daily_job", instance,
                        {RANGE_START: first.isoformat(), RANGE_END: last.isoformat()},
                        raise_on_error=False)
        outcome["daily_seconds"] = round(time.perf_counter() - started, 1)
        outcome["daily_job"] = daily.success
        outcome["checks"] = {e.check_name: e.passed for e in daily.get_asset_check_evaluations()}
        gate = [e for e in daily.get_asset_check_evaluations()
                if e.check_name == "validated_consumption_gate"]
        if gate and not gate[0].passed:
            outcome["gate_failed_rules"] = gate[0].metadata["failed_rules"].value
    return outcome


FINDINGS_SQL = {
    "rows loaded / quarantined": """
        select sum(rows_loaded) || ' / ' || sum(rows_quarantined) from raw.file_ledger""",
    "validated intervals": "select count(*) from core.int_interval_validated",
    "meter-days": """select count(*) from (select distinct meter_id, reading_date
                     from core.int_interval_validated)""",
    "identical duplicates collapsed (extra rows)": """
        select coalesce(sum(duplicate_rows), 0) from core.int_interval_validated
        where not has_conflict""",
    "… of which on DST-start days": """
        select coalesce(sum(duplicate_rows), 0) from core.int_interval_validated
        where not has_conflict and reading_date in ('2012-10-07', '2013-10-06')""",
    "conflicting duplicates (intervals, later row wins)": """
        select count(*) from core.int_interval_validated where has_conflict""",
    "… of which on DST-start days at 01:00/01:30": """
        select count(*) from core.int_interval_validated where has_conflict
          and reading_date in ('2012-10-07', '2013-10-06')
          and strftime(interval_start, '%H:%M') in ('01:00', '01:30')""",
    "missing intervals": """
        select count(*) from core.int_interval_validated
        where list_contains(string_split(failed_rules, ';'), 'missing')""",
    "… missing 02:00/02:30 on DST-start days": """
        select count(*) from core.int_interval_validated
        where list_contains(string_split(failed_rules, ';'), 'missing')
          and reading_date in ('2012-10-07', '2013-10-06')
          and strftime(interval_start, '%H:%M') in ('02:00', '02:30')""",
    "gap runs (≤ 4 / 5–48 / > 48 half hours)": """
        with m as (
            select meter_id, interval_start,
                   epoch(interval_start)::bigint // 1800
                     - row_number() over (partition by meter_id order by interval_start) as g
            from core.int_interval_validated
            where list_contains(string_split(failed_rules, ';'), 'missing')
        ), runs as (select meter_id, g, count(*) as n from m group by all)
        select count(*) filter (where n <= 4) || ' / ' || count(*) filter (where n between 5 and 48)
               || ' / ' || count(*) filter (where n > 48) from runs""",
    "zero readings (actual, after VEE)": """
        select count(*) from core.int_interval_validated
        where quality_flag = 'ACTUAL' and value = 0""",
    "zero runs ≥ 8 half hours in the data": """
        with z as (
            select meter_id, interval_start,
                   epoch(interval_start)::bigint // 1800
                     - row_number() over (partition by meter_id order by interval_start) as g
            from core.int_interval_validated where raw_value = 0
        ), runs as (select meter_id, g, count(*) as n from z group by all)
        select count(*) filter (where n >= 8) || ' runs on '
               || count(distinct meter_id) filter (where n >= 8) || ' meters' from runs""",
    "stuck_zero intervals (zeros where like-days use energy)": """
        select count(*) || ' on ' || count(distinct meter_id) || ' meters'
        from core.int_interval_validated
        where list_contains(string_split(failed_rules, ';'), 'stuck_zero')""",
    "negative / spike intervals": """
        select count(*) filter (where contains(failed_rules, 'negative')) || ' / '
               || count(*) filter (where contains(failed_rules, 'spike'))
        from core.int_interval_validated""",
    "high / low daily usage days": """
        select count(distinct (meter_id, reading_date))
                   filter (where contains(failed_rules, 'high_daily_usage'))
               || ' / ' ||
               count(distinct (meter_id, reading_date))
                   filter (where contains(failed_rules, 'low_daily_usage'))
        from core.int_interval_validated""",
    "estimated by method": """
        select string_agg(method || ' ' || n, ', ' order by n desc) from (
            select method, count(*) as n from core.int_interval_validated
            where quality_flag = 'ESTIMATED' group by 1)""",
    "FAILED intervals (no estimate possible)": """
        select count(*) from core.int_interval_validated where quality_flag = 'FAILED'""",
    "meter-days under 25 % actual reads (gate)": """
        select count(*) from (select meter_id, reading_date,
               avg(case when quality_flag = 'ACTUAL' then 1.0 else 0.0 end) as share
               from core.int_interval_validated group by all) where share < 0.25""",
    "validated kWh (of which estimated)": """
        select round(sum(value), 1) || ' (' ||
               round(sum(value) filter (where quality_flag = 'ESTIMATED'), 1) || ')'
        from core.int_interval_validated""",
}


def findings(warehouse: Path) -> dict[str, str]:
    """What VEE flagged on the converted data, as label → text."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {label: str(con.execute(sql).fetchone()[0]) for label, sql in FINDINGS_SQL.items()}


def report(summary: dict, outcome: dict, found: dict[str, str]) -> str:
    """Markdown summary of a converted and validated span."""
    lines = [
        f"Span {summary['first_day']} … {summary['last_day']}, {summary['meters']} meters, "
        f"{summary['rows']:,} source rows in {len(summary['files'])} monthly files; daily job "
        f"{outcome.get('daily_seconds', '?')} s, success = {outcome.get('daily_job')}.",
        "",
        "| finding | value |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in found.items()],
        "",
        "Checks: " + ", ".join(f"{k} {'passed' if v else 'FAILED'}"
                               for k, v in sorted(outcome.get("checks", {}).items())),
    ]
    if outcome.get("gate_failed_rules"):
        lines.append(f"Gate failures: {outcome['gate_failed_rules']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.real_data", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--meters", type=int, default=None, help="first N meters (by id)")
    parser.add_argument("--from", dest="first", type=date.fromisoformat, default=None)
    parser.add_argument("--to", dest="last", type=date.fromisoformat, default=None)
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--run", action="store_true", help="run ingestion + VEE afterwards")
    parser.add_argument("--report", type=Path, default=None, help="write the findings (Markdown)")
    args = parser.parse_args(argv)
    summary = convert(args.data_dir, args.meters, args.first, args.last, args.source)
    print(f"converted {summary['rows']:,} rows of {summary['meters']} meters, "
          f"{summary['first_day']} … {summary['last_day']}, {len(summary['files'])} files")
    if args.run:
        outcome = run_flow(args.data_dir, summary["first_day"], summary["last_day"])
        text = report(summary, outcome, findings(args.data_dir / "warehouse.duckdb"))
        print(text)
        if args.report:
            args.report.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
