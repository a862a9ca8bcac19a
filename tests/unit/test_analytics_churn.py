"""Churn risk (issue 11): the Cox example of domain.md §9 by hand, the fitted coefficients
against the generator's known ones, and bad input rows quarantined with file, line and rule."""

from __future__ import annotations

import csv
import math
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assets.analytics.churn import (
    FEATURES,
    build_spells,
    churn_probability,
    fit_churn_model,
    linear_predictor,
    score_months,
)
from assets.analytics.credit import scores_at_signing
from assets.analytics.inputs import (
    HISTORY_COLUMNS,
    TICKET_COLUMNS,
    load_history,
    load_payments,
    load_tickets,
)
from tools.sample_data import generate
from tools.sample_data.history import (
    HISTORY_COLUMNS as WRITTEN_HISTORY_COLUMNS,
)
from tools.sample_data.history import (
    TICKET_COLUMNS as WRITTEN_TICKET_COLUMNS,
)
from tools.sample_data.history import simulate_history, write_history
from tools.sample_data.writer import write_csv


def test_cox_example_of_domain_section_9():
    """β = (complaint 0.8, gap 0.05, tenure −0.3), x = (1, 20, 2): lp = 0.8 + 1.0 − 0.6 = 1.2,
    HR = e^1.2 = 3.32, S = 0.95^3.32 = 0.843, P(churn, 90 d) = 15.7 %."""
    beta = {"complaints": 0.8, "gap": 0.05, "tenure": -0.3}
    lp = linear_predictor(beta, {"complaints": 1, "gap": 20, "tenure": 2})
    assert lp == pytest.approx(1.2)
    assert round(math.exp(lp), 2) == 3.32
    assert round(0.95 ** math.exp(lp), 3) == 0.843
    assert round(churn_probability(lp, 0.95), 3) == 0.157


def test_generator_and_loader_agree_on_the_columns():
    assert WRITTEN_HISTORY_COLUMNS == HISTORY_COLUMNS
    assert WRITTEN_TICKET_COLUMNS == TICKET_COLUMNS


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """1,200 active customers over 8 years (plus the former ones), written as the files."""
    data_dir = tmp_path_factory.mktemp("history")
    ids = [f"CU{i:06d}" for i in range(1, 1201)]
    write_history(data_dir, simulate_history(np.random.default_rng([7, 6]), ids, 8, "2026-09"))
    return data_dir


@pytest.fixture(scope="module")
def spells(generated):
    history = load_history(generated / "master")
    known = set(history.rows["customer_id"])
    tickets = load_tickets(generated / "master", known)
    payments = load_payments(generated / "master", known)
    assert history.quarantined == tickets.quarantined == payments.quarantined == []
    complaints = tickets.rows[tickets.rows["category"] == "complaint"]
    scores = scores_at_signing(history.rows, payments.rows, complaints)
    return build_spells(history.rows, tickets.rows, scores)


@pytest.fixture(scope="module")
def model(spells):
    return fit_churn_model(spells)


def test_fitted_95_percent_intervals_contain_the_true_coefficients(generated, model):
    with (generated / "ground_truth" / "churn_coefficients.csv").open(encoding="utf-8") as f:
        truth = {row["covariate"]: float(row["coefficient"]) for row in csv.DictReader(f)}
    assert set(truth) == set(FEATURES)
    fitted = model.coefficients()
    for covariate, true in truth.items():
        row = fitted.loc[covariate]
        assert row["lower_95"] <= true <= row["upper_95"], (covariate, true, row.to_dict())


def test_model_is_checked_on_held_out_customers_and_for_proportional_hazards(model, spells):
    assert model.held_out_spells > 0.15 * len(spells)
    assert 0.7 < model.held_out_concordance < 0.95
    assert set(model.ph_p_values) == set(FEATURES)
    assert all(0 <= p <= 1 for p in model.ph_p_values.values())


def test_every_outcome_occurs_and_every_active_customer_is_scored(spells, model):
    assert set(spells["outcome"]) == {"renewed", "non_renewal", "switched",
                                      "early_termination", "active"}
    risk = score_months(model, spells, ["2026-09"])
    assert set(risk["customer_id"]) == {f"CU{i:06d}" for i in range(1, 1201)}
    assert risk["churn_probability_90d"].between(0, 1).all()


def test_probability_rises_with_complaints_and_falls_with_tenure(spells, model):
    """Same contract, one more complaint: higher risk; two more years of tenure: lower."""
    one = spells[spells["outcome"] == "active"].head(1).copy()
    more = one.assign(complaints_12m=one["complaints_12m"] + 1, contract_id="X1")
    older = one.assign(tenure_years=one["tenure_years"] + 2, contract_id="X2")
    both = pd.concat([one, more, older])
    p = score_months(model, both, [one["end_month"].iloc[0]])["churn_probability_90d"]
    assert p.iloc[1] > p.iloc[0] > p.iloc[2]


