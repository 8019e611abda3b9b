"""Analytic complexity of any AnyNetSpec: flops (multiply-adds), params, acts.

SPEC section 3, computed layer by layer exactly as the reference implementation
(pycls) does, so the integers are identical to its figures. BN, ReLU, sigmoid,
additions and pooling cost no flops; BN has 2 params per channel; acts count the
output elements of every conv and of the fc layer.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from ..validate import MAX_CLASSES, MAX_IMG_SIZE, check_int, check_int_list
from .spec import AnyNetSpec

IMAGE_CHANNELS = 3


def conv_cost(w_in, w_out, k: int, h, w, groups=1, bias: bool = False) -> tuple:
    """(flops, params, acts) of a k x k conv with an h x w output; ints or int arrays."""
    flops = k * k * w_in * w_out * h * w // groups + (w_out * h * w if bias else 0)
    params = k * k * w_in * w_out // groups + (w_out if bias else 0)
    return flops, params, w_out * h * w


@dataclass
class Complexity:
    """Running totals at a spatial size (h, w), as the network is walked."""

    h: int
    w: int
    flops: int = 0
    params: int = 0
    acts: int = 0

    def conv(self, w_in: int, w_out: int, k: int, stride: int = 1,
             groups: int = 1, bias: bool = False) -> 'Complexity':
        """A k x k conv with padding k // 2 (the output replaces the current size)."""
        h = (self.h - 1) // stride + 1
        w = (self.w - 1) // stride + 1
        flops, params, acts = conv_cost(w_in, w_out, k, h, w, groups, bias)
        self.flops += flops
        self.params += params
        self.acts += acts
        self.h, self.w = h, w
        return self

    def batchnorm(self, channels: int) -> 'Complexity':
        self.params += 2 * channels
        return self

    def linear(self, w_in: int, w_out: int, bias: bool = True) -> 'Complexity':
        self.flops += w_in * w_out + (w_out if bias else 0)
        self.params += w_in * w_out + (w_out if bias else 0)
        self.acts += w_out
        return self

    def totals(self) -> tuple[int, int, int]:
        return self.flops, self.params, self.acts


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


def block_complexity(cx: Complexity, w_in: int, w_out: int, stride: int,
                     bottleneck_width: int, groups: int, se_width: int) -> Complexity:
    """One X/Y block (residual bottleneck with group conv, optional SE)."""
    if w_in != w_out or stride != 1:           # projection shortcut, parallel branch
        h, w = cx.h, cx.w
        cx.conv(w_in, w_out, 1, stride).batchnorm(w_out)
        cx.h, cx.w = h, w
    w_b = bottleneck_width
    cx.conv(w_in, w_b, 1).batchnorm(w_b)
    cx.conv(w_b, w_b, 3, stride, groups).batchnorm(w_b)
    if se_width:                               # SE runs on the pooled 1x1 map
        h, w = cx.h, cx.w
        cx.h = cx.w = 1
        cx.conv(w_b, se_width, 1, bias=True).conv(se_width, w_b, 1, bias=True)
        cx.h, cx.w = h, w
    cx.conv(w_b, w_out, 1).batchnorm(w_out)
    return cx


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

    ``num_classes=0`` counts the backbone alone (no fc layer).
    """
    if not isinstance(spec, AnyNetSpec):
        raise TypeError(f'spec must be an AnyNetSpec (for a preset name use '
                        f'preset_spec(name) or parse_arch(name).spec), got {spec!r}')
    h, w = _size(img_size)
    num_classes = check_int('num_classes', num_classes, 0, MAX_CLASSES)
    cx = Complexity(h, w)
    parts: dict[str, dict[str, int]] = {}

    def record(name: str, before: tuple[int, int, int]) -> None:
        now = cx.totals()
        parts[name] = {k: now[i] - before[i]
                       for i, k in enumerate(('flops', 'params', 'acts'))}
        parts[name]['out_size'] = [cx.h, cx.w]

    before = cx.totals()
    cx.conv(IMAGE_CHANNELS, spec.stem_width, 3, stride=2).batchnorm(spec.stem_width)
    record('stem', before)
    w_in = spec.stem_width
    for i, stage in enumerate(spec.stages):
        before = cx.totals()
        for j in range(stage.depth):
            block_complexity(cx, w_in, stage.width, stage.stride if j == 0 else 1,
                             stage.bottleneck_width, stage.groups, stage.se_width(w_in))
            w_in = stage.width
        record(f's{i + 1}', before)
    if num_classes:
        before = cx.totals()
        cx.linear(w_in, num_classes)
        record('head', before)
    return ComplexityReport(cx.flops, cx.params, cx.acts, (h, w), num_classes, parts)
