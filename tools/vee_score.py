"""Score VEE against the generator's ground truth: precision and recall per fault type, and the
estimation error on the values the generator removed or corrupted.

    python -m tools.vee_score --warehouse var/warehouse.duckdb --data-dir var/data

Inputs: `<data_dir>/ground_truth/faults.csv` (one row per affected interval, see
tools/sample_data/inject.py) and the warehouse after the real flow ran:
core.int_interval_validated, core.vee_register_days, raw.file_ledger, raw.interval_reads.

Detection, per fault type (an interval is the key meter_id, channel, interval_start; truth = the
ground-truth rows of that type; predicted = what VEE says; precision = |truth ∩ predicted| /
|predicted|, recall = |truth ∩ predicted| / |truth|):

- gap: predicted = validated intervals with `missing` in failed_rules, plus intervals whose only
  read came from a late file (ledger file whose rows all precede its batch date) — the gap the
  late file filled (the generator logs the late file's meter-day gap as `gap` too).
- duplicate_identical: predicted = duplicate_rows > 0 and not has_conflict, excluding intervals
  re-sent by a late file (their copies are the late file's, scored under late_file).
- duplicate_conflicting: predicted = has_conflict. The table also reports how many detected
  intervals ended with exactly the true value (the generator's corrections are re-sent later,
  so "latest version wins" must recover the truth).
- negative, spike, stuck_zero: predicted = the rule's name in failed_rules.
- register_rollover: keyed by (meter_id, channel, read time); predicted = core.vee_register_days
  rows with event = 'rollover' (read_at is the read that shows the wrapped dial).
- late_file: per file; predicted = loaded interval files whose rows all precede the batch date in
  their name (`reads_YYYYMMDD_*`: ledger max_timestamp before that day).
- malformed_file: per file; predicted = ledger files with status `quarantined`.

Intervals re-sent or edited by an operator after the generator ran (ledger files the generator's
manifest does not list, e.g. `make demo`'s correction; raw.manual_edits) are left out of both
sides: they are not injected faults.

Estimation error, per type and overall, on the truth intervals of gap, negative, spike and
stuck_zero that ended ESTIMATED (gaps a late file filled are actual, not estimated):
MAPE = mean(|estimate − true| / true) over true > 0, bias = Σ(estimate − true) / Σ true.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb

INTERVAL_TYPES = ("gap", "duplicate_identical", "duplicate_conflicting", "negative", "spike",
                  "stuck_zero")
FILE_TYPES = ("late_file", "malformed_file")
ESTIMATED_TYPES = ("gap", "negative", "spike", "stuck_zero")
ALL_TYPES = (*INTERVAL_TYPES, "register_rollover", *FILE_TYPES)


@dataclass(frozen=True)
class FaultScore:
    """Counts of one fault type and the derived precision and recall."""

    fault_type: str
    truth: int
    predicted: int
    detected: int
    note: str = ""

    @property
    def precision(self) -> float | None:
        return self.detected / self.predicted if self.predicted else None

    @property
    def recall(self) -> float | None:
        return self.detected / self.truth if self.truth else None


@dataclass(frozen=True)
class EstimationError:
    """Estimation error on the true values the generator removed, for one fault type."""

    fault_type: str
    n: int
    mape: float | None
    bias: float | None


SETUP_SQL = """
create or replace temp table truth as
select fault_type, nullif(meter_id, '') as meter_id, nullif(channel, '') as channel,
       try_cast(interval_start as timestamp) as interval_start,
       try_cast(true_value as decimal(18, 3)) as true_value, file_name
from read_csv(?, all_varchar = true, header = true);

-- intervals an operator re-sent or edited after the generator's run (e.g. `make demo`'s
-- correction, files in edits/): not faults, so not scored either way
create or replace temp table operator_touched as
select distinct meter_id, channel, interval_start from raw.interval_reads
where file_id in (select file_id from raw.file_ledger
                  where file_name not in (select file_name from generator_files))
union
select distinct meter_id, channel, interval_start from raw.manual_edits;

delete from truth t using operator_touched o
where t.meter_id = o.meter_id and t.channel = o.channel and t.interval_start = o.interval_start;

create or replace temp table late_files as
select file_id, file_name
from raw.file_ledger
where status = 'loaded' and file_kind = 'interval'
  and file_name in (select file_name from generator_files)
  and try_strptime(split_part(file_name, '_', 2), '%Y%m%d') is not null
  and max_timestamp < try_strptime(split_part(file_name, '_', 2), '%Y%m%d');

create or replace temp table validated as
select v.meter_id, v.channel, v.interval_start, v.value, v.quality_flag, v.duplicate_rows,
       v.has_conflict, v.version,
       coalesce(v.failed_rules, v.failed_rule, '') as rules,
       v.version in (select file_id from late_files) as from_late_file
from {table} v
anti join operator_touched o using (meter_id, channel, interval_start);

