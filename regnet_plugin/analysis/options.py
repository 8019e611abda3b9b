"""Options of the analysis (a study config's ``study.analysis`` dict).

Kept apart from the report writer so that validating a study config imports
neither scipy nor matplotlib.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ..validate import check_int, check_number

#: the paper: 10^4 repetitions of a 25% subsample (its reference code: 2500)
DEFAULT_REPS = 10_000
DEFAULT_FRACTION = 0.25
#: which error a model is judged by: 'best_error' = lowest top-1 error over the
#: validated epochs (pycls' and NDS' ``min_top1_err``, the default), 'final_error' =
#: the final epoch's
ERROR_KEYS = ('best_error', 'final_error')
COMPLEXITY_KEYS = ('flops', 'params', 'acts')


@dataclass
class AnalysisOptions:
    """Knobs of the analysis (a study config's ``study.analysis`` dict).

    ``complexity_range``: the one (low, high) range over which every space's EDF is
    complexity-normalized (NDS); None: the study's regime bounds on
    ``complexity_key`` when it has them (``from_dict(..., regime=)``), else the
    overlap of the spaces' ranges. Models outside it are left out of the normalized
    statistics and counted. A side given as None is taken from the overlap.
    """

    error_key: str = 'best_error'
    complexity_key: str = 'flops'
    num_bins: int = 10
    complexity_range: Sequence[float | None] | None = None
    complexity_range_source: str = ''              # 'options', 'regime' or '' (overlap)
    min_bin_models: int = 5                         # warn below this many per bin
    bootstrap_reps: int = DEFAULT_REPS
    bootstrap_fraction: float = DEFAULT_FRACTION
    confidence: float = 0.95                        # EDF bands, bootstrap ranges
    sample_size_trials: int = 50                    # subsamples per n (NDS: 50)
    sample_size: bool = True                        # the sample-size analysis (~1 s/pair)
    seed: int = 0
    parameters: Sequence[str] | None = None       # None: drawn parameters + depth, e_fit
    width_fit_models: int = 4                      # best models per space in widths plot
    with_fit: bool = True                          # quantized linear fit (e_fit)
    plots: bool = True

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None,
                  regime: Any = None) -> 'AnalysisOptions':
        """Validated options; ``regime`` (a ``Regime``) supplies the shared
        complexity range unless ``complexity_range`` is given."""
        data = dict(data or {})
        known = set(cls.__dataclass_fields__) - {'complexity_range_source'}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f'unknown analysis options {sorted(unknown)}; '
                             f'accepted: {sorted(known)}')
        options = cls(**data)
        if options.complexity_key not in COMPLEXITY_KEYS:
            raise ValueError(f"complexity_key must be 'flops', 'params' or 'acts', "
                             f'got {options.complexity_key!r}')
        if options.error_key not in ERROR_KEYS:
            raise ValueError(f"error_key must be 'best_error' (lowest error over the "
                             f"validated epochs, pycls/NDS) or 'final_error' (last "
                             f"epoch), got {options.error_key!r}")
        if options.complexity_range is not None:
            options.complexity_range = _check_range(options.complexity_range)
            options.complexity_range_source = 'options'
        elif regime is not None:
            key = options.complexity_key
            bounds = (getattr(regime, f'min_{key}', None), getattr(regime, f'max_{key}', None))
            if any(b is not None for b in bounds):
                options.complexity_range = _check_range(bounds)
                options.complexity_range_source = 'regime'
        for name in ('num_bins', 'min_bin_models', 'sample_size_trials'):
            check_int(name, getattr(options, name), 1)
        check_number('confidence', options.confidence, 0, 1, min_inclusive=False,
                     max_inclusive=False)
        return options


def _check_range(value: Any) -> tuple[float | None, float | None]:
    try:
        low, high = value
    except (TypeError, ValueError):
        raise ValueError(f'complexity_range must be a (low, high) pair, got {value!r}') \
            from None
    low = None if low is None else float(low)
    high = None if high is None else float(high)
    if low is not None and high is not None and not low <= high:
        raise ValueError(f'complexity_range must satisfy low <= high, got {value!r}')
    return low, high
