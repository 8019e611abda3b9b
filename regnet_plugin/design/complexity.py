"""Analytic complexity of any AnyNetSpec: flops (multiply-adds), params, acts.

The definitions are in ``docs/design.md`` ("Complexity"); each part type defines its
cost once, in :mod:`regnet_plugin.design.parts`, over ints or integer arrays. Two
walks use those costs:

* :func:`complexity`: one spec, layer by layer, with a per-part breakdown; for the
  paper's parts the integers are identical to pycls' own count;
* :func:`stage_arrays_complexity`: n networks at once from per-stage arrays, in
  closed form (the first block of a stage, then d - 1 identical ones), what the
  sampler evaluates tens of thousands of draws a second with.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ..validate import MAX_CLASSES, MAX_IMG_SIZE, check_int, check_int_list
from .parts import (BLOCKS, DEFAULT_BLOCK, DEFAULT_HEAD, DEFAULT_STEM, HEADS,
                    IMAGE_CHANNELS, STEMS, conv_cost)
from .spec import AnyNetSpec

__all__ = ['complexity', 'ComplexityReport', 'stage_arrays_complexity',
           'batch_complexity', 'specs_complexity', 'conv_cost', 'IMAGE_CHANNELS']


@dataclass(frozen=True)
class ComplexityReport:
    """Totals plus a breakdown over stem, stages ('s1'...) and head."""

    flops: int
    params: int
    acts: int
    img_size: tuple[int, int]
    num_classes: int
    parts: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {'flops': self.flops, 'params': self.params, 'acts': self.acts,
                'img_size': list(self.img_size), 'num_classes': self.num_classes,
                'parts': self.parts}


def _size(img_size: int | Sequence[int]) -> tuple[int, int]:
    """224 or (h, w): integers in [1, MAX_IMG_SIZE]."""
    if hasattr(img_size, '__len__') and not isinstance(img_size, (str, bytes)):
        h, w = check_int_list('img_size', img_size, 1, MAX_IMG_SIZE, length=2)
        return h, w
    size = check_int('img_size', img_size, 1, MAX_IMG_SIZE)
    return size, size


def complexity(spec: AnyNetSpec, img_size: int | Sequence[int] = 224,
               num_classes: int = 1000) -> ComplexityReport:
    """Flops, params and acts of ``spec`` (classifier with ``num_classes`` outputs).

    ``num_classes=0`` counts the backbone alone (no fc layer; a head conv, which
    belongs to the backbone, is still counted).
    """
    if not isinstance(spec, AnyNetSpec):
        raise TypeError(f'spec must be an AnyNetSpec (for a preset name use '
                        f'preset_spec(name) or parse_arch(name).spec), got {spec!r}')
    h, w = _size(img_size)
    num_classes = check_int('num_classes', num_classes, 0, MAX_CLASSES)
    parts: dict[str, dict[str, int]] = {}
    totals = [0, 0, 0]

    def record(name: str, cost: tuple) -> None:
        parts[name] = {'flops': int(cost[0]), 'params': int(cost[1]),
                       'acts': int(cost[2]), 'out_size': [h, w]}
        for i in range(3):
            totals[i] += int(cost[i])

    f, p, a, h, w = STEMS.get(spec.stem_type).cost(IMAGE_CHANNELS, spec.stem_width, h, w)
    record('stem', (f, p, a))
    block_cost = BLOCKS.get(spec.block_type).cost
    w_in = spec.stem_width
    for i, stage in enumerate(spec.stages):
        # first block (stride, new width), then depth - 1 identical blocks
        w_out, w_b, groups = stage.width, stage.bottleneck_width, stage.groups
        f, p, a, h, w = block_cost(w_in, w_out, stage.stride, w_b, groups,
                                   stage.se_width(w_in), h, w)
        if stage.depth > 1:
            f2, p2, a2, _, _ = block_cost(w_out, w_out, 1, w_b, groups,
                                          stage.se_width(w_out), h, w)
            k = stage.depth - 1
            f, p, a = f + k * f2, p + k * p2, a + k * a2
        record(f's{i + 1}', (f, p, a))
        w_in = w_out
    if num_classes or spec.head_width:
        record('head', HEADS.get(spec.head_type).cost(w_in, spec.head_width,
                                                      num_classes, h, w))
    return ComplexityReport(totals[0], totals[1], totals[2], _size(img_size),
                            num_classes, parts)


# -- vectorised: many networks from per-stage arrays ---------------------------------
def stage_arrays_complexity(depths: np.ndarray, widths: np.ndarray,
                            bottleneck_widths: np.ndarray, groups: np.ndarray,
                            se_ratio: float, stem_width: int,
                            img_size: int | Sequence[int] = 224, num_classes: int = 1000,
                            strides: Sequence[int] | None = None,
                            block_type: str = DEFAULT_BLOCK, stem_type: str = DEFAULT_STEM,
                            head_type: str = DEFAULT_HEAD, head_width: int = 0
                            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flops, params, acts of n networks given per-stage arrays of shape (n, stages).

    The part costs of :func:`complexity`, summed per stage in closed form: the first
    block (stride, projection where needed) + (d - 1) identical ones.
    """
    h, w = _size(img_size)
    num_classes = check_int('num_classes', num_classes, 0, MAX_CLASSES)
    depths, widths, wbs, gs = (np.asarray(a, dtype=np.int64)
                               for a in (depths, widths, bottleneck_widths, groups))
    n, num_stages = depths.shape
    strides = [2] * num_stages if strides is None else list(strides)
    block_cost = BLOCKS.get(block_type).cost

    sf, sp, sa, hh, ww = STEMS.get(stem_type).cost(IMAGE_CHANNELS, stem_width, h, w)
    flops = np.full(n, sf, dtype=np.int64)
    params = np.full(n, sp, dtype=np.int64)
    acts = np.full(n, sa, dtype=np.int64)
    w_in = np.full(n, stem_width, dtype=np.int64)
    for i in range(num_stages):
        d, w_out, wb, g = depths[:, i], widths[:, i], wbs[:, i], gs[:, i]
        se_first = np.round(se_ratio * w_in).astype(np.int64) if se_ratio else 0
        se_rest = np.round(se_ratio * w_out).astype(np.int64) if se_ratio else 0
        f1, p1, a1, ho, wo = block_cost(w_in, w_out, strides[i], wb, g, se_first, hh, ww)
        f2, p2, a2, _, _ = block_cost(w_out, w_out, 1, wb, g, se_rest, ho, wo)
        flops += f1 + (d - 1) * f2
        params += p1 + (d - 1) * p2
        acts += a1 + (d - 1) * a2
        w_in, hh, ww = w_out, ho, wo
    if num_classes or head_width:
        f, p, a = HEADS.get(head_type).cost(w_in, head_width, num_classes, hh, ww)
        flops += f
        params += p
        acts += a
    return flops, params, acts


