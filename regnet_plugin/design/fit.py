"""Quantized linear fit of any network's per-block widths (paper Section 4).

The paper asks how "RegNet-like" a network is: find the quantized linear parameters
(w0, wa, wm) whose predicted per-block widths are closest to the observed ones,
measured by e_fit = mean_j |log(predicted_j / observed_j)|. Predictions use exactly
the RegNet rule (``quantized_linear_widths``), so a fit with e_fit == 0 is a RegNet
that reproduces the widths block for block.

The search (what makes it both fast and trustworthy):

* **w0**, a multiple of q, is searched exhaustively from q to the largest observed
  width W rounded up to q (a larger w0 predicts every block above W, which w0 = W,
  wa = 0 beats). Branch and bound: block 0 is always predicted as w0 exactly and no
  prediction is below w0, so e_fit >= (|log(w0 / w_0)| + sum_j>0 max(0, log(w0 / w_j)))
  / depth; the w0 are visited in increasing order of that bound, and the search stops
  at the first w0 whose bound exceeds the best fit found (no w0 is left out on a
  guess).
* **wa** is solved exactly for each (w0, wm): block j moves from level k-1 to level k
  (exponent s_j) when wa crosses ``w0 * (wm^(k - 1/2) - 1) / j``, so e_fit is a step
  function of wa whose steps are known; sorting them and summing each step's change
  gives the minimum over the whole wa range, not over a grid.
* **wm** runs over a log-spaced grid (``_WM_POINTS`` values), then a finer grid around
  the best points (``_ZOOM_POINTS`` values over one grid step on each side): the one
  dimension that is sampled rather than solved.
* Predictions above ``_LEVEL_CAP`` times W are not considered (such a block alone
  costs log(4) / depth).

The answer is re-evaluated with the RegNet rule itself at a wa inside the best step,
so the returned e_fit is exactly that of the returned (w0, wa, wm). Against a dense
brute force over w0 in 8..512 and a 1001 x 1001 (wa, wm) grid it is never worse by
more than ``E_FIT_TOLERANCE`` (tests/design/test_design_fit.py); the timing is in
benchmarks/bench_fit.py.
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from .regnet import QUANTUM, quantize_widths, quantized_linear_floats

#: changes whenever the search changes (cached fits of another version are redone)
FIT_VERSION = 2
#: a dense brute force never finds an e_fit lower than ours by more than this
E_FIT_TOLERANCE = 2e-3
_W0_BATCH = 4           # w0 values evaluated at a time (then the bound is re-checked)
_WM_POINTS = 64         # wm values per w0
_ZOOM_POINTS = 33       # wm values around each of the best points
_ZOOM_BEST = 4          # best (w0, wm) points refined
_LEVEL_CAP = 4.0        # largest prediction considered, in units of the widest block
_CHUNK_ELEMENTS = 1_000_000


class QuantizedLinearFit(NamedTuple):
    """Best (w0, wa, wm) and its error; unpacks as ``w0, wa, wm, e_fit``."""

    w0: int
    wa: float
    wm: float
    e_fit: float


def predicted_widths(depth: int, w0: np.ndarray, wa: np.ndarray, wm: np.ndarray,
                     q: int = QUANTUM) -> np.ndarray:
    """Quantized linear widths for many (w0, wa, wm) at once: shape (..., depth).

    ``quantized_linear_widths``' rule itself, broadcast, as floats.
    """
    return quantized_linear_floats(depth, w0, wa, wm, q)[0]


def fit_error(predicted: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """e_fit = mean |log(predicted / observed)| over the last axis."""
    return np.abs(np.log(predicted / observed)).mean(axis=-1)


def _check_widths(block_widths: Sequence[float]) -> np.ndarray:
    observed = np.asarray(block_widths, dtype=float)
    if observed.ndim != 1 or observed.size == 0:
        raise ValueError(f'block_widths must be a non-empty 1-d sequence, '
                         f'got shape {observed.shape}')
    if not np.all(np.isfinite(observed)) or np.any(observed <= 0):
        raise ValueError(f'block widths must be finite and > 0, got {observed.tolist()}')
    return observed


def _check_ranges(wa_range, wm_range) -> tuple[float, float, float, float]:
    lo_a, hi_a = (float(v) for v in wa_range)
    lo_m, hi_m = (float(v) for v in wm_range)
    if not 0 <= lo_a <= hi_a:
        raise ValueError(f'wa_range must satisfy 0 <= low <= high, got {wa_range!r}')
    if not 1 < lo_m <= hi_m:
        raise ValueError(f'wm_range must satisfy 1 < low <= high, got {wm_range!r}')
    return lo_a, hi_a, lo_m, hi_m


def best_over_wa(observed: np.ndarray, w0: np.ndarray, wm: np.ndarray,
                 wa_range: tuple[float, float], q: int = QUANTUM,
                 cap: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """For each (w0[p], wm[p]): the lowest e_fit over wa in ``wa_range``, exactly,
    and a wa inside the step that attains it. Vectorised over the pairs."""
    observed = np.asarray(observed, dtype=float)
    d = observed.size
    w0 = np.asarray(w0, dtype=float).ravel()
    wm = np.asarray(wm, dtype=float).ravel()
    lo_a, hi_a = wa_range
    cap = _LEVEL_CAP * observed.max() if cap is None else cap
    if d == 1:
        return np.abs(np.log(w0 / observed[0])), np.full(w0.size, lo_a)
    # levels that can matter: reachable at wa <= hi_a by the last block, below the cap
    reach = np.log1p(hi_a * (d - 1) / w0) / np.log(wm) + 0.5
    below = np.log(max(cap, 1.0) / w0 * 2) / np.log(wm) + 1
    k_max = int(np.clip(np.ceil(np.minimum(reach, below)).max(), 1, 64))
    ks = np.arange(k_max + 1, dtype=float)
    levels = quantize_widths(w0[:, None], wm[:, None], ks[None, :], q)      # (P, K+1)
    cost = np.abs(np.log(levels[:, None, :] / observed[None, :, None]))     # (P, d, K+1)
    start = cost[:, :, 0].sum(axis=1)           # wa = 0: every block at level 0
    j = np.arange(1, d, dtype=float)
    thresholds = (w0[:, None, None] * (np.power(wm[:, None, None], ks[None, None, 1:] - 0.5)
                                       - 1) / j[None, :, None])             # (P, d-1, K)
    steps = cost[:, 1:, 1:] - cost[:, 1:, :-1]
    steps = np.where(levels[:, None, 1:] > cap, np.inf, steps)
    thresholds = thresholds.reshape(w0.size, -1)
    steps = steps.reshape(w0.size, -1)
    start = start + np.where(thresholds <= lo_a, steps, 0.0).sum(axis=1)
    active = (thresholds > lo_a) & (thresholds <= hi_a)
    t = np.where(active, thresholds, np.inf)
    order = np.argsort(t, axis=1, kind='stable')
    t = np.take_along_axis(t, order, axis=1)
    path = start[:, None] + np.cumsum(np.take_along_axis(np.where(active, steps, 0.0),
                                                         order, axis=1), axis=1)
    nxt = np.concatenate([t[:, 1:], np.full((w0.size, 1), np.inf)], axis=1)
    # a state exists on [t_i, t_i+1): not when the next step is at the same wa
    path = np.where((nxt > t) & np.isfinite(t), path, np.inf)
    values = np.concatenate([start[:, None], path], axis=1)
    best = np.argmin(values, axis=1)
    rows = np.arange(w0.size)
    err = values[rows, best] / d
    i = np.maximum(best - 1, 0)
    left = t[rows, i]
    right = np.minimum(nxt[rows, i], hi_a)
    wa = np.where(best == 0, lo_a, (left + right) / 2)
    return err, wa


def fit_quantized_linear(block_widths: Sequence[float],
                         wa_range: tuple[float, float] = (0.0, 256.0),
                         wm_range: tuple[float, float] = (1.5, 3.0),
                         w0_values: Sequence[int] | None = None,
                         q: int = QUANTUM) -> QuantizedLinearFit:
    """Search (w0, wa, wm) minimising e_fit for these per-block widths.

    w0 over multiples of ``q`` (default: q up to the widest block, see the module
    docstring; or exactly ``w0_values``), wa over ``wa_range`` exactly, wm over
    ``wm_range`` on a fine grid (the RegNet design space's ranges by default).
    Ties go to the smallest w0, then the smallest wm.
    """
    observed = _check_widths(block_widths)
    lo_a, hi_a, lo_m, hi_m = _check_ranges(wa_range, wm_range)
    if w0_values is None:
        top = int(np.ceil(observed.max() / q)) * q
        w0s = np.arange(q, top + q, q, dtype=float)
    else:
        w0s = np.unique(np.asarray(w0_values, dtype=float))
        if w0s.size == 0 or np.any(w0s <= 0) or np.any(w0s % q):
            raise ValueError(f'w0_values must be positive multiples of {q}, '
                             f'got {list(w0_values)}')
    d = observed.size
    cap = _LEVEL_CAP * observed.max()

    def search(w0_grid: np.ndarray, wm_grid: np.ndarray):
        """Best (err, w0, wa, wm) per pair of the w0 x wm product, chunked."""
        W0, WM = (a.ravel() for a in np.meshgrid(w0_grid, wm_grid, indexing='ij'))
        per_pair = max(1, d * 48)      # (d - 1) blocks x up to ~48 levels
        step = max(1, _CHUNK_ELEMENTS // per_pair)
        errs, was = [], []
        for s in range(0, W0.size, step):
            e, a = best_over_wa(observed, W0[s:s + step], WM[s:s + step], (lo_a, hi_a),
                                q, cap)
            errs.append(e)
            was.append(a)
        return np.concatenate(errs), W0, np.concatenate(was), WM

    # lower bound per w0: block 0 is w0 exactly, no block is predicted below w0
    bound = (np.abs(np.log(w0s / observed[0]))
             + np.maximum(0.0, np.log(w0s[:, None] / observed[None, 1:])).sum(axis=1)) / d
    wm_grid = np.geomspace(lo_m, hi_m, _WM_POINTS) if hi_m > lo_m else np.array([lo_m])
    # branch and bound: w0 in order of their bound, a few at a time, each over the
    # whole wm grid; stop at the first w0 whose bound exceeds the best fit so far
    results = []
    best_err = np.inf
    order = np.argsort(bound, kind='stable')
    for start in range(0, order.size, _W0_BATCH):
        batch = order[start:start + _W0_BATCH]
        batch = batch[bound[batch] <= best_err + 1e-12]
        if not batch.size:
            break
        results.append(search(w0s[batch], wm_grid))
        best_err = min(best_err, float(results[-1][0].min()))
    err, W0, WA, WM = (np.concatenate(parts) for parts in zip(*results))
    # 3. zoom: a finer wm grid around the best points
    if hi_m > lo_m:
        ratio = (hi_m / lo_m) ** (1 / (_WM_POINTS - 1))
        zoom = []
        for i in np.argsort(err, kind='stable')[:_ZOOM_BEST]:
            fine = np.clip(np.geomspace(WM[i] / ratio, WM[i] * ratio, _ZOOM_POINTS),
                           lo_m, hi_m)
            zoom.append(search(np.array([W0[i]]), fine))
        z_err, z_w0, z_wa, z_wm = (np.concatenate(parts) for parts in zip(*zoom))
        err, W0, WA, WM = (np.concatenate([a, b]) for a, b in
                           ((err, z_err), (W0, z_w0), (WA, z_wa), (WM, z_wm)))
    # re-evaluate the best few with the RegNet rule itself; smallest w0, wm on ties
    candidates = np.argsort(err, kind='stable')[:8]
    exact = fit_error(predicted_widths(d, W0[candidates], WA[candidates], WM[candidates],
                                       q), observed)
    order = np.lexsort((WM[candidates], W0[candidates], np.round(exact, 12)))
    i = candidates[order[0]]
    return QuantizedLinearFit(int(W0[i]), float(WA[i]), float(WM[i]),
                              float(exact[order[0]]))
