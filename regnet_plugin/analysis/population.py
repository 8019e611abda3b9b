"""A trained population as the analysis sees it: one row per model, torch-free.

The study layer hands over plain dicts (``ModelRecord.from_dict``): the model's
space, spec dict, complexity, the space's own sampling parameters (e.g. RegNet's
``d, w0, wa, wm, b, g``) and its result (status, final/best top-1 error in %).
Here they become numeric parameter columns for the bootstrap and the scatter plots.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from ..design.spec import AnyNetSpec

#: error columns a result may carry; 'final_error' is the paper's choice
ERROR_KEYS = ('final_error', 'best_error')


@dataclass(frozen=True)
class ModelRecord:
    """One sampled model and (if trained) its result."""

    key: str
    space: str
    spec: dict[str, Any]
    complexity: dict[str, float]
    space_params: dict[str, Any] = field(default_factory=dict)
    status: str = 'pending'
    final_error: float | None = None
    best_error: float | None = None
    reason: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> 'ModelRecord':
        missing = {'key', 'space', 'spec', 'complexity'} - set(data)
        if missing:
            raise ValueError(f'model record lacks {sorted(missing)}: {dict(data)!r:.200}')
        return cls(key=str(data['key']), space=str(data['space']), spec=dict(data['spec']),
                   complexity={k: float(v) for k, v in dict(data['complexity']).items()
                               if isinstance(v, (int, float))},
                   space_params=dict(data.get('space_params') or {}),
                   status=str(data.get('status', 'pending')),
                   final_error=_float_or_none(data.get('final_error')),
                   best_error=_float_or_none(data.get('best_error')),
                   reason=data.get('reason'))

    def error(self, error_key: str = 'final_error') -> float | None:
        if error_key not in ERROR_KEYS:
            raise ValueError(f'unknown error key {error_key!r}; choose from {ERROR_KEYS}')
        value = getattr(self, error_key)
        if self.status != 'done' or value is None or not math.isfinite(value):
            return None
        return value

    def anynet_spec(self) -> AnyNetSpec:
        return AnyNetSpec.from_dict(self.spec)


def _float_or_none(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _shared(values: Sequence[float]) -> float | None:
    return float(values[0]) if len(set(values)) == 1 else None


#: width fit hook: block widths -> dict(w0=, wa=, wm=, e_fit=); set by analysis.fitting
FitFunction = Callable[[Sequence[int]], Mapping[str, float]]


def model_parameters(record: ModelRecord,
                     fit: FitFunction | None = None) -> dict[str, float]:
    """Numeric parameters of one model: the axes of the error-vs-parameter plots.

    ``depth`` (total blocks), per-stage ``d1..`` / ``w1..``, shared ``b``/``g`` (or
    per-stage ``b1..``/``g1..`` when not shared), the space's own sampling parameters
    (RegNet: ``w0, wa, wm``...), complexity in M (``flops_m``, ``params_m``,
    ``acts_m``), and with ``fit`` the quantized linear fit (``e_fit``, ``fit_w0``...).
    """
    spec = record.anynet_spec()
    params: dict[str, float] = {'depth': float(spec.depth)}
    for i, (d, w) in enumerate(zip(spec.depths, spec.widths), start=1):
        params[f'd{i}'] = float(d)
        params[f'w{i}'] = float(w)
    for name, values in (('b', spec.bottleneck_ratios), ('g', spec.group_widths)):
        shared = _shared(values)
        if shared is not None:
            params[name] = shared
        else:
            params.update({f'{name}{i}': float(v) for i, v in enumerate(values, start=1)})
    for name, value in record.space_params.items():
        if name in ('depth', 'group_width', 'bottleneck_ratio', 'se_ratio', 'stem_width'):
            continue   # already covered by the spec-derived columns
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            params[name] = float(value)
    for name in ('flops', 'params', 'acts'):
        if name in record.complexity:
            params[f'{name}_m'] = record.complexity[name] / 1e6
    if fit is not None:
        result = fit(spec.block_widths)
        params['e_fit'] = float(result['e_fit'])
        for name in ('w0', 'wa', 'wm'):
            if name in result:
                params[f'fit_{name}'] = float(result[name])
    return params


@dataclass
class Population:
    """All models of a study, grouped by design space, with their parameters."""

    records: list[ModelRecord]
    error_key: str = 'final_error'

    def __post_init__(self) -> None:
        if self.error_key not in ERROR_KEYS:
            raise ValueError(f'unknown error key {self.error_key!r}; '
                             f'choose from {ERROR_KEYS}')

    @classmethod
    def from_dicts(cls, rows: Iterable[Mapping[str, Any]],
                   error_key: str = 'final_error') -> 'Population':
        return cls([ModelRecord.from_dict(r) for r in rows], error_key)

    @property
    def spaces(self) -> list[str]:
        """Space names in first-seen order (the study's order)."""
        return list(dict.fromkeys(r.space for r in self.records))

    def finished(self, space: str | None = None) -> list[ModelRecord]:
        """Models with a usable error (status 'done', finite error)."""
        return [r for r in self.records if r.error(self.error_key) is not None
                and (space is None or r.space == space)]

    def failed(self, space: str | None = None) -> list[ModelRecord]:
        return [r for r in self.records if r.status == 'failed'
                and (space is None or r.space == space)]

    def pending(self, space: str | None = None) -> list[ModelRecord]:
        return [r for r in self.records if r.status not in ('done', 'failed')
                and (space is None or r.space == space)]

    def errors(self, space: str) -> np.ndarray:
        return np.array([r.error(self.error_key) for r in self.finished(space)])

    def complexity(self, space: str, name: str = 'flops') -> np.ndarray:
        return np.array([r.complexity.get(name, np.nan) for r in self.finished(space)])

    def parameter_table(self, space: str, fit: FitFunction | None = None,
                        progress: Callable[[Iterable], Iterable] | None = None
                        ) -> dict[str, np.ndarray]:
        """Column name -> values over the finished models of ``space`` (NaN if absent).

        ``progress`` wraps the models' iteration (e.g. a tqdm bar: fits take time).
        """
        records = self.finished(space)
        rows = [model_parameters(r, fit)
                for r in (records if progress is None else progress(records))]
        names = list(dict.fromkeys(k for row in rows for k in row))
        return {k: np.array([row.get(k, np.nan) for row in rows]) for k in names}