def batch_complexity(batch: Any, img_size: int | Sequence[int] = 224,
                     num_classes: int = 1000, rows: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``stage_arrays_complexity`` for a drawn batch (``design.spaces.Batch``), or
    for some of its ``rows``. Invalid rows give numbers too (meaningless ones); pass
    ``rows`` to skip them.
    """
    sel = slice(None) if rows is None else rows
    widths, ratios = batch.widths[sel], batch.bottleneck_ratios[sel]
    wbs = np.round(widths / ratios).astype(np.int64)
    groups = wbs // np.maximum(batch.group_widths[sel], 1)
    space = batch.space
    return stage_arrays_complexity(batch.depths[sel], widths, wbs, groups,
                                   space.se_ratio, space.stem_width, img_size, num_classes,
                                   **_space_parts(space))


def _space_parts(space: Any) -> dict[str, Any]:
    """The part names a design space fixes (defaults for spaces that name none)."""
    return {key: getattr(space, key) for key in ('block_type', 'stem_type', 'head_type',
                                                  'head_width') if hasattr(space, key)}


def specs_complexity(specs: Sequence[AnyNetSpec], img_size: int | Sequence[int] = 224,
                     num_classes: int = 1000
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised complexity of specs sharing stage count, strides, SE ratio and parts."""
    first = specs[0]
    same = ('num_stages', 'strides', 'stem_width', 'stem_type', 'block_type', 'head_type',
            'head_width')
    for s in specs:
        if any(getattr(s, k) != getattr(first, k) for k in same) \
                or set(s.se_ratios) != {first.se_ratios[0]}:
            raise ValueError(f'specs_complexity needs specs with the same {", ".join(same)} '
                             f'and one SE ratio')
    arr = lambda f: np.array([f(s) for s in specs], dtype=np.int64)  # noqa: E731
    return stage_arrays_complexity(
        arr(lambda s: s.depths), arr(lambda s: s.widths),
        arr(lambda s: [st.bottleneck_width for st in s.stages]),
        arr(lambda s: [st.groups for st in s.stages]), first.se_ratios[0],
        first.stem_width, img_size, num_classes, first.strides, first.block_type,
        first.stem_type, first.head_type, first.head_width)
