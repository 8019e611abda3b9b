"""Analyse a trained population: statistics, plots, a Markdown report, JSON and CSV.

``analyze_population`` is what ``tools/sample_space.py analyze`` and the EDFHook call.
It never raises because models failed or are still pending: it reports how many are
finished, failed and pending per space, and says plainly when there is nothing to
analyse yet. Outputs in ``out_dir``:

* ``report.md``        the human report, embedding the PNG plots;
* ``summary.json``     every statistic of the report, for machines;
* ``results.csv``      one row per model (space, key, status, errors, parameters);
* ``edf.png``, ``edf_normalized.png``, ``random_search.png``, ``error_vs_efit.png``,
  ``params_<space>.png`` (error vs parameter with bootstrap band),
  ``widths_<space>.png`` (best models' block widths with the quantized linear fit).
"""
from __future__ import annotations

import csv
import io
import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from ..atomic_io import atomic_write_text, safe_name
from ..design.fit import fit_quantized_linear, predicted_widths
from ..design.regnet import QUANTUM
from . import plots
from .bootstrap import BestValueRange, bootstrap_best_value
from .edf import ks_test, normalized_weights, summarize
from .options import AnalysisOptions
from .population import Population
from .random_search import RandomSearchCurve, random_search_efficiency


@dataclass
class AnalysisResult:
    """What was computed and written (the content of summary.json, plus paths)."""

    summary: dict[str, Any]
    files: dict[str, Path] = field(default_factory=dict)
    message: str = ''

    @property
    def report_path(self) -> Path | None:
        return self.files.get('report')


