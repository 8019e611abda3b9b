"""Torch-free analysis of design-space studies (NDS; ``docs/design.md``, Comparing design spaces).

EDFs and complexity-normalized EDFs with KS tests (``edf``), empirical-bootstrap
best-value ranges (``bootstrap``), exact random-search efficiency
(``random_search``), the population table (``population``), plots (``plots``) and
the report writer (``report.analyze_population``). numpy, scipy and matplotlib only.

Names are imported lazily (scipy and matplotlib load on first use), so that
importing the plugin, or validating a study config, stays cheap.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    'BestValueRange': 'bootstrap', 'bootstrap_best_value': 'bootstrap',
    'bootstrap_best_values': 'bootstrap', 'KSResult': 'edf', 'edf': 'edf',
    'effective_sample_size': 'edf', 'ks_test': 'edf', 'normalized_weights': 'edf',
    'summarize': 'edf', 'weighted_sup_distance': 'edf', 'ModelRecord': 'population',
    'Population': 'population', 'model_parameters': 'population',
    'expected_min_error': 'random_search', 'min_rank_probabilities': 'random_search',
    'random_search_efficiency': 'random_search', 'AnalysisOptions': 'options',
    'AnalysisResult': 'report', 'analyze_population': 'report',
    'shared_range': 'edf', 'normalize_over': 'edf', 'dkw_halfwidth': 'edf',
    'ks_critical_value': 'edf', 'subsample_size': 'bootstrap',
    'drawn_parameters': 'population', 'space_sample_size': 'sample_size',
    'pair_sample_size': 'sample_size',
}
__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    return getattr(importlib.import_module(f'.{_EXPORTS[name]}', __name__), name)
