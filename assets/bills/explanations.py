"""How a bill's prices and penalties are made, written out for the customer.

- `price_formula(bill)`: a LINKED or SPREAD package's flat price with its formula inputs, as
  `transforms/models/core/settlement/int_package_block_prices.sql` computes it (domain.md §5):
  LINKED `(1 − λ)·F + λ·I` (capped), SPREAD `R − s·α + f`; each block = flat × its ratio.
- `deviation_bands(bill)`: the contract's deviation clause (domain.md §4): the free band and the
  tiers with their coefficients, and the month's actual deviation.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from assets.bills.customer_texts import texts_on
from assets.bills.data import BillData
from assets.bills.formatting import BLOCK_NAMES, BLOCK_ORDER, number, percent

PRICE_DP = Decimal("0.000001")  # block prices keep 6 dp (macro price6)


def _ratios(b: dict[str, Any]) -> str:
    ratios = {"sharp": b["sharp_ratio"], "peak": b["peak_ratio"], "flat": Decimal(1),
              "valley": b["valley_ratio"], "deep_valley": b["deep_valley_ratio"]}
    return "、".join(f"{BLOCK_NAMES[block]} {number(ratios[block], 4)}"
                     for block in BLOCK_ORDER if ratios[block] is not None)


def price_formula(bill: BillData) -> dict[str, Any] | None:
    """The flat price formula of a LINKED or SPREAD bill with its inputs; None otherwise."""
    b, on = bill.bill, bill.bill["period_start"]
    indexes = texts_on("index", on)
    if b["package_model"] == "LINKED" and b["linked_index_price"] is not None:
        share, fixed, index = b["linked_ratio"], b["flat_price"], b["linked_index_price"]
        blend = (1 - share) * fixed + share * index
        price = min(blend, b["cap_price"]) if b["cap_price"] is not None else blend
        index_name = (indexes.get(b["linked_target"]) or indexes["other"]).label
        text = (f"平段电价 = (1 − 联动比例 {number(share, 4)}) × 合同固定价 {number(fixed, 6, 4)} "
                f"+ 联动比例 {number(share, 4)} × {index_name} {number(index, 6, 4)} "
                f"= {number(blend.quantize(PRICE_DP, ROUND_HALF_UP), 6, 4)} 元/kWh")
    elif b["package_model"] == "SPREAD" and b["reference_index_price"] is not None:
        reference, spread, sharing = b["reference_index_price"], b["spread"], b["sharing_ratio"]
        floating = b["float_price"] or Decimal(0)
        capped = min(reference, b["cap_price"]) if b["cap_price"] is not None else reference
        price = capped - spread * sharing + floating
        index_name = (indexes.get(b["reference_type"]) or indexes["other"]).label
        text = (f"平段电价 = {index_name} {number(capped, 6, 4)} − 价差 {number(spread, 6, 4)} "
                f"× 分成比例 {number(sharing, 4)} + 浮动价 {number(floating, 6, 4)} "
                f"= {number(price.quantize(PRICE_DP, ROUND_HALF_UP), 6, 4)} 元/kWh")
    else:
        return None
    capped_note = (f"；不超过封顶价 {number(b['cap_price'], 6, 4)} 元/kWh"
                   if b["cap_price"] is not None else "")
    return {
        "text": text + capped_note,
        "price": number(price.quantize(PRICE_DP, ROUND_HALF_UP), 6, 4),
        "ratios": _ratios(b),
    }


def deviation_bands(bill: BillData) -> dict[str, Any] | None:
    """The contract's free band and penalty tiers, and where this month fell; None without."""
    if not bill.deviation_tiers:
        return None
    b = bill.bill
    kwh, contracted = b["billed_kwh"], b["contracted_kwh"]
    ratio = (kwh - contracted) / contracted if kwh is not None and contracted else None
    tiers = []
    for tier in bill.deviation_tiers:
        lower = percent(tier.lower_ratio, 0)
        band = (f"±{lower} 至 ±{percent(tier.upper_ratio, 0)}" if tier.upper_ratio is not None
                else f"超过 ±{lower}")
        if tier.lower_ratio == 0 and tier.upper_ratio is not None:
            band = f"±{percent(tier.upper_ratio, 0)} 以内"
        tiers.append({
            "band": band,
            "free": tier.coefficient == 0,
            "coefficient": number(tier.coefficient, 4, 2),
        })
    return {"tiers": tiers, "actual": percent(ratio, 2, signed=True) if ratio is not None
            else None, "contracted": number(contracted, 0) if contracted is not None else None}
