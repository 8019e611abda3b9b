"""The torch-free statistics of design-space comparison, on populations with known answers."""
import itertools
import math

import numpy as np
import pytest
from scipy import stats

from regnet_plugin.analysis.bootstrap import bootstrap_best_value, bootstrap_best_values
from regnet_plugin.analysis.edf import (bin_indices, edf, effective_sample_size, ks_test,
                                        normalized_weights, weighted_sup_distance)
from regnet_plugin.analysis.random_search import (expected_min_error, min_error_quantile,
                                                  min_rank_probabilities,
                                                  random_search_efficiency)


# -- EDF ----------------------------------------------------------------------------
def test_edf_at_known_points_is_strict():
    errors = [30.0, 10.0, 20.0, 20.0]
    at = [5, 10, 10.0001, 20, 25, 30, 31]
    assert edf(errors, at).tolist() == [0, 0, 0.25, 0.25, 0.75, 0.75, 1.0]
    # right-continuous: F(e_i) counts model i
    assert edf(errors, at, side='right').tolist() == [0, 0.25, 0.25, 0.75, 0.75, 1.0, 1.0]
    with pytest.raises(ValueError, match='side'):
        edf(errors, at, side='middle')


def test_weighted_edf_uses_weights():
    assert edf([1, 2, 3], [2.5], weights=[0.5, 0.25, 0.25]).tolist() == [0.75]


def test_edf_refuses_nan_and_empty():
    with pytest.raises(ValueError, match='NaN'):
        edf([1.0, float('nan')], [1])
    with pytest.raises(ValueError, match='empty'):
        edf([], [1])


# -- normalized EDF weights ------------------------------------------------------------
def test_normalized_weights_sum_to_one_and_equalize_bins():
    rng = np.random.default_rng(1)
    # heavily skewed complexity: most models near the low end
    flops = np.concatenate([rng.uniform(360, 365, 80), rng.uniform(365, 400, 20)])
    w = normalized_weights(flops, num_bins=7)
    assert w.sum() == pytest.approx(1.0)
    bins = bin_indices(flops, 7, (flops.min(), flops.max()))
    occupied = np.unique(bins)
    per_bin = np.array([w[bins == b].sum() for b in occupied])
    np.testing.assert_allclose(per_bin, 1 / len(occupied))
    # each model of bin j weighs 1 / (k * m_j) when every bin is occupied
    if len(occupied) == 7:
        counts = np.bincount(bins, minlength=7)
        np.testing.assert_allclose(w, 1 / (7 * counts[bins]))


def test_normalized_weights_exact_formula():
    flops = [0, 1, 2, 3, 9, 10]     # 2 bins over [0, 10]: 4 models, then 2
    w = normalized_weights(flops, num_bins=2)
    np.testing.assert_allclose(w, [1 / 8] * 4 + [1 / 4] * 2)


def test_normalized_weights_bad_input():
    with pytest.raises(ValueError, match='num_bins'):
        normalized_weights([1, 2], num_bins=0)
    with pytest.raises(ValueError, match='outside'):
        normalized_weights([1, 20], num_bins=2, value_range=(0, 10))


# -- KS ---------------------------------------------------------------------------------
def test_ks_statistic_equals_scipy():
    rng = np.random.default_rng(2)
    a = rng.normal(40, 3, 137)
    b = rng.normal(41, 3.5, 91)
    ours = ks_test(a, b)
    ref = stats.ks_2samp(a, b)
    assert ours.statistic == ref.statistic and ours.pvalue == ref.pvalue  # scipy's own
    # the weighted sup distance with equal weights is the same statistic
    assert weighted_sup_distance(a, b) == pytest.approx(ref.statistic)


def test_ks_with_ties_equals_scipy():
    a = [1, 2, 2, 3, 3, 3, 7]
    b = [2, 3, 3, 4, 8, 8]
    assert weighted_sup_distance(a, b) == pytest.approx(stats.ks_2samp(a, b).statistic)
    # disjoint samples: the sup is attained between them (strict EDFs: 1 vs 0)
    assert weighted_sup_distance([1, 1], [2]) == 1.0
    assert weighted_sup_distance([2], [1, 1], [1.0], [0.3, 0.7]) == 1.0


