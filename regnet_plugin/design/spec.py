"""The model spec: a small, frozen description of any AnyNet / RegNet.

Every other part of the plugin (complexity, design spaces, torch modules, configs,
study results) speaks this one format, so a model is fully described by
``AnyNetSpec.to_dict()`` and identified by ``AnyNetSpec.id``.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from ..validate import (MAX_DEPTH, MAX_WIDTH, check_choice, check_int, check_keys,
                        check_mapping, check_number, check_positive, check_sequence)
from .parts import BLOCKS, DEFAULT_BLOCK, DEFAULT_HEAD, DEFAULT_STEM, HEADS, STEMS

STEM_WIDTH = 32
#: Activation functions a spec may name (the torch side maps them to modules).
ACTIVATIONS = ('relu', 'silu')
#: The network-level fields that name parts; ``to_dict`` leaves them out while they
#: have these defaults, so the ids of specs written before they existed are unchanged.
PART_DEFAULTS: dict[str, Any] = {'stem_type': DEFAULT_STEM, 'block_type': DEFAULT_BLOCK,
                                 'head_type': DEFAULT_HEAD, 'head_width': 0,
                                 'activation': 'relu'}
NUM_STAGES = 4


def check_index(name: str, value: Any, low: int, high: int) -> int:
    """An integer in [low, high] (numpy integers welcome, bools and floats refused:
    TypeError; out of range: ValueError)."""
    try:
        return check_int(name, value, low, high)
    except ValueError as err:
        raise ValueError(f'{err} (out of range)') from None


def check_out_indices(out_indices: Any, num_stages: int) -> tuple[int, ...]:
    """Stage indices as MMPretrain's and MMDetection's RegNet/ResNet number them:
    0..num_stages-1 are stages 1..num_stages (C2..C5 for a 4-stage RegNet), negative
    from the end; None means the last stage. Returned non-negative; they must increase
    without repeats (the order features are computed in). The stem is not a stage: the
    backbones return it with ``out_stem=True``."""
    n = num_stages
    if out_indices is None:
        return (n - 1,)
    if not isinstance(out_indices, Iterable) or isinstance(out_indices, str):
        out_indices = (out_indices,)
    indices = [check_int(f'out_indices entry (0..{n - 1} = stages 1..{n}; '
                         f'the stem: out_stem=True)', index, -n, n - 1) % n
               for index in out_indices]
    if not indices:
        raise ValueError(f'out_indices must not be empty; valid entries 0..{n - 1}')
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
        object.__setattr__(self, 'depth', check_int('depth', self.depth, 1, MAX_DEPTH))
        object.__setattr__(self, 'width', check_int('width', self.width, 1, MAX_WIDTH))
        object.__setattr__(self, 'group_width',
                           check_int('group_width', self.group_width, 1, MAX_WIDTH))
        object.__setattr__(self, 'stride', check_int('stride', self.stride, 1, 2))
        # e.g. 1, 2, 4, or 1/4 for an inverted bottleneck
        b = check_positive('bottleneck_ratio', self.bottleneck_ratio, MAX_WIDTH)
        object.__setattr__(self, 'bottleneck_ratio', b)
        se = check_number('se_ratio', self.se_ratio, 0, 1, max_inclusive=False)
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


def _stage(name: str, stage: Any) -> StageSpec:
    """A StageSpec, or a dict of its fields (depth and width required)."""
    if isinstance(stage, StageSpec):
        return stage
    stage = check_mapping(name, stage)
    check_keys(name, stage, [f.name for f in dataclasses.fields(StageSpec)],
               ['depth', 'width'])
    try:
        return StageSpec(**stage)
    except (TypeError, ValueError) as err:     # say which stage
        raise type(err)(f'{name}: {err}') from None


@dataclass(frozen=True)
class AnyNetSpec:
    """A whole network: its stem, stages of blocks, and head, each part named.

    ``stem_type``, ``block_type`` and ``head_type`` are names in the registries of
    :mod:`regnet_plugin.design.parts` (defaults: the paper's RegNet parts);
    ``head_width`` > 0 adds the head's 1x1 conv (pycls' ``HEAD_W``, RegNetZ);
    ``activation`` is 'relu' or 'silu'.
    """

    stages: tuple[StageSpec, ...]
    stem_width: int = STEM_WIDTH
    stem_type: str = DEFAULT_STEM
    block_type: str = DEFAULT_BLOCK
    head_type: str = DEFAULT_HEAD
    head_width: int = 0
    activation: str = 'relu'

    def __post_init__(self) -> None:
        stages = tuple(_stage(f'stages[{i}]', s) for i, s in enumerate(
            check_sequence('stages', self.stages, min_length=1)))
        total = sum(s.depth for s in stages)
        if total > MAX_DEPTH:
            raise ValueError(f'an AnyNetSpec may have at most {MAX_DEPTH} blocks '
                             f'(MAX_DEPTH), got {total} in {len(stages)} stages')
        object.__setattr__(self, 'stages', stages)
        object.__setattr__(self, 'stem_width',
                           check_int('stem_width', self.stem_width, 1, MAX_WIDTH))
        object.__setattr__(self, 'head_width',
                           check_int('head_width', self.head_width, 0, MAX_WIDTH))
        for registry, key in ((STEMS, 'stem_type'), (BLOCKS, 'block_type'),
                              (HEADS, 'head_type')):
            registry.get(getattr(self, key))          # ValueError listing valid names
        check_choice('activation', self.activation, ACTIVATIONS)
        if not BLOCKS.get(self.block_type).bottleneck:
            for i, s in enumerate(stages):
                if (s.bottleneck_ratio, s.group_width, s.se_ratio) != (1.0, 1, 0.0):
                    raise ValueError(
                        f'stage {i}: block {self.block_type!r} has no bottleneck, '
                        f'groups or SE; bottleneck_ratio, group_width and se_ratio '
                        f'must keep their defaults (1, 1, 0)')

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
    def feature_channels(self, out_indices: Any = None,
                         out_stem: bool = False) -> tuple[int, ...]:
        """Channels of the features a backbone of this spec returns for ``out_indices``
        (stages, see :func:`check_out_indices`) and ``out_stem`` (the stem first): what
        a neck's ``in_channels`` must be."""
        channels = list(self.widths)
        if self.head_width:                 # the head conv runs on the last stage
            channels[-1] = self.head_width
        stages = tuple(channels[i] for i in check_out_indices(out_indices, self.num_stages))
        return ((self.stem_width,) if out_stem else ()) + stages

    @property
    def out_width(self) -> int:
        """Channels the classifier sees: the head conv's, else the last stage's."""
        return self.head_width or self.widths[-1]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON/config friendly) that ``from_dict`` turns back.

        Part names at their defaults are left out (ids stay those of older specs)."""
        data: dict[str, Any] = {'stem_width': self.stem_width,
                                'stages': [dataclasses.asdict(s) for s in self.stages]}
        for key, default in PART_DEFAULTS.items():
            if getattr(self, key) != default:
                data[key] = getattr(self, key)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> 'AnyNetSpec':
        data = check_mapping('AnyNetSpec dict', data)
        check_keys('AnyNetSpec dict', data, {'stem_width', 'stages', *PART_DEFAULTS},
                   {'stages'})
        stages = [_stage(f'stages[{i}]', s) for i, s in enumerate(
            check_sequence('stages', data['stages'], min_length=1))]
        return cls(stages=tuple(stages), stem_width=data.get('stem_width', STEM_WIDTH),
                   **{k: data[k] for k in PART_DEFAULTS if k in data})

    @classmethod
    def from_lists(cls,
                   depths: Sequence[int],
                   widths: Sequence[int],
                   strides: Sequence[int] | None = None,
                   bottleneck_ratios: Sequence[float] | None = None,
                   group_widths: Sequence[int] | None = None,
                   se_ratios: Sequence[float] | float | None = None,
                   stem_width: int = STEM_WIDTH, **parts: Any) -> 'AnyNetSpec':
        """Build from per-stage lists (pycls' ANYNET.DEPTHS/WIDTHS/... format);
        ``parts``: ``stem_type``, ``block_type``, ``head_type``, ``head_width``,
        ``activation``."""
        check_keys('AnyNetSpec.from_lists parts', parts, PART_DEFAULTS)
        depths = check_sequence('depths (one entry per stage)', depths, min_length=1)
        n = len(depths)

        def per_stage(name, values, default):
            if values is None:
                return [default] * n
            if isinstance(values, (int, float)) and not isinstance(values, bool):
                return [values] * n
            return check_sequence(f'{name} (one entry per stage, as depths)', values, n)
        cols = zip(depths, per_stage('widths', widths, None),
                   per_stage('strides', strides, 2),
                   per_stage('bottleneck_ratios', bottleneck_ratios, 1.0),
                   per_stage('group_widths', group_widths, 1),
                   per_stage('se_ratios', se_ratios, 0.0))
        fields = [f.name for f in dataclasses.fields(StageSpec)]
        return cls(stages=tuple(_stage(f'stage {i}', dict(zip(fields, c)))
                                for i, c in enumerate(cols)), stem_width=stem_width,
                   **parts)

    def canonical_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(',', ':'))

    @property
    def id(self) -> str:
        """Stable short id (12 hex chars) for deduplication and file names."""
        return hashlib.sha1(self.canonical_json().encode()).hexdigest()[:12]

    def describe(self) -> str:
        parts = ''.join(f', {k}={getattr(self, k)!r}' for k, v in PART_DEFAULTS.items()
                        if getattr(self, k) != v)
        return (f'AnyNetSpec(d={self.depths}, w={self.widths}, '
                f'b={self.bottleneck_ratios}, g={self.group_widths}, '
                f'se={self.se_ratios}{parts})')
