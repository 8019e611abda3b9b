"""study.expected_order: the paper's claimed ordering of spaces, answered plainly."""
import json
from types import SimpleNamespace

import numpy as np
import pytest

from regnet_plugin.studies.ordering import add_to_report, parse_order, verdict
from regnet_plugin.studies.schema import StudyConfig

CHAIN = ['A', '<', 'C', '<', 'E', '~', 'R']


def errors(shift_c=-5.0, shift_e=-10.0, shift_r=-10.0, n=48, seed=0):
    rng = np.random.default_rng(seed)
    return {'A': 20 + rng.normal(0, 2, n), 'C': 20 + shift_c + rng.normal(0, 2, n),
            'E': 20 + shift_e + rng.normal(0, 2, n), 'R': 20 + shift_r + rng.normal(0, 2, n)}


def test_clear_chain_holds_and_each_broken_step_is_named():
    found = verdict(errors(), CHAIN)
    assert found.holds is True and 'SHOWS UP' in found.headline()
    # C no better than A: the first step fails, the others still hold
    found = verdict(errors(shift_c=0.0, shift_e=-10.0), CHAIN)
    assert [s.holds for s in found.steps] == [False, True, True]
    assert 'does NOT fully show up' in found.headline() and '2 of 3' in found.headline()
    # RegNetX clearly worse than E: the '~' step fails
    assert [s.holds for s in verdict(errors(shift_r=-2.0), CHAIN).steps] == [True, True,
                                                                              False]
    # '~' holds for the same distribution (not significantly worse)
    same = verdict(errors(shift_r=-10.0, seed=3), CHAIN)
    assert same.steps[2].holds is True


def test_too_few_models_is_not_a_verdict():
    data = errors()
    data['E'] = data['E'][:2]
    found = verdict(data, CHAIN)
    assert found.holds is None and 'not enough' in found.headline()


def test_bad_orders_are_clear_errors():
    with pytest.raises(ValueError, match='alternate'):
        parse_order(['A', '<'])
    with pytest.raises(ValueError, match="step '>'"):
        parse_order(['A', '>', 'C'])
    with pytest.raises(ValueError, match='does not have'):
        verdict({'A': [1, 2, 3]}, ['A', '<', 'C'])
    raw = dict(spaces=['AnyNetX_A', 'RegNetX'], num_models=2,
               regime=dict(min_flops=2e6, max_flops=4e6, img_size=32, num_classes=10))
    assert StudyConfig.from_dict(dict(raw, expected_order=['AnyNetX_A', '<', 'RegNetX'])
                                 ).expected_order == ('AnyNetX_A', '<', 'RegNetX')
    with pytest.raises(ValueError, match="names 'AnyNetX_C'"):
        StudyConfig.from_dict(dict(raw, expected_order=['AnyNetX_A', '<', 'AnyNetX_C']))


def test_report_opens_with_the_answer(tmp_path):
    report = tmp_path / 'report.md'
    report.write_text('# title\n\nintro\n\n## EDF\n\nstats\n')
    data = errors()
    # the stand-in has the real Population's interface: ``spaces`` is a property (a
    # callable stand-in once hid a crash of `make demo`'s analysis)
    from regnet_plugin.analysis.population import Population
    assert isinstance(Population.__dict__['spaces'], property)
    population = SimpleNamespace(error_key='best_error', spaces=list(data),
                                 errors=lambda s: data[s])
    result = SimpleNamespace(summary={}, files={'report': report})
    add_to_report(result, population, CHAIN)
    text = report.read_text()
    assert text.index('Does the expected ordering show up?') < text.index('## EDF')
    assert json.loads((tmp_path / 'ordering.json').read_text())['holds'] is True
    assert result.summary['ordering']['holds'] is True
