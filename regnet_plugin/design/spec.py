"""The model spec: a small, frozen description of any AnyNet / RegNet.

Every other part of the plugin (complexity, design spaces, torch modules, configs,
study results) speaks this one format, so a model is fully described by
``AnyNetSpec.to_dict()`` and identified by ``AnyNetSpec.id``.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import operator
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

STEM_WIDTH = 32
NUM_STAGES = 4


def _check_int(name: str, value: Any, minimum: int) -> int:
    """An integer >= minimum (numpy integers welcome, bools and floats refused)."""
    try:
        if isinstance(value, bool):
            raise TypeError
        number = operator.index(value)
    except TypeError:
        raise ValueError(
            f'{name} must be an integer >= {minimum}, got {value!r}') from None
    if number < minimum:
        raise ValueError(f'{name} must be an integer >= {minimum}, got {number}')
    return number


def check_index(name: str, value: Any, low: int, high: int) -> int:
    """An integer in [low, high] (numpy integers welcome, bools and floats refused)."""
    try:
        if isinstance(value, bool):
            raise TypeError
        index = operator.index(value)
    except TypeError:
        raise ValueError(f'{name} must be an integer in [{low}, {high}], '
                         f'got {value!r}') from None
    if not low <= index <= high:
        raise ValueError(f'{name} must be in [{low}, {high}], got {index} (out of range)')
    return index


def check_out_indices(out_indices: Any, num_stages: int) -> tuple[int, ...]:
    """Feature indices as our backbones number them: 0 the stem, 1..num_stages the
    stages, negative from the end; None means the last stage. Returned non-negative;
    they must increase without repeats (the order features are computed in)."""
    n = num_stages
    if out_indices is None:
        return (n,)
    if not isinstance(out_indices, Iterable) or isinstance(out_indices, str):
        out_indices = (out_indices,)
    indices = [check_index(f'out_indices entry (0 = stem, 1..{n} = stages)', index,
                           -(n + 1), n) % (n + 1) for index in out_indices]
    if not indices:
        raise ValueError(f'out_indices must not be empty; valid entries 0..{n}')
    if len(set(indices)) != len(indices) or indices != sorted(indices):
        raise ValueError(f'out_indices must be increasing without repeats, '
                         f'got {tuple(out_indices)}')
    return tuple(indices)


@dataclass(frozen=True)
class StageSpec:
    """One stage: ``depth`` X/Y blocks of output width ``width``.

    ``bottleneck_ratio`` is the paper's b (the 3x3 conv runs at ``round(width / b)``
    channels), ``group_width`` its g (channels per group of the 3x3 conv), and
    ``se_ratio`` the Squeeze-and-Excitation ratio over the block *input* width
    (0 gives an X block, e.g. 0.25 a Y block). Only the first block has ``stride``.
    """

    depth: int
    width: int
    stride: int = 2
    bottleneck_ratio: float = 1.0
    group_width: int = 1
    se_ratio: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, 'depth', _check_int('depth', self.depth, 1))
        object.__setattr__(self, 'width', _check_int('width', self.width, 1))
        object.__setattr__(self, 'group_width',
                           _check_int('group_width', self.group_width, 1))
        stride = _check_int('stride', self.stride, 1)
        if stride not in (1, 2):
            raise ValueError(f'stride must be 1 or 2, got {stride}')
        object.__setattr__(self, 'stride', stride)
        b = float(self.bottleneck_ratio)
        if not b > 0:
            raise ValueError(
                f'bottleneck_ratio must be > 0 (e.g. 1, 2, 4, or 1/4 for an '
                f'inverted bottleneck), got {self.bottleneck_ratio!r}')
        object.__setattr__(self, 'bottleneck_ratio', b)
        se = float(self.se_ratio)
        if not 0 <= se < 1:
            raise ValueError(f'se_ratio must be in [0, 1), got {self.se_ratio!r}')
        object.__setattr__(self, 'se_ratio', se)
        w_b = self.bottleneck_width
        if w_b < 1:
            raise ValueError(
                f'bottleneck width round({self.width} / {b}) = {w_b} must be >= 1')
        if w_b % self.group_width:
            raise ValueError(
                f'group_width {self.group_width} must divide the bottleneck width '
                f'{w_b} (= round(width {self.width} / bottleneck_ratio {b}))')

    @property
    def bottleneck_width(self) -> int:
        """w_b = round(w / b), the width of the 3x3 group conv."""
        return int(round(self.width / self.bottleneck_ratio))

    @property
    def groups(self) -> int:
        return self.bottleneck_width // self.group_width

    def se_width(self, w_in: int) -> int:
        """w_se = round(se_ratio * w_in): SE works on the block's input width."""
        return int(round(self.se_ratio * w_in))


