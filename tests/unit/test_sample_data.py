"""Tests for the deterministic sample data generator (`tools.sample_data`)."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from tools.sample_data import FAULT_TYPES, generate
from tools.sample_data.__main__ import main
from tools.sample_data.calendar import _RANGES, HOLIDAY, WEEKEND, WORKDAY, day_types, load_holidays

READ_COLUMNS = ["meter_id", "channel", "interval_end", "interval_minutes", "value", "unit",
                "multiplier"]
KEY = ["meter_id", "channel", "interval_start"]
REGULAR = r"^reads_\d{8}_01\.(csv|parquet)$"


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Path, dict]:
    data_dir = tmp_path_factory.mktemp("sample") / "data"
    return data_dir, generate(data_dir, meters=30, months=1, start="2026-10", seed=7)


def master(data_dir: Path, stem: str) -> pd.DataFrame:
    return pd.read_csv(data_dir / "master" / f"{stem}.csv", dtype=str, keep_default_na=False)


def read_intervals(path: Path) -> pd.DataFrame:
    """One landing interval file as meter_id, channel, interval_start (text), milli, file."""
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
        end = pd.to_datetime(frame["interval_end"])
    else:
        frame = pd.read_csv(path, dtype=str)
        assert list(frame.columns) == READ_COLUMNS
        day, clock = frame["interval_end"].str[:10], frame["interval_end"].str[11:]
        minutes = clock.str[:2].astype(int) * 60 + clock.str[3:].astype(int)
        end = pd.to_datetime(day) + pd.to_timedelta(minutes, unit="min")
    start = end - pd.to_timedelta(frame["interval_minutes"].astype(int), unit="min")
    return pd.DataFrame({
        "meter_id": frame["meter_id"], "channel": frame["channel"],
        "interval_start": start.dt.strftime("%Y-%m-%d %H:%M"),
        "milli": (frame["value"].astype(float) * 1000).round().astype(np.int64),
        "multiplier": frame["multiplier"].astype(int), "file": path.name,
    })


def all_reads(data_dir: Path, pattern: str = REGULAR) -> pd.DataFrame:
    files = sorted(p for p in (data_dir / "landing" / "reads").iterdir()
                   if pd.Series([p.name]).str.match(pattern).iloc[0])
    return pd.concat([read_intervals(p) for p in files], ignore_index=True)


def faults(data_dir: Path) -> pd.DataFrame:
    frame = pd.read_csv(data_dir / "ground_truth" / "faults.csv", dtype=str, keep_default_na=False)
    for col in ("true_value", "injected_value"):
        frame[col + "_milli"] = pd.to_numeric(frame[col], errors="coerce").mul(1000).round()
    return frame


def true_intervals(data_dir: Path) -> pd.DataFrame:
    """Regular-file values with every faulted interval replaced by its ground-truth value."""
    reads = all_reads(data_dir).drop_duplicates(KEY).set_index(KEY)["milli"]
    gt = faults(data_dir)
    gt = gt[gt["fault_type"] != "register_rollover"]
    fixed = gt[gt["meter_id"] != ""].drop_duplicates(KEY).set_index(KEY)["true_value_milli"]
    truth = fixed.astype(np.int64).combine_first(reads).astype(np.int64)
    return truth.rename("milli").reset_index()


def registers(data_dir: Path) -> pd.DataFrame:
    files = sorted((data_dir / "landing" / "reads").glob("registers_*_01.csv"))
    return pd.concat([pd.read_csv(p, dtype={"register_value": str}) for p in files],
                     ignore_index=True)


def checksums(data_dir: Path) -> dict[str, str]:
    return {str(p.relative_to(data_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(data_dir.rglob("*")) if p.is_file()}


def test_same_seed_and_arguments_give_byte_identical_files(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", meters=12, months=1, start="2026-10", seed=3)
    second = generate(tmp_path / "b", meters=12, months=1, start="2026-10", seed=3)
    other = generate(tmp_path / "c", meters=12, months=1, start="2026-10", seed=4)
    assert first == second
    sums_a, sums_b = checksums(tmp_path / "a"), checksums(tmp_path / "b")
    assert len(sums_a) == len(first["files"]) + 1  # + manifest.json
    assert sums_a == sums_b
    assert checksums(tmp_path / "c") != sums_a and other["seed"] == 4


def test_rerun_replaces_only_generator_outputs(tmp_path: Path) -> None:
    generate(tmp_path, meters=5, months=2, start="2026-11", seed=1)
    foreign = [tmp_path / "inbox" / "payments" / "p.csv", tmp_path / "landing" / "reads" / "x.txt"]
    for path in foreign:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("keep me")
    manifest = generate(tmp_path, meters=5, months=1, start="2026-10", seed=1)
    reads = {f"landing/reads/{p.name}" for p in (tmp_path / "landing" / "reads").iterdir()}
    assert reads - {"landing/reads/x.txt"} == {f for f in manifest["files"] if "landing" in f}
    assert all(path.read_text() == "keep me" for path in foreign)


def test_every_class_package_and_basic_mode_appears_for_30_meters(run) -> None:
    data_dir, _ = run
    customers = master(data_dir, "customers")
    contracts = master(data_dir, "contracts").merge(customers, on="customer_id")
    assert set(customers["customer_class"]) == {"industrial", "commercial", "residential"}
    assert set(contracts["package_id"]) == {"PKG_FIXED_TOU", "PKG_LINKED", "PKG_SPREAD",
                                            "PKG_SINGLE", "PKG_TIERED_RES", "PKG_GREEN"}
    pkg_class = contracts.groupby("package_id")["customer_class"].agg(set)
    assert pkg_class["PKG_TIERED_RES"] == {"residential"}
    assert "residential" not in pkg_class["PKG_GREEN"]
    two_part = customers[customers["tariff_type"] == "two_part"]
    assert set(two_part["basic_charge_mode"]) == {"capacity", "contract_demand", "actual_demand"}
    single = customers[customers["tariff_type"] == "single_part"]
    assert set(single["basic_charge_mode"]) == {"none"}
    residential = customers[customers["customer_class"] == "residential"]
    assert set(residential["voltage_level"]) == {"lt_1kv"}
    assert set(residential["pf_standard"]) == {"none"}
    hv_big = customers[(customers["customer_class"] == "industrial")
                       & (customers["industry"] != "农业")]
    assert set(hv_big["pf_standard"]) == {"0.90"}
    assert set(customers["pf_standard"]) == {"0.90", "0.85", "0.80", "none"}
    demand = customers[customers["basic_charge_mode"] == "contract_demand"]
    capacity = demand["contract_capacity_kva"].astype(int)
    assert (demand["contract_demand_kw"].astype(int) <= capacity).all()
    meters = master(data_dir, "metering_points")
    assert len(meters) == 30 and len(customers) < 30  # some industrial customers have two meters
    assert (meters["multiplier"].astype(int)
            == meters["ct_ratio"].astype(int) * meters["pt_ratio"].astype(int)).all()
    assert set(meters["register_digits"].astype(int)) <= {6, 7, 8}


def test_contracts_cover_span_and_volumes_hit_every_deviation_tier(run) -> None:
    data_dir, _ = run
    contracts = master(data_dir, "contracts")
    assert (contracts["start_month"] == "2026-10").all()
    assert (contracts["end_month"] >= "2027-04").all()
    assert set(contracts["deviation_clause_id"]) <= {"DEV_DEFAULT", "DEV_STRICT"}
    volumes = master(data_dir, "contract_volumes")
    months = volumes.groupby("contract_id")["period"].agg(["min", "max", "count"])
    ends = contracts.set_index("contract_id")["end_month"]
    assert (months["min"] == "2026-10").all() and (months["max"] == ends[months.index]).all()
    truth = true_intervals(data_dir)
    kwh = truth[truth["channel"] == "kwh_imp"]
    meters = master(data_dir, "metering_points")
    actual = kwh.merge(meters, on="meter_id").groupby("customer_id")["milli"].sum() / 1000
    october = volumes[volumes["period"] == "2026-10"].merge(contracts, on="contract_id")
    contracted = october.set_index("customer_id")["contracted_kwh"].astype(float)
    deviation = (actual / contracted - 1).abs()
    assert deviation.max() < 0.3
    assert (deviation < 0.03).any() and (deviation > 0.10).any()
    assert deviation.between(0.03, 0.10).any()


def test_contacts_groups_and_subscriptions(run) -> None:
    data_dir, _ = run
    contacts = master(data_dir, "contacts")
    assert (contacts["role"] == "account_manager").sum() == 3
    gov = contacts[contacts["role"] == "government"]
    assert len(gov) == 2 and (gov["customer_id"] == "").all()
    per_customer = contacts[contacts["role"] == "customer_contact"].groupby("customer_id").size()
    assert per_customer.between(1, 2).all()
    assert len(per_customer) == len(master(data_dir, "customers"))
    assert contacts["phone"].str.fullmatch(r"13\d{9}").all() and contacts["phone"].is_unique
    assert contacts["email"].str.endswith("@example.cn").all()
    groups = master(data_dir, "contact_groups")
    assert set(groups["group_type"]) == {"region", "industry", "custom"}
    members = master(data_dir, "contact_group_members")
    assert set(members["group_id"]) <= set(groups["group_id"])
    subs = master(data_dir, "contact_subscriptions").merge(contacts, on="contact_id")
    manager_notices = set(subs[subs["role"] == "account_manager"]["notice_type"])
    assert manager_notices == {"deviation_risk", "capacity_exceeded", "meter_anomaly",
                               "unbilled_energy", "customer_measures"}
    customer_subs = subs[subs["role"] == "customer_contact"]
    assert customer_subs.groupby("notice_type").size()["bill_ready"] > 0.8 * len(per_customer)


def test_csv_labels_interval_ends_with_24_00_and_parquet_uses_next_midnight(run) -> None:
    data_dir, _ = run
    csv_file = data_dir / "landing" / "reads" / "reads_20261001_01.csv"
    frame = pd.read_csv(csv_file, dtype=str)
    assert (frame["interval_end"].str[:10] == "2026-10-01").all()
    clocks = set(frame["interval_end"].str[11:])
    assert "24:00" in clocks and "00:00" not in clocks and "00:15" in clocks and len(clocks) == 96
    assert frame["value"].str.fullmatch(r"-?\d+\.\d{3}").all()
    parquet = pd.read_parquet(data_dir / "landing" / "reads" / "reads_20261002_01.parquet")
    ends = pd.to_datetime(parquet["interval_end"])
    own = ends[ends > pd.Timestamp("2026-10-02")]  # earlier ends are re-sends of 1 October
    assert own.max() == pd.Timestamp("2026-10-03 00:00")
    assert own.min() == pd.Timestamp("2026-10-02 00:15")
    assert (ends.dt.minute % 15 == 0).all() and own.nunique() == 96
    assert set(parquet["unit"]) == {"kWh", "kvarh"} and set(parquet["interval_minutes"]) == {15}


def test_registers_advance_by_the_true_interval_sums(run) -> None:
    data_dir, manifest = run
    meters = master(data_dir, "metering_points").set_index("meter_id")
    regs = registers(data_dir)
    regs["centi"] = (regs["register_value"].astype(float) * 100).round().astype(np.int64)
    regs = regs.sort_values(["meter_id", "channel", "read_at"])
    modulus = 10 ** (meters.loc[regs["meter_id"], "register_digits"].astype(int).to_numpy() + 2)
    delta = regs.groupby(["meter_id", "channel"])["centi"].diff().to_numpy()
    wrapped = delta < 0
    assert wrapped.sum() == manifest["fault_counts"]["register_rollover"] >= 1
    regs["delta_centi"] = np.where(wrapped, delta + modulus, delta)
    regs["day"] = pd.to_datetime(regs["read_at"]).dt.date - pd.Timedelta(days=1)
    regs = regs.dropna(subset=["delta_centi"])
    truth = true_intervals(data_dir)
    truth["day"] = pd.to_datetime(truth["interval_start"]).dt.date
    sums = truth.groupby(["meter_id", "channel", "day"])["milli"].sum().rename("sum_milli")
    check = regs.join(sums, on=["meter_id", "channel", "day"])
    assert len(check) == 30 * 2 * 31 and check["sum_milli"].notna().all()
    mult = meters.loc[check["meter_id"], "multiplier"].astype(int).to_numpy()
    primary_milli = check["delta_centi"].to_numpy() * mult * 10
    assert (np.abs(primary_milli - check["sum_milli"].to_numpy()) <= 10 * mult + 1).all()
    assert (check["sum_milli"] > 0).all()


@pytest.fixture(scope="module")
def located(run):
    """Fault rows of one type, with the files and values found for their key in day files."""
    data_dir, _ = run
    gt = faults(data_dir)
    by_key = all_reads(data_dir).groupby(KEY)
    seen, values = by_key["file"].agg(list), by_key["milli"].agg(list)

    def rows(kind: str) -> pd.DataFrame:
        sub = gt[gt["fault_type"] == kind]
        index = pd.MultiIndex.from_frame(sub[KEY])
        return sub.assign(files=seen.reindex(index).to_numpy(),
                          values=values.reindex(index).to_numpy())

    return rows


def test_every_fault_type_is_recorded_once_per_interval(run) -> None:
    data_dir, manifest = run
    gt = faults(data_dir)
    counts = gt["fault_type"].value_counts()
    assert set(counts.index) == set(FAULT_TYPES)
    assert counts.to_dict() == {k: v for k, v in manifest["fault_counts"].items() if v}
    per_interval = gt[gt["meter_id"] != ""].drop_duplicates(["fault_type", "meter_id",
                                                             "interval_start"])
    assert not per_interval.duplicated(["meter_id", "interval_start"]).any()


def test_gap_rows_are_absent_from_every_day_file(located) -> None:
    gaps = located("gap")
    assert gaps["files"].isna().all() and (gaps["injected_value"] == "").all()
    assert (gaps["true_value_milli"] > 0).all()
    kwh, kvarh = (gaps[gaps["channel"] == c] for c in ("kwh_imp", "kvarh_imp"))
    assert kwh["interval_start"].tolist() == kvarh["interval_start"].tolist()  # both channels
    t = pd.to_datetime(kwh["interval_start"])
    new_run = (t.diff() != pd.Timedelta(minutes=15)) | (kwh["meter_id"] != kwh["meter_id"].shift())
    lengths = kwh.groupby(new_run.cumsum()).size()
    assert lengths.min() <= 4 and lengths.max() >= 8


def test_negative_and_spike_values_are_in_the_files(run, located) -> None:
    data_dir, _ = run
    neg = located("negative")
    assert all(v == [i] for v, i in zip(neg["values"], neg["injected_value_milli"], strict=True))
    assert (neg["injected_value_milli"] < 0).all() and (neg["true_value_milli"] > 0).all()
    spikes = located("spike").merge(master(data_dir, "metering_points"), on="meter_id")
    spikes = spikes.merge(master(data_dir, "customers"), on="customer_id")
    physical_max = spikes["contract_capacity_kva"].astype(float) * 0.25 * 1.2 * 1000
    assert (spikes["injected_value_milli"] >= 5 * physical_max - 1).all()
    assert (spikes["injected_value_milli"] <= 20 * physical_max + 1).all()
    found = zip(spikes["values"], spikes["injected_value_milli"], strict=True)
    assert all(v == [i] for v, i in found)


def test_stuck_zero_runs_are_8_to_24_zeros_over_real_load(located) -> None:
    stuck = located("stuck_zero")
    assert all(v == [0] for v in stuck["values"]) and (stuck["true_value_milli"] > 0).all()
    runs = stuck[stuck["channel"] == "kwh_imp"]
    t = pd.to_datetime(runs["interval_start"])
    other_meter = runs["meter_id"] != runs["meter_id"].shift()
    new_run = (t.diff() != pd.Timedelta(minutes=15)) | other_meter
    assert runs.groupby(new_run.cumsum()).size().between(8, 24).all()


def test_identical_duplicates_repeat_in_the_same_or_the_next_file(located) -> None:
    dups = located("duplicate_identical")
    assert all(len(v) == 2 and v[0] == v[1] for v in dups["values"])
    assert all(own in files for own, files in zip(dups["file_name"], dups["files"], strict=True))
    assert any(f[0] == f[1] for f in dups["files"]) and any(f[0] != f[1] for f in dups["files"])


def test_conflicting_duplicates_are_corrected_by_a_later_file(located) -> None:
    conflicts = located("duplicate_conflicting")
    assert len(conflicts) > 0
    for files, vals, true, injected, own in zip(conflicts["files"], conflicts["values"],
                                                conflicts["true_value_milli"],
                                                conflicts["injected_value_milli"],
                                                conflicts["file_name"], strict=True):
        assert files[0] == own and files[1] > own
        assert vals == [injected, true] and true != injected


def test_late_file_resends_the_gapped_meter_day(run) -> None:
    data_dir, manifest = run
    late = manifest["late_file"]
    assert late["file"].endswith("_90.csv") and late["file"][6:14] > late["day"].replace("-", "")
    resent = read_intervals(data_dir / "landing" / "reads" / late["file"])
    assert len(resent) == 192 and set(resent["meter_id"]) == {late["meter_id"]}
    assert set(resent["interval_start"].str[:10]) == {late["day"]}
    gt = faults(data_dir)
    gaps = gt[(gt["fault_type"] == "gap") & (gt["meter_id"] == late["meter_id"])
              & gt["interval_start"].str.startswith(late["day"])]
    assert len(gaps) >= 16
    merged = gaps.merge(resent, on=KEY)
    assert len(merged) == len(gaps) and (merged["milli"] == merged["true_value_milli"]).all()
    assert (gt[gt["fault_type"] == "late_file"]["file_name"] == late["file"]).all()


def test_malformed_file_cannot_be_parsed_as_the_contract_says(run) -> None:
    data_dir, manifest = run
    path = data_dir / "landing" / "reads" / manifest["malformed_file"]
    assert path.name.endswith("_99.csv")
    header = path.read_text(encoding="utf-8").splitlines()[0]
    assert header.split(",") != READ_COLUMNS
    with pytest.raises(pd.errors.ParserError):
        pd.read_csv(path)
    columns = {c: "VARCHAR" for c in READ_COLUMNS}
    with pytest.raises(duckdb.Error):
        duckdb.sql(f"select * from read_csv('{path}', header=true, columns={columns})").fetchall()


def test_capacity_exceeders_break_1_2_times_contract_kva_on_three_days(run) -> None:
    data_dir, manifest = run
    truth = true_intervals(data_dir)
    kwh = truth[truth["channel"] == "kwh_imp"].merge(master(data_dir, "metering_points"),
                                                     on="meter_id")
    kwh = kwh.merge(master(data_dir, "customers"), on="customer_id")
    single = kwh.groupby("customer_id")["meter_id"].transform("nunique") == 1
    kwh = kwh[single]
    ratio = kwh["milli"] / 1000 * 4 / kwh["contract_capacity_kva"].astype(float)
    days_over = (kwh.assign(over=ratio > 1.2, day=kwh["interval_start"].str[:10])
                 .groupby(["meter_id", "day"])["over"].any().groupby("meter_id").sum())
    flagged = set(days_over[days_over >= 3].index)
    assert flagged == set(manifest["capacity_exceeders"]) and len(flagged) >= 1
    assert days_over.drop(list(flagged)).eq(0).all()


def test_no_faults_gives_complete_clean_files(tmp_path: Path) -> None:
    manifest = generate(tmp_path, meters=20, months=1, start="2027-02", seed=11, fmt="csv",
                        faults=False)
    assert set(manifest["fault_counts"].values()) == {0}
    assert manifest["late_file"] is None and manifest["malformed_file"] is None
    assert len(faults(tmp_path)) == 0
    reads = all_reads(tmp_path, r"^reads_.*")
    assert len(reads) == 20 * 2 * 96 * 28 and not reads.duplicated(KEY).any()
    assert (reads["milli"] > 0).all()
    assert all(name.endswith(".csv") for name in manifest["files"] if "reads_" in name)
    regs = registers(tmp_path).sort_values(["meter_id", "channel", "read_at"])
    regs["register_value"] = regs["register_value"].astype(float)
    assert (regs.groupby(["meter_id", "channel"])["register_value"].diff().dropna() > 0).all()


def test_default_fault_rates_roughly_match_the_brief(tmp_path: Path) -> None:
    manifest = generate(tmp_path, meters=200, months=1, start="2026-07", seed=5,
                        fmt="parquet")
    counts, cells = manifest["fault_counts"], 200 * 31 * 96
    assert 0.002 < counts["gap"] / 2 / cells < 0.004
    assert counts["duplicate_identical"] / cells == pytest.approx(0.001, rel=0.05)
    assert counts["duplicate_conflicting"] / cells == pytest.approx(0.0005, rel=0.05)
    assert counts["negative"] / cells == pytest.approx(0.0002, rel=0.1)
    assert counts["register_rollover"] == len(manifest["rollover_meters"]) == 4
    assert all(name.endswith(".parquet") for name in manifest["files"] if "_01." in name
               and "reads_" in name)


def test_calendar_prefers_the_seed_and_marks_adjusted_workdays() -> None:
    table, source = load_holidays()
    days = [date(2026, 10, 1), date(2026, 10, 10), date(2026, 10, 11), date(2026, 10, 12)]
    assert list(day_types(days, table)) == [HOLIDAY, WORKDAY, WEEKEND, WORKDAY]
    if source != "builtin":
        builtin, _ = load_holidays(Path("/nonexistent.csv"))
        seed_2026 = {d: k for d, k in table.items() if d.year in (2025, 2026)}
        assert {d: k for d, k in builtin.items() if d.year in (2025, 2026)} == seed_2026
    assert _RANGES  # the fallback table is not empty


def test_cli_writes_manifest_and_prints_summary(tmp_path: Path, capsys) -> None:
    assert main(["--meters", "3", "--months", "1", "--start", "2026-10", "--seed", "7",
                 "--data-dir", str(tmp_path), "--format", "csv", "--fault-rate-scale", "2"]) == 0
    printed = json.loads(capsys.readouterr().out)
    manifest = json.loads((tmp_path / "ground_truth" / "manifest.json").read_text())
    assert printed["meters"] == manifest["meters"] == 3 and manifest["fault_rate_scale"] == 2.0
    customers = master(tmp_path, "customers")
    assert set(customers["customer_class"]) == {"industrial", "commercial", "residential"}


def test_the_generator_writes_weather_files_and_scales_load_by_the_temperature(tmp_path):
    """Issue 10: with `weather`, a landing weather file per month (observed) and one of 35 days
    of forecasts, every region of the customers on every day; the load factor by hand."""
    import csv as csv_module

    import numpy as np

    from tools.sample_data import generate
    from tools.sample_data.master import COM, IND, RES
    from tools.sample_data.weather import load_factors

    manifest = generate(tmp_path, 12, 1, "2026-10", 7, faults=False, weather=True)
    weather = sorted(f for f in manifest["files"] if "weather_" in f)
    assert [f.rsplit("/", 1)[-1] for f in weather] == ["weather_20261001_01.csv",
                                                       "weather_20261101_fc.csv"]
    regions = {r["region"] for r in csv_module.DictReader(
        (tmp_path / "master" / "customers.csv").open(encoding="utf-8"))}
    observed = list(csv_module.DictReader(
        (tmp_path / "landing" / "reads" / "weather_20261001_01.csv").open(encoding="utf-8")))
    ahead = list(csv_module.DictReader(
        (tmp_path / "landing" / "reads" / "weather_20261101_fc.csv").open(encoding="utf-8")))
    assert len(observed) == 31 * len(regions) and {r["source"] for r in observed} == {"observed"}
    assert len(ahead) == 35 * len(regions) and {r["source"] for r in ahead} == {"forecast"}
    assert {r["region"] for r in observed} == regions
    # 30 °C: commercial +2.5 % × 6 = 1.15, residential 1.18; 0 °C: industrial +0.3 % × 8
    factors = load_factors(np.array([COM, RES, IND]), np.array([[30.0], [30.0], [0.0]]))
    assert np.allclose(factors[:, 0], [1.15, 1.18, 1.024])


def test_clean_history_and_tail_leave_the_generated_month_byte_for_byte(tmp_path):
    """Issue 10's demo: `history_months` writes a Parquet file a month of every meter's clean
    intervals before the month, `tail_days` a file a day after it, each with its observed
    weather (and the tail the forecast after it); the month's files, faults and master data are
    the same bytes as without them, and the tail's temperatures continue the month's forecast."""
    import csv as csv_module
    import hashlib

    import duckdb

    from tools.sample_data import generate

    plain = generate(tmp_path / "plain", 12, 1, "2026-10", 7, weather=True)
    spanned = generate(tmp_path / "spanned", 12, 1, "2026-10", 7, weather=True,
                       history_months=2, tail_days=5)

    def digest(root: Path, name: str) -> str:
        return hashlib.sha256((root / name).read_bytes()).hexdigest()

    assert set(plain["files"]) < set(spanned["files"])
    assert all(digest(tmp_path / "plain", f) == digest(tmp_path / "spanned", f)
               for f in plain["files"])
    added = sorted(set(spanned["files"]) - set(plain["files"]))
    reads = "landing/reads/"
    assert added == sorted([
        f"{reads}reads_20260801_hist.parquet", f"{reads}reads_20260901_hist.parquet",
        *(f"{reads}reads_202611{d:02d}_01.{'parquet' if d % 2 == 0 else 'csv'}"
          for d in range(1, 6)),
        f"{reads}weather_20260801_01.csv", f"{reads}weather_20260901_01.csv",
        f"{reads}weather_20261101_01.csv", f"{reads}weather_20261106_fc.csv"])
    assert spanned["clean_history"] == ["2026-08-01", "2026-09-30"]
    assert spanned["clean_tail"] == ["2026-11-01", "2026-11-05"]

    folder = tmp_path / "spanned" / "landing" / "reads"
    for month, days in (("202608", 31), ("202609", 30)):
        with duckdb.connect() as con:  # its own: not the module's shared default connection
            count, meters, first, _ = con.sql(
                "select count(*), count(distinct meter_id), min(interval_end), max(interval_end) "
                f"from '{folder}/reads_{month}01_hist.parquet'").fetchone()
        assert (count, meters) == (12 * 2 * 96 * days, 12)  # every meter, both channels
        assert f"{first:%Y%m%d %H:%M}" == f"{month}01 00:15"
    assert (tmp_path / "spanned" / "ground_truth" / "faults.csv").read_bytes() == \
        (tmp_path / "plain" / "ground_truth" / "faults.csv").read_bytes()

    def temps(name: str, source: str) -> dict[tuple[str, str], float]:
        with (folder / name).open(encoding="utf-8") as handle:
            return {(r["region"], r["day"]): float(r["temperature_c"])
                    for r in csv_module.DictReader(handle) if r["source"] == source}

    observed = temps("weather_20261101_01.csv", "observed")
    forecast = temps("weather_20261101_fc.csv", "forecast")  # the month's, truth + N(0, 1.5)
    assert len(observed) == 5 * len({region for region, _ in observed})
    assert max(abs(observed[key] - forecast[key]) for key in observed) < 7.5  # 5 σ
    with pytest.raises(ValueError, match="tail_days 0–35"):
        generate(tmp_path / "long", 3, 1, "2026-10", 7, tail_days=36)
