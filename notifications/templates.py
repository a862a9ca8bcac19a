"""Render notices from Jinja templates (`templates/<notice_type>.j2`) and split SMS text.

Each template defines two blocks, `title` and `body`. Line breaks inside a block are only for
editing: every line is stripped and the lines are joined, so a body is one SMS-ready paragraph.
Missing context keys raise (StrictUndefined) instead of sending a notice with holes in it.
Callers may pass codes (`level="II"`, `measure="limiting"`) or ready Chinese text; the filters
translate known codes and pass anything else through. The shared wording (signature, names of
codes, pieces of text such as a default plan name) is in `templates/_texts.j2`: no Chinese text
is written in Python.
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
    "meter_anomaly", "termination_completed", "termination_failed", "unbilled_energy",
    "sms_reply", "customer_measure", "deviation_projection", "retail_risk",
)
SMS_LIMIT = 70  # characters in one UCS-2 SMS; Chinese text is always UCS-2
TEXTS = "_texts.j2"  # shared wording: signature, names of codes, pieces of text (macros)


@dataclass(frozen=True)
class RenderedNotice:
    """A rendered notice: the email subject / webhook title and the message text."""

    title: str
    body: str


def _money(value: Any) -> str:
    """12345.6 -> '12,345.60'."""
    return f"{Decimal(str(value)):,.2f}"


def _kwh(value: Any) -> str:
    """12345.6 -> '12,345.600' (kWh keep 3 dp)."""
    return f"{Decimal(str(value)):,.3f}"


def _number(value: Any) -> str:
    """A Decimal with its own decimals, thousands separated: Decimal('1234.50') -> '1,234.50'."""
    return f"{Decimal(str(value)):,f}"


NAMES = ("level_names", "plan_type_names", "measure_names", "check_names",
         "unbilled_reason_names", "risk_band_names", "credit_grade_names",
         "customer_measure_names", "projection_state_names")


def _name_filter(env: Environment, names: str):
    """A filter translating the codes known to `_texts.j2`'s `names`, passing others through."""
    return lambda v: env.globals[names].get(str(v), v)


def _environment() -> tuple[Environment, Any]:
    """The Jinja environment and the module of `_texts.j2` (its names, globals and macros)."""
    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        undefined=StrictUndefined,
        autoescape=False,
    )
    env.filters.update(
        level_name=_name_filter(env, "level_names"),
        plan_type_name=_name_filter(env, "plan_type_names"),
        measure_name=_name_filter(env, "measure_names"),
        check_name=_name_filter(env, "check_names"),
        unbilled_reason_name=_name_filter(env, "unbilled_reason_names"),
        risk_band_name=_name_filter(env, "risk_band_names"),
        credit_grade_name=_name_filter(env, "credit_grade_names"),
        customer_measure_name=_name_filter(env, "customer_measure_names"),
        projection_state_name=_name_filter(env, "projection_state_names"),
        money=_money,
        kwh=_kwh,
        number=_number,
    )
    texts = env.get_template(TEXTS).module
    env.globals.update({name: getattr(texts, name) for name in ("signature", *NAMES)})
    return env, texts


_ENV, _TEXTS = _environment()
SIGNATURE: str = _TEXTS.signature
LEVEL_NAMES: dict[str, str] = _TEXTS.level_names
PLAN_TYPE_NAMES: dict[str, str] = _TEXTS.plan_type_names
MEASURE_NAMES: dict[str, str] = _TEXTS.measure_names
CHECK_NAMES: dict[str, str] = _TEXTS.check_names


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


def render_text(name: str, **context: Any) -> str:
    """One piece of wording: the macro `name` of `templates/_texts.j2` called with `context`."""
    macro = getattr(_TEXTS, name, None)
    if macro is None or not callable(macro):
        raise ValueError(f"no text {name!r} in templates/{TEXTS}")
    return str(macro(**context))


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
