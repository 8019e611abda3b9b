"""Random-search efficiency: the expected min error of m random models (NDS, SPEC 6).

Exact, from order statistics of the observed population (no simulation). Sort the
n errors ``e_(1) <= ... <= e_(n)``. Drawing m models:

* without replacement (m distinct models of the population, as a study of size m
  would), ``P(min rank >= i) = C(n-i+1, m) / C(n, m)``, so
  ``P(min = e_(i)) = [C(n-i+1, m) - C(n-i, m)] / C(n, m)``;
* with replacement (m i.i.d. draws from the empirical distribution),
  ``P(min = e_(i)) = ((n-i+1)/n)^m - ((n-i)/n)^m``.

Ties are harmless: tied errors share the same value whatever rank gets the mass.
Binomial ratios are computed in log space (``scipy.special.gammaln``) so n = 500,
m = 256 stays exact to floating point.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy.special import gammaln


def _log_comb(n: np.ndarray, k: int) -> np.ndarray:
    """log C(n, k), -inf where n < k."""
    n = np.asarray(n, dtype=float)
    out = np.full(n.shape, -np.inf)
    ok = n >= k
    out[ok] = gammaln(n[ok] + 1) - gammaln(k + 1) - gammaln(n[ok] - k + 1)
    return out


def min_rank_probabilities(n: int, m: int, replace: bool = False) -> np.ndarray:
    """``p[i-1] = P(the min of m draws is the i-th smallest of n)``, i = 1..n."""
    if n < 1:
        raise ValueError('random-search efficiency needs at least one finished model')
    if isinstance(m, bool) or int(m) != m or m < 1:
        raise ValueError(f'm must be an integer >= 1, got {m!r}')
    if not replace and m > n:
        raise ValueError(f'cannot draw m={m} distinct models from a population of {n}; '
                         f'use replace=True or m <= n')
    i = np.arange(1, n + 1, dtype=float)
    if replace:
        return ((n - i + 1) / n) ** m - ((n - i) / n) ** m
    total = _log_comb(np.array([n]), m)[0]
    at_least = np.exp(_log_comb(n - i + 1, m) - total)
    above = np.exp(_log_comb(n - i, m) - total)
    return at_least - above


def expected_min_error(errors: Sequence[float], m: int, replace: bool = False) -> float:
    """E[min error of m random models of the population]."""
    e = np.sort(np.asarray(errors, dtype=float).ravel())
    if not np.all(np.isfinite(e)):
        raise ValueError('errors must be finite (drop failed models first)')
    return float(np.dot(min_rank_probabilities(e.size, m, replace), e))


def min_error_quantile(errors: Sequence[float], m: int, q: float,
                       replace: bool = False) -> float:
    """The q-quantile of the min error of m random models (exact, from its pmf)."""
    if not 0 <= q <= 1:
        raise ValueError(f'q must be in [0, 1], got {q!r}')
    e = np.sort(np.asarray(errors, dtype=float).ravel())
    cdf = np.cumsum(min_rank_probabilities(e.size, m, replace))
    return float(e[min(e.size - 1, int(np.searchsorted(cdf, q - 1e-12, side='left')))])


@dataclass(frozen=True)
class RandomSearchCurve:
    """Expected min error (and its 25/75% quantiles) for m = 1, 2, 4, ..."""

    m: list[int]
    expected: list[float]
    q25: list[float]
    q75: list[float]
    replace: bool

    def as_dict(self) -> dict:
        return {'m': self.m, 'expected_min_error': self.expected, 'q25': self.q25,
                'q75': self.q75, 'replace': self.replace}


def random_search_efficiency(errors: Sequence[float], max_m: int | None = None,
                             replace: bool = False) -> RandomSearchCurve:
    """The curve over m = 1, 2, 4, ... up to ``max_m`` (default: the population size)."""
    e = np.asarray(errors, dtype=float).ravel()
    if e.size == 0:
        raise ValueError('random-search efficiency needs at least one finished model')
    limit = e.size if max_m is None else int(max_m)
    if not replace:
        limit = min(limit, e.size)
    ms = [1]
    while ms[-1] * 2 <= limit:
        ms.append(ms[-1] * 2)
    return RandomSearchCurve(
        ms, [expected_min_error(e, m, replace) for m in ms],
        [min_error_quantile(e, m, 0.25, replace) for m in ms],
        [min_error_quantile(e, m, 0.75, replace) for m in ms], replace)
