"""Options of the analysis (a study config's ``study.analysis`` dict).

Kept apart from the report writer so that validating a study config imports
neither scipy nor matplotlib.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

#: the paper: 10^4 repetitions of a 25% subsample (its reference code: 2500)
DEFAULT_REPS = 10_000
DEFAULT_FRACTION = 0.25


@dataclass
class AnalysisOptions:
    """Knobs of the analysis (a study config's ``study.analysis`` dict)."""

    error_key: str = 'final_error'
    complexity_key: str = 'flops'
    num_bins: int = 10
    bootstrap_reps: int = DEFAULT_REPS
    bootstrap_fraction: float = DEFAULT_FRACTION
    seed: int = 0
    parameters: Sequence[str] | None = None       # None: every varying parameter
    width_fit_models: int = 4                      # best models per space in widths plot
    with_fit: bool = True                          # quantized linear fit (e_fit)
    plots: bool = True

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> 'AnalysisOptions':
        data = dict(data or {})
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ValueError(f'unknown analysis options {sorted(unknown)}; '
                             f'accepted: {sorted(known)}')
        options = cls(**data)
        if options.complexity_key not in ('flops', 'params', 'acts'):
            raise ValueError(f"complexity_key must be 'flops', 'params' or 'acts', "
                             f'got {options.complexity_key!r}')
        return options
