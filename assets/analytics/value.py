"""Customer value score by coefficient-of-variation weights (domain.md §9, seed CN118537021A).

Indicators are made positive (a negative one, less is better: 1/(k + max|x| + x), k = 0.1),
normalised per indicator `z_ij = x_ij / √Σ_i x_ij²`, weighted by `w_j = v_j / Σ v` with
`v_j = s_j / x̄_j` (sample standard deviation), and scored `100 · Σ_j w_j z_ij / max_i(...)`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import pick

K = 0.1


@dataclass(frozen=True)
class ValueScores:
    """Scores (0–100) per customer, and the CV and weight of each indicator."""

    scores: np.ndarray
    cv: np.ndarray
    weights: np.ndarray


def make_positive(values: np.ndarray, positive: bool) -> np.ndarray:
    """A 'less is better' indicator becomes 1/(k + max|x| + x); a positive one is unchanged."""
    values = np.asarray(values, dtype=float)
    if positive:
        return values
    return 1 / (K + np.abs(values).max() + values)


def value_scores(matrix: np.ndarray, positive: list[bool]) -> ValueScores:
    """Rows = customers, columns = indicators (raw units). Needs >= 2 customers."""
    x = np.column_stack([make_positive(matrix[:, j], p) for j, p in enumerate(positive)])
    if x.shape[0] < 2:
        raise ValueError("a value score needs at least two customers (a sample s.d.)")
    z = x / np.sqrt((x ** 2).sum(axis=0))
    mean = x.mean(axis=0)
    cv = np.divide(x.std(axis=0, ddof=1), mean, out=np.zeros_like(mean), where=mean != 0)
    weights = cv / cv.sum() if cv.sum() > 0 else np.full(len(cv), 1 / len(cv))
    raw = z @ weights
    return ValueScores(scores=100 * raw / raw.max(), cv=cv, weights=weights)


def grade_by_rank(scores: np.ndarray, grades: list) -> list[str]:
    """Grade each customer by the share of customers scored strictly above it."""
    scores = np.asarray(scores, dtype=float)
    n = len(scores)
    return [pick(grades, float((scores > s).sum()) / n) for s in scores]
