"""The analysis report on synthetic populations: files, planted answers, plain failures."""
import csv
import io
import json

import numpy as np
import pytest

from regnet_plugin.analysis import AnalysisOptions, Population, analyze_population
from regnet_plugin.design.complexity import complexity
from regnet_plugin.design.regnet import RegNetParams


def _population(n_per_space=40, fail_every=10, seed=0):
    """Two RegNet spaces; error has a planted optimum at depth 18, Y is 2 points better."""
    rng = np.random.default_rng(seed)
    rows = []
    for space, se in (('RegNetX', 0.0), ('RegNetY', 0.25)):
        made = 0
        while made < n_per_space:
            d = int(rng.integers(8, 30))
            p = RegNetParams(d, int(rng.integers(2, 10)) * 8, float(rng.uniform(8, 48)),
                             float(rng.uniform(1.6, 3.0)), int(rng.choice([1, 2, 4, 8])),
                             se_ratio=se)
            if p.num_stages != 4:
                continue
            spec = p.to_spec()
            cx = complexity(spec, 32, 10)
            err = 20 + 0.05 * (d - 18) ** 2 + rng.normal(0, 0.5) - (2 if se else 0)
            failed = made % fail_every == fail_every - 1
            rows.append(dict(key=f'{space}-{spec.id}', space=space, spec=spec.to_dict(),
                             complexity=dict(flops=cx.flops, params=cx.params, acts=cx.acts),
                             space_params=p.to_dict(),
                             status='failed' if failed else 'done',
                             final_error=None if failed else err,
                             best_error=None if failed else err - 0.1,
                             reason='loss became NaN' if failed else None))
            made += 1
    return rows


@pytest.fixture(scope='module')
def analysed(tmp_path_factory):
    out = tmp_path_factory.mktemp('report')
    options = AnalysisOptions(bootstrap_reps=2000, num_bins=5, width_fit_models=2)
    return out, analyze_population(Population.from_dicts(_population()), out, options,
                                   'synthetic')


def test_report_files_and_embedded_plots(analysed):
    out, result = analysed
    for name in ('report.md', 'summary.json', 'results.csv', 'edf.png',
                 'edf_normalized.png', 'random_search.png', 'params_RegNetX.png',
                 'widths_RegNetY.png', 'error_vs_efit.png'):
        assert (out / name).stat().st_size > 0, name
    report = (out / 'report.md').read_text()
    assert '![EDF](edf.png)' in report and 'params_RegNetX.png' in report
    assert 'loss became NaN' in report          # failures are listed with their reason
    summary = json.loads((out / 'summary.json').read_text())
    assert summary['counts']['RegNetX'] == {'total': 40, 'finished': 36, 'failed': 4,
                                            'pending': 0}
    csv_lines = (out / 'results.csv').read_text().strip().splitlines()
    assert len(csv_lines) == 81 and csv_lines[0].startswith('space,key,status')


#: report.md from its first statistics section on, as the report has always laid it
#: out for two spaces with every analysis on (the file names and image texts of
#: ``tools/sample_space.py analyze``): headings and image links verbatim, each run of
#: other text as '.', blank lines kept
LAYOUT = """## Error distribution functions

.

![EDF](edf.png)


### Complexity-normalized EDFs (NDS)

.

.

![normalized EDF](edf_normalized.png)


## KS tests between spaces

.

.

## Random-search efficiency

.

![random search](random_search.png)

![normalized random search](random_search_normalized.png)


## Sample size: could more models change the conclusion?

.

.

![sample size](sample_size.png)


## Best parameter values (empirical bootstrap)

### RegNetX

.

.

.

.

![RegNetX parameters](params_RegNetX.png)


### RegNetY

.

.

.

.

![RegNetY parameters](params_RegNetY.png)


## Quantized linear fit

.

![error vs e_fit](error_vs_efit.png)

![RegNetX widths](widths_RegNetX.png)

![RegNetY widths](widths_RegNetY.png)

## Failed models

.
"""


