"""Plots in the style of the paper's Figures 12, 17 and 18: inference time and top-1
error against flops and against activations, one point per model, by family.

Errors are the user's where evaluated (filled markers); otherwise the paper's reported
error is drawn as a hollow marker so the figure still shows the paper's trend without
passing it off as a measurement.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from .tables import ComparedTable, TimeCorrelation, pearson


def _unique_rows(tables: Iterable[ComparedTable]):
    seen = {}
    for table in tables:
        for row in table.rows:
            seen.setdefault(row.model, row)
    return list(seen.values())


def _legend(ax) -> None:
    if ax.get_legend_handles_labels()[0]:      # nothing plotted: no empty legend
        ax.legend(fontsize=7)


def plot_comparison(tables: Iterable[ComparedTable], corr: TimeCorrelation,
                    out_dir: str | Path, stem: str = 'comparison') -> list[Path]:
    """Write ``<stem>_time.png`` and ``<stem>_error.png``; return their paths."""
    import matplotlib
    from matplotlib.figure import Figure

    out_dir = Path(out_dir)
    rows = [r for r in _unique_rows(tables) if r.measurement.counts is not None]
    families = sorted({r.measurement.entry.family for r in rows})
    tab10 = matplotlib.colormaps['tab10']
    colours = {f: tab10(i % 10) for i, f in enumerate(families)}
    written = []

    def scatter(ax, xs_key: str, value_of, hollow_of=None):
        for family in families:
            pts = [(r.measurement.counts.figure(xs_key), value_of(r), r.model)
                   for r in rows if r.measurement.entry.family == family
                   and value_of(r) is not None]
            for x, y, name in pts:
                hollow = hollow_of(name) if hollow_of else False
                ax.scatter(x, y, s=30, edgecolors=colours[family],
                           facecolors='none' if hollow else colours[family])
                ax.annotate(name, (x, y), fontsize=6, xytext=(3, 2),
                            textcoords='offset points')
            if pts:
                ax.scatter([], [], color=colours[family], label=family)
        ax.set_xlabel({'flops': 'flops (B)', 'acts': 'activations (M)'}[xs_key])
        ax.grid(alpha=0.3)

    def timed_ms(r):
        t = r.measurement.timing
        return t.median_ms if t and t.resolution == r.measurement.counts.resolution else None

    fig = Figure(figsize=(11, 4.5))
    axes = fig.subplots(1, 2)
    for ax, key, r in ((axes[0], 'flops', corr.flops_r), (axes[1], 'acts', corr.acts_r)):
        scatter(ax, key, timed_ms)
        ax.set_ylabel('inference time (ms)')
        ax.set_title(f'time vs {key}: Pearson r = '
                     + ('n/a' if r is None else f'{r:.3f}') + f' (n={corr.n})')
    _legend(axes[0])
    fig.tight_layout()
    path = out_dir / f'{stem}_time.png'
    fig.savefig(path, dpi=120)
    written.append(path)

    evaluated = {r.model for r in rows if r.error is not None}

    def error_of(r):
        if r.error is not None:
            return r.error.top1_error
        return float(r.paper.error) if r.paper.error else None

    fig = Figure(figsize=(11, 4.5))
    axes = fig.subplots(1, 2)
    for ax, key in ((axes[0], 'flops'), (axes[1], 'acts')):
        scatter(ax, key, error_of, hollow_of=lambda name: name not in evaluated)
        ax.set_ylabel('top-1 error (%)')
        ours = [r for r in rows if r.error is not None]
        r_err = pearson([x.measurement.counts.figure(key) for x in ours],
                        [x.error.top1_error for x in ours])
        ax.set_title(f'error vs {key} (filled: evaluated, hollow: paper)'
                     + ('' if r_err is None else f', r = {r_err:.3f}'), fontsize=9)
    _legend(axes[0])
    fig.tight_layout()
    path = out_dir / f'{stem}_error.png'
    fig.savefig(path, dpi=120)
    written.append(path)
    return written
