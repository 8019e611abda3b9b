"""How the conclusions of a study depend on its size n (NDS, Section 4 / Figure 7).

NDS asks how many models a design-space comparison needs: it subsamples k models of
a large population and plots the KS distance D between the k-model EDF and the full
one against k. Here, for each space, that same curve (mean and standard deviation
over ``trials`` subsamples without replacement), and for each pair of spaces the
curve a user needs to judge a comparison: D between k-model subsamples of the two
spaces, how often a KS test at that k calls the difference significant (p < 0.05 by
scipy's exact two-sample test, through its critical D at k models each),
and how often the subsamples rank the spaces (by median error) as the full
populations do. If D is still falling, or the agreement is far from 1, at the
study's own n, more models could change the conclusion. The expected min error
against n is the random-search curve (``random_search``), exact.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import stats

from .edf import weighted_sup_distance


def subsample_sizes(n: int, smallest: int = 2) -> list[int]:
    """Powers of two from ``smallest`` below n, then n itself."""
    sizes = []
    k = smallest
    while k < n:
        sizes.append(k)
        k *= 2
    return sizes + [n] if n >= 1 else sizes


@dataclass(frozen=True)
class SpaceSampleSize:
    """D(k-model subsample, full population) against k, for one space."""

    sizes: list[int]
    d_mean: list[float]
    d_std: list[float]
    trials: int

    def as_dict(self) -> dict:
        return {'k': self.sizes, 'D_mean': self.d_mean, 'D_std': self.d_std,
                'trials': self.trials}


@dataclass(frozen=True)
class PairSampleSize:
    """Two spaces compared on k-model subsamples of each, against k."""

    sizes: list[int]
    d_mean: list[float]
    d_std: list[float]
    significant: list[float]    # fraction of trials with exact KS p < alpha
    agree: list[float]          # fraction ranking the spaces as the full populations do
    full_d: float
    trials: int

    def as_dict(self) -> dict:
        return {'k': self.sizes, 'D_mean': self.d_mean, 'D_std': self.d_std,
                'significant_fraction': self.significant, 'agree_fraction': self.agree,
                'D_full': self.full_d, 'trials': self.trials}


@functools.lru_cache(maxsize=None)
def equal_size_critical_value(k: int, alpha: float = 0.05) -> float:
    """Smallest D that scipy's exact two-sample KS test calls significant (p < alpha)
    for two samples of k models each (compare with a 1e-9 slack: D is a float j / k);
    1.01 (never) when none is. D takes the values
    j / k; the exact p of D = j / k comes from two samples a distance j apart."""
    base = np.arange(k, dtype=float)

    def p_of(j: int) -> float:
        return float(stats.ks_2samp(base, base + j - 0.5, method='exact').pvalue)

    if p_of(k) >= alpha:
        return 1.01
    lo, hi = 1, k                       # p_of(hi) < alpha; find the smallest such j
    while lo < hi:
        mid = (lo + hi) // 2
        if p_of(mid) < alpha:
            hi = mid
        else:
            lo = mid + 1
    return lo / k                       # D >= lo / k (and only those)


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def space_sample_size(errors: Sequence[float], trials: int = 50,
                      seed: int | np.random.Generator | None = 0) -> SpaceSampleSize:
    """NDS Figure 7 (right) for one population."""
    e = np.asarray(errors, dtype=float).ravel()
    rng = _rng(seed)
    sizes = subsample_sizes(e.size)
    means, stds = [], []
    for k in sizes:
        d = [weighted_sup_distance(rng.choice(e, k, replace=False), e)
             for _ in range(trials if k < e.size else 1)]
        means.append(float(np.mean(d)))
        stds.append(float(np.std(d)))
    return SpaceSampleSize(sizes, means, stds, trials)


def pair_sample_size(errors1: Sequence[float], errors2: Sequence[float],
                     trials: int = 50, seed: int | np.random.Generator | None = 0,
                     alpha: float = 0.05) -> PairSampleSize:
    """Comparison of two spaces on k-model subsamples of each, k up to the smaller n."""
    a = np.asarray(errors1, dtype=float).ravel()
    b = np.asarray(errors2, dtype=float).ravel()
    rng = _rng(seed)
    full_sign = np.sign(np.median(a) - np.median(b))
    sizes = subsample_sizes(min(a.size, b.size))
    means, stds, significant, agree = [], [], [], []
    for k in sizes:
        d_crit = equal_size_critical_value(k, alpha)
        d, same = [], []
        for _ in range(trials):
            sa = a if k == a.size else rng.choice(a, k, replace=False)
            sb = b if k == b.size else rng.choice(b, k, replace=False)
            d.append(weighted_sup_distance(sa, sb))
            same.append(np.sign(np.median(sa) - np.median(sb)) == full_sign)
        means.append(float(np.mean(d)))
        stds.append(float(np.std(d)))
        significant.append(float(np.mean(np.array(d) >= d_crit - 1e-9)))
        agree.append(float(np.mean(same)))
    return PairSampleSize(sizes, means, stds, significant, agree,
                          float(stats.ks_2samp(a, b).statistic), trials)
