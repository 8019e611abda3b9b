"""The report's plots, as one list: what each is, how it is drawn, where it is shown.

``REPORT_PLOTS`` is read by both halves of ``analysis.report``: the drawing step
draws each entry (once, or once per analysed space) and writes its PNG, and the
Markdown writer embeds each drawn entry in its section. Adding a plot to the report
is adding one ``ReportPlot`` to the list: a ``draw`` function that returns a
matplotlib ``Figure`` (or None when there is nothing to show) from the
:class:`ReportContext`, and the section it belongs to. A section the report does not
write (a new name) gets its own heading near the end of the report.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import numpy as np

from ..atomic_io import safe_name
from ..design.fit import predicted_widths
from ..design.regnet import QUANTUM
from .edf import Normalization, dkw_halfwidth, effective_sample_size
from .options import AnalysisOptions
from .population import Population
from .random_search import RandomSearchCurve

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class ReportContext:
    """Everything the analysis computed that a plot may show (nothing is recomputed)."""

    population: Population
    spaces: Sequence[str]                    # analysable spaces, in report order
    tables: Mapping[str, Mapping[str, np.ndarray]]   # space -> parameter columns
    norms: Mapping[str, Normalization]       # space -> complexity normalization
    ranges: Mapping[str, Mapping[str, Any]]  # space -> parameter -> BestValueRange
    curves: Mapping[str, RandomSearchCurve]
    norm_curves: Mapping[str, RandomSearchCurve]
    pair_curves: Mapping[str, Any]           # 'a vs b' -> PairSampleSize
    summary: Mapping[str, Any]               # the content of summary.json
    options: AnalysisOptions
    title: str

    @property
    def confidence(self) -> str:
        return f'{self.options.confidence:.0%}'


@dataclass(frozen=True)
class ReportPlot:
    """One plot of the report.

    ``key`` (the entry in ``AnalysisResult.files``), ``filename`` and ``alt`` (the
    Markdown image text) may hold ``{space}`` for plots drawn once per space
    (``per_space=True``); the file name gets the space's file-system safe name.
    ``draw(context, space)`` returns the figure, or None when the population has
    nothing for it (``space`` is None for a plot of all spaces). ``section``: where
    the report embeds it (see ``analysis.report``: 'edf', 'edf_normalized',
    'random_search', 'sample_size', 'parameters', 'fit'; any other name gets a
    section of its own).
    """

    key: str
    filename: str
    alt: str
    section: str
    draw: Callable[[ReportContext, str | None], 'Figure | None']
    per_space: bool = False

    def key_for(self, space: str | None) -> str:
        return self.key.format(space=space)

    def filename_for(self, space: str | None) -> str:
        return self.filename.format(space=None if space is None else safe_name(space))

    def alt_for(self, space: str | None) -> str:
        return self.alt.format(space=space)

    def instances(self, spaces: Sequence[str]) -> list[str | None]:
        """The spaces it is drawn for: each of ``spaces``, or [None] for one plot."""
        return list(spaces) if self.per_space else [None]


# -- the drawing functions ------------------------------------------------------------
def _edf(ctx: ReportContext, space: str | None) -> 'Figure':
    from . import plots
    spaces = ctx.spaces
    return plots.plot_edfs(
        {s: (ctx.population.errors(s), None) for s in spaces},
        f'{ctx.title}: EDF\n(bands: {ctx.confidence} DKW)',
        bands={s: ctx.summary['spaces'][s]['dkw_halfwidth'] for s in spaces})


def _edf_normalized(ctx: ReportContext, space: str | None) -> 'Figure | None':
    from . import plots
    norms = ctx.norms
    normalized = {s: (ctx.population.errors(s)[norms[s].inside], norms[s].weights)
                  for s in ctx.spaces if s in norms and norms[s].weights.size}
    if not normalized:
        return None
    lo, hi = ctx.summary['normalization']['range']
    return plots.plot_edfs(
        normalized,
        f'{ctx.options.complexity_key}-normalized EDF, shared range [{lo:.3g}, {hi:.3g}]\n'
        f'(bands: {ctx.confidence} DKW at n_eff)',
        bands={s: dkw_halfwidth(effective_sample_size(norms[s].weights),
                                ctx.options.confidence) for s in normalized})


def _random_search(ctx: ReportContext, space: str | None) -> 'Figure':
    from . import plots
    return plots.plot_random_search(
        ctx.curves, 'Random search (plain, without replacement; band: 25-75%)')


def _random_search_normalized(ctx: ReportContext, space: str | None) -> 'Figure | None':
    from . import plots
    if not ctx.norm_curves:
        return None
    return plots.plot_random_search(
        ctx.norm_curves, 'Random search, normalized (NDS: mean +- 2 std)', band='2sigma')


def _sample_size(ctx: ReportContext, space: str | None) -> 'Figure | None':
    from . import plots
    from .sample_size import SpaceSampleSize
    space_curves = {s: SpaceSampleSize(c['k'], c['D_mean'], c['D_std'], c['trials'])
                    for s, c in ctx.summary['sample_size']['spaces'].items()}
    if not space_curves:
        return None
    return plots.plot_sample_size(space_curves, ctx.pair_curves)


def _parameters(ctx: ReportContext, space: str | None) -> 'Figure | None':
    from . import plots
    if not ctx.ranges[space]:
        return None
    return plots.plot_parameter_scatter(
        ctx.tables[space], ctx.population.errors(space), ctx.ranges[space],
        f'{space}: error vs parameter (band: bootstrap {ctx.confidence} best-value range, '
        f"{ctx.summary['spaces'][space]['bootstrap_subsample']}-model subsamples)")


def _error_vs_efit(ctx: ReportContext, space: str | None) -> 'Figure | None':
    from . import plots
    if not ctx.options.with_fit:
        return None
    points = {s: (ctx.tables[s]['e_fit'], ctx.population.errors(s)) for s in ctx.spaces
              if 'e_fit' in ctx.tables[s]}
    return plots.plot_error_vs_efit(points)


def _predict(depth: int, w0: float, wa: float, wm: float) -> tuple[np.ndarray, np.ndarray]:
    """Continuous widths u_j and the quantized linear prediction for one fit."""
    u = np.arange(depth) * wa + w0
    return u, predicted_widths(depth, np.array(w0), np.array(wa), np.array(wm), QUANTUM)


def _widths(ctx: ReportContext, space: str | None) -> 'Figure | None':
    from . import plots
    if not ctx.options.with_fit:
        return None
    errors = ctx.population.errors(space)
    records = ctx.population.finished(space)
    table = ctx.tables[space]
    models = []
    for i in np.argsort(errors, kind='stable')[:ctx.options.width_fit_models]:
        record = records[int(i)]
        models.append((f'{record.key} err={errors[int(i)]:.1f}',
                       record.anynet_spec().block_widths,
                       {'w0': table['fit_w0'][i], 'wa': table['fit_wa'][i],
                        'wm': table['fit_wm'][i], 'e_fit': table['e_fit'][i]}))
    return plots.plot_block_widths(
        models, _predict, f'{space}: best models, per-block widths and quantized linear fit')


#: the report's plots, in the order they are drawn and, within a section, embedded
REPORT_PLOTS: list[ReportPlot] = [
    ReportPlot('edf', 'edf.png', 'EDF', 'edf', _edf),
    ReportPlot('edf_normalized', 'edf_normalized.png', 'normalized EDF', 'edf_normalized',
               _edf_normalized),
    ReportPlot('random_search', 'random_search.png', 'random search', 'random_search',
               _random_search),
    ReportPlot('random_search_normalized', 'random_search_normalized.png',
               'normalized random search', 'random_search', _random_search_normalized),
    ReportPlot('sample_size', 'sample_size.png', 'sample size', 'sample_size', _sample_size),
    ReportPlot('params_{space}', 'params_{space}.png', '{space} parameters', 'parameters',
               _parameters, per_space=True),
    ReportPlot('error_vs_efit', 'error_vs_efit.png', 'error vs e_fit', 'fit',
               _error_vs_efit),
    ReportPlot('widths_{space}', 'widths_{space}.png', '{space} widths', 'fit', _widths,
               per_space=True),
]


def draw_report_plots(ctx: ReportContext, out: Path,
                      plot_list: Sequence[ReportPlot] | None = None,
                      jobs: int | None = None) -> dict[str, Path]:
    """Draw every plot of ``plot_list`` (default: ``REPORT_PLOTS``) into ``out``;
    returns {key: PNG path} of those drawn. Each figure is closed once written.

    The figures are independent and their layout and rendering take seconds each
    (a report has a dozen or more), so with ``jobs`` > 1 (default: one per CPU this
    process may use, at most ``MAX_JOBS``) they are drawn by forked copies of this
    process, which inherit ``ctx``: the same code on the same data, so the same
    bytes in every PNG. A plot a copy could not draw (it failed, or died) is drawn
    here again afterwards, where its error, if any, is raised as it always was."""
    instances = [(plot, space) for plot in (REPORT_PLOTS if plot_list is None
                                            else plot_list)
                 for space in plot.instances(ctx.spaces)]
    jobs = min(default_jobs() if jobs is None else int(jobs), len(instances))
    drawn: dict[int, Path | None] = {}
    if jobs > 1 and hasattr(os, 'fork'):
        drawn = _draw_in_forks(ctx, out, instances, jobs)
    files: dict[str, Path] = {}
    for index, (plot, space) in enumerate(instances):
        path = drawn[index] if index in drawn else _draw(ctx, out, plot, space)
        if path is not None:
            files[plot.key_for(space)] = path
    return files


#: the most processes ``draw_report_plots`` forks by default
MAX_JOBS = 8


def default_jobs() -> int:
    """The CPUs this process may run on (at most ``MAX_JOBS``)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_JOBS))


