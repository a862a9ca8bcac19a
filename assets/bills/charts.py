"""Inline SVG charts for bill documents: no JavaScript, no network, no plotting library.

Each function returns one `<svg>` element whose size is fixed in CSS pixels (the viewBox matches),
so browsers and WeasyPrint lay it out the same way. Fonts come from the page's CJK font stack.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from html import escape

from assets.bills.formatting import BLOCK_COLORS, BLOCK_NAMES, BLOCK_ORDER, number
from foundation.months import month_end

FONT = ("Noto Sans CJK SC, Source Han Sans SC, WenQuanYi Micro Hei, WenQuanYi Zen Hei, "
        "Microsoft YaHei, PingFang SC, SimHei, DejaVu Sans, sans-serif")
AXIS = "#555"
GRID = "#ddd"
QUALITY_COLORS = {"actual": "#2e86c1", "estimated": "#f39c12", "failed": "#c0392b"}
BAND_TINTS = {"sharp": "#f9dcd8", "peak": "#fbe6d0", "flat": "#dbe9f6", "valley": "#d9f0e1",
              "deep_valley": "#cfe8e3"}


def _svg(width: int, height: int, label: str, body: Iterable[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}" font-family="{FONT}" font-size="10">'
        f"<title>{escape(label)}</title>{''.join(body)}</svg>"
    )


def _text(x: float, y: float, text: str, anchor: str = "start", size: float = 10,
          fill: str = "#222", weight: str = "normal") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
            f'fill="{fill}" font-weight="{weight}">{escape(text)}</text>')


def _rect(x: float, y: float, w: float, h: float, fill: str, extra: str = "") -> str:
    return (f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{max(h, 0):.1f}" '
            f'fill="{fill}"{extra}/>')


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """Round axis ticks from 0 to at least `top` (steps of 1, 2, 2.5 or 5 × 10^k)."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    ticks = [0.0]
    while ticks[-1] < top - 1e-9:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _axis_label(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == 0 else f"{value:g}"


def _axis_unit(top: float, unit: str) -> tuple[float, str]:
    """Divisor and axis title: values of a million and more are shown in 万 (10⁴)."""
    return (10_000.0, f"万{unit}") if top >= 1_000_000 else (1.0, unit)


def tou_chart(blocks: Sequence[tuple[str, Decimal]], width: int = 330) -> str:
    """Horizontal bars: kWh per TOU block with its share of the month."""
    rows = sorted(((b, kwh) for b, kwh in blocks if kwh), key=lambda r: BLOCK_ORDER.index(r[0])
                  if r[0] in BLOCK_ORDER else 99)
    total = sum((kwh for _, kwh in rows), Decimal(0))
    row_h, top, left, right = 26, 8, 42, 118
    height = top + row_h * max(len(rows), 1) + 6
    body: list[str] = []
    if not rows:
        body.append(_text(width / 2, height / 2, "本月无分时电量", "middle", fill=AXIS))
        return _svg(width, height, "分时电量", body)
    biggest = max(kwh for _, kwh in rows)
    span = width - left - right
    for index, (block, kwh) in enumerate(rows):
        y = top + index * row_h
        bar = float(kwh / biggest) * span
        share = kwh / total * 100 if total else Decimal(0)
        body.append(_text(0, y + 14, BLOCK_NAMES.get(block, block), size=11))
        body.append(_rect(left, y + 3, bar, 15, BLOCK_COLORS.get(block, "#888"),
                          ' rx="2"'))
        body.append(_text(left + bar + 5, y + 14,
                          f"{number(kwh, 0)} kWh  {share:.1f}%", size=10, fill="#333"))
    return _svg(width, height, "分时电量（kWh）", body)


def daily_chart(daily: Sequence, period_start: date, width: int = 680, height: int = 190) -> str:
    """Columns per day of the month, stacked by reading quality (actual / estimated / failed)."""
    days = month_end(period_start).day
    by_day = {d.day: d for d in daily}
    top_value = max((d.total_kwh for d in daily), default=0.0)
    divisor, unit = _axis_unit(top_value, "kWh")
    ticks = nice_ticks(top_value * 1.05 / divisor)
    left, right, top, bottom = 46, 14, 22, 22
    plot_w, plot_h = width - left - right, height - top - bottom
    scale = plot_h / ticks[-1] / divisor
    slot = plot_w / days
    body: list[str] = [_text(0, 11, unit, size=9, fill=AXIS)]
    for day_no in range(1, days + 1):  # weekend shading
        if date(period_start.year, period_start.month, day_no).weekday() >= 5:
            body.append(_rect(left + (day_no - 1) * slot, top, slot, plot_h, "#f4f4f4"))
    for tick in ticks:
        y = top + plot_h - tick * divisor * scale
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
                    f'stroke="{GRID}" stroke-width="0.6"/>')
        body.append(_text(left - 4, y + 3, _axis_label(tick), "end", 9, AXIS))
    for day_no in range(1, days + 1):
        x = left + (day_no - 1) * slot + slot * 0.15
        usage = by_day.get(date(period_start.year, period_start.month, day_no))
        y = top + plot_h
        if usage is not None:
            for part, value in (("actual", usage.actual_kwh), ("estimated", usage.estimated_kwh),
                                ("failed", usage.failed_kwh)):
                if value > 0:
                    h = value * scale
                    y -= h
                    body.append(_rect(x, y, slot * 0.7, h, QUALITY_COLORS[part]))
        else:
            body.append(_text(x + slot * 0.35, top + plot_h - 3, "·", "middle", 9, AXIS))
        if days <= 31 and (day_no == 1 or day_no % 5 == 0 or day_no == days):
            body.append(_text(x + slot * 0.35, height - 8, str(day_no), "middle", 9, AXIS))
    body.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" '
                f'y2="{top + plot_h}" stroke="{AXIS}" stroke-width="0.8"/>')
    legend_x = width - right - 250
    for index, (part, name) in enumerate((("actual", "实测"), ("estimated", "估算"),
                                          ("failed", "校验未通过"))):
        x = legend_x + index * 72
        body.append(_rect(x, 4, 10, 10, QUALITY_COLORS[part]))
        body.append(_text(x + 14, 13, name, size=9, fill="#333"))
    body.append(_rect(legend_x - 62, 4, 10, 10, "#f4f4f4", ' stroke="#ccc" stroke-width="0.5"'))
    body.append(_text(legend_x - 48, 13, "周末", size=9, fill="#333"))
    return _svg(width, height, "日用电量（kWh）", body)


