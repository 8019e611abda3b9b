"""Random-search efficiency: the expected min error of m random models (NDS Section 5;
``docs/design.md``, Comparing design spaces).

Exact, from order statistics of the observed population (no simulation). Sort the
n errors ``e_(1) <= ... <= e_(n)``. Drawing m models:

* without replacement (m distinct models of the population, as a study of size m
  would), ``P(min rank >= i) = C(n-i+1, m) / C(n, m)``, so
  ``P(min = e_(i)) = [C(n-i+1, m) - C(n-i, m)] / C(n, m)``;
* with replacement (m i.i.d. draws from the empirical distribution),
  ``P(min = e_(i)) = ((n-i+1)/n)^m - ((n-i)/n)^m``.

* from a weighted population (the complexity-normalized distribution of NDS, drawn
  with replacement as NDS does), with ``S_i`` the total weight of ranks >= i:
  ``P(min >= e_(i)) = S_i^m``, so ``P(min = e_(i)) = S_i^m - S_(i+1)^m``. Equal
  weights give back the with-replacement formula.

NDS plots the mean and mean +- 2 standard deviations of the min error; both are
exact here (``std`` from the pmf), as are the 25/75% quantiles.
Ties are harmless: tied errors share the same value whatever rank gets the mass.
Binomial ratios are computed in log space (``scipy.special.gammaln``) so n = 500,
m = 256 stays exact to floating point.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from scipy.special import gammaln

from ..validate import check_int


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
    m = check_int('m', m, 1)
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


def weighted_min_rank_probabilities(sorted_weights: Sequence[float], m: int) -> np.ndarray:
    """``p[i-1] = P(min rank = i)`` for m draws with replacement, rank i drawn with
    probability ``sorted_weights[i-1]`` (weights of the errors in increasing order,
    normalised here): ``S_i^m - S_(i+1)^m``."""
    w = np.asarray(sorted_weights, dtype=float).ravel()
    if w.size == 0:
        raise ValueError('random-search efficiency needs at least one finished model')
    m = check_int('m', m, 1)
    if np.any(w < 0) or not np.all(np.isfinite(w)) or w.sum() <= 0:
        raise ValueError('weights must be finite, non-negative and not all zero')
    w = w / w.sum()
    tail = np.clip(np.cumsum(w[::-1])[::-1], 0.0, 1.0)     # S_i = sum_{r >= i} w_r
    at_least = tail ** m
    return at_least - np.append(at_least[1:], 0.0)


def _pmf(errors: Sequence[float], m: int, replace: bool,
         weights: Sequence[float] | None) -> tuple[np.ndarray, np.ndarray]:
    """(sorted errors, pmf of the min's rank)."""
    e = np.asarray(errors, dtype=float).ravel()
    if not np.all(np.isfinite(e)):
        raise ValueError('errors must be finite (drop failed models first)')
    order = np.argsort(e, kind='stable')
    if weights is None:
        return e[order], min_rank_probabilities(e.size, m, replace)
    w = np.asarray(weights, dtype=float).ravel()
    if w.shape != e.shape:
        raise ValueError(f'weights has {w.size} entries, expected {e.size}')
    if not replace:
        raise ValueError('weighted random search draws with replacement (as NDS does); '
                         'pass replace=True')
    return e[order], weighted_min_rank_probabilities(w[order], m)


def expected_min_error(errors: Sequence[float], m: int, replace: bool = False,
                       weights: Sequence[float] | None = None) -> float:
    """E[min error of m random models of the population] (weighted: with replacement
    from the weighted population)."""
    e, p = _pmf(errors, m, replace, weights)
    return float(np.dot(p, e))


def min_error_std(errors: Sequence[float], m: int, replace: bool = False,
                  weights: Sequence[float] | None = None) -> float:
    """Standard deviation of the min error of m random models (exact)."""
    e, p = _pmf(errors, m, replace, weights)
    mean = float(np.dot(p, e))
    return float(np.sqrt(max(0.0, float(np.dot(p, (e - mean) ** 2)))))


def min_error_quantile(errors: Sequence[float], m: int, q: float,
                       replace: bool = False,
                       weights: Sequence[float] | None = None) -> float:
    """The q-quantile of the min error of m random models (exact, from its pmf)."""
    if not 0 <= q <= 1:
        raise ValueError(f'q must be in [0, 1], got {q!r}')
    e, p = _pmf(errors, m, replace, weights)
    cdf = np.cumsum(p)
    return float(e[min(e.size - 1, int(np.searchsorted(cdf, q - 1e-12, side='left')))])


@dataclass(frozen=True)
class RandomSearchCurve:
    """Expected min error, its standard deviation and 25/75% quantiles, m = 1, 2, 4..."""

    m: list[int]
    expected: list[float]
    q25: list[float]
    q75: list[float]
    replace: bool
    std: list[float] = field(default_factory=list)
    weighted: bool = False

    def as_dict(self) -> dict:
        return {'m': self.m, 'expected_min_error': self.expected, 'std': self.std,
                'q25': self.q25, 'q75': self.q75, 'replace': self.replace,
                'weighted': self.weighted}


def random_search_efficiency(errors: Sequence[float], max_m: int | None = None,
                             replace: bool = False,
                             weights: Sequence[float] | None = None) -> RandomSearchCurve:
    """The curve over m = 1, 2, 4, ... up to ``max_m`` (default: the population size).

    With ``weights`` (NDS' normalized distribution) the draws are with replacement.
    """
    e = np.asarray(errors, dtype=float).ravel()
    if e.size == 0:
        raise ValueError('random-search efficiency needs at least one finished model')
    if weights is not None:
        replace = True
    limit = e.size if max_m is None else int(max_m)
    if not replace:
        limit = min(limit, e.size)
    ms = [1]
    while ms[-1] * 2 <= limit:
        ms.append(ms[-1] * 2)
    return RandomSearchCurve(
        ms, [expected_min_error(e, m, replace, weights) for m in ms],
        [min_error_quantile(e, m, 0.25, replace, weights) for m in ms],
        [min_error_quantile(e, m, 0.75, replace, weights) for m in ms], replace,
        [min_error_std(e, m, replace, weights) for m in ms], weights is not None)