class FitCache:
    """Memoised quantized linear fits keyed by the block widths (a JSON file).

    A fit is a grid search (tens of ms); a study's analysis reruns after every
    model, so fits of already-seen width profiles are read back from the cache.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.entries: dict[str, dict[str, float]] = {}
        if path is not None and path.exists():
            try:
                self.entries = json.loads(path.read_text())
            except (OSError, ValueError):
                self.entries = {}      # a broken cache is only lost time, refit
        self.dirty = False

    def __call__(self, block_widths: Sequence[int]) -> dict[str, float]:
        key = ','.join(str(int(w)) for w in block_widths)
        if key not in self.entries:
            fit = fit_quantized_linear(block_widths)
            self.entries[key] = {'w0': fit.w0, 'wa': fit.wa, 'wm': fit.wm,
                                 'e_fit': fit.e_fit}
            self.dirty = True
        return self.entries[key]

    def save(self) -> None:
        if self.path is not None and self.dirty:
            atomic_write_text(self.path, json.dumps(self.entries))
            self.dirty = False


def _predict(depth: int, w0: float, wa: float, wm: float) -> tuple[np.ndarray, np.ndarray]:
    """Continuous widths u_j and the quantized linear prediction for one fit."""
    u = np.arange(depth) * wa + w0
    return u, predicted_widths(depth, np.array(w0), np.array(wa), np.array(wm), QUANTUM)


def _varying(table: Mapping[str, np.ndarray], wanted: Sequence[str] | None) -> list[str]:
    names = list(table) if wanted is None else [n for n in wanted if n in table]
    return [n for n in names
            if np.all(np.isfinite(table[n])) and np.unique(table[n]).size > 1]


def analyze_population(population: Population, out_dir: str | Path,
                       options: AnalysisOptions | None = None,
                       title: str = 'Design-space study',
                       progress: Callable[[Iterable], Iterable] | None = None
                       ) -> AnalysisResult:
    """Compute every statistic of SPEC 6 and write the report; see module docstring."""
    options = options or AnalysisOptions()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    population.error_key = options.error_key
    fit = FitCache(out / 'fit_cache.json') if options.with_fit else None
    counts = {s: {'total': sum(r.space == s for r in population.records),
                  'finished': len(population.finished(s)),
                  'failed': len(population.failed(s)),
                  'pending': len(population.pending(s))} for s in population.spaces}
    summary: dict[str, Any] = {'title': title, 'error_key': options.error_key,
                               'complexity_key': options.complexity_key,
                               'num_bins': options.num_bins, 'counts': counts,
                               'spaces': {}, 'ks': [], 'ks_normalized': []}
    summary['failure_reasons'] = {r.key: r.reason or 'unknown'
                                  for r in population.failed()}
    files: dict[str, Path] = {}
    analysable = [s for s in population.spaces if counts[s]['finished'] > 0]
    summary['analysable_spaces'] = analysable

    tables, weights, ranges, curves = {}, {}, {}, {}
    for space in analysable:
        errors = population.errors(space)
        complexity = population.complexity(space, options.complexity_key)
        weights[space] = normalized_weights(complexity, options.num_bins)
        tables[space] = population.parameter_table(space, fit, progress)
        ranges[space] = {name: bootstrap_best_value(
            tables[space][name], errors, options.bootstrap_reps,
            options.bootstrap_fraction, options.seed)
            for name in _varying(tables[space], options.parameters)}
        curves[space] = random_search_efficiency(errors)
        best = population.finished(space)[int(np.argmin(errors))]
        summary['spaces'][space] = {
            **summarize(errors).as_dict(),
            'best_model': best.key,
            'complexity_range': [float(complexity.min()), float(complexity.max())],
            'bootstrap': {k: v.as_dict() for k, v in ranges[space].items()},
            'random_search': curves[space].as_dict(),
        }
    if options.parameters is not None and tables:
        known = sorted({k for t in tables.values() for k in t})
        unknown = sorted(set(options.parameters) - set(known))
        if unknown:
            raise ValueError(f'unknown analysis parameter(s) {unknown}; this population '
                             f'has: {known}')
    for a, b in itertools.combinations(analysable, 2):
        ea, eb = population.errors(a), population.errors(b)
        summary['ks'].append({'spaces': [a, b], **ks_test(ea, eb).as_dict()})
        summary['ks_normalized'].append(
            {'spaces': [a, b], **ks_test(ea, eb, weights[a], weights[b]).as_dict()})
    if fit is not None:
        fit.save()

    if not analysable:
        message = _nothing_to_analyse(counts)
        summary['message'] = message
    else:
        message = ''
        if options.plots:
            files.update(_draw(population, analysable, tables, weights, ranges, curves,
                               out, options, title))
    files['summary'] = out / 'summary.json'
    atomic_write_text(files['summary'], json.dumps(summary, indent=1, default=_json))
    files['csv'] = _write_csv(population, tables, out / 'results.csv')
    files['report'] = out / 'report.md'
    atomic_write_text(files['report'], _markdown(summary, files, out, message))
    return AnalysisResult(summary, files, message)


def _nothing_to_analyse(counts: Mapping[str, Mapping[str, int]]) -> str:
    total = sum(c['total'] for c in counts.values())
    failed = sum(c['failed'] for c in counts.values())
    pending = sum(c['pending'] for c in counts.values())
    if total == 0:
        return 'The population is empty: nothing was sampled.'
    if failed == total:
        return (f'Nothing to analyse: every one of the {total} models failed '
                f'(see the failure reasons below); no EDF can be drawn.')
    return (f'Nothing to analyse yet: no model has finished ({failed} failed, '
            f'{pending} still pending of {total}).')


def _json(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f'cannot serialise {type(value).__name__}')


def _draw(population: Population, spaces: list[str], tables, weights,
          ranges: Mapping[str, Mapping[str, BestValueRange]],
          curves: Mapping[str, RandomSearchCurve], out: Path, options: AnalysisOptions,
          title: str) -> dict[str, Path]:
    files = {}
    files['edf'] = plots.plot_edfs(
        {s: (population.errors(s), None) for s in spaces}, out / 'edf.png',
        f'{title}: EDF')
    files['edf_normalized'] = plots.plot_edfs(
        {s: (population.errors(s), weights[s]) for s in spaces},
        out / 'edf_normalized.png',
        f'{title}: {options.complexity_key}-normalized EDF')
    files['random_search'] = plots.plot_random_search(curves, out / 'random_search.png')
    for space in spaces:
        if ranges[space]:
            files[f'params_{space}'] = plots.plot_parameter_scatter(
                tables[space], population.errors(space), ranges[space],
                out / f'params_{safe_name(space)}.png',
                f'{space}: error vs parameter (band: bootstrap 95% best-value range)')
    if options.with_fit:
        points = {s: (tables[s]['e_fit'], population.errors(s)) for s in spaces
                  if 'e_fit' in tables[s]}
        files['error_vs_efit'] = plots.plot_error_vs_efit(points, out / 'error_vs_efit.png')
        for space in spaces:
            errors = population.errors(space)
            records = population.finished(space)
            best = np.argsort(errors, kind='stable')[:options.width_fit_models]
            models = []
            for i in best:
                spec = records[int(i)].anynet_spec()
                t = tables[space]
                models.append((f'{records[int(i)].key} err={errors[int(i)]:.1f}',
                               spec.block_widths,
                               {'w0': t['fit_w0'][i], 'wa': t['fit_wa'][i],
                                'wm': t['fit_wm'][i], 'e_fit': t['e_fit'][i]}))
            files[f'widths_{space}'] = plots.plot_block_widths(
                models, _predict, out / f'widths_{safe_name(space)}.png',
                f'{space}: best models, per-block widths and quantized linear fit')
    return files


def _write_csv(population: Population, tables, path: Path) -> Path:
    param_names = list(dict.fromkeys(k for t in tables.values() for k in t))
    index = {s: {r.key: i for i, r in enumerate(population.finished(s))} for s in tables}
    lines = []
    header = ['space', 'key', 'status', 'final_error', 'best_error', 'flops', 'params',
              'acts', 'reason', *param_names]
    for r in population.records:
        row = [r.space, r.key, r.status, r.final_error, r.best_error,
               r.complexity.get('flops'), r.complexity.get('params'),
               r.complexity.get('acts'), r.reason or '']
        i = index.get(r.space, {}).get(r.key)
        for name in param_names:
            column = tables.get(r.space, {}).get(name)
            row.append('' if i is None or column is None else float(column[i]))
        lines.append(row)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(lines)
    atomic_write_text(path, buffer.getvalue())
    return path


def _fmt(value: Any, digits: int = 2) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return 'n/a'
        return f'{value:.{digits}f}' if abs(value) >= 1e-2 or value == 0 else f'{value:.2e}'
    return str(value)


def _markdown(summary: Mapping[str, Any], files: Mapping[str, Path], out: Path,
              message: str) -> str:
    def image(key: str, alt: str) -> str:
        return f'![{alt}]({files[key].relative_to(out).as_posix()})\n' if key in files else ''

    lines = [f"# {summary['title']}", '',
             f"Error: top-1 {summary['error_key'].replace('_', ' ')} (%). "
             f"Complexity normalisation over {summary['complexity_key']} "
             f"({summary['num_bins']} bins).", '',
             '| space | sampled | finished | failed | pending | min | mean | median |',
             '|---|---|---|---|---|---|---|---|']
    for space, c in summary['counts'].items():
        s = summary['spaces'].get(space, {})
        lines.append(f"| {space} | {c['total']} | {c['finished']} | {c['failed']} | "
                     f"{c['pending']} | {_fmt(s.get('min_error', float('nan')))} | "
                     f"{_fmt(s.get('mean_error', float('nan')))} | "
                     f"{_fmt(s.get('median_error', float('nan')))} |")
    lines.append('')
    if message:
        lines += [f'**{message}**', '']
        reasons = summary.get('failure_reasons') or {}
        for key, reason in list(reasons.items())[:50]:
            lines.append(f'- `{key}`: {reason}')
        return '\n'.join(lines) + '\n'
    lines += ['## Error distribution functions', '',
              'F(e) = fraction of models with error < e; normalized: each complexity bin '
              'weighs the same (NDS).', '',
              image('edf', 'EDF'), image('edf_normalized', 'normalized EDF'), '']
    if summary['ks']:
        lines += ['## KS tests between spaces', '',
                  '| spaces | D | p-value | D (normalized) | p (normalized, Kish n_eff) |',
                  '|---|---|---|---|---|']
        for plain, norm in zip(summary['ks'], summary['ks_normalized']):
            lines.append(f"| {plain['spaces'][0]} vs {plain['spaces'][1]} | "
                         f"{plain['D']:.3f} | {plain['pvalue']:.3g} | {norm['D']:.3f} | "
                         f"{norm['pvalue']:.3g} |")
        lines += ['', 'D = sup |F1 - F2|. Plain EDFs: statistic and p-value of '
                  '`scipy.stats.ks_2samp`. Normalized EDFs: the weighted sup distance; its '
                  'p-value is the two-sample KS null distribution at Kish\'s effective '
                  'sample sizes n_eff = (sum w)^2 / sum w^2 (an approximation that ignores '
                  'that the weights are estimated).', '']
    lines += ['## Random-search efficiency', '',
              'Expected min error of m random models (exact, from order statistics; '
              'band: 25-75% quantiles).', '', image('random_search', 'random search'), '']
    lines += ['## Best parameter values (empirical bootstrap)', '']
    for space, s in summary['spaces'].items():
        boot = s['bootstrap']
        if not boot:
            continue
        reps = next(iter(boot.values()))
        lines += [f"### {space}", '',
                  f"{reps['reps']} repetitions of a {reps['subsample']}-model subsample "
                  f"with replacement; value of the lowest-error model.", '',
                  '| parameter | best (median) | 95% range |', '|---|---|---|']
        for name, r in boot.items():
            lines.append(f"| {name} | {r['median']:.4g} | [{r['low']:.4g}, {r['high']:.4g}] |")
        lines += ['', image(f'params_{space}', f'{space} parameters'), '']
    if 'error_vs_efit' in files:
        lines += ['## Quantized linear fit', '',
                  'e_fit: mean |log(predicted / observed)| of the best quantized linear '
                  'fit of each model\'s per-block widths.', '',
                  image('error_vs_efit', 'error vs e_fit')]
        for space in summary['spaces']:
            lines.append(image(f'widths_{space}', f'{space} widths'))
    reasons = summary.get('failure_reasons') or {}
    if reasons:
        lines += ['## Failed models', '']
        lines += [f'- `{k}`: {v}' for k, v in list(reasons.items())[:50]]
    return '\n'.join(lines) + '\n'
