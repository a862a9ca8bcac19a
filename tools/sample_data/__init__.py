"""Deterministic sample data for Gridledger: master data, landing files and fault ground truth.

Usage: `generate(Path("var/data"), meters=50, months=1, start="2026-10", seed=7)` or
`python -m tools.sample_data --meters 50 --months 1 --start 2026-10 --seed 7`.
"""

from .faults import FAULT_TYPES, FaultRates
from .generator import generate

__all__ = ["FAULT_TYPES", "FaultRates", "generate"]
