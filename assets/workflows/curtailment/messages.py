"""What each curtailment notice is given: the template contexts, the load-curve summary and the
default plan name. Numbers and times are formatted here; the wording is in the templates
(`notifications/templates/curtailment_*.j2` and the macros of `_texts.j2`).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from assets.workflows.curtailment.baseline import quantize_kw
from notifications.templates import render_text

if TYPE_CHECKING:
    from assets.workflows.curtailment.plans import Plan


def fmt_kw(value: Decimal) -> str:
    """12.500 -> '12.5', 300.000 -> '300'."""
    return f"{value.normalize():f}"


def fmt_time(value: datetime) -> str:
    return f"{value:%Y-%m-%d %H:%M}"


def curve_summary(curves: dict[str, tuple[date, list[tuple[int, Decimal]]]]) -> str:
    """Peak (and its hour) and mean kW per reference day, or no data (macro `curve_summary`)."""
    summaries = []
    for curve, (day, points) in curves.items():
        peak = peak_hour = mean = None
        if points:
            peak_hour, peak = max(points, key=lambda p: (p[1], -p[0]))
            mean = fmt_kw(quantize_kw(sum(kw for _, kw in points) / len(points)))
            peak = fmt_kw(peak)
        summaries.append({"curve": curve, "day": day, "points": len(points), "peak": peak,
                          "peak_hour": peak_hour, "mean": mean})
    return render_text("curve_summary", curves=summaries)


def customer_name(customer: tuple | None) -> str:
    """The addressee: the customer's name, or all units for the plan-level notice."""
    return render_text("all_customers") if customer is None else customer[0]


def plan_context(plan: Plan) -> dict[str, Any]:
    return {"plan_id": plan.plan_id, "plan_name": plan.plan_name,
            "plan_type": plan.plan_type, "level": plan.warning_level,
            "measure": plan.measure, "window_start": fmt_time(plan.window_start),
            "window_end": fmt_time(plan.window_end)}


def notice_context(plan: Plan, customer: tuple | None) -> dict[str, Any]:
    """`curtailment_notice`; customer is (name, retailer, target_kw, load summary) or None."""
    if customer is None:  # plan-level notice
        return {**plan_context(plan), "customer_name": customer_name(customer)}
    name, _, target_kw, summary = customer
    return {**plan_context(plan), "customer_name": name,
            "reduction_kw": fmt_kw(Decimal(target_kw)),
            "load_curves": summary or render_text("no_data")}


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
            "contact_name": render_text("waiting_contacts", names=waiting)}


__all__ = [
    "all_clear_context", "curve_summary", "customer_name",
    "escalation_context", "fmt_kw", "fmt_time", "notice_context", "plan_context",
    "reminder_context",
]
