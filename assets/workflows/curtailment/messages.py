"""What each curtailment notice is given: the template contexts, the load-curve summary and the
default plan name. Numbers and times are formatted here; the wording is in the templates.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from assets.workflows.curtailment.baseline import quantize_kw
from notifications.templates import PLAN_TYPE_NAMES

if TYPE_CHECKING:
    from assets.workflows.curtailment.plans import Plan

NO_DATA = "无数据"
ALL_CUSTOMERS = "各有关单位"  # the addressee of a plan-level notice
CURVE_LABELS = {"yesterday": "昨日", "last_month": "上月同日", "last_year": "去年同日"}


def fmt_kw(value: Decimal) -> str:
    """12.500 -> '12.5', 300.000 -> '300'."""
    text_value = f"{value.normalize():f}"
    return text_value


def fmt_time(value: datetime) -> str:
    return f"{value:%Y-%m-%d %H:%M}"


def default_plan_name(start: datetime, plan_type: str) -> str:
    """The name of a plan published without one: '10月15日计划限电'."""
    type_name = PLAN_TYPE_NAMES[plan_type]
    return f"{start.month}月{start.day}日{type_name}"


def curve_summary(curves: dict[str, tuple[date, list[tuple[int, Decimal]]]]) -> str:
    """'昨日(10-14)峰值812.5kW(10时)、均值640kW；上月同日(09-15)无数据；...'."""
    parts = []
    for curve, (day, points) in curves.items():
        label = f"{CURVE_LABELS[curve]}({day:%Y-%m-%d})"
        if not points:
            parts.append(f"{label}{NO_DATA}")
            continue
        peak_hour, peak = max(points, key=lambda p: (p[1], -p[0]))
        mean = quantize_kw(sum(kw for _, kw in points) / len(points))
        parts.append(f"{label}峰值{fmt_kw(peak)}kW({peak_hour}时)、均值{fmt_kw(mean)}kW")
    return "；".join(parts)


def customer_name(customer: tuple | None) -> str:
    """The addressee: the customer's name, or all units for the plan-level notice."""
    return ALL_CUSTOMERS if customer is None else customer[0]


def plan_context(plan: Plan) -> dict[str, Any]:
    return {"plan_id": plan.plan_id, "plan_name": plan.plan_name,
            "plan_type": plan.plan_type, "level": plan.warning_level,
            "measure": plan.measure, "window_start": fmt_time(plan.window_start),
            "window_end": fmt_time(plan.window_end)}


def notice_context(plan: Plan, customer: tuple | None) -> dict[str, Any]:
    """`curtailment_notice`; customer is (name, retailer, target_kw, load summary) or None."""
    if customer is None:  # plan-level notice
        return {**plan_context(plan), "customer_name": ALL_CUSTOMERS}
    name, _, target_kw, summary = customer
    return {**plan_context(plan), "customer_name": name,
            "reduction_kw": fmt_kw(Decimal(target_kw)), "load_curves": summary or NO_DATA}


def reminder_context(plan: Plan, customer: tuple | None) -> dict[str, Any]:
    """`curtailment_reminder`."""
    return {**plan_context(plan), "customer_name": customer_name(customer)}


def all_clear_context(plan: Plan, customer: tuple | None) -> dict[str, Any]:
    """`curtailment_all_clear`."""
    return {"customer_name": customer_name(customer), "plan_id": plan.plan_id,
            "plan_name": plan.plan_name, "ended_at": fmt_time(plan.window_end)}


def escalation_context(plan: Plan, customer_id: str, name: str, waiting: list[str]
                       ) -> dict[str, Any]:
    """`curtailment_escalation`: `waiting` names the contacts who did not acknowledge."""
    return {"customer_name": name, "customer_id": customer_id, "plan_id": plan.plan_id,
            "window_start": fmt_time(plan.window_start),
            "minutes": plan.ack_timeout_minutes,
            "contact_name": "、".join(waiting) if waiting else "（无可联系人）"}


__all__ = [
    "curve_summary", "default_plan_name", "fmt_kw", "fmt_time", "notice_context",
    "plan_context", "reminder_context", "all_clear_context", "escalation_context",
]
