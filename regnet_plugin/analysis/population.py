"""A trained population as the analysis sees it: one row per model, torch-free.

The study layer hands over plain dicts (``ModelRecord.from_dict``): the model's
space, spec dict, complexity, the space's own sampling parameters and its result
(status, final/best top-1 error in %). Here they become numeric parameter columns
for the bootstrap and the scatter plots, of two kinds:

* **drawn** parameters: exactly the space's degrees of freedom, as drawn (RegNet:
  ``d, w0, wa, wm, g, b``; AnyNetX_A: ``d1..d4, w1..w4, b1..b4, g1..g4``; B: one
  ``b``; C-E: one ``b`` and one ``g``), from ``space_params['drawn']``
  (``DesignSpace.drawn_parameters``) or a RegNet's named draws. They are what a
  study bootstraps and plots.
* **effective** stage values of the built network, after group compatibility
  (g = min(g, w_b) and the width rounding): ``eff_d1..``, ``eff_w1..``,
  ``eff_b1..``, ``eff_g1..``, plus ``depth`` (total blocks), complexity in M and the
  quantized linear fit (``e_fit``, ``fit_w0``...).

AnyNet manifests written before ``drawn`` was recorded still load: their per-stage
draws become one shared column when
every model of the space has one value across stages (a space that shares it),
per-stage columns otherwise; ``Population.parameter_source`` says which happened.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from ..design.spec import AnyNetSpec
from .options import ERROR_KEYS  # noqa: F401  ('best_error' first: pycls/NDS' choice)
#: how the report names each error definition
ERROR_LABELS = {
    'best_error': 'lowest top-1 error over the validated epochs (best epoch; what pycls '
                  'and NDS analyse, their `min_top1_err`)',
    'final_error': 'top-1 error after the final epoch',
}
DEFAULT_ERROR_KEY = 'best_error'

#: legacy (pre-``drawn``) RegNet parameters -> drawn column names
_REGNET_DRAWN = (('depth', 'd'), ('w0', 'w0'), ('wa', 'wa'), ('wm', 'wm'),
                 ('group_width', 'g'), ('bottleneck_ratio', 'b'))
#: legacy AnyNet per-stage draws -> column prefix
_ANYNET_DRAWN = (('depths', 'd'), ('widths', 'w'), ('bottleneck_ratios', 'b'),
                 ('group_widths', 'g'))


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

    def error(self, error_key: str = DEFAULT_ERROR_KEY) -> float | None:
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


#: width fit hook: block widths -> dict(w0=, wa=, wm=, e_fit=); passed in by
#: analysis.report (its FitCache over design.fit.fit_quantized_linear)
FitFunction = Callable[[Sequence[int]], Mapping[str, float]]


def drawn_parameters(record: ModelRecord) -> dict[str, float]:
    """The model's drawn parameters as recorded: ``space_params['drawn']``, or a
    RegNet's named draws mapped to ``d, w0, wa, wm, g, b``.

    Old AnyNet manifests (no ``drawn``): per-stage columns from the raw per-stage
    draws (``Population.parameter_table`` collapses those the space shares). Empty
    when nothing was recorded.
    """
    sp = record.space_params
    drawn = sp.get('drawn')
    if isinstance(drawn, Mapping):
        return {str(k): float(v) for k, v in drawn.items()
                if isinstance(v, (int, float)) and not isinstance(v, bool)}
    if all(k in sp for k, _ in _REGNET_DRAWN):
        return {name: float(sp[k]) for k, name in _REGNET_DRAWN}
    out: dict[str, float] = {}
    for key, prefix in _ANYNET_DRAWN:
        if isinstance(sp.get(key), (list, tuple)):
            out.update({f'{prefix}{i}': float(v) for i, v in enumerate(sp[key], start=1)})
    return out


def model_parameters(record: ModelRecord,
                     fit: FitFunction | None = None) -> dict[str, float]:
    """Numeric parameters of one model: the axes of the error-vs-parameter plots.

    The drawn parameters (see ``drawn_parameters``), then the built network's
    ``depth`` (total blocks) and effective per-stage ``eff_d1..``, ``eff_w1..``,
    ``eff_b1..``, ``eff_g1..`` (after group compatibility), complexity in M
    (``flops_m``, ``params_m``, ``acts_m``), and with ``fit`` the quantized linear
    fit (``e_fit``, ``fit_w0``...).
    """
    spec = record.anynet_spec()
    params = drawn_parameters(record)
    params['depth'] = float(spec.depth)
    for name, values in (('d', spec.depths), ('w', spec.widths),
                         ('b', spec.bottleneck_ratios), ('g', spec.group_widths)):
        params.update({f'eff_{name}{i}': float(v) for i, v in enumerate(values, start=1)})
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
    error_key: str = DEFAULT_ERROR_KEY

    def __post_init__(self) -> None:
        if self.error_key not in ERROR_KEYS:
            raise ValueError(f'unknown error key {self.error_key!r}; '
                             f'choose from {ERROR_KEYS}')

    @classmethod
    def from_dicts(cls, rows: Iterable[Mapping[str, Any]],
                   error_key: str = DEFAULT_ERROR_KEY) -> 'Population':
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
        Drawn columns come first (``drawn_names``).
        """
        records = self.finished(space)
        rows = [model_parameters(r, fit)
                for r in (records if progress is None else progress(records))]
        if self.parameter_source(space) == 'inferred':
            rows = [_collapse_shared(row, self._shared_legacy(space)) for row in rows]
        names = list(dict.fromkeys(k for row in rows for k in row))
        return {k: np.array([row.get(k, np.nan) for row in rows]) for k in names}

    def drawn_names(self, space: str) -> list[str]:
        """Names of the drawn parameters of ``space`` (its degrees of freedom)."""
        names: dict[str, None] = {}
        shared = self._shared_legacy(space) if self.parameter_source(space) == 'inferred' \
            else ()
        for r in self.finished(space):
            row = _collapse_shared(drawn_parameters(r), shared) if shared else \
                drawn_parameters(r)
            names.update(dict.fromkeys(row))
        return list(names)

    def parameter_source(self, space: str) -> str:
        """'recorded' (``space_params['drawn']``), 'inferred' (an older manifest:
        read from the space's raw per-stage or named draws) or 'missing'."""
        records = self.finished(space)
        if records and all(isinstance(r.space_params.get('drawn'), Mapping)
                           or all(k in r.space_params for k, _ in _REGNET_DRAWN)
                           for r in records):
            return 'recorded'      # (a RegNet's named draws say it all)
        if records and all(drawn_parameters(r) for r in records):
            return 'inferred'
        return 'missing'

    def _shared_legacy(self, space: str) -> tuple[str, ...]:
        """Per-stage prefixes (b, g) with one value across stages in every model."""
        shared = []
        for key, prefix in _ANYNET_DRAWN[2:]:
            values = [r.space_params.get(key) for r in self.finished(space)]
            if values and all(isinstance(v, (list, tuple)) and v and len(set(v)) == 1
                              for v in values):
                shared.append(prefix)
        return tuple(shared)


def _collapse_shared(row: Mapping[str, float], prefixes: Sequence[str]
                     ) -> dict[str, float]:
    """Replace per-stage drawn columns ``b1..b4`` by ``b`` for shared prefixes."""
    out: dict[str, float] = {}
    for name, value in row.items():
        prefix, stage = name[:1], name[1:]
        if prefix in prefixes and stage.isdigit():
            out.setdefault(prefix, value)
        else:
            out[name] = value
    return out