def _layout(report: str) -> str:
    lines = report[report.index('## Error distribution functions'):].split('\n')
    kept: list[str] = []
    for line in lines:
        line = line if not line or line.startswith(('#', '![')) else '.'
        if not (line == '.' and kept and kept[-1] == '.'):
            kept.append(line)
    return '\n'.join(kept)


def test_plots_are_drawn_and_embedded_one_to_one(analysed):
    """Every PNG written is linked once from report.md, where it always was, and every
    link is a file: the one plot list serves the drawing and the Markdown alike."""
    import re
    out, result = analysed
    report = (out / 'report.md').read_text()
    assert _layout(report) == LAYOUT
    linked = re.findall(r'!\[[^]]*\]\(([^)]+)\)', report)
    on_disk = sorted(p.name for p in out.glob('*.png'))
    assert sorted(linked) == on_disk and len(set(linked)) == len(linked) == 10
    assert sorted(p.name for k, p in result.files.items() if p.suffix == '.png') == on_disk


def test_a_new_plot_is_one_entry_of_the_list(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    from regnet_plugin.analysis import report_plots

    def histogram(context, space):
        fig = Figure()
        fig.subplots().hist(context.population.errors(space))
        return fig

    entry = report_plots.ReportPlot('hist_{space}', 'hist_{space}.png', '{space} errors',
                                    'Error histograms', histogram, per_space=True)
    monkeypatch.setattr(report_plots, 'REPORT_PLOTS', [*report_plots.REPORT_PLOTS, entry])
    options = AnalysisOptions(bootstrap_reps=50, with_fit=False, sample_size=False)
    result = analyze_population(Population.from_dicts(_population(6, fail_every=3)),
                                tmp_path, options)
    report = (tmp_path / 'report.md').read_text()
    assert ('\n## Error histograms\n\n![RegNetX errors](hist_RegNetX.png)\n\n'
            '![RegNetY errors](hist_RegNetY.png)\n\n') in report
    assert report.index('## Error histograms') < report.index('## Failed models')
    assert result.files['hist_RegNetY'] == tmp_path / 'hist_RegNetY.png'
    assert (tmp_path / 'hist_RegNetY.png').read_bytes()[:4] == b'\x89PNG'


def test_plot_functions_return_figures_and_the_array_is_the_png(tmp_path):
    import matplotlib.image as mpimg
    from matplotlib.figure import Figure

    from regnet_plugin.analysis import plots
    fig = plots.plot_edfs({'a': (np.arange(20.0), None), 'b': (np.arange(8.0) + 3, None)})
    assert isinstance(fig, Figure)
    path = plots.save_png(fig, tmp_path / 'sub' / 'edf.png')
    image = plots.figure_rgb(fig)
    plots.close_figure(fig)
    assert not fig.axes                                  # closed: its artists are gone
    saved = mpimg.imread(path)[..., :3]                  # float RGB in [0, 1]
    assert image.dtype == np.uint8 and image.shape == saved.shape
    assert np.array_equal(image, np.round(saved * 255).astype(np.uint8))
    assert not list((tmp_path / 'sub').glob('.*.tmp'))  # written atomically, no leftovers


def test_report_statistics_find_planted_answers(analysed):
    out, result = analysed
    spaces = result.summary['spaces']
    depth = spaces['RegNetX']['bootstrap']['d']
    assert depth['low'] <= 18 <= depth['high']
    assert spaces['RegNetY']['mean_error'] < spaces['RegNetX']['mean_error']
    ks = result.summary['ks'][0]
    assert ks['spaces'] == ['RegNetX', 'RegNetY'] and ks['pvalue'] < 0.05
    # RegNets fit their own widths exactly: e_fit of the quantized linear fit is 0
    # for every trained model (a constant column, hence not bootstrapped)
    rows = list(csv.DictReader(io.StringIO((out / 'results.csv').read_text())))
    assert len(rows) == 80
    assert all(float(r['e_fit']) == 0.0 for r in rows if r['status'] == 'done')
    assert all(r['e_fit'] == '' for r in rows if r['status'] != 'done')
    assert sum(r['status'] == 'done' for r in rows) == 72
    assert 'e_fit' not in spaces['RegNetX']['bootstrap']
    rs = spaces['RegNetY']['random_search']
    assert rs['m'][0] == 1 and rs['expected_min_error'][0] == pytest.approx(
        spaces['RegNetY']['mean_error'])


def test_every_model_failed_is_said_plainly(tmp_path):
    rows = [dict(r, status='failed', final_error=None, reason='out of memory')
            for r in _population(5)]
    result = analyze_population(Population.from_dicts(rows), tmp_path)
    assert 'every one of the 10 models failed' in result.message
    report = (tmp_path / 'report.md').read_text()
    assert 'every one of the 10 models failed' in report and 'out of memory' in report
    assert not (tmp_path / 'edf.png').exists()


def test_nothing_finished_yet(tmp_path):
    rows = [dict(r, status='pending', final_error=None) for r in _population(3)]
    result = analyze_population(Population.from_dicts(rows), tmp_path)
    assert 'no model has finished' in result.message


def test_bad_analysis_options():
    with pytest.raises(ValueError, match='unknown analysis options'):
        AnalysisOptions.from_dict({'num_binz': 3})
    with pytest.raises(ValueError, match='complexity_key'):
        AnalysisOptions.from_dict({'complexity_key': 'latency'})


def test_unknown_parameter_names_are_refused(tmp_path):
    options = AnalysisOptions(parameters=['depth', 'widthz'], with_fit=False, plots=False,
                              bootstrap_reps=100)
    with pytest.raises(ValueError, match=r"unknown analysis parameter\(s\) \['widthz'\]"):
        analyze_population(Population.from_dicts(_population(5)), tmp_path, options)


# -- drawn parameters, shared normalization range, error definition, n warnings ------
def _rows_from_draws(space_name, n, seed, error=None):
    """Models drawn from a real space (space_params = Draw.params, as a manifest stores)."""
    from regnet_plugin.design.spaces import get_space
    rng = np.random.default_rng(seed)
    space = get_space(space_name)
    rows = []
    for i in range(n):
        draw = space.draw(rng)
        err = float(rng.uniform(20, 40)) if error is None else error(draw)
        rows.append(dict(key=f'{space_name}-{i}', space=space_name,
                         spec=draw.spec.to_dict(), complexity=dict(flops=1e6 * (i + 1)),
                         space_params=draw.params, status='done', final_error=err + 1,
                         best_error=err))
    return rows


def test_drawn_group_width_is_a_column_after_compatibility(tmp_path):
    """RegNetX draws one g; compatibility (g = min(g, w_b)) changes some stages' g. The
    table's g is the draw itself for every model, the eff_g columns the built stages,
    and the report bootstraps the drawn g and b."""
    rows = _rows_from_draws('RegNetX', 150, 0)
    drawn_g = np.array([r['space_params']['group_width'] for r in rows], float)
    built_g = np.array([r['spec']['stages'][0]['group_width'] for r in rows], float) \
        if 'stages' in rows[0]['spec'] else None
    population = Population.from_dicts(rows)
    table = population.parameter_table('RegNetX')
    np.testing.assert_array_equal(table['g'], drawn_g)
    np.testing.assert_array_equal(
        table['b'], [r['space_params']['bottleneck_ratio'] for r in rows])
    specs = [population.finished('RegNetX')[i].anynet_spec() for i in range(len(rows))]
    eff_g1 = np.array([s.group_widths[0] for s in specs], float)
    np.testing.assert_array_equal(table['eff_g1'], eff_g1)
    if built_g is not None:
        np.testing.assert_array_equal(built_g, eff_g1)
    changed = np.any(np.array([s.group_widths for s in specs]) != drawn_g[:, None], axis=1)
    assert 5 <= changed.sum() < len(rows)    # compatibility did change some models' g
    assert np.all(np.isfinite(table['g'])) and np.all(np.isfinite(table['b']))
    options = AnalysisOptions(bootstrap_reps=200, with_fit=False, plots=False)
    result = analyze_population(population, tmp_path, options)
    boot = result.summary['spaces']['RegNetX']['bootstrap']
    assert {'d', 'w0', 'wa', 'wm', 'g', 'b'} <= set(boot)
    report = (tmp_path / 'report.md').read_text()
    assert '| g | yes |' in report and '| b | yes |' in report


@pytest.mark.parametrize('space, drawn', [
    ('AnyNetX_A', [f'{p}{i}' for p in 'dwbg' for i in range(1, 5)]),
    ('AnyNetX_B', [f'{p}{i}' for p in 'dw' for i in range(1, 5)] + ['b'] +
     [f'g{i}' for i in range(1, 5)]),
    ('AnyNetX_C', [f'{p}{i}' for p in 'dw' for i in range(1, 5)] + ['b', 'g']),
    ('AnyNetX_E', [f'{p}{i}' for p in 'dw' for i in range(1, 5)] + ['b', 'g']),
])
def test_anynet_drawn_columns_are_the_degrees_of_freedom(space, drawn):
    rows = _rows_from_draws(space, 60, 1)
    population = Population.from_dicts(rows)
    assert population.drawn_names(space) == drawn
    table = population.parameter_table(space)
    for name in drawn:                          # no NaN: nothing drops out
        assert np.all(np.isfinite(table[name])), name
    if 'g' in drawn:
        np.testing.assert_array_equal(
            table['g'], [r['space_params']['group_widths'][0] for r in rows])
    # an old manifest (no recorded 'drawn') gives the same columns, inferred
    legacy = [dict(r, space_params={k: v for k, v in r['space_params'].items()
                                    if k != 'drawn'}) for r in rows]
    old = Population.from_dicts(legacy)
    assert old.parameter_source(space) == 'inferred'
    assert old.drawn_names(space) == drawn
    old_table = old.parameter_table(space)
    for name in drawn:
        np.testing.assert_array_equal(old_table[name], table[name])


def _flops_rows(space, flops, seed):
    """Same error-vs-flops law in every space: error = 40 - 3 * flops (M) + noise."""
    rng = np.random.default_rng(seed)
    spec = RegNetParams(16, 48, 24.0, 2.5, 8).to_spec().to_dict()
    return [dict(key=f'{space}-{i}', space=space, spec=spec,
                 complexity=dict(flops=float(f) * 1e6), status='done',
                 best_error=40 - 3 * float(f) + rng.normal(0, 0.5),
                 final_error=41 - 3 * float(f))
            for i, f in enumerate(flops)]


def test_normalization_uses_one_shared_range(tmp_path):
    """Two spaces with the same error-vs-flops law but different flops ranges: over
    one shared range their normalized EDFs agree; the models outside it are counted.
    The reference: NDS weights over the shared range, computed in the test."""
    rng = np.random.default_rng(0)
    fa, fb = rng.uniform(1, 6, 400), rng.uniform(3, 8, 400)
    rows = _flops_rows('A', fa, 1) + _flops_rows('B', fb, 2)
    options = AnalysisOptions(num_bins=5, bootstrap_reps=100, with_fit=False, plots=False,
                              sample_size_trials=5)
    result = analyze_population(Population.from_dicts(rows), tmp_path, options)
    norm = result.summary['normalization']
    lo, hi = max(fa.min(), fb.min()) * 1e6, min(fa.max(), fb.max()) * 1e6
    assert norm['range'] == pytest.approx([lo, hi])
    assert norm['spaces']['A']['left_out'] == int(np.sum((fa * 1e6 < lo) | (fa * 1e6 > hi)))
    assert norm['spaces']['B']['left_out'] == int(np.sum((fb * 1e6 < lo) | (fb * 1e6 > hi)))
    assert norm['spaces']['A']['left_out'] > 100
    assert any('A: ' in w and 'outside the shared flops range' in w
               for w in result.summary['warnings'])

    def nds_weights(c):                           # NDS compute_norm_ws, by definition
        hist, edges = np.histogram(c, bins=5, range=(lo, hi))
        return 1 / hist[np.clip(np.digitize(c, edges) - 1, 0, 4)] / 5

    def weighted_d(ea, wa, eb, wb):
        grid = np.union1d(ea, eb)
        fa_ = np.array([wa[ea <= g].sum() for g in grid])
        fb_ = np.array([wb[eb <= g].sum() for g in grid])
        return np.abs(fa_ - fb_).max()

    pop = Population.from_dicts(rows)
    ea, eb = pop.errors('A'), pop.errors('B')
    ca, cb = fa * 1e6, fb * 1e6
    ia, ib = (ca >= lo) & (ca <= hi), (cb >= lo) & (cb <= hi)
    shared_d = weighted_d(ea[ia], nds_weights(ca[ia]), eb[ib], nds_weights(cb[ib]))
    ks = result.summary['ks_normalized'][0]
    assert ks['D'] == pytest.approx(shared_d)
    assert ks['D'] < 0.15 and ks['pvalue'] > 0.01
    # each space over its own range (what the analysis must not do) differs badly
    def own(c):
        hist, edges = np.histogram(c, bins=5)
        return 1 / hist[np.clip(np.digitize(c, edges) - 1, 0, 4)] / 5
    assert weighted_d(ea, own(ca), eb, own(cb)) > 0.3


def test_regime_bounds_are_the_shared_range():
    from regnet_plugin.design.sampler import Regime
    options = AnalysisOptions.from_dict({'num_bins': 4},
                                        regime=Regime(min_flops=2e6, max_flops=4e6))
    assert tuple(options.complexity_range) == (2e6, 4e6)
    assert options.complexity_range_source == 'regime'
    explicit = AnalysisOptions.from_dict({'complexity_range': [1e6, 3e6]},
                                         regime=Regime(min_flops=2e6, max_flops=4e6))
    assert tuple(explicit.complexity_range) == (1e6, 3e6)
    with pytest.raises(ValueError, match='error_key'):
        AnalysisOptions.from_dict({'error_key': 'last'})


def test_error_definition_default_is_best_epoch_and_is_stated(tmp_path):
    rows = _rows_from_draws('RegNetX', 20, 2)
    options = AnalysisOptions(bootstrap_reps=100, with_fit=False, plots=False)
    result = analyze_population(Population.from_dicts(rows), tmp_path, options)
    assert result.summary['error_key'] == 'best_error'
    assert result.summary['spaces']['RegNetX']['min_error'] == \
        pytest.approx(min(r['best_error'] for r in rows))
    assert 'lowest top-1 error over the validated epochs' in \
        (tmp_path / 'report.md').read_text()
    final = analyze_population(Population.from_dicts(rows), tmp_path / 'final',
                               AnalysisOptions(error_key='final_error', bootstrap_reps=100,
                                               with_fit=False, plots=False))
    assert final.summary['spaces']['RegNetX']['min_error'] == \
        pytest.approx(min(r['final_error'] for r in rows))
    assert 'after the final epoch' in (tmp_path / 'final' / 'report.md').read_text()


def test_small_populations_are_called_out(tmp_path):
    """The demo's size: 12 models per space, 3-model bootstrap subsamples."""
    rows = _rows_from_draws('RegNetX', 12, 3) + _rows_from_draws('AnyNetX_A', 12, 4)
    options = AnalysisOptions(bootstrap_reps=200, with_fit=False, plots=False)
    result = analyze_population(Population.from_dicts(rows), tmp_path, options)
    warnings = ' '.join(result.summary['warnings'])
    assert 'only 12 finished models' in warnings
    assert '3-model bootstrap subsamples' in warnings and 'not a trend' in warnings
    report = (tmp_path / 'report.md').read_text()
    assert '## Read this first' in report and 'not a trend' in report
    ks = result.summary['ks'][0]
    assert ks['n1'] == 12 and ks['D_critical'] > 0.4


def test_fits_cached_by_an_older_search_are_redone(tmp_path):
    """fit_cache.json of the old search (a flat dict, no version) is not trusted."""
    from regnet_plugin.analysis.report import FitCache
    from regnet_plugin.design.fit import fit_quantized_linear
    widths = [32, 48, 160, 160, 160, 176, 176, 176, 176, 176]
    key = ','.join(map(str, widths))
    path = tmp_path / 'fit_cache.json'
    path.write_text(json.dumps({key: {'w0': 32, 'wa': 10.0, 'wm': 2.0, 'e_fit': 0.1446}}))
    cache = FitCache(path)
    assert cache(widths)['e_fit'] == pytest.approx(fit_quantized_linear(widths).e_fit)
    cache.save()
    assert FitCache(path)(widths) == cache(widths)        # the new entry is kept


def test_plots_drawn_by_forked_processes_are_the_same_files(tmp_path, monkeypatch):
    """The report's figures are drawn by forked copies of the process (one per CPU):
    every PNG and the report are the bytes one process draws, listed in the same order."""
    from regnet_plugin.analysis import report_plots
    options = AnalysisOptions(bootstrap_reps=200, with_fit=False)
    population = Population.from_dicts(_population(12, fail_every=5))
    results = {}
    for jobs in (1, 2):
        monkeypatch.setattr(report_plots, 'default_jobs', lambda jobs=jobs: jobs)
        results[jobs] = analyze_population(population, tmp_path / str(jobs), options, 't')
    one, two = ({k: p.relative_to(tmp_path / str(j)) for k, p in results[j].files.items()}
                for j in (1, 2))
    assert list(one.items()) == list(two.items()) and len(one) > 8
    for name in one.values():
        assert (tmp_path / '1' / name).read_bytes() == (tmp_path / '2' / name).read_bytes()


def _context(spaces=('a', 'b')):
    from regnet_plugin.analysis.report_plots import ReportContext
    return ReportContext(None, list(spaces), {}, {}, {}, {}, {}, {}, {}, AnalysisOptions(),
                         'title')


def test_report_plots_are_drawn_in_forked_processes_and_failures_raise_here(tmp_path):
    """With jobs > 1 no figure is drawn by this process; a figure a forked process
    could not draw is drawn here again (its error raised here, as with one process)."""
    import os

    from matplotlib.figure import Figure

    from regnet_plugin.analysis.report_plots import ReportPlot, draw_report_plots
    here = os.getpid()
    pids = tmp_path / 'pids'

    def record(context, space):
        with open(pids, 'a') as f:
            f.write(f'{os.getpid()}\n')
        fig = Figure()
        fig.subplots().plot([1, 2, 3])
        return fig

    def only_here(context, space):
        if os.getpid() != here:
            raise RuntimeError('not in a forked process')
        return record(context, space)

    plot_list = [ReportPlot('p_{space}', 'p_{space}.png', 'p', 's', record, per_space=True),
                 ReportPlot('none', 'none.png', 'n', 's', lambda c, s: None),
                 ReportPlot('here', 'here.png', 'h', 's', only_here)]
    files = draw_report_plots(_context(), tmp_path, plot_list, jobs=2)
    assert list(files) == ['p_a', 'p_b', 'here']
    assert all(path.read_bytes()[:4] == b'\x89PNG' for path in files.values())
    drawn_by = [int(pid) for pid in pids.read_text().split()]
    assert sorted(drawn_by).count(here) == 1 and len(drawn_by) == 3   # 'here' only

    def broken(context, space):
        raise ValueError('planted')

    with pytest.raises(ValueError, match='planted'):
        draw_report_plots(_context(), tmp_path, [plot_list[0], ReportPlot(
            'broken', 'broken.png', 'b', 's', broken)], jobs=2)