def test_weighted_ks_equal_weights_matches_asymptotic_scipy():
    rng = np.random.default_rng(3)
    a, b = rng.normal(0, 1, 60), rng.normal(0.5, 1, 70)
    weighted = ks_test(a, b, np.ones(60), np.ones(70))
    ref = stats.ks_2samp(a, b, method='asymp')
    assert weighted.weighted
    assert weighted.statistic == pytest.approx(ref.statistic)
    assert weighted.pvalue == pytest.approx(ref.pvalue)


def test_weighted_ks_known_value_and_effective_n():
    # F1 puts 0.9 of its mass at 1, F2 puts 0.1 there: sup distance 0.8
    d = weighted_sup_distance([1, 5], [1, 5], [0.9, 0.1], [0.1, 0.9])
    assert d == pytest.approx(0.8)
    assert effective_sample_size([1, 1, 1, 1]) == pytest.approx(4)
    assert effective_sample_size([1, 0, 0, 0]) == pytest.approx(1)


def test_ks_detects_shift_and_accepts_same_distribution():
    rng = np.random.default_rng(4)
    assert ks_test(rng.normal(0, 1, 300), rng.normal(1, 1, 300)).pvalue < 1e-6
    assert ks_test(rng.normal(0, 1, 300), rng.normal(0, 1, 300)).pvalue > 1e-3


# -- bootstrap ----------------------------------------------------------------------
def test_bootstrap_range_covers_planted_optimum():
    rng = np.random.default_rng(5)
    depth = rng.integers(4, 40, 400).astype(float)
    error = 30 + 0.05 * (depth - 20) ** 2 + rng.normal(0, 1.0, depth.size)
    result = bootstrap_best_value(depth, error, reps=10_000, fraction=0.25, seed=0)
    assert result.covers(20)
    assert 14 <= result.median <= 26
    assert result.high - result.low < 20           # and it is informative
    assert result.reps == 10_000 and result.subsample == 100


def test_bootstrap_draws_are_values_of_lowest_error_pairs():
    values = np.array([1.0, 2.0, 3.0])
    errors = np.array([5.0, 1.0, 9.0])
    best = bootstrap_best_values(values, errors, reps=500, fraction=1.0, seed=1)
    # with 3 draws the winner is 2 whenever index 1 is drawn, else 1 unless only 3s
    assert set(np.unique(best)) <= {1.0, 2.0, 3.0}
    p_two = 1 - (2 / 3) ** 3
    assert abs(np.mean(best == 2.0) - p_two) < 0.07


def test_bootstrap_bad_input():
    with pytest.raises(ValueError, match='same length'):
        bootstrap_best_value([1, 2], [1])
    with pytest.raises(ValueError, match='every model failed'):
        bootstrap_best_value([], [])
    with pytest.raises(ValueError, match='fraction'):
        bootstrap_best_value([1, 2], [1, 2], fraction=0)


# -- random search -------------------------------------------------------------------
@pytest.mark.parametrize('m', [1, 2, 3, 5, 7])
def test_random_search_equals_enumeration_without_replacement(m):
    errors = np.array([31.0, 28.5, 40.0, 28.5, 35.0, 29.0, 33.0])
    brute = np.mean([min(c) for c in itertools.combinations(errors, m)])
    assert expected_min_error(errors, m) == pytest.approx(brute)


@pytest.mark.parametrize('m', [1, 2, 4])
def test_random_search_equals_enumeration_with_replacement(m):
    errors = np.array([12.0, 7.0, 9.5, 30.0, 8.0])
    brute = np.mean([min(t) for t in itertools.product(errors, repeat=m)])
    assert expected_min_error(errors, m, replace=True) == pytest.approx(brute)


def test_random_search_pmf_sums_to_one_at_scale():
    p = min_rank_probabilities(500, 256)
    assert p.sum() == pytest.approx(1.0)
    assert np.all(p >= -1e-15)


def test_random_search_curve_and_quantiles():
    errors = np.arange(1, 17, dtype=float)
    curve = random_search_efficiency(errors)
    assert curve.m == [1, 2, 4, 8, 16]
    assert curve.expected[0] == pytest.approx(errors.mean())
    assert curve.expected[-1] == pytest.approx(1.0)
    assert all(x >= y for x, y in zip(curve.expected, curve.expected[1:]))
    # median of the min of 2 of 16 by enumeration
    mins = sorted(min(c) for c in itertools.combinations(errors, 2))
    assert min_error_quantile(errors, 2, 0.5) == mins[math.ceil(len(mins) / 2) - 1]
    with pytest.raises(ValueError, match='distinct'):
        expected_min_error(errors, 17)
