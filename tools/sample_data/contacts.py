"""Contacts, notification groups, group members and notice subscriptions."""

from __future__ import annotations

import numpy as np

from . import names
from .master import IND_INDUSTRIES, RES, RETAILERS, Customer

KEY_INDUSTRIES = ("钢铁", "化工", "建材")  # high-energy users listed first in curtailment plans
INDUSTRY_ORDER = (*IND_INDUSTRIES, "商业", "居民")
MANAGER_NOTICES = ("deviation_risk", "capacity_exceeded", "meter_anomaly", "unbilled_energy",
                   "customer_measures")


def _contact(index: int, customer_id: str | None, role: str, person: tuple[str, str],
             channels: str, prefix: str = "138") -> dict[str, object]:
    return {"contact_id": f"CP{index:06d}", "customer_id": customer_id, "contact_name": person[0],
            "role": role, "phone": names.phone(prefix, index),
            "email": f"{person[1]}{index}@example.cn", "channels": channels}


def build_contacts(rng: np.random.Generator, customers: list[Customer]) -> dict[str, list[dict]]:
    """Rows for contacts.csv, contact_groups.csv, contact_group_members.csv and subscriptions."""
    contacts: list[dict[str, object]] = []
    owner: dict[str, Customer] = {}
    for c in customers:
        for _ in range(1 if c.cls == RES else 1 + int(rng.random() < 0.5)):
            row = _contact(len(contacts) + 1, c.customer_id, "customer_contact", names.person(rng),
                           "sms" if c.cls == RES else "sms;email")
            contacts.append(row)
            owner[row["contact_id"]] = c
    managers = [_contact(len(contacts) + 1 + i, None, "account_manager", names.person(rng),
                         "email;sms", "139") for i in range(len(RETAILERS))]
    contacts += managers
    government = [_contact(len(contacts) + 1 + i, None, "government", names.person(rng), "email",
                           "137") for i in range(2)]
    contacts += government

    regions = [r for r in names.REGIONS if any(c.region == r for c in customers)]
    industries = [i for i in INDUSTRY_ORDER if any(c.industry == i for c in customers)]
    groups = [{"group_id": f"GRP_REG_{i + 1:02d}", "group_type": "region",
               "group_name": f"{r}地区用户", "region": r, "industry": None}
              for i, r in enumerate(regions)]
    groups += [{"group_id": f"GRP_IND_{i + 1:02d}", "group_type": "industry",
                "group_name": f"{ind}行业用户", "region": None, "industry": ind}
               for i, ind in enumerate(industries)]
    groups.append({"group_id": "GRP_CUS_01", "group_type": "custom",
                   "group_name": "有序用电重点用户", "region": None, "industry": None})
    region_group = {g["region"]: g["group_id"] for g in groups if g["group_type"] == "region"}
    industry_group = {g["industry"]: g["group_id"] for g in groups if g["group_type"] == "industry"}

    members, subscriptions = [], []
    for contact_id, c in owner.items():
        members.append({"group_id": region_group[c.region], "contact_id": contact_id})
        members.append({"group_id": industry_group[c.industry], "contact_id": contact_id})
        if c.industry in KEY_INDUSTRIES or c.capacity_kva >= 5000:
            members.append({"group_id": "GRP_CUS_01", "contact_id": contact_id})
        notices = ["bill_ready"] if rng.random() < 0.95 else []
        if rng.random() < (0.3 if c.cls == RES else 0.9):
            notices.append("curtailment")
        if rng.random() < 0.05:
            notices.append("termination")
        subscriptions += [{"contact_id": contact_id, "notice_type": n} for n in notices]
    for row in government:
        members.append({"group_id": "GRP_CUS_01", "contact_id": row["contact_id"]})
        subscriptions.append({"contact_id": row["contact_id"], "notice_type": "curtailment"})
    for row in managers:
        subscriptions += [{"contact_id": row["contact_id"], "notice_type": n}
                          for n in MANAGER_NOTICES]
    members.sort(key=lambda r: (r["group_id"], r["contact_id"]))
    return {"contacts": contacts, "contact_groups": groups,
            "contact_group_members": members, "contact_subscriptions": subscriptions}
