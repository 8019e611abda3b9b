"""RegNet: from the six parameters (d, w0, wa, wm, g, b) to an AnyNetSpec.

Implements ``docs/design.md``, "RegNet" ([RegNet] Section 4, Equations 2-4) with the
reference implementation's arithmetic
(float64 numpy, round-half-to-even), so the widths are identical to pycls'.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from ..validate import (MAX_DEPTH, MAX_WIDTH, check_choice, check_int, check_int_list,
                        check_number, check_mapping, check_number_list, check_positive,
                        check_same_length)
from .spec import PART_DEFAULTS, STEM_WIDTH, AnyNetSpec

_PART_FIELDS = ('stem_type', 'block_type', 'head_type', 'head_width', 'activation')

QUANTUM = 8

#: How per-stage widths are made compatible with the group width.
#: 'pycls'       : group compatibility as the paper's reference implementation (default;
#:                 ``docs/design.md``, "RegNet", step 4).
#: 'torchvision' : torchvision's rounding (float32 width generation and
#:                 ``_make_divisible`` with its 90% rule), needed to load its checkpoints.
WIDTH_ROUNDINGS = ('pycls', 'torchvision')

#: The keys of MMPretrain/MMDetection's RegNet arch dict (``RegNetParams.from_mm_arch``).
MM_ARCH_KEYS = ('w0', 'wa', 'wm', 'group_w', 'depth', 'bot_mul')


def block_exponents(j, w0, wa, wm):
    """s_j = round(log(u_j / w0) / log(wm)) with u_j = w0 + wa * j
    (``docs/design.md``, "RegNet", step 2).

    Float64 numpy, elementwise with broadcasting; the one place this rule is written.
    """
    return np.round(np.log((j * wa + w0) / w0) / np.log(wm))


def quantize_widths(w0, wm, s, q: int = QUANTUM):
    """w = round(w0 * wm^s / q) * q (``docs/design.md``, "RegNet", step 2), as floats."""
    return np.round(np.divide(w0 * np.power(wm, s), q)) * q


def quantized_linear_floats(depth: int, w0, wa, wm, q: int = QUANTUM
                            ) -> tuple[np.ndarray, np.ndarray]:
    """Float widths and exponents of ``quantized_linear_widths``, shape (..., depth).

    Array parameters (broadcast against each other) give many networks at once.
    """
    w0, wa, wm = (np.asarray(v, dtype=float)[..., None] for v in (w0, wa, wm))
    s = block_exponents(np.arange(depth), w0, wa, wm)
    return quantize_widths(w0, wm, s, q), s


def quantized_linear_widths(depth: int, w0: float, wa: float, wm: float,
                            q: int = QUANTUM) -> tuple[np.ndarray, np.ndarray]:
    """Per-block widths of the quantized linear rule, and the exponents s_j.

    u_j = w0 + wa * j; s_j = round(log(u_j / w0) / log(wm)); w_j = round(w0 * wm^s_j / q) * q

    The rule needs depth >= 1, w0 > 0, wa >= 0 and wm > 1 (log(wm) divides); a
    result outside [q, MAX_WIDTH] (w0 below q / 2, or wa/wm so large that the widths
    overflow) is refused with ValueError rather than returned as nonsense.
    """
    depth = check_int('depth', depth, 1, MAX_DEPTH)
    w0 = check_positive('w0', w0, MAX_WIDTH)
    wa = check_number('wa', wa, 0)
    wm = check_number('wm', wm, 1, min_inclusive=False)
    q = check_int('q', q, 1, MAX_WIDTH)
    with np.errstate(over='ignore', invalid='ignore'):
        w, s = quantized_linear_floats(depth, w0, wa, wm, q)
    check_block_widths(w, f'depth={depth}, w0={w0:g}, wa={wa:g}, wm={wm:g}, q={q}', q)
    return w.astype(int), s.astype(int)


def check_block_widths(widths: np.ndarray, params: str, q: int = QUANTUM) -> None:
    """Refuse generated widths that are not finite or outside [q, MAX_WIDTH]."""
    widths = np.asarray(widths, dtype=float)
    if not np.all(np.isfinite(widths)) or widths.max() > MAX_WIDTH:
        raise ValueError(f'{params} give block widths up to {widths.max():g}, above the '
                         f'maximum width {MAX_WIDTH} (MAX_WIDTH); lower wa or wm')
    if widths.min() < q:
        raise ValueError(f'{params} give a block width of {widths.min():g}, below the '
                         f'quantum {q}; w0 must be above q / 2 = {q / 2:g}')


def adjust_compatibility_arrays(widths, bottleneck_ratios, group_widths
                                ) -> tuple[np.ndarray, np.ndarray]:
    """Group compatibility (``docs/design.md``, "RegNet", step 4) elementwise on
    arrays (int64 results): see ``adjust_block_compatibility``."""
    mul = 1.0 / np.asarray(bottleneck_ratios, dtype=float)   # pycls' bottleneck multiplier
    v = np.maximum(1, np.asarray(widths) * mul).astype(np.int64)
    g = np.minimum(group_widths, v).astype(np.int64)
    m = np.where(mul > 1, np.lcm(g, mul.astype(np.int64)), g)
    v = np.maximum(m, (np.round(v / m) * m).astype(np.int64))
    return (v / mul).astype(np.int64), g


def adjust_block_compatibility(widths: list[int], bottleneck_ratios: list[float],
                               group_widths: list[int]) -> tuple[list[int], list[int]]:
    """Group compatibility (``docs/design.md``, "RegNet", step 4): make every
    bottleneck width a multiple of its group width.

    One entry per stage in each list. Returns the adjusted stage widths and group widths.
    """
    widths = check_int_list('widths', widths, 1, MAX_WIDTH, min_length=1)
    bottleneck_ratios = check_number_list('bottleneck_ratios', bottleneck_ratios, 0,
                                          min_inclusive=False)
    group_widths = check_int_list('group_widths', group_widths, 1, MAX_WIDTH)
    check_same_length(widths=widths, bottleneck_ratios=bottleneck_ratios,
                      group_widths=group_widths)
    out_w, out_g = adjust_compatibility_arrays(widths, bottleneck_ratios, group_widths)
    return out_w.tolist(), out_g.tolist()


def _make_divisible(value: float, divisor: int) -> int:
    """torchvision's rounding: nearest multiple (half up), never below 90% of value."""
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:
        new += divisor
    return new


