"""Render notices from Jinja templates (`templates/<notice_type>.j2`) and split SMS text.

Each template defines two blocks, `title` and `body`. Line breaks inside a block are only for
editing: every line is stripped and the lines are joined, so a body is one SMS-ready paragraph.
Missing context keys raise (StrictUndefined) instead of sending a notice with holes in it.
Callers may pass codes (`level="II"`, `measure="limiting"`) or ready Chinese text; the filters
translate known codes and pass anything else through.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

NOTICE_TYPES: tuple[str, ...] = (
    "curtailment_notice", "curtailment_reminder", "curtailment_all_clear",
    "curtailment_escalation", "bill_ready", "deviation_risk", "capacity_exceeded",
    "meter_anomaly", "termination_completed", "termination_failed",
)
SIGNATURE = "【Gridledger售电】"
SMS_LIMIT = 70  # characters in one UCS-2 SMS; Chinese text is always UCS-2

LEVEL_NAMES = {"I": "Ⅰ级（红色）", "II": "Ⅱ级（橙色）", "III": "Ⅲ级（黄色）", "IV": "Ⅳ级（蓝色）"}
PLAN_TYPE_NAMES = {"planned": "计划限电", "emergency": "紧急限电"}
MEASURE_NAMES = {"staggered": "错峰", "avoidance": "避峰", "limiting": "限电", "tripping": "拉闸"}
CHECK_NAMES = {
    "completeness": "数据缺失", "duplicate": "重复数据", "negative": "负值",
    "zero_run": "连续零值", "spike": "突变尖峰", "rollover": "表码翻转",
    "multiplier": "倍率不符", "sum_check": "电量校核不符", "time_check": "时钟偏差",
    "usage": "用电量突变",
}


@dataclass(frozen=True)
class RenderedNotice:
    """A rendered notice: the email subject / webhook title and the message text."""

    title: str
    body: str


def _money(value: Any) -> str:
    """12345.6 -> '12,345.60'."""
    return f"{Decimal(str(value)):,.2f}"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        undefined=StrictUndefined,
        autoescape=False,
    )
    env.globals["signature"] = SIGNATURE
    env.filters.update(
        level_name=lambda v: LEVEL_NAMES.get(str(v), v),
        plan_type_name=lambda v: PLAN_TYPE_NAMES.get(str(v), v),
        measure_name=lambda v: MEASURE_NAMES.get(str(v), v),
        check_name=lambda v: CHECK_NAMES.get(str(v), v),
        money=_money,
    )
    return env


_ENV = _environment()


def _flatten(text: str) -> str:
    return "".join(line.strip() for line in text.splitlines())


def render(notice_type: str, context: Mapping[str, Any]) -> RenderedNotice:
    """Render the title and body of `notice_type` from `context`."""
    if notice_type not in NOTICE_TYPES:
        raise ValueError(f"unknown notice type {notice_type!r}; expected one of {NOTICE_TYPES}")
    template = _ENV.get_template(f"{notice_type}.j2")
    ctx = template.new_context(dict(context))
    title = _flatten("".join(template.blocks["title"](ctx)))
    body = _flatten("".join(template.blocks["body"](ctx)))
    return RenderedNotice(title=title, body=body)


def sms_segments(text: str, limit: int = SMS_LIMIT) -> list[str]:
    """Split `text` into SMS messages of at most `limit` characters each.

    A text that fits is one segment, unchanged. A longer one is sent as separate messages, each
    ending in a visible `(i/n)` suffix that counts against the limit, so the content per message is
    `limit - len(suffix)` (65 characters for up to 9 parts). We do not use the 67-character
    convention: that is the payload of a *concatenated* SMS whose header the carrier hides, and
    it would leave no room for a visible suffix. Characters are Python code points (Chinese text
    is in the Basic Multilingual Plane, where that equals the UCS-2 count).
    """
    if len(text) <= limit:
        return [text]
    parts = 2
    while math.ceil(len(text) / (limit - len(f"({parts}/{parts})"))) > parts:
        parts += 1
    size = limit - len(f"({parts}/{parts})")
    chunks = [text[i:i + size] for i in range(0, len(text), size)]
    return [f"{chunk}({i}/{len(chunks)})" for i, chunk in enumerate(chunks, start=1)]