create or replace temp table late_resent as
select distinct r.meter_id, r.channel, r.interval_start
from raw.interval_reads r join late_files using (file_id);
"""

PREDICTED_SQL = {
    "gap": """select meter_id, channel, interval_start from validated
              where list_contains(string_split(rules, ';'), 'missing')
                 or (from_late_file and duplicate_rows = 0)""",
    "duplicate_identical": """select meter_id, channel, interval_start from validated v
              where duplicate_rows > 0 and not has_conflict
                and not exists (select 1 from late_resent l
                                where l.meter_id = v.meter_id and l.channel = v.channel
                                  and l.interval_start = v.interval_start)""",
    "duplicate_conflicting": """select meter_id, channel, interval_start from validated
                                where has_conflict""",
    "negative": """select meter_id, channel, interval_start from validated
                   where list_contains(string_split(rules, ';'), 'negative')""",
    "spike": """select meter_id, channel, interval_start from validated
                where list_contains(string_split(rules, ';'), 'spike')""",
    "stuck_zero": """select meter_id, channel, interval_start from validated
                     where list_contains(string_split(rules, ';'), 'stuck_zero')""",
    "register_rollover": """select meter_id, channel, read_at as interval_start
                            from {registers} where event = 'rollover'""",
}


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return int(con.execute(sql).fetchone()[0])


def _interval_score(
    con: duckdb.DuckDBPyConnection, fault_type: str, predicted_sql: str
) -> FaultScore:
    con.execute(f"create or replace temp table predicted as {predicted_sql}")
    con.execute(
        "create or replace temp table expected as "
        "select distinct meter_id, channel, interval_start from truth where fault_type = ?",
        [fault_type],
    )
    truth = _count(con, "select count(*) from expected")
    predicted = _count(con, "select count(*) from (select distinct * from predicted)")
    detected = _count(con, "select count(*) from expected e semi join predicted p "
                           "using (meter_id, channel, interval_start)")
    note = ""
    if fault_type == "duplicate_conflicting" and detected:
        recovered = _count(con, """
            select count(*) from truth t join validated v using (meter_id, channel, interval_start)
            where t.fault_type = 'duplicate_conflicting' and v.has_conflict
              and v.value = t.true_value""")
        note = f"{recovered}/{detected} ended with the true value"
    return FaultScore(fault_type, truth, predicted, detected, note)


def _file_score(con: duckdb.DuckDBPyConnection, fault_type: str) -> FaultScore:
    truth = {r[0] for r in con.execute(
        "select distinct file_name from truth where fault_type = ?", [fault_type]).fetchall()}
    if fault_type == "late_file":
        sql = "select file_name from late_files"
    else:
        sql = "select file_name from raw.file_ledger where status = 'quarantined'"
    predicted = {r[0] for r in con.execute(sql).fetchall()}
    return FaultScore(fault_type, len(truth), len(predicted), len(truth & predicted))


def estimation_errors(con: duckdb.DuckDBPyConnection) -> list[EstimationError]:
    """MAPE and bias of the estimates against the true values, per type and overall."""
    rows = con.execute(f"""
        with pairs as (
            select t.fault_type, cast(t.true_value as double) as truth,
                   cast(v.value as double) as est
            from truth t join validated v using (meter_id, channel, interval_start)
            where t.fault_type in {ESTIMATED_TYPES} and v.quality_flag = 'ESTIMATED'
              and v.value is not null
        )
        select coalesce(fault_type, 'all') as fault_type, count(*) as n,
               avg(abs(est - truth) / truth) filter (where truth > 0) as mape,
               sum(est - truth) / nullif(sum(truth), 0) as bias
        from pairs
        group by grouping sets ((fault_type), ())
    """).fetchall()
    by_type = {r[0]: EstimationError(r[0], int(r[1]), r[2], r[3]) for r in rows}
    return [by_type.get(t, EstimationError(t, 0, None, None)) for t in (*ESTIMATED_TYPES, "all")]


def score_connection(
    con: duckdb.DuckDBPyConnection, data_dir: Path,
    table: str = "core.int_interval_validated", registers: str = "core.vee_register_days",
) -> tuple[list[FaultScore], list[EstimationError]]:
    """Score an open warehouse connection (temp tables are created on it)."""
    faults = Path(data_dir) / "ground_truth" / "faults.csv"
    manifest = json.loads((faults.parent / "manifest.json").read_text(encoding="utf-8"))
    con.execute("create or replace temp table generator_files as "
                "select unnest(?::varchar[]) as file_name",
                [sorted({Path(f).name for f in manifest["files"]})])
    first, *rest = [q for q in SETUP_SQL.format(table=table).split(";") if q.strip()]
    con.execute(first, [str(faults)])
    for statement in rest:
        con.execute(statement)
    scores = [_interval_score(con, t, PREDICTED_SQL[t]) for t in INTERVAL_TYPES]
    scores.append(_interval_score(con, "register_rollover",
                                  PREDICTED_SQL["register_rollover"].format(registers=registers)))
    scores += [_file_score(con, t) for t in FILE_TYPES]
    return scores, estimation_errors(con)


def score(
    warehouse: Path, data_dir: Path, table: str = "core.int_interval_validated",
    registers: str = "core.vee_register_days",
) -> tuple[list[FaultScore], list[EstimationError]]:
    """Scores per fault type and estimation errors for a warehouse and its data directory."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return score_connection(con, data_dir, table, registers)
    finally:
        con.close()


def _fmt(x: float | None, pct: bool = False) -> str:
    if x is None:
        return "–"
    return f"{100 * x:.2f} %" if pct else f"{x:.3f}"


def format_table(scores: list[FaultScore], errors: list[EstimationError]) -> str:
    """Markdown tables: detection per fault type, then estimation error."""
    lines = ["| fault type | truth | predicted | detected | precision | recall | note |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for s in scores:
        lines.append(f"| {s.fault_type} | {s.truth} | {s.predicted} | {s.detected} | "
                     f"{_fmt(s.precision)} | {_fmt(s.recall)} | {s.note} |")
    lines += ["", "| estimated fault type | intervals | MAPE | bias |", "|---|---:|---:|---:|"]
    for e in errors:
        lines.append(f"| {e.fault_type} | {e.n} | {_fmt(e.mape, True)} | {_fmt(e.bias, True)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.vee_score", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--table", default="core.int_interval_validated",
                        help="validated table (e.g. core.int_interval_validated_as_of)")
    args = parser.parse_args(argv)
    scores, errors = score(args.warehouse, args.data_dir, args.table)
    print(format_table(scores, errors))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
