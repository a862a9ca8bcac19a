"""Retailers, customers and metering points, plus the per-meter arrays the load model needs.

Contracts live in `contracts.py` and contacts in `contacts.py`; this module only decides who the
customers are and how they are metered.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import names

CLASSES = ("industrial", "commercial", "residential")
IND, COM, RES = 0, 1, 2
PACKAGES = ("PKG_FIXED_TOU", "PKG_LINKED", "PKG_SPREAD", "PKG_SINGLE", "PKG_TIERED_RES",
            "PKG_GREEN")
BASIC_MODES = ("capacity", "contract_demand", "actual_demand")

RETAILERS = (
    ("RT01", "冀北智慧能源售电有限公司", "中国工商银行唐山分行", "0403012309300012345", 5_000_000),
    ("RT02", "燕赵绿电售电有限公司", "中国建设银行廊坊分行", "13050161880800001234", 3_000_000),
    ("RT03", "长城电力销售有限公司", "中国农业银行张家口分行", "50650101040012345", 2_000_000),
)
RETAILER_WEIGHTS = (0.5, 0.3, 0.2)

CAPACITIES = {
    (IND, "kv_1_10"): (315, 400, 500, 630, 800, 1000, 1250, 1600, 2000, 2500, 3150, 4000, 5000),
    (IND, "kv_35"): (8000, 10000, 12500, 16000, 20000),
    (IND, "kv_110"): (31500, 40000, 50000, 63000),
    (COM, "lt_1kv"): (20, 30, 50, 80, 100, 125, 160, 200, 250),
    (COM, "kv_1_10"): (315, 400, 500, 630, 800, 1000, 1250, 1600, 2000),
    (RES, "lt_1kv"): (4, 6, 8, 10, 12),
}
IND_INDUSTRIES = ("钢铁", "化工", "建材", "机械制造", "数据中心", "食品加工", "农业")
IND_INDUSTRY_P = (0.22, 0.18, 0.16, 0.16, 0.10, 0.10, 0.08)
LOAD_FACTOR = {IND: (0.35, 0.60), COM: (0.12, 0.28), RES: (0.04, 0.09)}
PACKAGE_P = {
    IND: (0.35, 0.2, 0.2, 0.1, 0.0, 0.15),
    COM: (0.35, 0.2, 0.2, 0.1, 0.0, 0.15),
    RES: (0.1, 0.0, 0.0, 0.2, 0.7, 0.0),
}
KV = {"lt_1kv": 0.4, "kv_1_10": 10.0, "kv_35": 35.0, "kv_110": 110.0}
PT_RATIO = {"lt_1kv": 1, "kv_1_10": 100, "kv_35": 350, "kv_110": 1100}
CT_PRIMARIES = (5, 10, 15, 20, 30, 40, 50, 75, 100, 150, 200, 300, 400, 600, 800, 1000, 1500)


@dataclass
class Customer:
    """One customer row plus generator-only attributes (meters, load factor, exceedance)."""

    customer_id: str
    customer_name: str
    retailer_id: str
    cls: int
    voltage_level: str
    region: str
    industry: str
    capacity_kva: int
    load_factor: float
    package_id: str = ""
    basic_charge_mode: str = "none"
    contract_demand_kw: int | None = None
    meters: list[int] = field(default_factory=list)
    exceeds_capacity: bool = False

    @property
    def tariff_type(self) -> str:
        return "two_part" if self.capacity_kva >= 315 else "single_part"

    @property
    def pf_standard(self) -> str:
        if self.cls == RES or self.capacity_kva < 100:
            return "none"
        if self.industry == "农业":
            return "0.80"
        if self.cls == IND and self.voltage_level != "lt_1kv" and self.capacity_kva >= 160:
            return "0.90"
        return "0.85"

    def row(self, valid_from: str) -> dict[str, object]:
        """customers.csv row; HV customers own their transformers (transformer = capacity)."""
        transformer = self.capacity_kva if self.voltage_level != "lt_1kv" else None
        return {
            "customer_id": self.customer_id, "customer_name": self.customer_name,
            "retailer_id": self.retailer_id, "customer_class": CLASSES[self.cls],
            "voltage_level": self.voltage_level, "region": self.region, "industry": self.industry,
            "tariff_type": self.tariff_type, "contract_capacity_kva": self.capacity_kva,
            "pf_standard": self.pf_standard, "basic_charge_mode": self.basic_charge_mode,
            "contract_demand_kw": self.contract_demand_kw, "transformer_kva": transformer,
            "valid_from": valid_from, "valid_to": None,
        }


@dataclass
class Fleet:
    """Per-meter arrays (index = meter number - 1) used by the load and fault models."""

    meter_ids: list[str]
    customer_index: np.ndarray
    cls: np.ndarray
    kva_meter: np.ndarray
    kva_customer: np.ndarray
    avg_kw: np.ndarray
    pf: np.ndarray
    ct: np.ndarray
    pt: np.ndarray
    digits: np.ndarray
    exceeds: np.ndarray

    @property
    def multiplier(self) -> np.ndarray:
        return self.ct * self.pt

    def __len__(self) -> int:
        return len(self.meter_ids)


def class_counts(n: int) -> list[int]:
    """Meters per class: ~40/35/25 %, every class present once n >= 3."""
    if n < 3:
        return [1, n - 1, 0] if n else [0, 0, 0]
    ind, com = max(1, int(0.40 * n + 0.5)), max(1, int(0.35 * n + 0.5))
    res = n - ind - com
    if res < 1:
        ind, res = ind - 1, 1
    return [ind, com, res]


def ensure_each(values: list[str], required: dict[str, list[int]],
                rng: np.random.Generator) -> None:
    """Reassign values so every required value appears among its eligible indices, if possible."""
    for value, eligible in required.items():
        if any(values[i] == value for i in eligible):
            continue
        counts = Counter(values[i] for i in range(len(values)))
        candidates = [i for i in eligible if counts[values[i]] > 1 and values[i] not in required]
        candidates = candidates or [i for i in eligible if counts[values[i]] > 1]
        if candidates:
            values[candidates[int(rng.integers(len(candidates)))]] = value


def _pick(rng: np.random.Generator, options: tuple, p: tuple[float, ...] | None = None) -> Any:
    return options[int(rng.choice(len(options), p=p))]


def _ct_ratio(voltage: str, kva: float) -> int:
    amps = 1.2 * kva / (math.sqrt(3) * KV[voltage])
    if voltage == "lt_1kv" and amps <= 72:
        return 1  # direct-connected meter
    return next((p for p in CT_PRIMARIES if p >= amps), CT_PRIMARIES[-1]) // 5


def _new_customers(rng: np.random.Generator, meter_cls: np.ndarray) -> list[Customer]:
    """Group meters into customers (~10 % of industrial customers get two meters)."""
    ind_meters = np.flatnonzero(meter_cls == IND)
    n_pairs = int(len(ind_meters) / 11 + 0.5)
    paired = sorted(rng.choice(ind_meters, size=2 * n_pairs, replace=False).tolist())
    partner = {a: b for a, b in zip(paired[::2], paired[1::2], strict=True)}
    second = set(partner.values())
    customers: list[Customer] = []
    for m in range(len(meter_cls)):
        if m in second:
            continue
        cls = int(meter_cls[m])
        region = _pick(rng, names.REGIONS, names.REGION_WEIGHTS)
        industry = {IND: _pick(rng, IND_INDUSTRIES, IND_INDUSTRY_P),
                    COM: "农业" if rng.random() < 0.1 else "商业", RES: "居民"}[cls]
        if cls == IND:
            voltage = _pick(rng, ("kv_1_10", "kv_35", "kv_110"), (0.8, 0.12, 0.08))
        else:
            voltage = "kv_1_10" if cls == COM and rng.random() < 0.5 else "lt_1kv"
        customers.append(Customer(
            customer_id=f"CU{len(customers) + 1:06d}", customer_name="",
            retailer_id=_pick(rng, tuple(r[0] for r in RETAILERS), RETAILER_WEIGHTS),
            cls=cls, voltage_level=voltage, region=region, industry=industry, capacity_kva=0,
            load_factor=0.0, meters=[m] + ([partner[m]] if m in partner else []),
        ))
    return customers


def _cover(rng: np.random.Generator, customers: list[Customer], n_meters: int) -> None:
    """Guarantee the rare combinations tests and downstream models rely on."""
    ind = [i for i, c in enumerate(customers) if c.cls == IND]
    if n_meters >= 20 and len(ind) >= 3:
        volts = [c.voltage_level for c in customers]
        ensure_each(volts, {"kv_35": ind, "kv_110": ind}, rng)
        for c, v in zip(customers, volts, strict=True):
            c.voltage_level = v


def _size(rng: np.random.Generator, customers: list[Customer], n_meters: int) -> None:
    for c in customers:
        c.capacity_kva = _pick(rng, CAPACITIES[(c.cls, c.voltage_level)])
        c.load_factor = float(rng.uniform(*LOAD_FACTOR[c.cls]))
    big = [c for c in customers if c.cls != RES and c.capacity_kva >= 100]
    if n_meters >= 20 and big and not any(c.industry == "农业" for c in big):
        big[int(rng.integers(len(big)))].industry = "农业"
    single_ind = [c for c in customers if c.cls == IND and len(c.meters) == 1]
    prefer = [c for c in single_ind if c.voltage_level == "kv_1_10"] or single_ind
    n_exceed = int(0.03 * len(customers) + 0.5)
    if n_meters >= 20:
        n_exceed = max(1, n_exceed)
    for k in sorted(rng.choice(len(prefer), size=min(n_exceed, len(prefer)), replace=False)):
        prefer[k].exceeds_capacity = True
        prefer[k].load_factor = float(rng.uniform(0.55, 0.60))


def _tariffs(rng: np.random.Generator, customers: list[Customer]) -> None:
    """Packages and basic-charge modes, with every option present where possible."""
    for c in customers:
        c.package_id = _pick(rng, PACKAGES, PACKAGE_P[c.cls])
        if c.tariff_type == "two_part":
            c.basic_charge_mode = _pick(rng, BASIC_MODES, (0.4, 0.35, 0.25))
    everyone = list(range(len(customers)))
    res = [i for i in everyone if customers[i].cls == RES]
    biz = [i for i in everyone if customers[i].cls != RES]
    pkgs = [c.package_id for c in customers]
    ensure_each(pkgs, {"PKG_TIERED_RES": res, "PKG_GREEN": biz, "PKG_FIXED_TOU": everyone,
                       "PKG_LINKED": biz, "PKG_SPREAD": biz, "PKG_SINGLE": everyone}, rng)
    two = [i for i in everyone if customers[i].tariff_type == "two_part"]
    modes = [c.basic_charge_mode for c in customers]
    ensure_each(modes, {m: two for m in BASIC_MODES}, rng)
    for c, pkg, mode in zip(customers, pkgs, modes, strict=True):
        c.package_id, c.basic_charge_mode = pkg, mode
        if mode == "contract_demand":
            c.contract_demand_kw = int(c.capacity_kva * rng.uniform(0.55, 0.85))


def _name(rng: np.random.Generator, customers: list[Customer]) -> None:
    seen: Counter[str] = Counter()
    for c in customers:
        base = names.person(rng)[0] if c.cls == RES else names.company(rng, c.region, c.industry)
        seen[base] += 1
        c.customer_name = base if c.cls == RES or seen[base] == 1 else f"{base}（{seen[base]}）"


def build_fleet(rng: np.random.Generator, customers: list[Customer], n_meters: int) -> Fleet:
    """Per-meter technical arrays; two-meter customers split capacity and load 50-65 / rest."""
    kva_m, kva_c, avg = np.zeros(n_meters), np.zeros(n_meters), np.zeros(n_meters)
    cust, cls = np.zeros(n_meters, np.int64), np.zeros(n_meters, np.int8)
    ct, pt = np.ones(n_meters, np.int64), np.ones(n_meters, np.int64)
    exceeds = np.zeros(n_meters, bool)
    for ci, c in enumerate(customers):
        first = float(rng.uniform(0.5, 0.65)) if len(c.meters) == 2 else 1.0
        for m, share in zip(c.meters, (first, 1.0 - first), strict=False):
            cust[m], cls[m], exceeds[m] = ci, c.cls, c.exceeds_capacity
            kva_m[m], kva_c[m] = c.capacity_kva * share, c.capacity_kva
            avg[m] = c.capacity_kva * c.load_factor * share
            ct[m], pt[m] = _ct_ratio(c.voltage_level, kva_m[m]), PT_RATIO[c.voltage_level]
    return Fleet(
        meter_ids=[f"MP{m + 1:06d}" for m in range(n_meters)], customer_index=cust, cls=cls,
        kva_meter=kva_m, kva_customer=kva_c, avg_kw=avg, pf=rng.uniform(0.78, 0.97, n_meters),
        ct=ct, pt=pt, digits=rng.integers(6, 9, n_meters), exceeds=exceeds,
    )


def build_customers(rng: np.random.Generator, n_meters: int) -> list[Customer]:
    """Customers in meter order with every class, package and basic mode represented."""
    counts = class_counts(n_meters)
    meter_cls = rng.permutation(np.repeat(np.arange(3, dtype=np.int8), counts))
    customers = _new_customers(rng, meter_cls)
    _cover(rng, customers, n_meters)
    _size(rng, customers, n_meters)
    _tariffs(rng, customers)
    _name(rng, customers)
    return customers


def retailer_rows(valid_from: str) -> list[dict[str, object]]:
    return [
        {"retailer_id": rid, "retailer_name": name, "bank_name": bank, "bank_account": account,
         "account_holder": name, "margin_guarantee_yuan": f"{margin:.2f}",
         "valid_from": valid_from, "valid_to": None}
        for rid, name, bank, account, margin in RETAILERS
    ]


def meter_rows(fleet: Fleet, customers: list[Customer], valid_from: str) -> list[dict[str, object]]:
    mult = fleet.multiplier
    return [
        {"meter_id": fleet.meter_ids[m],
         "customer_id": customers[fleet.customer_index[m]].customer_id,
         "ct_ratio": int(fleet.ct[m]), "pt_ratio": int(fleet.pt[m]), "multiplier": int(mult[m]),
         "register_digits": int(fleet.digits[m]), "interval_minutes": 15,
         "valid_from": valid_from, "valid_to": None}
        for m in range(len(fleet))
    ]
