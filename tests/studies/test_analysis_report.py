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


def test_report_statistics_find_planted_answers(analysed):
    out, result = analysed
    spaces = result.summary['spaces']
    depth = spaces['RegNetX']['bootstrap']['depth']
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
