"""The torch-free statistics of design-space comparison, on populations with known answers."""
import itertools
import math

import numpy as np
import pytest
from scipy import stats

from regnet_plugin.analysis.bootstrap import bootstrap_best_value, bootstrap_best_values
from regnet_plugin.analysis.edf import (edf, effective_sample_size, ks_test,
                                        normalized_weights, weighted_sup_distance)
from regnet_plugin.analysis.random_search import (expected_min_error, min_error_quantile,
                                                  min_error_std, min_rank_probabilities,
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
def nds_compute_norm_ws(cs, num_bins, c_range):
    """NDS' normalized-EDF weights, written from their definition (the NDS notebooks'
    ``compute_norm_ws``): np.histogram over the fixed range, every bin occupied,
    weight 1 / (num_bins * models in the bin)."""
    hist, edges = np.histogram(cs, bins=num_bins, range=c_range)
    inds = np.digitize(cs, bins=edges) - 1
    assert np.count_nonzero(hist) == num_bins
    return 1 / hist[inds] / num_bins


@pytest.mark.parametrize('num_bins', [3, 7, 10])
def test_normalized_weights_equal_nds_definition(num_bins):
    rng = np.random.default_rng(num_bins)
    # skewed complexity over a fixed range (NDS: a range given, not the sample's)
    value_range = (358.0, 401.0)
    centres = np.linspace(*value_range, 2 * num_bins + 1)[1::2]   # every bin occupied
    flops = np.concatenate([rng.uniform(360, 366, 80), rng.uniform(366, 400, 25),
                            centres])
    expected = nds_compute_norm_ws(flops, num_bins, value_range)
    w = normalized_weights(flops, num_bins, value_range)
    np.testing.assert_allclose(w, expected, rtol=1e-12)
    assert w.sum() == pytest.approx(1.0)
    # models on inner bin edges go to the upper bin, as np.histogram puts them
    edges = np.linspace(*value_range, num_bins + 1)
    on_edges = np.concatenate([flops, edges[1:-1]])
    np.testing.assert_allclose(normalized_weights(on_edges, num_bins, value_range),
                               nds_compute_norm_ws(on_edges, num_bins, value_range))


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
    assert result.reps == 10_000 and result.subsample == 100     # int(0.25 * 400)


@pytest.mark.parametrize('n', [6, 14, 22, 499])
def test_bootstrap_subsample_is_pycls_int(n):
    """pycls get_filters: n_sample = max(1, int(n * 0.25)); round() differs at these n."""
    values = np.arange(n, dtype=float)
    result = bootstrap_best_value(values, values[::-1], reps=10, seed=0)
    assert result.subsample == max(1, int(n * 0.25)) != round(n * 0.25)


@pytest.mark.parametrize('n', [6, 14])
def test_bootstrap_winner_follows_its_exact_law(n):
    """The winner of a k-draw subsample (with replacement) is the model of rank i with
    probability ((n-i+1)/n)^k - ((n-i)/n)^k, k = int(0.25 n) as pycls. 200k
    repetitions: each frequency within 5 binomial standard deviations."""
    rng = np.random.default_rng(n)
    errors = rng.permutation(n).astype(float)        # rank of model j: errors[j] + 1
    values = errors + 1                              # the value is the rank itself
    reps = 200_000
    best = bootstrap_best_values(values, errors, reps=reps, seed=3)
    k = int(0.25 * n)
    ranks = np.arange(1, n + 1)
    law = ((n - ranks + 1) / n) ** k - ((n - ranks) / n) ** k
    freq = np.array([np.mean(best == r) for r in ranks])
    assert law.sum() == pytest.approx(1.0)
    assert np.all(np.abs(freq - law) <= 5 * np.sqrt(law * (1 - law) / reps) + 1e-12)


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


@pytest.mark.parametrize('n, m', [(500, 256), (37, 5), (9, 9)])
def test_random_search_pmf_equals_math_comb(n, m):
    """P(min rank = i) = [C(n-i+1, m) - C(n-i, m)] / C(n, m), in exact integers."""
    from fractions import Fraction
    p = min_rank_probabilities(n, m)
    total = math.comb(n, m)
    exact = [Fraction(math.comb(n - i + 1, m) - math.comb(n - i, m), total)
             for i in range(1, n + 1)]
    np.testing.assert_allclose(p, [float(x) for x in exact], rtol=1e-9, atol=1e-300)


@pytest.mark.parametrize('m', [1, 2, 3])
def test_weighted_random_search_equals_enumeration(m):
    """NDS draws m models with replacement from the normalized distribution: E[min]
    and its std by enumerating every m-tuple with its probability."""
    errors = np.array([12.0, 7.0, 9.5, 30.0, 8.0, 9.5])
    weights = np.array([0.05, 0.1, 0.3, 0.25, 0.2, 0.1])
    mean = sq = 0.0
    for t in itertools.product(range(errors.size), repeat=m):
        prob = float(np.prod(weights[list(t)]))
        low = errors[list(t)].min()
        mean += prob * low
        sq += prob * low ** 2
    assert expected_min_error(errors, m, replace=True, weights=weights) == \
        pytest.approx(mean, rel=1e-12)
    assert min_error_std(errors, m, replace=True, weights=weights) == \
        pytest.approx(math.sqrt(sq - mean ** 2), rel=1e-9)
    curve = random_search_efficiency(errors, max_m=4, weights=weights)
    assert curve.weighted and curve.replace and curve.m == [1, 2, 4]
    with pytest.raises(ValueError, match='with replacement'):
        expected_min_error(errors, m, replace=False, weights=weights)


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


# -- sample size ----------------------------------------------------------------------
@pytest.mark.parametrize('k', [2, 4, 7, 12, 30])
def test_subsample_significance_threshold_is_scipys_exact_test(k):
    """D >= the critical value exactly when scipy's exact two-sample KS p < 0.05."""
    from regnet_plugin.analysis.sample_size import equal_size_critical_value
    rng = np.random.default_rng(k)
    crit = equal_size_critical_value(k)
    for shift in np.linspace(0, 3, 25):
        a, b = rng.normal(0, 1, k), rng.normal(shift, 1, k)
        result = stats.ks_2samp(a, b, method='exact')
        assert (result.statistic >= crit - 1e-9) == (result.pvalue < 0.05), (shift, result)


def test_sample_size_curves_shrink_to_the_full_population():
    from regnet_plugin.analysis.sample_size import pair_sample_size, space_sample_size
    rng = np.random.default_rng(0)
    a, b = rng.normal(30, 2, 64), rng.normal(33, 2, 64)
    space = space_sample_size(a, trials=20)
    assert space.sizes == [2, 4, 8, 16, 32, 64] and space.d_mean[-1] == 0
    assert space.d_mean[0] > space.d_mean[-2] > 0
    pair = pair_sample_size(a, b, trials=20)
    assert pair.full_d == pytest.approx(stats.ks_2samp(a, b).statistic)
    assert pair.d_mean[-1] == pytest.approx(pair.full_d)
    assert pair.agree[-1] == 1 and pair.significant[-1] == 1
    assert pair.significant[0] == 0           # 2 models each can never be significant
