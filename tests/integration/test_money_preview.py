"""The money preview: SQLMesh plans a tariff change in `dev` and diffs the bills against `prod`.

The worked bill (domain.md §1, July 2026) is settled by the real pipeline; the change raises the
government-funds price from 0.02406875 to 0.03 元/kWh. Hand computation: funds are outside the
power-factor base, so only the funds line moves: 300,000 kWh × 0.03 = 9,000.00 (was 7,220.63),
Δ = +1,779.37 and the bill 228,120.46 → 229,899.83. The settled month is a copy of the
session's `worked_bill_month` scenario with July closed (a finance.period_close row, as finance
closes a month); the preview only reads it, labels the issued bill as issued and the recomputed
one as recomputed, and lists the adjustment the change would produce for the closed month.
"""

from __future__ import annotations

import shutil

import pytest

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


@pytest.mark.writes
def test_a_changed_tariff_shows_which_bills_change_and_by_how_much(worked, tmp_path, capsys):
    from foundation.warehouse import connect

    with connect(worked.warehouse) as con:
        con.execute("insert into finance.period_close select '2026-07', current_date, 'test', "
                    "'closed before the tariff change', now()")
    published = worked.sql("select * from finance.bills order by all")
    code = money_preview.main([
        "--warehouse", str(worked.warehouse),
        "--base-dir", str(PROJECT_ROOT / "transforms"),
        "--preview-dir", str(changed_transforms(tmp_path)),
        "--workdir", str(tmp_path / "scratch"),
    ])
    out = capsys.readouterr().out
    assert code == 0
    # issued (as billed), recomputed (committed logic), preview (the change), Δ
    assert "| 2026-07 | closed | 1 | 1 | 228120.46 | 228120.46 | 229899.83 | +1779.37 |" in out
    assert "| C_WORKED | 2026-07 | 228120.46 | 228120.46 | 229899.83 | +1779.37 |" in out
    adjustments = out[out.index("Closed months: adjustments"):]
    assert "| C_WORKED | 2026-07 | 228120.46 | 229899.83 | +1779.37 |" in adjustments
    assert "published" not in out.lower()
    # the preview ran on a scratch copy: the published warehouse did not move
    assert worked.sql("select * from finance.bills order by all") == published
