"""Draw n distinct models of a design space inside a complexity regime.

The paper's studies sample ~500 models at 360-400MF. Most draws fall outside the
regime, so complexity evaluation is the hot loop: draws come in vectorised
batches (``DesignSpace.draw_batch``) and ``complexity.batch_complexity`` computes flops,
params and acts for the whole batch in closed form (every block of a stage after
the first is identical). Only draws inside the regime become ``AnyNetSpec``s, and
their reported complexity is ``complexity()``'s own (re-checked against the regime),
so the results are exactly what the one-at-a-time loop would give for those draws.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..validate import MAX_CLASSES, MAX_IMG_SIZE, check_int, check_number
from .complexity import (ComplexityReport, batch_complexity, complexity,  # noqa: F401
                         specs_complexity, stage_arrays_complexity)
from .spaces import DesignSpace, get_space
from .spec import AnyNetSpec

DEFAULT_BATCH = 4096


# -- regime ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Regime:
    """Inclusive bounds on flops, params and acts (None: unbounded) at an image size."""

    min_flops: float | None = None
    max_flops: float | None = None
    min_params: float | None = None
    max_params: float | None = None
    min_acts: float | None = None
    max_acts: float | None = None
    img_size: int = 224
    num_classes: int = 1000

    def __post_init__(self) -> None:
        for key in ('flops', 'params', 'acts'):
            lo, hi = getattr(self, f'min_{key}'), getattr(self, f'max_{key}')
            for name, v in ((f'min_{key}', lo), (f'max_{key}', hi)):
                if v is not None:
                    check_number(f'{name} (or None)', v, 0)
            if lo is not None and hi is not None and lo > hi:
                raise ValueError(f'min_{key} ({lo}) must be <= max_{key} ({hi})')
        object.__setattr__(self, 'img_size',
                           check_int('img_size', self.img_size, 1, MAX_IMG_SIZE))
        object.__setattr__(self, 'num_classes',
                           check_int('num_classes', self.num_classes, 0, MAX_CLASSES))

    @classmethod
    def paper(cls) -> 'Regime':
        """The paper's sampling regime: 360MF <= flops <= 400MF at 224x224."""
        return cls(min_flops=360e6, max_flops=400e6)

    def mask(self, flops: np.ndarray, params: np.ndarray, acts: np.ndarray) -> np.ndarray:
        ok = np.ones(np.shape(flops), dtype=bool)
        for key, values in (('flops', flops), ('params', params), ('acts', acts)):
            lo, hi = getattr(self, f'min_{key}'), getattr(self, f'max_{key}')
            if lo is not None:
                ok &= values >= lo
            if hi is not None:
                ok &= values <= hi
        return ok

    def contains(self, report: ComplexityReport) -> bool:
        return bool(self.mask(np.array(report.flops), np.array(report.params),
                              np.array(report.acts)))


# -- sampling -------------------------------------------------------------------------
@dataclass(frozen=True)
class Sample:
    """One sampled model: spec, exact complexity, id, and the space-level parameters."""

    spec: AnyNetSpec
    complexity: ComplexityReport
    id: str
    params: dict[str, Any]
    space: str
    draw_index: int = field(default=-1)

    def as_dict(self) -> dict[str, Any]:
        return {'id': self.id, 'space': self.space, 'draw_index': self.draw_index,
                'params': self.params, 'spec': self.spec.to_dict(),
                'flops': self.complexity.flops, 'params_count': self.complexity.params,
                'acts': self.complexity.acts}


@dataclass
class SampleResult:
    """The samples and how many draws it took."""

    samples: list[Sample]
    draws: int

    def __len__(self) -> int:
        return len(self.samples)

    def __iter__(self):
        return iter(self.samples)

    def __getitem__(self, i):
        return self.samples[i]


def sample_models(space: str | DesignSpace, n: int, regime: Regime | None = None,
                  seed: int = 0, max_draws: int | None = None,
                  batch_size: int = DEFAULT_BATCH, **unknown: Any) -> SampleResult:
    """Draw ``n`` distinct (by spec id) members of ``space`` inside ``regime``.

    Deterministic for a seed (and batch size). Stops with RuntimeError after
    ``max_draws`` draws (default ``max(100_000, 1000 * n)``) saying how many were
    found, so an impossible or too narrow regime never hangs.
    """
    if unknown:
        raise ValueError(f'unknown sampler parameter(s) {sorted(unknown)}; valid: '
                         f"['space', 'n', 'regime', 'seed', 'max_draws', 'batch_size']")
    space = get_space(space) if isinstance(space, str) else space
    if not isinstance(space, DesignSpace):
        raise TypeError(f'space must be a design space or its name, got {space!r}')
    n = check_int('n', n, 1)
    if max_draws is None:
        max_draws = max(100_000, 1000 * n)
    max_draws = check_int('max_draws', max_draws, 1)
    batch_size = check_int('batch_size', batch_size, 1)
    seed = check_int('seed', seed, 0)
    if regime is not None and not isinstance(regime, Regime):
        raise TypeError(f'regime must be a Regime or None, got {regime!r}')
    regime = regime or Regime()
    rng = np.random.default_rng(seed)
    samples: list[Sample] = []
    seen: set[str] = set()
    draws = 0
    while draws < max_draws:
        batch = space.draw_batch(rng, min(batch_size, max_draws - draws))
        rows = np.flatnonzero(batch.valid)
        f, p, a = batch_complexity(batch, regime.img_size, regime.num_classes, rows)
        for i in rows[regime.mask(f, p, a)]:
            drawn = batch.draw(int(i))
            sid = drawn.spec.id
            if sid in seen:
                continue
            report = complexity(drawn.spec, regime.img_size, regime.num_classes)
            if not regime.contains(report):    # cannot happen unless the fast path
                continue                       # and complexity() disagree
            seen.add(sid)
            samples.append(Sample(drawn.spec, report, sid, drawn.params, space.name,
                                  draws + int(i)))
            if len(samples) == n:
                return SampleResult(samples, draws + int(i) + 1)
        draws += len(batch)
    raise RuntimeError(f'{space.name}: found {len(samples)} of {n} distinct models in '
                       f'the regime {regime} after {draws} draws (max_draws={max_draws}); '
                       f'widen the regime or raise max_draws')
