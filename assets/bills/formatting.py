"""Number and text formatting for bill documents: money from Decimal, never float.

Money is shown with thousands separators and 2 dp (`228,120.46`), and in Chinese capital numerals
(`贰拾贰万捌仟壹佰贰拾元肆角陆分`) as on any Chinese bill or invoice. Prices keep the precision they
were billed at (funds are 0.02406875 元/kWh: rounding the shown price to 6 dp would make the line
stop explaining itself).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")

# Bill sections in the order of domain.md §1 (①–⑤, then the adjustments).
SECTIONS: list[tuple[str, str, tuple[str, ...]]] = [
    ("energy", "① 市场化购电电费", ("energy_", "green_value")),
    ("line_loss", "② 上网环节线损费用", ("line_loss",)),
    ("td", "③ 输配电费", ("td_energy", "basic_")),
    ("system_operation", "④ 系统运行费", ("system_operation",)),
    ("funds", "⑤ 政府性基金及附加", ("government_funds",)),
    ("pf", "⑥ 功率因数调整电费", ("pf_adjustment",)),
    ("deviation", "⑦ 偏差考核费用", ("deviation_",)),
]
OTHER_SECTION = ("other", "⑧ 其他费用", ())

BLOCK_NAMES = {"sharp": "尖峰", "peak": "高峰", "flat": "平段", "valley": "低谷",
               "deep_valley": "深谷"}
BLOCK_ORDER = ["sharp", "peak", "flat", "valley", "deep_valley"]
BLOCK_COLORS = {"sharp": "#c0392b", "peak": "#e67e22", "flat": "#2e86c1", "valley": "#27ae60",
                "deep_valley": "#117864"}

PACKAGE_MODELS = {
    "FIXED": "固定价格",
    "LINKED": "固定价+联动",
    "SPREAD": "参考价联动/价差分成",
    "SINGLE": "单一综合价",
    "TIERED": "阶梯价格",
    "GREEN": "绿色电力",
}
VOLTAGE_LEVELS = {"lt_1kv": "不满1千伏", "kv_1_10": "1-10千伏", "kv_35": "35千伏",
                  "kv_110": "110千伏", "kv_220_plus": "220千伏及以上"}
TARIFF_TYPES = {"single_part": "单一制", "two_part": "两部制"}
CUSTOMER_CLASSES = {"industrial": "工业", "commercial": "商业", "residential": "居民"}
BASIC_MODES = {"capacity": "按容量", "contract_demand": "按合同最大需量",
               "actual_demand": "按实际最大需量", "none": "不计基本电费"}
UNITS = {"kWh": "kWh", "kW": "kW·月", "kVA": "kVA·月", "元": "元"}

DIGITS = "零壹贰叁肆伍陆柒捌玖"
SMALL_UNITS = ["", "拾", "佰", "仟"]
GROUP_UNITS = ["", "万", "亿", "万亿"]


def dec(value: Any) -> Decimal | None:
    """A Decimal from a warehouse value (Decimal, int or text); floats go through str()."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(str(value))
    return Decimal(value)


def yuan(value: Any) -> str:
    """Money: thousands separators, 2 dp, half-up (`228,120.46`); empty for None."""
    amount = dec(value)
    if amount is None:
        return ""
    return f"{amount.quantize(CENT, rounding=ROUND_HALF_UP):,.2f}"


def signed_yuan(value: Any) -> str:
    """Money with an explicit sign for adjustments (`+2,187.13`, `-1,200.00`)."""
    amount = dec(value)
    if amount is None:
        return ""
    text = yuan(amount)
    return text if amount < 0 else f"+{text}"


def _strip(text: str, min_dp: int) -> str:
    """Drop trailing zeros after the decimal point, keeping at least `min_dp` places."""
    if "." not in text:
        return text
    whole, frac = text.split(".")
    frac = frac.rstrip("0")
    frac = frac + "0" * max(0, min_dp - len(frac))
    return f"{whole}.{frac}" if frac else whole


def number(value: Any, max_dp: int = 3, min_dp: int = 0) -> str:
    """A quantity with thousands separators and no needless trailing zeros (`300,000`, `0.88`)."""
    amount = dec(value)
    if amount is None:
        return ""
    quantum = Decimal(1).scaleb(-max_dp)
    return _strip(f"{amount.quantize(quantum, rounding=ROUND_HALF_UP):,.{max_dp}f}", min_dp)


def percent(value: Any, dp: int = 2, signed: bool = False) -> str:
    """A ratio as a percentage (`0.0102` → `1.02%`)."""
    ratio = dec(value)
    if ratio is None:
        return ""
    pct = (ratio * 100).quantize(Decimal(1).scaleb(-dp), rounding=ROUND_HALF_UP)
    sign = "+" if signed and pct > 0 else ""
    return f"{sign}{pct:,.{dp}f}%"


def line_quantity(quantity: Any, unit: str) -> str:
    """Quantity column: money bases at 2 dp, energy and demand as billed."""
    if unit == "元":
        return yuan(quantity)
    return number(quantity, max_dp=3)


def line_unit_price(unit_price: Any, unit: str) -> str:
    """Unit-price column: PF rate as a signed %, demand/capacity prices ≥ 2 dp (a price prorated
    by days in service keeps its 8 dp, so quantity × price = amount on paper), energy ≥ 4 dp."""
    if unit == "元":
        return percent(unit_price, dp=2, signed=True)
    if unit in ("kW", "kVA"):
        return number(unit_price, max_dp=8, min_dp=2)
    return number(unit_price, max_dp=8, min_dp=4)


def section_of(line_code: str) -> tuple[str, str]:
    """(section key, section title) of a line code."""
    for key, title, prefixes in SECTIONS:
        if any(line_code == p or (p.endswith("_") and line_code.startswith(p)) for p in prefixes):
            return key, title
    return OTHER_SECTION[0], OTHER_SECTION[1]


def _group_words(group: int) -> str:
    """A 1…9999 group in capital numerals, inner zeros collapsed to one 零."""
    words, pending_zero = [], False
    for position in range(3, -1, -1):
        digit = group // 10**position % 10
        if digit == 0:
            pending_zero = bool(words)
            continue
        if pending_zero:
            words.append("零")
            pending_zero = False
        words.append(DIGITS[digit] + SMALL_UNITS[position])
    return "".join(words)


def capital_yuan(value: Any) -> str:
    """Amount in Chinese capital numerals (人民币大写), e.g. `贰拾贰万捌仟壹佰贰拾元肆角陆分`.

    Follows 《支付结算办法》 usage: `整` after 元 when there are no 角/分; one `零` for any run of
    zeros between non-zero digits (`壹万零伍元`, `壹亿零壹仟元`); `负` for negative amounts.
    """
    amount = dec(value)
    if amount is None:
        return ""
    amount = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    sign = "负" if amount < 0 else ""
    cents = int(abs(amount) * 100)
    whole, jiao, fen = cents // 100, cents // 10 % 10, cents % 10
    if whole >= 10**16:
        raise ValueError(f"amount too large for capital numerals: {amount}")

    groups = []
    while whole:
        groups.append(whole % 10000)
        whole //= 10000
    text, zero_between = "", False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            zero_between = bool(text)
            continue
        if text and (zero_between or group < 1000):
            text += "零"
        text += _group_words(group) + GROUP_UNITS[index]
        zero_between = False

    if text:
        text += "元"
    if jiao == 0 and fen == 0:
        return sign + (text or "零元") + "整"
    if jiao:
        text += DIGITS[jiao] + "角"
    elif text:
        text += "零"
    if fen:
        text += DIGITS[fen] + "分"
    return sign + text
