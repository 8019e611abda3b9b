"""The plots people look at (matplotlib Figures).

Each ``plot_*`` function draws one figure from plain arrays and returns it; none of
them computes statistics (those live in edf/bootstrap/random_search), so what a plot
shows is exactly what the JSON report says. What becomes of a figure is the caller's
choice: :func:`save_png` writes it for people (the report), :func:`figure_rgb` turns it
into an image array for a visualizer (``add_image``), without a file in between, and
:func:`close_figure` frees it. Figures are plain ``Figure`` objects: pyplot is never
imported, so the user's backend and pyplot's figure list are left alone.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from ..atomic_io import atomic_write
from .bootstrap import BestValueRange
from .edf import edf
from .random_search import RandomSearchCurve
from .sample_size import PairSampleSize, SpaceSampleSize

#: parameters shown on a log axis (they span orders of magnitude)
LOG_AXIS = {'w0', 'wa', 'w1', 'w2', 'w3', 'w4', 'g', 'g1', 'g2', 'g3', 'g4',
            'fit_w0', 'fit_wa', *(f'eff_{p}{i}' for p in 'wg' for i in range(1, 5))}


#: pixels per inch of every figure, saved or rendered to an array
DPI = 100


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), dpi=DPI)


def _finish(fig: Figure) -> Figure:
    fig.tight_layout()
    return fig


def save_png(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` to ``path`` as a PNG, atomically (a reader never sees half a file)."""
    path = Path(path)
    atomic_write(path, lambda f: fig.savefig(f, format='png', dpi=DPI))
    return path


