"""Error distribution functions (EDFs) of design spaces and their KS comparison.

NDS (``docs/design.md``, Comparing design spaces): a design space is judged by the
distribution of the errors of
models sampled from it, not by its best model. Two flavours:

* the plain EDF ``F(e) = (1/n) * sum_i 1[e_i < e]``;
* the complexity-normalized EDF of NDS, where model i carries weight ``w_i`` chosen
  so that the complexity (e.g. flops) distribution looks uniform: the complexity
  range is split into ``k`` equal bins and each of the ``m_j`` models of bin j gets
  ``w = 1 / (k' * m_j)`` with ``k'`` the number of non-empty bins (``k' = k`` when
  every bin is occupied, which is NDS' ``compute_norm_ws``; NDS asserts that no bin
  is empty, here an empty bin's share is spread over the others and the report
  warns). All spaces of one comparison use ONE range (``shared_range``): NDS
  normalizes over a fixed range and leaves out, and counts, the models outside it;
  each space's own range would compare different complexity mixes.

Spaces are compared with the Kolmogorov-Smirnov statistic ``D = sup_e |F1 - F2|``.
For plain EDFs the statistic and p-value are ``scipy.stats.ks_2samp``'s. For weighted
EDFs ``D`` is the exact weighted sup distance and the p-value comes from the same
two-sample KS null distribution evaluated at Kish's effective sample sizes
``n_eff = (sum w)^2 / sum w^2`` (equal weights give back n; unequal weights shrink
it, making the test more conservative). This is an approximation: the weights are
themselves estimated from the sample, which the null distribution ignores.

Everything here is numpy/scipy only.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
from scipy import stats

from ..validate import check_int


def _as_errors(errors: Sequence[float], name: str = 'errors') -> np.ndarray:
    array = np.asarray(errors, dtype=float).ravel()
    if array.size == 0:
        raise ValueError(f'{name} is empty: an EDF needs at least one model')
    if not np.all(np.isfinite(array)):
        raise ValueError(f'{name} contains NaN or infinite values; drop failed models '
                         f'before building an EDF')
    return array


def _as_weights(weights: Sequence[float] | None, n: int) -> np.ndarray:
    if weights is None:
        return np.full(n, 1.0 / n)
    w = np.asarray(weights, dtype=float).ravel()
    if w.shape != (n,):
        raise ValueError(f'weights has {w.size} entries, expected {n} (one per error)')
    if np.any(w < 0) or not np.all(np.isfinite(w)) or w.sum() <= 0:
        raise ValueError('weights must be finite, non-negative and not all zero')
    return w / w.sum()


def edf(errors: Sequence[float], at: Sequence[float] | float,
        weights: Sequence[float] | None = None, side: str = 'left') -> np.ndarray:
    """``F(e) = sum_i w_i 1[e_i < e]`` (``w_i = 1/n`` unless ``weights`` given).

    The inequality is strict, as in the paper: ``F(e_i)`` does not count model i.
    ``side='right'`` gives the right-continuous ``sum_i w_i 1[e_i <= e]`` instead.
    """
    if side not in ('left', 'right'):
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    e = _as_errors(errors)
    w = _as_weights(weights, e.size)
    order = np.argsort(e, kind='stable')
    sorted_e = e[order]
    cumulative = np.concatenate([[0.0], np.cumsum(w[order])])
    points = np.asarray(at, dtype=float)
    # number of e_i below (left) or at-or-below (right) each point -> weight up to it
    counts = np.searchsorted(sorted_e, points, side=side)
    return np.clip(cumulative[counts], 0.0, 1.0)


def normalized_weights(complexities: Sequence[float], num_bins: int = 10,
                       value_range: tuple[float, float] | None = None) -> np.ndarray:
    """NDS complexity normalisation: weights that make the complexity histogram flat.

    The range (``value_range`` or the sample's min..max) is split into ``num_bins``
    equal bins; each of the ``m_j`` models in bin j gets ``1 / (k' * m_j)`` where
    ``k'`` is the number of non-empty bins. Every non-empty bin then carries the same
    total weight ``1 / k'`` and the weights sum to 1.
    """
    c = np.asarray(complexities, dtype=float).ravel()
    if c.size == 0:
        raise ValueError('complexities is empty')
    if not np.all(np.isfinite(c)):
        raise ValueError('complexities contains NaN or infinite values')
    num_bins = check_int('num_bins', num_bins, 1)
    lo, hi = value_range if value_range is not None else (c.min(), c.max())
    if hi < lo:
        raise ValueError(f'value_range must be (low, high) with low <= high, '
                         f'got {value_range!r}')
    if np.any((c < lo) | (c > hi)):
        raise ValueError(f'complexities fall outside value_range {value_range!r}')
    bins = bin_indices(c, int(num_bins), (float(lo), float(hi)))
    counts = np.bincount(bins, minlength=int(num_bins))
    occupied = int(np.count_nonzero(counts))
    return 1.0 / (occupied * counts[bins])


def bin_indices(values: np.ndarray, num_bins: int,
                value_range: tuple[float, float]) -> np.ndarray:
    """Index of the equal-width bin of each value, as ``np.histogram`` bins them:
    [e_i, e_i+1) with edges ``linspace(lo, hi, num_bins + 1)``, the top edge in the
    last bin."""
    lo, hi = value_range
    values = np.asarray(values, dtype=float)
    if hi == lo:
        return np.zeros(values.shape, dtype=int)
    edges = np.linspace(lo, hi, num_bins + 1)
    return np.clip(np.searchsorted(edges, values, side='right') - 1, 0, num_bins - 1)


def shared_range(complexities: Mapping[str, Sequence[float]],
                 fixed: Sequence[float | None] | None = None) -> tuple[float, float] | None:
    """The one complexity range a normalized comparison uses.

    ``fixed`` (e.g. the study's regime bounds) wins; a side it leaves as None, or no
    ``fixed`` at all, comes from the overlap of the spaces' ranges (largest minimum,
    smallest maximum), so that every space can populate every bin. None when the
    spaces do not overlap.
    """
    arrays = [np.asarray(c, dtype=float) for c in complexities.values() if len(c)]
    if not arrays:
        return None
    lo = max(float(a.min()) for a in arrays)
    hi = min(float(a.max()) for a in arrays)
    if fixed is not None:
        lo = lo if fixed[0] is None else float(fixed[0])
        hi = hi if fixed[1] is None else float(fixed[1])
    return (lo, hi) if lo <= hi else None


@dataclass(frozen=True)
class Normalization:
    """One space's share of a normalized comparison over a shared range."""

    value_range: tuple[float, float]
    inside: np.ndarray          # bool mask over the space's finished models
    weights: np.ndarray         # over the models inside (sum 1); empty if none
    bin_counts: np.ndarray      # models per bin

    @property
    def left_out(self) -> int:
        return int(np.count_nonzero(~self.inside))

    def as_dict(self) -> dict:
        return {'range': list(self.value_range), 'kept': int(self.inside.sum()),
                'left_out': self.left_out, 'bin_counts': self.bin_counts.tolist(),
                'n_eff': effective_sample_size(self.weights) if self.weights.size else 0.0}


def normalize_over(complexities: Sequence[float], value_range: tuple[float, float],
                   num_bins: int = 10) -> Normalization:
    """NDS weights of the models inside ``value_range`` (inclusive), and who is out."""
    c = np.asarray(complexities, dtype=float).ravel()
    lo, hi = value_range
    inside = (c >= lo) & (c <= hi)
    if not inside.any():
        return Normalization((lo, hi), inside, np.zeros(0), np.zeros(num_bins, dtype=int))
    weights = normalized_weights(c[inside], num_bins, (lo, hi))
    counts = np.bincount(bin_indices(c[inside], num_bins, (lo, hi)), minlength=num_bins)
    return Normalization((lo, hi), inside, weights, counts)


def dkw_halfwidth(n: float, confidence: float = 0.95) -> float:
    """Half-width of the Dvoretzky-Kiefer-Wolfowitz band: with probability at least
    ``confidence`` the true CDF lies within this distance of the EDF of n i.i.d.
    models, everywhere at once: ``sqrt(log(2 / alpha) / (2 n))``. For a weighted EDF
    pass Kish's effective n (an approximation)."""
    if not n > 0:
        raise ValueError(f'n must be > 0, got {n!r}')
    return float(np.sqrt(np.log(2 / (1 - confidence)) / (2 * n)))


def ks_critical_value(n1: float, n2: float, alpha: float = 0.05) -> float:
    """The smallest D that a two-sample KS test at these (effective) sizes calls
    significant at level alpha (the null distribution ``ks_pvalue_effective`` uses).
    Differences below it cannot be told from sampling noise at this n."""
    n = max(1, int(round(n1 * n2 / (n1 + n2))))
    return float(stats.kstwo.isf(alpha, n))


def _grid(*samples: np.ndarray) -> np.ndarray:
    return np.unique(np.concatenate(samples))


def weighted_sup_distance(errors1: Sequence[float], errors2: Sequence[float],
                          weights1: Sequence[float] | None = None,
                          weights2: Sequence[float] | None = None) -> float:
    """``sup_e |F1(e) - F2(e)|`` of two (weighted) EDFs, computed exactly.

    Both EDFs are step functions that only jump at sample points: on each interval
    between consecutive pooled sample points (and above the largest) the strict EDF
    equals the right-continuous one at the interval's left end, and below the
    smallest both are 0. So the supremum is the largest difference of the
    right-continuous EDFs at the pooled sample points (what ``ks_2samp`` computes).
    """
    e1, e2 = _as_errors(errors1, 'errors1'), _as_errors(errors2, 'errors2')
    grid = _grid(e1, e2)
    return float(np.max(np.abs(edf(e1, grid, weights1, side='right')
                               - edf(e2, grid, weights2, side='right'))))


def effective_sample_size(weights: Sequence[float]) -> float:
    """Kish's effective sample size ``(sum w)^2 / sum w^2``."""
    w = np.asarray(weights, dtype=float)
    return float(w.sum() ** 2 / np.sum(w ** 2))


@dataclass(frozen=True)
class KSResult:
    """Two-sample KS comparison of two design spaces' EDFs."""

    statistic: float
    pvalue: float
    n1: float
    n2: float
    weighted: bool
    method: str

    def as_dict(self) -> dict:
        return {'D': self.statistic, 'pvalue': self.pvalue, 'n1': self.n1,
                'n2': self.n2, 'weighted': self.weighted, 'method': self.method}


def ks_test(errors1: Sequence[float], errors2: Sequence[float],
            weights1: Sequence[float] | None = None,
            weights2: Sequence[float] | None = None) -> KSResult:
    """KS statistic ``D = sup |F1 - F2|`` and its p-value.

    Without weights this is ``scipy.stats.ks_2samp`` (exact or asymptotic as scipy
    chooses). With weights (normalized EDFs), ``D`` is the weighted sup distance and
    the p-value is the two-sample KS survival function at Kish's effective sample
    sizes (see the module docstring for why and what it ignores).
    """
    e1, e2 = _as_errors(errors1, 'errors1'), _as_errors(errors2, 'errors2')
    if weights1 is None and weights2 is None:
        result = stats.ks_2samp(e1, e2)
        return KSResult(float(result.statistic), float(result.pvalue), e1.size,
                        e2.size, False, 'scipy.stats.ks_2samp')
    w1, w2 = _as_weights(weights1, e1.size), _as_weights(weights2, e2.size)
    d = weighted_sup_distance(e1, e2, w1, w2)
    n1, n2 = effective_sample_size(w1), effective_sample_size(w2)
    pvalue = ks_pvalue_effective(d, n1, n2)
    return KSResult(d, pvalue, n1, n2, True,
                    'weighted sup distance; p from KS null at Kish effective n')


def ks_pvalue_effective(statistic: float, n1: float, n2: float) -> float:
    """P(D >= statistic) under H0 for two samples of (effective) sizes n1, n2.

    Uses the one-sample exact distribution ``kstwo`` at ``n = n1*n2/(n1+n2)``
    (rounded, at least 1), the same device scipy uses for its asymptotic two-sample
    p-value; it stays valid for small non-integer effective sizes.
    """
    if statistic <= 0:
        return 1.0
    n = max(1, int(round(n1 * n2 / (n1 + n2))))
    return float(np.clip(stats.kstwo.sf(statistic, n), 0.0, 1.0))


@dataclass(frozen=True)
class EDFSummary:
    """What the paper prints beside each EDF curve."""

    n: int
    min_error: float
    mean_error: float
    median_error: float

    def as_dict(self) -> dict:
        return {'n': self.n, 'min_error': self.min_error, 'mean_error': self.mean_error,
                'median_error': self.median_error}


def summarize(errors: Sequence[float]) -> EDFSummary:
    e = _as_errors(errors)
    return EDFSummary(int(e.size), float(e.min()), float(e.mean()), float(np.median(e)))
