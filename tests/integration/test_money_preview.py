"""The money preview: SQLMesh plans a tariff change in `dev` and diffs the bills against `prod`.

The worked bill (domain.md §1, July 2026) is settled by the real pipeline; the change raises the
government-funds price from 0.02406875 to 0.03 元/kWh. Hand computation: funds are outside the
power-factor base, so only the funds line moves: 300,000 kWh × 0.03 = 9,000.00 (was 7,220.63),
Δ = +1,779.37 and the bill 228,120.46 → 229,899.83. The settled month is the session's
`worked_bill_month` scenario; the preview only reads it.
"""

from __future__ import annotations

import shutil

from foundation.paths import PROJECT_ROOT
from tests.scenarios import scenario_fixture
from tools import money_preview

OLD_FUNDS, NEW_FUNDS = "0.02406875", "0.03000000"

worked = scenario_fixture("worked_bill_month", "worked")


def changed_transforms(tmp_path):
    """A copy of transforms/ with the new funds price (the change being previewed)."""
    work = tmp_path / "transforms"
    shutil.copytree(PROJECT_ROOT / "transforms", work, ignore=money_preview.IGNORE)
    tariffs = work / "seeds" / "config" / "tariffs.csv"
    text = tariffs.read_text(encoding="utf-8")
    old, new = (f"government_funds,jibei,*,*,{price}," for price in (OLD_FUNDS, NEW_FUNDS))
    assert text.count(old) == 1  # the Jibei row (the worked bill's grid)
    tariffs.write_text(text.replace(old, new), encoding="utf-8")
    return work


def test_a_changed_tariff_shows_which_bills_change_and_by_how_much(worked, tmp_path, capsys):
    published = worked.sql("select * from finance.bills order by all")
    code = money_preview.main([
        "--warehouse", str(worked.warehouse),
        "--base-dir", str(PROJECT_ROOT / "transforms"),
        "--preview-dir", str(changed_transforms(tmp_path)),
        "--workdir", str(tmp_path / "scratch"),
    ])
    out = capsys.readouterr().out
    assert code == 0
    assert "| C_WORKED | 2026-07 | 228120.46 | 229899.83 | +1779.37 |" in out
    assert "| 2026-07 | 1 | 1 | 228120.46 | 229899.83 | +1779.37 |" in out
    # the preview ran on a scratch copy: the published warehouse did not move
    assert worked.sql("select * from finance.bills order by all") == published
