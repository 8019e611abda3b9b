"""Quantized linear fit of any network's per-block widths (SPEC section 5).

The paper asks how "RegNet-like" a network is: grid-search the quantized linear
parameters (w0, wa, wm) whose predicted per-block widths are closest to the
observed ones, measured by e_fit = mean_j |log(predicted_j / observed_j)|.
Predictions use exactly the RegNet rule (``quantized_linear_widths``), so a fit
with e_fit == 0 is a RegNet that reproduces the widths block for block.
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from .regnet import QUANTUM, quantized_linear_floats

#: changes whenever the search changes (cached fits of another version are redone)
FIT_VERSION = 1

#: Coarse grid sizes, then this many zoom rounds around the best point.
#: w0 candidates lie within this factor of the first observed width.
_W0_SPAN = 1.25
_COARSE_WA, _COARSE_WM, _ZOOM_ROUNDS, _ZOOM_POINTS = 96, 96, 4, 41
_CHUNK_ELEMENTS = 2_000_000
_COARSE_W0 = 12


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


def fit_quantized_linear(block_widths: Sequence[float],
                         wa_range: tuple[float, float] = (0.0, 256.0),
                         wm_range: tuple[float, float] = (1.5, 3.0),
                         w0_values: Sequence[int] | None = None,
                         q: int = QUANTUM) -> QuantizedLinearFit:
    """Grid-search (w0, wa, wm) minimising e_fit for these per-block widths.

    w0 runs over multiples of ``q`` (a RegNet's first block width is w0 itself;
    default: those within a factor 1.25 of the first observed width), wa and wm over
    their ranges (the RegNet design space's by default): a coarse pass (up to 12 w0
    values, 96 x 96 wa/wm points), then zoom passes around the best point, with the
    w0 candidates next to it. Fully vectorised numpy; ties go to the first grid point.
    """
    observed = _check_widths(block_widths)
    lo_a, hi_a = (float(v) for v in wa_range)
    lo_m, hi_m = (float(v) for v in wm_range)
    if not 0 <= lo_a <= hi_a:
        raise ValueError(f'wa_range must satisfy 0 <= low <= high, got {wa_range!r}')
    if not 1 < lo_m <= hi_m:
        raise ValueError(f'wm_range must satisfy 1 < low <= high, got {wm_range!r}')
    if w0_values is None:
        first = observed[0]
        low = max(q, int(np.floor(first / _W0_SPAN / q)) * q)
        high = max(low, int(np.ceil(first * _W0_SPAN / q)) * q)
        w0s = np.arange(low, high + q, q, dtype=float)
    else:
        w0s = np.unique(np.asarray(w0_values, dtype=float))
        if w0s.size == 0 or np.any(w0s <= 0) or np.any(w0s % q):
            raise ValueError(f'w0_values must be positive multiples of {q}, '
                             f'got {list(w0_values)}')
    d = observed.size

    def best_of(w0_grid, wa_grid, wm_grid):
        # a few w0 values at a time keeps the (w0, wa, wm, block) array ~ 2M floats
        per_w0 = len(wa_grid) * len(wm_grid) * d
        step = max(1, _CHUNK_ELEMENTS // per_w0)
        best = None
        for start in range(0, len(w0_grid), step):
            W0, WA, WM = np.meshgrid(w0_grid[start:start + step], wa_grid, wm_grid,
                                     indexing='ij')
            err = fit_error(predicted_widths(d, W0, WA, WM, q), observed)
            i = int(np.argmin(err))       # first minimum: deterministic ties
            if best is None or err.flat[i] < best[3]:
                best = (W0.flat[i], WA.flat[i], WM.flat[i], float(err.flat[i]))
        return best

    # wa: 0 plus log spacing (small slopes matter relatively more); wm: log spacing.
    wa_grid = np.unique(np.concatenate(
        [[lo_a], np.geomspace(max(lo_a, 0.5), max(hi_a, 0.5), _COARSE_WA - 1)]))
    wa_grid = wa_grid[(wa_grid >= lo_a) & (wa_grid <= hi_a)]
    wm_grid = np.geomspace(lo_m, hi_m, _COARSE_WM)
    # coarse pass on at most _COARSE_W0 of the w0 values, the zoom passes around the
    # best one (its neighbours among the candidates)
    coarse_w0 = w0s[np.unique(np.linspace(0, len(w0s) - 1, min(len(w0s), _COARSE_W0))
                              .round().astype(int))]
    w0, wa, wm, err = best_of(coarse_w0, wa_grid, wm_grid)
    w0_step = max(q, float(np.max(np.diff(coarse_w0), initial=0)))
    step_a = (hi_a - lo_a) / _COARSE_WA * 2
    step_m = (hi_m - lo_m) / _COARSE_WM * 2
    for _ in range(_ZOOM_ROUNDS):
        if err == 0:
            break
        wa_grid = np.clip(np.linspace(wa - step_a, wa + step_a, _ZOOM_POINTS), lo_a, hi_a)
        wm_grid = np.clip(np.linspace(wm - step_m, wm + step_m, _ZOOM_POINTS), lo_m, hi_m)
        near_w0 = w0s[np.abs(w0s - w0) <= w0_step]
        cand = best_of(near_w0, np.append(wa_grid, wa), np.append(wm_grid, wm))
        if cand[3] <= err:
            w0, wa, wm, err = cand
        step_a, step_m, w0_step = step_a / 8, step_m / 8, max(q, w0_step / 4)
    return QuantizedLinearFit(int(w0), float(wa), float(wm), err)