@dataclass(frozen=True)
class AnyNetSpec:
    """A whole network: stem width and the stages (head is always pool + fc)."""

    stages: tuple[StageSpec, ...]
    stem_width: int = STEM_WIDTH

    def __post_init__(self) -> None:
        stages = tuple(s if isinstance(s, StageSpec) else StageSpec(**s)
                       for s in self.stages)
        if not stages:
            raise ValueError('an AnyNetSpec needs at least one stage, got 0')
        object.__setattr__(self, 'stages', stages)
        object.__setattr__(self, 'stem_width',
                           _check_int('stem_width', self.stem_width, 1))

    # -- per-stage views -------------------------------------------------
    @property
    def depths(self) -> list[int]:
        return [s.depth for s in self.stages]

    @property
    def widths(self) -> list[int]:
        return [s.width for s in self.stages]

    @property
    def strides(self) -> list[int]:
        return [s.stride for s in self.stages]

    @property
    def bottleneck_ratios(self) -> list[float]:
        return [s.bottleneck_ratio for s in self.stages]

    @property
    def group_widths(self) -> list[int]:
        return [s.group_width for s in self.stages]

    @property
    def se_ratios(self) -> list[float]:
        return [s.se_ratio for s in self.stages]

    @property
    def num_stages(self) -> int:
        return len(self.stages)

    @property
    def depth(self) -> int:
        """Total number of blocks."""
        return sum(self.depths)

    @property
    def block_widths(self) -> list[int]:
        """Per-block widths, the input of the quantized linear fit."""
        return [s.width for s in self.stages for _ in range(s.depth)]

    # -- serialisation ---------------------------------------------------
    def feature_channels(self, out_indices: Any = None) -> tuple[int, ...]:
        """Channels of the features a backbone of this spec returns for ``out_indices``
        (see :func:`check_out_indices`): what a neck's ``in_channels`` must be."""
        channels = [self.stem_width] + self.widths
        return tuple(channels[i] for i in check_out_indices(out_indices, self.num_stages))

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON/config friendly) that ``from_dict`` turns back."""
        return {'stem_width': self.stem_width,
                'stages': [dataclasses.asdict(s) for s in self.stages]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> 'AnyNetSpec':
        allowed = {'stem_width', 'stages'}
        extra = set(data) - allowed
        if extra:
            raise ValueError(f'unknown AnyNetSpec keys {sorted(extra)}; '
                             f'accepted: {sorted(allowed)}')
        if 'stages' not in data:
            raise ValueError("an AnyNetSpec dict needs 'stages'")
        stage_fields = {f.name for f in dataclasses.fields(StageSpec)}
        stages = []
        for i, s in enumerate(data['stages']):
            bad = set(s) - stage_fields
            if bad:
                raise ValueError(f'stage {i}: unknown keys {sorted(bad)}; '
                                 f'accepted: {sorted(stage_fields)}')
            stages.append(StageSpec(**s))
        return cls(stages=tuple(stages),
                   stem_width=data.get('stem_width', STEM_WIDTH))

    @classmethod
    def from_lists(cls,
                   depths: Sequence[int],
                   widths: Sequence[int],
                   strides: Sequence[int] | None = None,
                   bottleneck_ratios: Sequence[float] | None = None,
                   group_widths: Sequence[int] | None = None,
                   se_ratios: Sequence[float] | float | None = None,
                   stem_width: int = STEM_WIDTH) -> 'AnyNetSpec':
        """Build from per-stage lists (pycls' ANYNET.DEPTHS/WIDTHS/... format)."""
        for name, values in (('depths', depths), ('widths', widths)):
            if isinstance(values, (str, bytes)) or not hasattr(values, '__len__'):
                raise ValueError(f'{name} must be a list with one entry per stage, '
                                 f'got {values!r}')
        n = len(depths)
        def per_stage(name, values, default):
            if values is None:
                return [default] * n
            if isinstance(values, (int, float)):
                return [values] * n
            if len(values) != n:
                raise ValueError(f'{name} has {len(values)} entries, expected {n} '
                                 f'(one per stage, as depths)')
            return list(values)
        if len(widths) != n:
            raise ValueError(f'widths has {len(widths)} entries, expected {n} '
                             f'(one per stage, as depths)')
        cols = zip(depths, widths, per_stage('strides', strides, 2),
                   per_stage('bottleneck_ratios', bottleneck_ratios, 1.0),
                   per_stage('group_widths', group_widths, 1),
                   per_stage('se_ratios', se_ratios, 0.0))
        return cls(stages=tuple(StageSpec(*c) for c in cols), stem_width=stem_width)

    def canonical_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(',', ':'))

    @property
    def id(self) -> str:
        """Stable short id (12 hex chars) for deduplication and file names."""
        return hashlib.sha1(self.canonical_json().encode()).hexdigest()[:12]

    def describe(self) -> str:
        return (f'AnyNetSpec(d={self.depths}, w={self.widths}, '
                f'b={self.bottleneck_ratios}, g={self.group_widths}, '
                f'se={self.se_ratios})')