def profile_chart(
    profile_kw: dict[int, float], bands: dict[int, str], max_demand_kw: float | None = None,
    contract_demand_kw: float | None = None, width: int = 680, height: int = 200,
) -> str:
    """Average load by time of day (kW, 15-minute slots) over the month's TOU blocks."""
    left, right, top, bottom = 46, 18, 22, 22
    plot_w, plot_h = width - left - right, height - top - bottom
    references = [v for v in (max_demand_kw, contract_demand_kw) if v]
    top_value = max([*profile_kw.values(), *references, 0.0])
    divisor, unit = _axis_unit(top_value, "kW")
    ticks = nice_ticks(top_value * 1.08 / divisor)
    scale = plot_h / ticks[-1] / divisor

    def x_of(minute: float) -> float:
        return left + minute / 1440 * plot_w

    def y_of(kw: float) -> float:
        return top + plot_h - kw * scale

    body: list[str] = [_text(0, 11, unit, size=9, fill=AXIS)]
    for minute in range(0, 1440, 15):  # TOU bands behind the curve
        block = bands.get(minute)
        if block:
            body.append(_rect(x_of(minute), top, plot_w / 96 + 0.3, plot_h,
                              BAND_TINTS.get(block, "#eee")))
    for tick in ticks:
        y = y_of(tick * divisor)
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
                    f'stroke="{GRID}" stroke-width="0.6"/>')
        body.append(_text(left - 4, y + 3, _axis_label(tick), "end", 9, AXIS))
    for hour in range(0, 25, 3):
        body.append(_text(x_of(hour * 60), height - 8, f"{hour:02d}:00", "middle", 9, AXIS))
    points = sorted(profile_kw.items())
    if points:
        line = " ".join(f"{x_of(m + 7.5):.1f},{y_of(kw):.1f}" for m, kw in points)
        first, last = x_of(points[0][0] + 7.5), x_of(points[-1][0] + 7.5)
        base = y_of(0)
        body.append(f'<polygon points="{first:.1f},{base:.1f} {line} {last:.1f},{base:.1f}" '
                    f'fill="#2e86c1" fill-opacity="0.18"/>')
        body.append(f'<polyline points="{line}" fill="none" stroke="#1b4f72" '
                    f'stroke-width="1.6" stroke-linejoin="round"/>')
    else:
        body.append(_text(left + plot_w / 2, top + plot_h / 2, "本月无负荷数据", "middle",
                          fill=AXIS))
    # reference lines; the lower label goes under its line when the two would collide
    refs = sorted(((v, label, color) for v, label, color in (
        (max_demand_kw, "最大需量", "#c0392b"), (contract_demand_kw, "合同需量", "#6c3483")) if v),
        reverse=True)
    for index, (value, label, color) in enumerate(refs):
        y = y_of(value)
        below = index > 0 and abs(y_of(refs[0][0]) - y) < 12
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
                    f'stroke="{color}" stroke-width="1" stroke-dasharray="4 3"/>')
        body.append(_text(width - right - 2, y + 10 if below else y - 3,
                          f"{label} {number(value, 3)} kW", "end", 9, color))
    body.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" '
                f'y2="{top + plot_h}" stroke="{AXIS}" stroke-width="0.8"/>')
    present = [b for b in BLOCK_ORDER if b in set(bands.values())]
    legend_x = width - right - 58 * len(present)
    for index, block in enumerate(present):
        x = legend_x + index * 58
        body.append(_rect(x, 4, 10, 10, BAND_TINTS[block], ' stroke="#bbb" stroke-width="0.5"'))
        body.append(_text(x + 14, 13, f"{BLOCK_NAMES[block]}时段", size=9, fill="#333"))
    return _svg(width, height, "月平均日负荷曲线（kW）", body)


def quality_bar(actual: float, estimated: float, failed: float, width: int = 330) -> str:
    """One 100 % bar: share of the month's kWh by reading quality."""
    total = actual + estimated + failed
    height = 34
    body: list[str] = []
    x = 0.0
    for part, value in (("actual", actual), ("estimated", estimated), ("failed", failed)):
        if total <= 0 or value <= 0:
            continue
        w = value / total * width
        body.append(_rect(x, 2, w, 14, QUALITY_COLORS[part]))
        x += w
    if total <= 0:
        body.append(_rect(0, 2, width, 14, "#eee"))
    legend = [("actual", actual, "实测"), ("estimated", estimated, "估算"),
              ("failed", failed, "校验未通过")]
    for index, (part, value, name) in enumerate(legend):
        share = value / total * 100 if total else 0.0
        lx = index * 110
        body.append(_rect(lx, 22, 9, 9, QUALITY_COLORS[part]))
        body.append(_text(lx + 12, 30, f"{name} {share:.1f}%", size=9, fill="#333"))
    return _svg(width, height, "电量数据质量构成", body)