def test_bad_rows_are_quarantined_with_line_and_rule_and_good_rows_load(tmp_path):
    good = ["HC1", "CU1", "2024-01", "2024-01", "2026-09", "active", "5.0", "1000.00",
            "800.000", "20.00", "0.950"]
    write_csv(tmp_path / "contract_history.csv", HISTORY_COLUMNS, [
        good,                                                          # line 2
        ["HC2", "CU2", "2026-09", "2026-09", "2026-09", "active", "1", "0", "1", "1", "1"],
        ["HC3", "CU3", "2024-01", "2024-13", "2026-09", "active", *good[6:]],   # bad month
        ["HC4", "CU4", "2024-01", "2025-01", "2024-12", "active", *good[6:]],   # end < start
        ["HC5", "CU5", "2024-01", "2024-01", "2026-09", "lapsed", *good[6:]],   # outcome
        ["HC6", "CU6", "2024-01", "2024-01", "2026-09", "active", "5", "1e3", *good[8:]],
        ["HC7", "CU7", "2024-01", "2024-01", "2026-09", "active", *good[6:10], "1.5"],
        ["HC1", "CU8", "2024-01", "2024-01", "2026-09", "active", *good[6:]],   # dup id
        ["HC9", "", "2024-01", "2024-01", "2026-09", "active", *good[6:]],      # missing
    ])
    write_csv(tmp_path / "service_tickets.csv", TICKET_COLUMNS, [
        ["TK1", "CU1", "2026-03-02", "complaint", "bill dispute"],
        ["TK2", "CU404", "2026-03-02", "complaint", "who is this"],            # unknown
        ["TK3", "CU1", "2026-02-30", "complaint", ""],                          # bad date
        ["TK4", "CU1", "2026-03-02", "praise", ""],                             # category
    ])
    history = load_history(tmp_path)
    assert list(history.rows["contract_id"]) == ["HC1", "HC2"]
    assert [(q["source_row"], q["rule"]) for q in history.quarantined] == [
        (4, "bad_month"), (5, "months_out_of_order"), (6, "unknown_outcome"),
        (7, "bad_number"), (8, "out_of_range"), (10, "missing_field"), (9, "duplicate_key")]
    assert all(q["file_name"] == "contract_history.csv" and q["reason"]
               for q in history.quarantined)
    assert len(history.rows) + len(history.quarantined) == 9  # nothing lost
    tickets = load_tickets(tmp_path, {"CU1", "CU2"})
    assert list(tickets.rows["ticket_id"]) == ["TK1"]
    assert [(q["source_row"], q["rule"]) for q in tickets.quarantined] == [
        (3, "unknown_customer"), (4, "bad_date"), (5, "unknown_category")]
    assert "CU404" in tickets.quarantined[0]["reason"]


def test_a_customer_with_one_month_of_history_is_scored_with_a_caveat(spells, model):
    """A contract signed in the scored month: one month in force, no crash, a caveat."""
    from assets.analytics.config import bands
    from assets.analytics.scoring import band_rows

    new = spells[spells["outcome"] == "active"].head(1).assign(
        contract_id="HCNEW", customer_id="CUNEW", customer_since="2026-09",
        start_month="2026-09", end_month="2026-09", tenure_years=0.0)
    risk = band_rows(score_months(model, pd.concat([spells, new]),
                                  ["2026-09"]), bands(date(2026, 9, 1)))
    row = risk[risk["customer_id"] == "CUNEW"].iloc[0]
    assert row["months_in_force"] == 1 and row["history_months"] == 1
    assert row["caveat"].startswith("short_history: 1 month(s)")
    assert 0 < row["churn_probability_90d"] < 1
    assert row["risk_band"] in {"low", "medium", "high"}


def test_generate_writes_history_only_when_asked(tmp_path):
    """history_years=0 (the default, `make demo`) writes no history; 4 years end with every
    generated customer active in the month before the data, and the true β beside the faults."""
    plain = generate(tmp_path / "plain", meters=3, months=1, start="2026-10", seed=7)
    assert "history_years" not in plain
    assert not (tmp_path / "plain" / "master" / "contract_history.csv").exists()
    manifest = generate(tmp_path / "hist", meters=3, months=1, start="2026-10", seed=7,
                        history_years=4)
    assert {"master/contract_history.csv", "master/service_tickets.csv",
            "ground_truth/churn_coefficients.csv"} <= set(manifest["files"])
    history = load_history(tmp_path / "hist" / "master").rows
    active = history[(history["end_month"] == "2026-09")
                     & history["outcome"].isin(["active", "renewed"])]
    assert sorted(active["customer_id"]) == ["CU000001", "CU000002", "CU000003"]
    assert history["start_month"].min() >= "2022-10"
    # the same master data and faults as without history
    for name in ("master/customers.csv", "master/contracts.csv", "ground_truth/faults.csv"):
        assert (tmp_path / "plain" / name).read_bytes() == (tmp_path / "hist" / name).read_bytes()


def test_missing_input_and_too_few_events_are_refused_with_the_reason(tmp_path, spells):
    with pytest.raises(FileNotFoundError, match="Churn inputs"):
        load_history(tmp_path)
    few = pd.concat([spells[spells["event"] == 1].head(39), spells[spells["event"] == 0]])
    with pytest.raises(ValueError, match="39 churn events .* needs at least 40"):
        fit_churn_model(few)