def figure_rgb(fig: Figure) -> np.ndarray:
    """``fig`` rendered as an (H, W, 3) uint8 RGB array, the pixels :func:`save_png`
    writes (for ``Visualizer.add_image``; no file in between)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.array(np.asarray(canvas.buffer_rgba())[..., :3])


def close_figure(fig: Figure) -> None:
    """Free ``fig`` now: clear its artists (they hold reference cycles that would wait
    for the garbage collector) and, should pyplot know it, close it there too."""
    pyplot = sys.modules.get('matplotlib.pyplot')
    if pyplot is not None:
        pyplot.close(fig)
    fig.clear()


def plot_edfs(curves: Mapping[str, tuple[np.ndarray, np.ndarray | None]],
              title: str = 'EDF of errors', xlabel: str = 'top-1 error (%)',
              bands: Mapping[str, float] | None = None) -> Figure:
    """One EDF step curve per space; legend ``[n, min, mean] space`` as in the paper.

    ``curves``: space -> (errors, weights or None for the plain EDF); ``bands``:
    space -> half-width of a confidence band drawn around its curve (DKW).
    """
    fig = _figure(5.5, 4)
    ax = fig.subplots()
    all_errors = np.concatenate([np.asarray(e, float) for e, _ in curves.values()
                                 if len(e)] or [np.zeros(1)])
    lo, hi = float(all_errors.min()), float(all_errors.max())
    pad = max(1e-6, 0.02 * (hi - lo))
    grid = np.linspace(lo - pad, hi + pad, 400)
    for space, (errors, weights) in curves.items():
        errors = np.asarray(errors, float)
        if errors.size == 0:
            continue
        values = edf(errors, grid, weights)
        mean = errors.mean() if weights is None else float(
            np.dot(np.asarray(weights, float) / np.sum(weights), errors))
        line, = ax.plot(grid, values, drawstyle='steps-post',
                        label=f'[{errors.size}|{errors.min():.1f}|{mean:.1f}] {space}')
        if bands and space in bands:
            h = bands[space]
            ax.fill_between(grid, np.clip(values - h, 0, 1), np.clip(values + h, 0, 1),
                            step='post', color=line.get_color(), alpha=0.12, lw=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel('cumulative prob.')
    ax.set_ylim(0, 1)
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(title='[n|min|mean]', fontsize=8, title_fontsize=8, loc='lower right')
    return _finish(fig)


def plot_parameter_scatter(table: Mapping[str, np.ndarray], errors: np.ndarray,
                           ranges: Mapping[str, BestValueRange], title: str) -> Figure:
    """Error vs each parameter, with the bootstrap 95% best-value band and median."""
    names = [n for n in table if n in ranges]
    cols = min(4, max(1, len(names)))
    rows = max(1, math.ceil(len(names) / cols))
    fig = _figure(3.2 * cols, 2.7 * rows)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, name in zip(axes.flat, names):
        values = np.asarray(table[name], float)
        band = ranges[name]
        ax.axvspan(band.low, band.high, color='tab:orange', alpha=0.25, lw=0)
        ax.axvline(band.median, color='tab:orange', lw=1.5)
        ax.scatter(values, errors, s=8, alpha=0.6, color='tab:blue')
        if name in LOG_AXIS and np.all(values > 0) and values.max() > 4 * values.min():
            ax.set_xscale('log', base=2)
        ax.set_xlabel(f'{name}  best~{band.median:.3g} [{band.low:.3g}, {band.high:.3g}]',
                      fontsize=8)
        ax.set_ylabel('error (%)', fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(names):]:
        ax.axis('off')
    fig.suptitle(title, fontsize=10)
    return _finish(fig)


def plot_random_search(curves: Mapping[str, RandomSearchCurve],
                       title: str = 'Random search efficiency',
                       band: str = 'quartiles') -> Figure:
    """Expected min error of m random models (exact) with a band: the 25-75%
    quantiles (``band='quartiles'``) or mean +- 2 std as NDS plots (``'2sigma'``)."""
    fig = _figure(5.5, 4)
    ax = fig.subplots()
    for space, curve in curves.items():
        line, = ax.plot(curve.m, curve.expected, marker='o', ms=3, label=space)
        if band == '2sigma':
            mean, std = np.asarray(curve.expected), np.asarray(curve.std)
            low, high = mean - 2 * std, mean + 2 * std
        else:
            low, high = curve.q25, curve.q75
        ax.fill_between(curve.m, low, high, color=line.get_color(), alpha=0.15)
    ax.set_xscale('log', base=2)
    ax.set_xlabel('m (models sampled)')
    ax.set_ylabel('expected min error (%)')
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _finish(fig)


def plot_block_widths(models: Sequence[tuple[str, Sequence[int], Mapping[str, float]]],
                      predict, title: str) -> Figure:
    """Per-block widths (observed steps) and the quantized linear fit of each model.

    ``models``: (label, block widths, fit dict with w0/wa/wm/e_fit);
    ``predict(depth, w0, wa, wm) -> (continuous widths u_j, quantized widths)``.
    """
    cols = min(4, max(1, len(models)))
    rows = max(1, math.ceil(len(models) / cols))
    fig = _figure(3.2 * cols, 2.7 * rows)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, (label, widths, fit) in zip(axes.flat, models):
        j = np.arange(len(widths))
        ax.plot(j, widths, drawstyle='steps-mid', lw=2, label='observed w_j')
        u, quantized = predict(len(widths), fit['w0'], fit['wa'], fit['wm'])
        ax.plot(j, u, '--', lw=1, label='u_j = w0 + wa*j')
        ax.plot(j, quantized, ':', lw=1.5, label='quantized fit')
        ax.set_yscale('log', base=2)
        ax.set_title(f"{label}\ne_fit={fit['e_fit']:.3f} w0={fit['w0']:.0f} "
                     f"wa={fit['wa']:.1f} wm={fit['wm']:.2f}", fontsize=7)
        ax.set_xlabel('block index j', fontsize=8)
        ax.set_ylabel('width', fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(models):]:
        ax.axis('off')
    axes.flat[0].legend(fontsize=6)
    fig.suptitle(title, fontsize=10)
    return _finish(fig)


def plot_error_vs_efit(points: Mapping[str, tuple[np.ndarray, np.ndarray]],
                       title: str = 'error vs e_fit') -> Figure:
    """Scatter of error against the quantized-linear fit error, one colour per space."""
    fig = _figure(5.5, 4)
    ax = fig.subplots()
    for space, (efit, errors) in points.items():
        if len(efit):
            ax.scatter(efit, errors, s=10, alpha=0.6, label=space)
    ax.set_xlabel('e_fit (mean |log w_pred / w|)')
    ax.set_ylabel('error (%)')
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _finish(fig)


def plot_sample_size(spaces: Mapping[str, SpaceSampleSize],
                     pairs: Mapping[str, PairSampleSize],
                     title: str = 'What more models could change') -> Figure:
    """NDS Figure 7 and its pairwise version: D(k-subsample, full) per space; D
    between two spaces' k-model subsamples (mean +- 2 std, full-population D dashed);
    fraction of subsamples that rank the spaces as the full populations do."""
    fig = _figure(13, 3.8)
    ax1, ax2, ax3 = fig.subplots(1, 3)
    for space, curve in spaces.items():
        ax1.errorbar(curve.sizes, curve.d_mean, yerr=curve.d_std, marker='o', ms=3,
                     capsize=2, label=space)
    ax1.set_title('EDF of k models vs all (KS D)', fontsize=9)
    ax1.set_ylabel('D', fontsize=8)
    for name, curve in pairs.items():
        mean, std = np.asarray(curve.d_mean), np.asarray(curve.d_std)
        line, = ax2.plot(curve.sizes, mean, marker='o', ms=3, label=name)
        ax2.fill_between(curve.sizes, np.clip(mean - 2 * std, 0, 1),
                         np.clip(mean + 2 * std, 0, 1), color=line.get_color(), alpha=0.15)
        ax2.axhline(curve.full_d, ls='--', lw=1, color=line.get_color())
        ax3.plot(curve.sizes, curve.agree, marker='o', ms=3, color=line.get_color(),
                 label=f'{name}: same ranking')
        ax3.plot(curve.sizes, curve.significant, marker='x', ms=4, ls=':',
                 color=line.get_color(), label=f'{name}: KS p < 0.05')
    ax2.set_title('D between spaces, k models each', fontsize=9)
    ax3.set_title('fraction of k-model subsamples', fontsize=9)
    ax3.set_ylim(-0.02, 1.02)
    for ax in (ax1, ax2, ax3):
        ax.set_xscale('log', base=2)
        ax.set_xlabel('k (models per space)', fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=6)
    fig.suptitle(title, fontsize=10)
    return _finish(fig)
