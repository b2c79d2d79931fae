"""Preferences by the Analytic Hierarchy Process (Saaty 1980, *The Analytic Hierarchy
Process*; Saaty 1990, EJOR 48:9-26).

A consumer compares n criteria pairwise on Saaty's 9-point scale: a_ij in {1/9, ..., 1/2, 1,
2, ..., 9} says how much more important criterion i is than j, with a_ji = 1 / a_ij and
a_ii = 1. The priority vector w is the principal right eigenvector of A, normalised to sum
1; lambda_max its eigenvalue. Consistency index CI = (lambda_max - n) / (n - 1), consistency
ratio CR = CI / RI(n) with Saaty's random index RI (the mean CI of random reciprocal
matrices). A matrix with CR >= 0.1 is refused, naming the comparisons furthest (in log
ratio) from what the priorities imply, so the consumer knows which answers to revise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from gridledger.sim.errors import InconsistentPreferencesError, TwinError

RANDOM_INDEX: tuple[float, ...] = (0.0, 0.0, 0.0, 0.58, 0.90, 1.12, 1.24, 1.32, 1.41, 1.45, 1.49)
"""Saaty's random index RI(n) for n = 0..10 (RI = 0 for n <= 2: always consistent)."""

CR_LIMIT = 0.1
"""The largest accepted consistency ratio is just below this."""

SCALE: frozenset[Fraction] = frozenset(
    {Fraction(k) for k in range(1, 10)} | {Fraction(1, k) for k in range(2, 10)}
)
"""Saaty's 9-point scale and its reciprocals."""

N_OFFENDING = 3
"""How many of the worst comparisons an inconsistency error names."""


@dataclass(frozen=True, slots=True)
class Priorities:
    """The result of one pairwise matrix: criteria names, weights w (sum 1), lambda_max,
    consistency index CI and ratio CR (0 for n <= 2)."""

    criteria: tuple[str, ...]
    weights: tuple[float, ...]
    lambda_max: float
    consistency_index: float
    consistency_ratio: float

    def weight(self, criterion: str) -> float:
        """The weight of ``criterion``."""
        if criterion not in self.criteria:
            raise TwinError(f"no criterion {criterion!r} (known: {', '.join(self.criteria)})")
        return self.weights[self.criteria.index(criterion)]


def _on_scale(value: float) -> bool:
    return any(math.isclose(value, float(s), rel_tol=1e-9) for s in SCALE)


def check_pairwise(criteria: Sequence[str], matrix: Sequence[Sequence[float]]) -> np.ndarray:
    """``matrix`` as an array after checking shape, the 9-point scale, a unit diagonal and
    reciprocity; TwinError names the first bad entry."""
    n = len(criteria)
    if n == 0 or len(set(criteria)) != n:
        raise TwinError(f"criteria must be non-empty and distinct, got {list(criteria)}")
    a = np.asarray(matrix, dtype=np.float64)
    if a.shape != (n, n):
        raise TwinError(f"pairwise matrix of {n} criteria must be {n}x{n}, got {a.shape}")
    for i in range(n):
        for j in range(n):
            value = float(a[i, j])
            where = f"a[{criteria[i]}, {criteria[j]}] = {value:.4g}"
            if i == j and value != 1.0:
                raise TwinError(f"{where}: the diagonal must be 1")
            if not _on_scale(value):
                raise TwinError(f"{where}: not on the 9-point scale (1/9 ... 9)")
            if not math.isclose(value * float(a[j, i]), 1.0, rel_tol=1e-6):
                raise TwinError(f"{where}: not the reciprocal of a[j, i] = {a[j, i]:.4g}")
    return a


def priorities(criteria: Sequence[str], matrix: Sequence[Sequence[float]]) -> Priorities:
    """The priority vector and consistency of a pairwise matrix; refuses CR >= 0.1 with
    InconsistentPreferencesError naming the worst comparisons."""
    a = check_pairwise(criteria, matrix)
    n = len(criteria)
    eigenvalues, eigenvectors = np.linalg.eig(a)
    k = int(np.argmax(eigenvalues.real))
    w = np.abs(eigenvectors[:, k].real)
    w = w / w.sum()
    lambda_max = float(eigenvalues[k].real)
    ci = max(lambda_max - n, 0.0) / (n - 1) if n > 1 else 0.0
    ri = RANDOM_INDEX[n] if n < len(RANDOM_INDEX) else RANDOM_INDEX[-1]
    cr = ci / ri if ri > 0 else 0.0
    if cr >= CR_LIMIT:
        raise InconsistentPreferencesError(cr, _offending(criteria, a, w))
    return Priorities(tuple(criteria), tuple(float(x) for x in w), lambda_max, ci, cr)


def _offending(
    criteria: Sequence[str], a: np.ndarray, w: np.ndarray
) -> list[tuple[str, str, float, float]]:
    n = len(criteria)
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    pairs.sort(key=lambda p: -abs(math.log(a[p] * w[p[1]] / w[p[0]])))
    return [
        (criteria[i], criteria[j], float(a[i, j]), float(w[i] / w[j]))
        for i, j in pairs[:N_OFFENDING]
    ]


def from_upper(upper: Sequence[float]) -> list[list[float]]:
    """The full reciprocal matrix from its upper triangle, row by row (a_12, a_13, ...,
    a_23, ...): n(n-1)/2 answers for n criteria."""
    m = len(upper)
    n = round((1 + math.sqrt(1 + 8 * m)) / 2)
    if n * (n - 1) // 2 != m:
        raise TwinError(f"{m} answers are not the upper triangle of any square matrix")
    a = [[1.0] * n for _ in range(n)]
    it = iter(upper)
    for i in range(n):
        for j in range(i + 1, n):
            value = float(next(it))
            if value <= 0:
                raise TwinError(f"answer a[{i}, {j}] = {value} must be > 0")
            a[i][j], a[j][i] = value, 1.0 / value
    return a