def _draw(ctx: ReportContext, out: Path, plot: ReportPlot, space: str | None
          ) -> Path | None:
    """Draw one plot instance and write its PNG (None: nothing to show)."""
    from . import plots
    fig = plot.draw(ctx, space)
    if fig is None:
        return None
    try:
        return plots.save_png(fig, out / plot.filename_for(space))
    finally:
        plots.close_figure(fig)


#: what the forked drawing processes draw (set before they are forked)
_FORKED_JOB: tuple[ReportContext, Path, list] | None = None


def _draw_forked(index: int) -> tuple[int, bool, str | None]:
    """In a forked drawing process: (index, drawn, PNG path or None)."""
    ctx, out, instances = _FORKED_JOB
    plot, space = instances[index]
    try:
        path = _draw(ctx, out, plot, space)
    except Exception:  # noqa: BLE001  (drawn again by the parent, which raises it)
        return index, False, None
    return index, True, None if path is None else str(path)


def _draw_in_forks(ctx: ReportContext, out: Path, instances: list, jobs: int
                   ) -> dict[int, Path | None]:
    """{index: path or None} of the instances forked processes drew (see above)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    global _FORKED_JOB
    drawn: dict[int, Path | None] = {}
    _FORKED_JOB = (ctx, out, instances)
    try:
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context('fork')
                                 ) as pool:
            for future in as_completed([pool.submit(_draw_forked, i)
                                        for i in range(len(instances))]):
                index, ok, path = future.result()
                if ok:
                    drawn[index] = None if path is None else Path(path)
    except Exception:  # noqa: BLE001  (a process died: what is missing is drawn here)
        pass
    finally:
        _FORKED_JOB = None
    return drawn


class ReportImages:
    """The Markdown image lines of the drawn plots, by section (for the report writer).

    ``lines(section)``: one line per plot of the section and per space (a missing
    plot is an empty line, as the report has always written it); ``lines(section,
    space)``: that space's plots of the section. ``unplaced()``: the sections the
    writer never asked for that have a drawn plot (a new plot's own section).
    """

    def __init__(self, files: Mapping[str, Path], out: Path, spaces: Sequence[str],
                 plot_list: Sequence[ReportPlot] | None = None) -> None:
        self.files, self.out, self.spaces = files, out, list(spaces)
        self.plots = list(REPORT_PLOTS if plot_list is None else plot_list)
        self.placed: set[str] = set()

    def image(self, plot: ReportPlot, space: str | None) -> str:
        key = plot.key_for(space)
        if key not in self.files:
            return ''
        return f'![{plot.alt_for(space)}]({self.files[key].relative_to(self.out).as_posix()})\n'

    def drawn(self, section: str) -> bool:
        return any(p.key_for(s) in self.files for p in self.plots if p.section == section
                   for s in p.instances(self.spaces))

    def lines(self, section: str, space: str | None = None) -> list[str]:
        self.placed.add(section)
        found = []
        for plot in self.plots:
            if plot.section != section:
                continue
            if space is not None:
                if plot.per_space:
                    found.append(self.image(plot, space))
            else:
                found += [self.image(plot, s) for s in plot.instances(self.spaces)]
        return found

    def unplaced(self) -> list[str]:
        sections = dict.fromkeys(p.section for p in self.plots)
        return [s for s in sections if s not in self.placed and self.drawn(s)]
