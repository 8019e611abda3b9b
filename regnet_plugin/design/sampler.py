"""Draw n distinct models of a design space inside a complexity regime.

The paper's studies sample ~500 models at 360-400MF. Most draws fall outside the
regime, so complexity evaluation is the hot loop: draws come in vectorised
batches (``DesignSpace.draw_batch``) and ``batch_complexity`` computes flops,
params and acts for the whole batch in closed form (every block of a stage after
the first is identical). Only draws inside the regime become ``AnyNetSpec``s, and
their reported complexity is ``complexity()``'s own (re-checked against the regime),
so the results are exactly what the one-at-a-time loop would give for those draws.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from .complexity import IMAGE_CHANNELS, ComplexityReport, _size, complexity, conv_cost
from .spaces import Batch, DesignSpace, get_space
from .spec import AnyNetSpec
from ..validate import MAX_CLASSES, MAX_IMG_SIZE, check_int, check_number

DEFAULT_BATCH = 4096


# -- vectorised complexity -----------------------------------------------------------
def stage_arrays_complexity(depths: np.ndarray, widths: np.ndarray,
                            bottleneck_widths: np.ndarray, groups: np.ndarray,
                            se_ratio: float, stem_width: int,
                            img_size: int | Sequence[int] = 224, num_classes: int = 1000,
                            strides: Sequence[int] | None = None
                            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flops, params, acts of n networks given per-stage arrays of shape (n, stages).

    Same integer formulas as ``complexity()`` (SPEC 3), summed per stage in
    closed form: first block (stride, projection when needed) + (d - 1) identical ones.
    """
    h, w = _size(img_size)
    num_classes = check_int('num_classes', num_classes, 0, MAX_CLASSES)
    depths, widths, wbs, gs = (np.asarray(a, dtype=np.int64)
                               for a in (depths, widths, bottleneck_widths, groups))
    n, num_stages = depths.shape
    strides = [2] * num_stages if strides is None else list(strides)

    def se(w_in, wb):
        w_se = np.round(se_ratio * w_in).astype(np.int64)
        on = w_se > 0
        f1, p1, a1 = conv_cost(wb, w_se, 1, 1, 1, bias=True)
        f2, p2, a2 = conv_cost(w_se, wb, 1, 1, 1, bias=True)
        return (f1 + f2) * on, (p1 + p2) * on, (a1 + a2) * on

    def block(w_in, w_out, wb, g, stride, hh, ww):
        ho, wo = (hh - 1) // stride + 1, (ww - 1) // stride + 1
        parts = [conv_cost(w_in, wb, 1, hh, ww), conv_cost(wb, wb, 3, ho, wo, g),
                 conv_cost(wb, w_out, 1, ho, wo)]
        bn = 2 * wb + 2 * wb + 2 * w_out
        proj = (w_in != w_out) | (stride != 1)
        pf, pp, pa = conv_cost(w_in, w_out, 1, ho, wo)
        parts.append((pf * proj, (pp + 2 * w_out) * proj, pa * proj))
        if se_ratio:
            parts.append(se(w_in, wb))
        f = sum(x[0] for x in parts)
        p = sum(x[1] for x in parts) + bn
        a = sum(x[2] for x in parts)
        return f, p, a, ho, wo

    sf, sp, sa = conv_cost(IMAGE_CHANNELS, stem_width, 3, (h - 1) // 2 + 1, (w - 1) // 2 + 1)
    flops = np.full(n, sf, dtype=np.int64)
    params = np.full(n, sp + 2 * stem_width, dtype=np.int64)
    acts = np.full(n, sa, dtype=np.int64)
    hh, ww = (h - 1) // 2 + 1, (w - 1) // 2 + 1
    w_in = np.full(n, stem_width, dtype=np.int64)
    for i in range(num_stages):
        d, wo_, wb, g = depths[:, i], widths[:, i], wbs[:, i], gs[:, i]
        f1, p1, a1, ho, wo = block(w_in, wo_, wb, g, strides[i], hh, ww)
        f2, p2, a2, _, _ = block(wo_, wo_, wb, g, 1, ho, wo)
        flops += f1 + (d - 1) * f2
        params += p1 + (d - 1) * p2
        acts += a1 + (d - 1) * a2
        w_in, hh, ww = wo_, ho, wo
    if num_classes:
        flops += w_in * num_classes + num_classes
        params += w_in * num_classes + num_classes
        acts += num_classes
    return flops, params, acts


def batch_complexity(batch: Batch, img_size: int | Sequence[int] = 224,
                     num_classes: int = 1000, rows: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``stage_arrays_complexity`` for a drawn batch, or for some of its ``rows``.

    Invalid rows give numbers too (meaningless ones); pass ``rows`` to skip them.
    """
    sel = slice(None) if rows is None else rows
    widths, ratios = batch.widths[sel], batch.bottleneck_ratios[sel]
    wbs = np.round(widths / ratios).astype(np.int64)
    groups = wbs // np.maximum(batch.group_widths[sel], 1)
    return stage_arrays_complexity(batch.depths[sel], widths, wbs, groups,
                                   batch.space.se_ratio, batch.space.stem_width,
                                   img_size, num_classes)


def specs_complexity(specs: Sequence[AnyNetSpec], img_size: int | Sequence[int] = 224,
                     num_classes: int = 1000
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised complexity of specs sharing stage count, strides, SE ratio and stem."""
    first = specs[0]
    for s in specs:
        if (s.num_stages != first.num_stages or s.strides != first.strides
                or set(s.se_ratios) != {first.se_ratios[0]}
                or s.stem_width != first.stem_width):
            raise ValueError('specs_complexity needs specs with the same stage count, '
                             'strides, stem width and one SE ratio')
    arr = lambda f: np.array([f(s) for s in specs], dtype=np.int64)  # noqa: E731
    return stage_arrays_complexity(
        arr(lambda s: s.depths), arr(lambda s: s.widths),
        arr(lambda s: [st.bottleneck_width for st in s.stages]),
        arr(lambda s: [st.groups for st in s.stages]), first.se_ratios[0],
        first.stem_width, img_size, num_classes, first.strides)


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
