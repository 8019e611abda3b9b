"""Empirical bootstrap of a parameter's best value (paper Section 3.1, Figure 5).

Repeat ``reps`` times: draw ``frac`` of the (value, error) pairs with replacement and
keep the value of the lowest-error pair. The 2.5 and 97.5 percentiles of the kept
values give the 95% range of the best value, their median its most likely value.
The paper uses 10^4 repetitions of a 25% subsample (its reference code 2500); the
defaults follow the paper. The subsample size is ``max(1, int(fraction * n))``, as in
pycls (``pycls/sweep/analysis.py``, ``get_filters``): rounded down, so n = 6 gives 1
model, n = 14 gives 3. Fully vectorised: 10^4 x 125 draws take milliseconds.

With k-model subsamples the winner is the best of k random models: for small k (the
report warns below 25) the range says which few models exist, not a trend.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..validate import check_int, check_number
from .options import DEFAULT_FRACTION, DEFAULT_REPS


@dataclass(frozen=True)
class BestValueRange:
    """Bootstrap estimate of where the best value of one parameter lies."""

    low: float
    median: float
    high: float
    reps: int
    subsample: int
    n: int
    confidence: float = 0.95

    def as_dict(self) -> dict:
        return {'low': self.low, 'median': self.median, 'high': self.high,
                'reps': self.reps, 'subsample': self.subsample, 'n': self.n,
                'confidence': self.confidence}

    def covers(self, value: float) -> bool:
        return self.low <= value <= self.high


def subsample_size(n: int, fraction: float = DEFAULT_FRACTION) -> int:
    """pycls' bootstrap subsample size: ``max(1, int(n * fraction))`` (rounded down)."""
    return max(1, int(n * fraction))


def bootstrap_best_values(values: Sequence[float], errors: Sequence[float],
                          reps: int = DEFAULT_REPS, fraction: float = DEFAULT_FRACTION,
                          seed: int | np.random.Generator | None = 0) -> np.ndarray:
    """The ``reps`` bootstrap draws of the best value (value of the min-error pair)."""
    v = np.asarray(values, dtype=float).ravel()
    e = np.asarray(errors, dtype=float).ravel()
    if v.shape != e.shape:
        raise ValueError(f'values and errors must have the same length, got '
                         f'{v.size} and {e.size}')
    if v.size == 0:
        raise ValueError('no (value, error) pairs to bootstrap: every model failed or '
                         'none has this parameter')
    if not (np.all(np.isfinite(v)) and np.all(np.isfinite(e))):
        raise ValueError('values and errors must be finite (drop failed models first)')
    reps = check_int('reps', reps, 1)
    fraction = check_number('fraction', fraction, 0, 1, min_inclusive=False)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    subsample = subsample_size(v.size, fraction)
    best = np.empty(int(reps))
    # chunk so that 10^4 reps over large populations stay within modest memory
    chunk = max(1, 2_000_000 // subsample)
    for start in range(0, int(reps), chunk):
        stop = min(int(reps), start + chunk)
        draws = rng.integers(0, v.size, size=(stop - start, subsample))
        winners = draws[np.arange(stop - start), np.argmin(e[draws], axis=1)]
        best[start:stop] = v[winners]
    return best


def bootstrap_best_value(values: Sequence[float], errors: Sequence[float],
                         reps: int = DEFAULT_REPS, fraction: float = DEFAULT_FRACTION,
                         seed: int | np.random.Generator | None = 0,
                         confidence: float = 0.95) -> BestValueRange:
    """95% range (2.5/97.5 percentiles) and median of the best value of a parameter."""
    if not 0 < confidence < 1:
        raise ValueError(f'confidence must be in (0, 1), got {confidence!r}')
    best = bootstrap_best_values(values, errors, reps, fraction, seed)
    tail = (1 - confidence) / 2 * 100
    low, median, high = np.percentile(best, [tail, 50, 100 - tail])
    n = len(np.asarray(values).ravel())
    return BestValueRange(float(low), float(median), float(high), int(reps),
                          subsample_size(n, fraction), n, confidence)