def _torchvision_widths(depth: int, w0: float, wa: float, wm: float,
                        q: int = QUANTUM) -> np.ndarray:
    """torchvision generates widths in float32 torch arithmetic; mimic it in numpy."""
    with np.errstate(over='ignore', invalid='ignore'):
        u = np.arange(depth, dtype=np.float32) * np.float32(wa) + np.float32(w0)
        s = np.round(np.log(u / np.float32(w0)) / np.float32(math.log(wm)))
        w = np.round((np.float32(w0) * np.power(np.float32(wm), s)) / np.float32(q)) * q
    check_block_widths(w, f'depth={depth}, w0={w0:g}, wa={wa:g}, wm={wm:g}', q)
    return w.astype(np.int64)


@dataclass(frozen=True)
class RegNetParams:
    """A point of the RegNet design space (``docs/design.md``, "RegNet").

    ``bottleneck_ratio`` is the paper's b (MMPretrain's ``bot_mul`` is 1/b).
    ``se_ratio`` 0 gives RegNetX, 0.25 gives RegNetY. The part fields (``stem_type``,
    ``block_type``, ``head_width``, ``activation``) pass to the spec; RegNetZ is
    ``block_type='res_bottleneck_linear_block'``, b = 1/4, SiLU and a head conv
    ("Fast and Accurate Model Scaling", Section 5). ``to_dict`` leaves them out at
    their defaults, so records of X/Y parameters keep their form.
    """

    depth: int
    w0: int
    wa: float
    wm: float
    group_width: int
    bottleneck_ratio: float = 1.0
    se_ratio: float = 0.0
    stem_width: int = STEM_WIDTH
    width_rounding: str = 'pycls'
    stem_type: str = PART_DEFAULTS['stem_type']
    block_type: str = PART_DEFAULTS['block_type']
    head_type: str = PART_DEFAULTS['head_type']
    head_width: int = 0
    activation: str = 'relu'

    def __post_init__(self) -> None:
        set_ = functools.partial(object.__setattr__, self)
        set_('depth', check_int('depth', self.depth, 1, MAX_DEPTH))
        w0 = check_number('w0', self.w0)
        if not (0 < w0 <= MAX_WIDTH and w0.is_integer() and int(w0) % QUANTUM == 0):
            raise ValueError(f'w0 must be a positive multiple of {QUANTUM}, got {self.w0!r} '
                             f'(accepted: {QUANTUM}, {2 * QUANTUM}, ..., {MAX_WIDTH})')
        set_('w0', int(w0))
        check_number('wa', self.wa, 0)
        check_number('wm', self.wm, 1, min_inclusive=False)
        set_('group_width', check_int('group_width', self.group_width, 1, MAX_WIDTH))
        check_positive('bottleneck_ratio', self.bottleneck_ratio)
        check_number('se_ratio', self.se_ratio, 0, 1, max_inclusive=False)
        set_('stem_width', check_int('stem_width', self.stem_width, 1, MAX_WIDTH))
        check_choice('width_rounding', self.width_rounding, WIDTH_ROUNDINGS)
        self.block_widths()     # refuses widths that overflow (e.g. wa=1e300)

    def block_widths(self) -> list[int]:
        """Per-block widths before group compatibility (step 2 of ``docs/design.md``, "RegNet")."""
        if self.width_rounding == 'torchvision':
            return _torchvision_widths(self.depth, self.w0, self.wa, self.wm).tolist()
        return quantized_linear_widths(self.depth, self.w0, self.wa, self.wm)[0].tolist()

    def stage_widths_depths(self) -> tuple[list[int], list[int]]:
        """Distinct widths in increasing order and their block counts (step 3)."""
        widths, depths = np.unique(np.array(self.block_widths()), return_counts=True)
        return widths.tolist(), depths.tolist()

    @property
    def num_stages(self) -> int:
        return len(self.stage_widths_depths()[0])

    def to_spec(self) -> AnyNetSpec:
        widths, depths = self.stage_widths_depths()
        n = len(widths)
        bs = [float(self.bottleneck_ratio)] * n
        gs = [self.group_width] * n
        if self.width_rounding == 'torchvision':
            w_bot = [int(w / b) for w, b in zip(widths, bs)]
            gs = [min(g, wb) for g, wb in zip(gs, w_bot)]
            w_bot = [_make_divisible(wb, g) for wb, g in zip(w_bot, gs)]
            widths = [int(wb * b) for wb, b in zip(w_bot, bs)]
        else:
            widths, gs = adjust_block_compatibility(widths, bs, gs)
        return AnyNetSpec.from_lists(depths, widths, [2] * n, bs, gs,
                                     [float(self.se_ratio)] * n, self.stem_width,
                                     **self.parts)

    @property
    def parts(self) -> dict[str, Any]:
        """The part fields that differ from the RegNet X/Y defaults."""
        return {k: getattr(self, k) for k in _PART_FIELDS
                if getattr(self, k) != PART_DEFAULTS[k]}

    def to_dict(self) -> dict[str, Any]:
        return {'depth': self.depth, 'w0': self.w0, 'wa': float(self.wa),
                'wm': float(self.wm), 'group_width': self.group_width,
                'bottleneck_ratio': float(self.bottleneck_ratio),
                'se_ratio': float(self.se_ratio), 'stem_width': self.stem_width,
                'width_rounding': self.width_rounding, **self.parts}

    @classmethod
    def from_mm_arch(cls, arch: Mapping[str, Any], se_ratio: float = 0.0,
                     **kwargs: Any) -> 'RegNetParams':
        """From MMPretrain/MMDetection's arch dict (w0, wa, wm, group_w, depth, bot_mul)."""
        arch = check_mapping('arch', arch)
        required = set(MM_ARCH_KEYS)
        keys = set(arch)
        if keys != required:
            missing, extra = sorted(required - keys), sorted(keys - required)
            raise ValueError(f'arch dict must have exactly the keys {sorted(required)}; '
                             f'missing {missing}, unexpected {extra}')
        bot_mul = check_positive('bot_mul', arch['bot_mul'])
        return cls(depth=arch['depth'], w0=arch['w0'], wa=arch['wa'], wm=arch['wm'],
                   group_width=arch['group_w'], bottleneck_ratio=1.0 / bot_mul,
                   se_ratio=se_ratio, **kwargs)

    def to_mm_arch(self) -> dict[str, Any]:
        return dict(w0=self.w0, wa=float(self.wa), wm=float(self.wm),
                    group_w=self.group_width, depth=self.depth,
                    bot_mul=1.0 / self.bottleneck_ratio)
