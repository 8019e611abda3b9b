"""Analyse a trained population: statistics, plots, a Markdown report, JSON and CSV.

``analyze_population`` is what ``tools/sample_space.py analyze`` and the EDFHook call.
It never raises because models failed or are still pending: it reports how many are
finished, failed and pending per space, and says plainly when there is nothing to
analyse yet. What it computes, and where the definitions come from:

* the error of a model: ``AnalysisOptions.error_key``; by default the lowest top-1
  error over the validated epochs, as pycls (``min_top1_err``) and NDS analyse;
* EDFs with DKW confidence bands; complexity-normalized EDFs (NDS) over ONE shared
  complexity range (the study's regime bounds when it has them), counting the
  models each space loses to it and warning about thin bins;
* KS tests with the population sizes they stand on and the smallest D each could
  detect; random-search efficiency, plain (exact, without replacement) and
  normalized (exact, with replacement from the weighted population, mean +- 2 std
  as NDS plots);
* the empirical bootstrap of every drawn parameter's best value (paper Section
  3.1; pycls' int(0.25 n) subsample), and a sample-size analysis (NDS Figure 7);
* plain warnings whenever n is too small for the conclusion a reader might draw.

Outputs in ``out_dir``:

* ``report.md``        the human report, embedding the PNG plots;
* ``summary.json``     every statistic of the report, for machines;
* ``results.csv``      one row per model (space, key, status, errors, parameters);
* the PNG plots of ``report_plots.REPORT_PLOTS`` (one list, read by the drawing and
  by the Markdown): ``edf.png``, ``edf_normalized.png``, ``random_search.png``,
  ``random_search_normalized.png``, ``sample_size.png``, ``error_vs_efit.png``,
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

from ..atomic_io import atomic_write_text
from ..design.fit import FIT_VERSION, fit_quantized_linear
from .bootstrap import bootstrap_best_value, subsample_size
from .edf import (Normalization, dkw_halfwidth, ks_critical_value, ks_test,
                  normalize_over, shared_range, summarize)
from .options import AnalysisOptions
from .population import ERROR_LABELS, Population
from .random_search import random_search_efficiency
from .report_plots import ReportContext, ReportImages, draw_report_plots
from .sample_size import equal_size_critical_value, pair_sample_size, space_sample_size

#: below this many finished models per space the report says no conclusion holds
MIN_MODELS = 30
#: below this bootstrap subsample size the best-value ranges are not trends
MIN_SUBSAMPLE = 25
#: subsample agreement below this at half the population: the ranking may flip
MIN_AGREEMENT = 0.9


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

    A fit takes milliseconds; a study's analysis reruns after every model, so fits
    of already-seen width profiles are read back from the cache. The file records
    the fit algorithm's version: fits of an older algorithm are redone.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.entries: dict[str, dict[str, float]] = {}
        if path is not None and path.exists():
            try:
                data = json.loads(path.read_text())
                if isinstance(data, dict) and data.get('version') == FIT_VERSION:
                    self.entries = dict(data['entries'])
            except (OSError, ValueError, KeyError, TypeError):
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
            atomic_write_text(self.path, json.dumps({'version': FIT_VERSION,
                                                     'entries': self.entries}))
            self.dirty = False


def _default_parameters(population: Population, space: str,
                        table: Mapping[str, np.ndarray]) -> list[str]:
    """Every drawn parameter, the total depth (unless drawn as such) and e_fit."""
    names = population.drawn_names(space)
    if 'depth' in table and not any(np.array_equal(table['depth'], table[n])
                                    for n in names if n in table):
        names.append('depth')
    if 'e_fit' in table:
        names.append('e_fit')
    return names


def _bootstrappable(table: Mapping[str, np.ndarray], names: Sequence[str]
                    ) -> tuple[list[str], dict[str, str]]:
    """(names to bootstrap, {skipped name: why}); never drops a name silently."""
    keep, skipped = [], {}
    for name in names:
        if name not in table:
            skipped[name] = 'not recorded for this space'
            continue
        values = table[name]
        finite = np.isfinite(values)
        if not finite.any():
            skipped[name] = 'no model has a value'
        elif np.unique(values[finite]).size < 2:
            skipped[name] = f'one value ({values[finite][0]:.4g}) in every model'
        else:
            keep.append(name)
    return keep, skipped


def analyze_population(population: Population, out_dir: str | Path,
                       options: AnalysisOptions | None = None,
                       title: str = 'Design-space study',
                       progress: Callable[[Iterable], Iterable] | None = None
                       ) -> AnalysisResult:
    """Compute every statistic (see the module docstring) and write the report."""
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
                               'error_definition': ERROR_LABELS[options.error_key],
                               'complexity_key': options.complexity_key,
                               'num_bins': options.num_bins, 'counts': counts,
                               'confidence': options.confidence,
                               'spaces': {}, 'ks': [], 'ks_normalized': [],
                               'warnings': [], 'sample_size': {'spaces': {}, 'pairs': {}}}
    summary['failure_reasons'] = {r.key: r.reason or 'unknown'
                                  for r in population.failed()}
    warnings: list[str] = summary['warnings']
    files: dict[str, Path] = {}
    analysable = [s for s in population.spaces if counts[s]['finished'] > 0]
    summary['analysable_spaces'] = analysable

    errors = {s: population.errors(s) for s in analysable}
    complexity = {s: population.complexity(s, options.complexity_key) for s in analysable}
    norms = _normalization(summary, complexity, options, warnings)

    tables, ranges, curves, norm_curves = {}, {}, {}, {}
    for space in analysable:
        e = errors[space]
        n = e.size
        tables[space] = population.parameter_table(space, fit, progress)
        wanted = list(options.parameters) if options.parameters is not None else \
            _default_parameters(population, space, tables[space])
        names, skipped = _bootstrappable(tables[space], wanted)
        ranges[space] = {}
        for name in names:
            values = tables[space][name]
            ok = np.isfinite(values)
            ranges[space][name] = bootstrap_best_value(
                values[ok], e[ok], options.bootstrap_reps, options.bootstrap_fraction,
                options.seed, options.confidence)
        curves[space] = random_search_efficiency(e)
        norm = norms.get(space)
        if norm is not None and norm.weights.size:
            norm_curves[space] = random_search_efficiency(
                e[norm.inside], weights=norm.weights)
        best = population.finished(space)[int(np.argmin(e))]
        k = subsample_size(n, options.bootstrap_fraction)
        summary['spaces'][space] = {
            **summarize(e).as_dict(),
            'best_model': best.key,
            'complexity_range': [float(complexity[space].min()),
                                 float(complexity[space].max())],
            'dkw_halfwidth': dkw_halfwidth(n, options.confidence),
            'parameter_source': population.parameter_source(space),
            'drawn_parameters': population.drawn_names(space),
            'bootstrap': {name: r.as_dict() for name, r in ranges[space].items()},
            'bootstrap_subsample': k,
            'skipped_parameters': skipped,
            'random_search': curves[space].as_dict(),
        }
        if space in norm_curves:
            summary['spaces'][space]['random_search_normalized'] = \
                norm_curves[space].as_dict()
        _space_warnings(space, n, k, summary['spaces'][space], warnings)
        if options.sample_size:
            summary['sample_size']['spaces'][space] = space_sample_size(
                e, options.sample_size_trials, options.seed).as_dict()
    if options.parameters is not None and tables:
        known = sorted({k for t in tables.values() for k in t})
        unknown = sorted(set(options.parameters) - set(known))
        if unknown:
            raise ValueError(f'unknown analysis parameter(s) {unknown}; this population '
                             f'has: {known}')
    pair_curves = {}
    for a, b in itertools.combinations(analysable, 2):
        ea, eb = errors[a], errors[b]
        plain = ks_test(ea, eb)
        # equal sizes: the exact test's threshold; else the asymptotic one scipy uses
        crit = equal_size_critical_value(ea.size) if ea.size == eb.size else \
            ks_critical_value(ea.size, eb.size)
        summary['ks'].append({'spaces': [a, b], **plain.as_dict(), 'D_critical': crit})
        na, nb = norms.get(a), norms.get(b)
        if na is not None and nb is not None and na.weights.size and nb.weights.size:
            res = ks_test(ea[na.inside], eb[nb.inside], na.weights, nb.weights)
            summary['ks_normalized'].append(
                {'spaces': [a, b], **res.as_dict(),
                 'D_critical': ks_critical_value(res.n1, res.n2)})
        pair = pair_sample_size(ea, eb, options.sample_size_trials, options.seed) \
            if options.sample_size else None
        if pair is not None:
            pair_curves[f'{a} vs {b}'] = pair
            summary['sample_size']['pairs'][f'{a} vs {b}'] = pair.as_dict()
        _pair_warnings(a, b, summary['ks'][-1], pair, warnings)
    if fit is not None:
        fit.save()

    if not analysable:
        message = _nothing_to_analyse(counts)
        summary['message'] = message
    else:
        message = ''
        if options.plots:
            context = ReportContext(population, analysable, tables, norms, ranges, curves,
                                    norm_curves, pair_curves, summary, options, title)
            files.update(draw_report_plots(context, out))
    files['summary'] = out / 'summary.json'
    atomic_write_text(files['summary'], json.dumps(summary, indent=1, default=_json))
    files['csv'] = _write_csv(population, tables, out / 'results.csv')
    files['report'] = out / 'report.md'
    images = ReportImages(files, out, analysable)
    atomic_write_text(files['report'], _markdown(summary, images, message))
    return AnalysisResult(summary, files, message)


def _normalization(summary: dict[str, Any], complexity: Mapping[str, np.ndarray],
                   options: AnalysisOptions, warnings: list[str]
                   ) -> dict[str, Normalization]:
    """One shared range for every space (NDS); who is left out; thin bins."""
    source = {'options': 'set in the analysis options',
              'regime': "the study's regime bounds"}.get(options.complexity_range_source,
                                                         "the overlap of the spaces' "
                                                         "ranges")
    if not complexity:
        summary['normalization'] = {'range': None, 'source': source, 'spaces': {}}
        return {}
    value_range = shared_range(complexity, options.complexity_range)
    info: dict[str, Any] = {'range': list(value_range) if value_range else None,
                            'source': source, 'spaces': {}}
    summary['normalization'] = info
    if value_range is None:
        warnings.append(f'The spaces share no {options.complexity_key} range: the '
                        f'normalized comparison is impossible (each space covers '
                        f'different complexities).')
        return {}
    norms = {s: normalize_over(c, value_range, options.num_bins)
             for s, c in complexity.items()}
    for space, norm in norms.items():
        info['spaces'][space] = norm.as_dict()
        if norm.left_out:
            warnings.append(f'{space}: {norm.left_out} of {norm.inside.size} models lie '
                            f'outside the shared {options.complexity_key} range and are '
                            f'left out of the normalized EDF, KS test and random search.')
        thin = [i + 1 for i, c in enumerate(norm.bin_counts) if c < options.min_bin_models]
        if norm.weights.size == 0:
            warnings.append(f'{space}: no model inside the shared range; it has no '
                            f'normalized EDF.')
        elif thin:
            empty = [i + 1 for i, c in enumerate(norm.bin_counts) if c == 0]
            warnings.append(
                f'{space}: {len(thin)} of {options.num_bins} complexity bins hold fewer '
                f'than {options.min_bin_models} models (counts '
                f'{norm.bin_counts.tolist()}); each such model carries a large weight, '
                f'so the normalized EDF rests on a few models'
                + (f'; bins {empty} are empty and their share is spread over the '
                   f'others' if empty else '') + '.')
    return norms


def _space_warnings(space: str, n: int, k: int, info: Mapping[str, Any],
                    warnings: list[str]) -> None:
    if n < MIN_MODELS:
        warnings.append(
            f'{space}: only {n} finished models. Its EDF is uncertain by +-'
            f"{info['dkw_halfwidth']:.2f} everywhere (95% DKW band): read the plots as "
            f'an illustration, not as evidence (the paper uses 100-500 models per space).')
    if info['bootstrap'] and k < MIN_SUBSAMPLE:
        what = ('each subsample is one random model, so the "best value" is any '
                'model\'s value' if k == 1 else
                f'the best of {k} random models says where a few good models happen to '
                f'lie')
        warnings.append(
            f'{space}: the best-value ranges come from {k}-model bootstrap subsamples '
            f'(int(0.25 n), n = {n}); {what}, not a trend. Do not read a "best value" '
            f'from them.')
    if info['parameter_source'] == 'inferred':
        warnings.append(f'{space}: the manifest predates recorded draws; the drawn '
                        f'parameters were read from the raw per-stage draws (one shared '
                        f'column where every model has one value across stages).')
    elif info['parameter_source'] == 'missing':
        warnings.append(f'{space}: no drawn parameters recorded; only the built '
                        f"networks' stage values (eff_*) can be analysed.")


def _pair_warnings(a: str, b: str, ks: Mapping[str, Any], pair, warnings: list[str]
                   ) -> None:
    if ks['pvalue'] >= 0.05:
        warnings.append(
            f"{a} vs {b}: no significant difference (D = {ks['D']:.2f}, p = "
            f"{ks['pvalue']:.2g}); at n = {int(ks['n1'])} and {int(ks['n2'])} only "
            f"D > {ks['D_critical']:.2f} would be detected, so smaller differences "
            f'remain possible.')
    if pair is None:
        return
    below = [(k, ag) for k, ag in zip(pair.sizes, pair.agree) if k < pair.sizes[-1]]
    if below and below[-1][1] < MIN_AGREEMENT:
        k, agree = below[-1]
        warnings.append(
            f'{a} vs {b}: with {k} models per space the two spaces are ranked (by '
            f'median error) as the full populations rank them in only {agree:.0%} of '
            f'subsamples: more models could change the conclusion.')


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
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f'cannot serialise {type(value).__name__}')


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


def _markdown(summary: Mapping[str, Any], images: ReportImages, message: str) -> str:
    """report.md; the plots are embedded where their section (``REPORT_PLOTS``) is."""

    conf = f"{summary['confidence']:.0%}"
    lines = [f"# {summary['title']}", '',
             f"**Error analysed:** {summary['error_definition']} (`{summary['error_key']}`"
             f", in %).", '']
    norm = summary.get('normalization') or {}
    if norm.get('range'):
        lo, hi = norm['range']
        lines += [f"**Normalization:** one shared {summary['complexity_key']} range "
                  f"[{lo:.4g}, {hi:.4g}] ({norm['source']}), {summary['num_bins']} "
                  f"equal bins, the same for every space (NDS).", '']
    if summary['warnings']:
        lines += ['## Read this first', '']
        lines += [f'- {w}' for w in summary['warnings']]
        lines.append('')
    lines += [f'| space | sampled | finished | failed | pending | min | mean | median | '
              f'EDF band ({conf} DKW) |', '|---|---|---|---|---|---|---|---|---|']
    for space, c in summary['counts'].items():
        s = summary['spaces'].get(space, {})
        band = f"+-{s['dkw_halfwidth']:.2f}" if 'dkw_halfwidth' in s else 'n/a'
        lines.append(f"| {space} | {c['total']} | {c['finished']} | {c['failed']} | "
                     f"{c['pending']} | {_fmt(s.get('min_error', float('nan')))} | "
                     f"{_fmt(s.get('mean_error', float('nan')))} | "
                     f"{_fmt(s.get('median_error', float('nan')))} | {band} |")
    lines.append('')
    if message:
        lines += [f'**{message}**', '']
        reasons = summary.get('failure_reasons') or {}
        for key, reason in list(reasons.items())[:50]:
            lines.append(f'- `{key}`: {reason}')
        return '\n'.join(lines) + '\n'
    lines += ['## Error distribution functions', '',
              'F(e) = fraction of models with error < e. Shaded: the Dvoretzky-Kiefer-'
              f'Wolfowitz band, inside which the true distribution lies everywhere with '
              f'probability {conf} (half-width sqrt(ln(2/alpha) / 2n); normalized EDFs: '
              "at Kish's effective n).", '', *images.lines('edf'), '']
    if norm.get('spaces'):
        lines += ['### Complexity-normalized EDFs (NDS)', '',
                  'Each model weighs 1 / (k * m_j), m_j the models of its bin, so that '
                  'every complexity bin of the shared range weighs the same in every '
                  'space. Models outside the shared range are left out.', '',
                  '| space | kept | left out | models per bin | n_eff |',
                  '|---|---|---|---|---|']
        for space, info in norm['spaces'].items():
            lines.append(f"| {space} | {info['kept']} | {info['left_out']} | "
                         f"{' '.join(str(c) for c in info['bin_counts'])} | "
                         f"{info['n_eff']:.1f} |")
        lines += ['', *images.lines('edf_normalized'), '']
    if summary['ks']:
        normalized = {tuple(k['spaces']): k for k in summary['ks_normalized']}
        lines += ['## KS tests between spaces', '',
                  '| spaces | n | D | p-value | D needed for p<0.05 | n_eff (normalized) '
                  '| D (normalized) | p (normalized) | D needed (normalized) |',
                  '|---|---|---|---|---|---|---|---|---|']
        for plain in summary['ks']:
            nk = normalized.get(tuple(plain['spaces']))
            tail = (f"{nk['n1']:.1f}, {nk['n2']:.1f} | {nk['D']:.3f} | {nk['pvalue']:.3g} | "
                    f"{nk['D_critical']:.2f} |" if nk else 'n/a | n/a | n/a | n/a |')
            lines.append(f"| {plain['spaces'][0]} vs {plain['spaces'][1]} | "
                         f"{int(plain['n1'])}, {int(plain['n2'])} | {plain['D']:.3f} | "
                         f"{plain['pvalue']:.3g} | {plain['D_critical']:.2f} | {tail}")
        lines += ['', 'D = sup |F1 - F2|. Plain EDFs: statistic and p-value of '
                  '`scipy.stats.ks_2samp`. Normalized EDFs: the weighted sup distance; its '
                  "p-value is the two-sample KS null distribution at Kish's effective "
                  'sample sizes n_eff = (sum w)^2 / sum w^2 (an approximation that ignores '
                  'that the weights are estimated). "D needed": the smallest D the test '
                  'could call significant at these sizes.', '']
    lines += ['## Random-search efficiency', '',
              'Expected min error of m random models of the population, exact from order '
              'statistics: plain (m distinct models, band 25-75% quantiles) and '
              'normalized (m draws with replacement from the normalized distribution, '
              'P(min >= e_(i)) = S_i^m; band mean +- 2 std, as NDS plots).', '',
              *images.lines('random_search'), '']
    sample = summary.get('sample_size') or {}
    if sample.get('spaces'):
        lines += ['## Sample size: could more models change the conclusion?', '',
                  'By subsampling k models per space (NDS Figure 7): left, the KS distance '
                  'between a k-model EDF and the whole population\'s; middle, D between '
                  'the spaces at k models each (dashed: at all models); right, how often '
                  'k-model subsamples rank the spaces (by median error) as the full '
                  'populations do, and how often a KS test calls them different. '
                  'Curves still moving at the study\'s n mean more models could change '
                  'the conclusion.', '']
        for name, pair in sample.get('pairs', {}).items():
            lines += [f'| {name}: k | ' + ' | '.join(str(k) for k in pair['k']) + ' |',
                      '|---|' + '---|' * len(pair['k']),
                      '| D between spaces | ' + ' | '.join(
                          f'{m:.2f}+-{s:.2f}' for m, s in zip(pair['D_mean'], pair['D_std']))
                      + ' |',
                      '| same ranking | ' + ' | '.join(f'{a:.0%}' for a in pair['agree_fraction'])
                      + ' |',
                      '| KS p < 0.05 | ' + ' | '.join(
                          f'{a:.0%}' for a in pair['significant_fraction']) + ' |', '']
        lines += [*images.lines('sample_size'), '']
    lines += ['## Best parameter values (empirical bootstrap)', '']
    for space, s in summary['spaces'].items():
        boot = s['bootstrap']
        lines += [f"### {space}", '']
        drawn = s.get('drawn_parameters') or []
        lines.append(f"Drawn parameters of this space: {', '.join(drawn) or 'none recorded'}"
                     f" (source: {s.get('parameter_source', 'n/a')}). eff_* columns in "
                     f'results.csv are the built network\'s stage values after group '
                     f'compatibility.')
        lines.append('')
        if boot:
            reps = next(iter(boot.values()))
            lines += [f"{reps['reps']} repetitions of a {s['bootstrap_subsample']}-model "
                      f"subsample (int(0.25 n), as pycls) of the n = {s['n']} finished "
                      f'models, with replacement; the value of the lowest-error model; '
                      f'{conf} range.', '',
                      '| parameter | drawn | n | best (median) | range |', '|---|---|---|---|---|']
            for name, r in boot.items():
                lines.append(f"| {name} | {'yes' if name in drawn else 'no'} | {r['n']} | "
                             f"{r['median']:.4g} | [{r['low']:.4g}, {r['high']:.4g}] |")
        skipped = s.get('skipped_parameters') or {}
        if skipped:
            lines += ['', 'Not bootstrapped: ' + '; '.join(f'{k}: {v}'
                                                         for k, v in skipped.items()) + '.']
        lines += ['', *images.lines('parameters', space), '']
    if images.drawn('fit'):
        lines += ['## Quantized linear fit', '',
                  'e_fit: mean |log(predicted / observed)| of the best quantized linear '
                  'fit of each model\'s per-block widths (paper Section 4; the search: '
                  '`design/fit.py`).', '', *images.lines('fit')]
    for section in images.unplaced():        # a plot added with a section of its own
        lines += [f'## {section}', '', *images.lines(section), '']
    reasons = summary.get('failure_reasons') or {}
    if reasons:
        lines += ['## Failed models', '']
        lines += [f'- `{k}`: {v}' for k, v in list(reasons.items())[:50]]
    return '\n'.join(lines) + '\n'
