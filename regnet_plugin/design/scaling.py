"""Model scaling: "Fast and Accurate Model Scaling" (Dollar, Singh, Girshick, CVPR 2021).

A network is scaled by a flops factor s along depth d, width w, groups g and
resolution r. Flops grow linearly in d and quadratically in w and r (the paper's
Section 3, Table 1), so a strategy with relative weights (e_d, e_w, e_r) splits s as
d * w^2 * r^2 = s: d = s^(e_d / E), w = s^(e_w / 2E), r = s^(e_r / 2E) with
E = e_d + e_w + e_r. Group width scales like width when it has a weight
(``docs/design.md``, "Model scaling"). The paper's "fast compound scaling" is
``d1_w8_g8_r1``: mostly width, so activations grow about as sqrt(s) (Section 4).

The rounding is that of the authors' pycls (``pycls/models/scaler.py``): depths to
integers >= 1, widths to multiples of 8, group widths to 1, 2, 4 or a multiple of 8,
then the group compatibility rule (``docs/design.md``, "RegNet"), and the resolution
to a multiple of 4.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Sequence

from .complexity import ComplexityReport, complexity
from .parts import BLOCKS
from .regnet import adjust_block_compatibility
from .spec import AnyNetSpec
from ..validate import MAX_IMG_SIZE, check_int, check_positive

DIMENSIONS = 'dwgr'
#: The strategies of the paper's figures (fast compound scaling is dwr with
#: weights 1:8:1 and groups scaled with width).
STRATEGIES = ('d', 'w', 'r', 'dw', 'dr', 'wr', 'dwr', 'd1_w8_g8_r1')


def parse_scale_type(scale_type: str) -> dict[str, float]:
    """'dw' -> {d: 1, w: 1, g: 0, r: 0}; 'd1_w8_g8_r1' -> the given weights."""
    if not isinstance(scale_type, str) or not scale_type:
        raise ValueError(f'scale type must be a non-empty string such as "dw" or '
                         f'"d1_w8_g8_r1", got {scale_type!r}')
    if all(c in DIMENSIONS for c in scale_type):
        if len(set(scale_type)) != len(scale_type):
            raise ValueError(f'scale type {scale_type!r} repeats a dimension')
        return {c: 1.0 if c in scale_type else 0.0 for c in DIMENSIONS}
    weights = {c: 0.0 for c in DIMENSIONS}
    seen = set()
    for part in scale_type.split('_'):
        dim, value = part[:1], part[1:]
        try:
            weight = float(value)
        except ValueError:
            weight = math.nan
        if dim not in DIMENSIONS or dim in seen or not math.isfinite(weight) \
                or weight < 0:
            raise ValueError(
                f'scale type {scale_type!r}: each part is a dimension of '
                f'{list(DIMENSIONS)} followed by a weight >= 0 (e.g. "d1_w8_g8_r1"), '
                f'at most once each; bad part {part!r}')
        seen.add(dim)
        weights[dim] = weight
    return weights


def scaling_factors(scale_type: str, factor: float) -> tuple[float, float, float, float]:
    """Multipliers (d, w, g, r) with d * w^2 * r^2 = ``factor`` (pycls' rule, incl.
    scaling groups alone when d, w and r have no weight)."""
    factor = check_positive('scale factor', factor)
    e = parse_scale_type(scale_type)
    total = e['d'] + e['w'] + e['r'] or e['g'] / 2 or 1.0
    d = factor ** (e['d'] / total)
    w = factor ** (e['w'] / total / 2.0)
    g = factor ** (e['g'] / total / 2.0)
    r = factor ** (e['r'] / total / 2.0)
    return d, w, g, r


def _round_group_width(g: float) -> int:
    g = max(1, round(g))
    return g if g <= 2 else 4 if g <= 5 else round(g / 8) * 8


@dataclass(frozen=True)
class ScaledModel:
    """A scaled network: its spec, resolution, the multipliers and its complexity."""

    spec: AnyNetSpec
    img_size: int
    factors: dict[str, float]
    complexity: ComplexityReport

    def as_dict(self) -> dict[str, Any]:
        return {'depths': self.spec.depths, 'widths': self.spec.widths,
                'group_widths': self.spec.group_widths,
                'bottleneck_ratios': self.spec.bottleneck_ratios,
                'img_size': self.img_size, 'factors': self.factors,
                'flops': self.complexity.flops, 'params': self.complexity.params,
                'acts': self.complexity.acts, 'id': self.spec.id,
                'spec': self.spec.to_dict()}


def scale_spec(spec: AnyNetSpec, scale_type: str, factor: float, img_size: int = 224,
               num_classes: int = 1000) -> ScaledModel:
    """Scale ``spec`` (at ``img_size``) by ``factor`` flops along ``scale_type``.

    Stem width, strides, SE ratio and the head are kept, as in pycls. Blocks without a
    bottleneck (vanilla, basic) have no group width to scale.
    """
    img_size = check_int('img_size', img_size, 1, MAX_IMG_SIZE)
    d_s, w_s, g_s, r_s = scaling_factors(scale_type, factor)
    depths = [max(1, round(d * d_s)) for d in spec.depths]
    widths = [max(1, round(w * w_s / 8)) * 8 for w in spec.widths]
    bs = spec.bottleneck_ratios
    if BLOCKS.get(spec.block_type).bottleneck:
        gs = [_round_group_width(g * g_s) for g in spec.group_widths]
        widths, gs = adjust_block_compatibility(widths, bs, gs)
    else:
        gs = spec.group_widths
    stages = tuple(dataclasses.replace(st, depth=d, width=w, group_width=g)
                   for st, d, w, g in zip(spec.stages, depths, widths, gs))
    scaled = dataclasses.replace(spec, stages=stages)
    size = round(img_size * r_s / 4) * 4
    if size < 4:           # pycls' rounding to a multiple of 4 reaches 0 pixels
        raise ValueError(f'scaling img_size {img_size} by r = {r_s:.4g} (type '
                         f'{scale_type!r}, factor {factor!r}) rounds to {size} pixels; '
                         f'the scaled resolution must be at least 4 pixels: use a larger '
                         f'factor, a larger img_size or less weight on r')
    factors = {'d': d_s, 'w': w_s, 'g': g_s, 'r': r_s}
    return ScaledModel(scaled, size, factors, complexity(scaled, size, num_classes))


def scaling_curves(spec: AnyNetSpec, scale_types: Sequence[str], factors: Sequence[float],
                   img_size: int = 224, num_classes: int = 1000
                   ) -> dict[str, list[tuple[int, int]]]:
    """(flops, acts) of ``spec`` scaled by each flops factor, per scale type: the
    curves of [Scaling] Figure 1 (fast compound scaling keeps acts near sqrt(flops))."""
    return {t: [(m.complexity.flops, m.complexity.acts)
                for m in (scale_spec(spec, t, f, img_size, num_classes) for f in factors)]
            for t in scale_types}
