"""Which RegNet a state dict is: infer the spec from tensor shapes, name the preset,
and check every key and shape against the spec.

Works on state dicts already renamed to our keys (``backbone.stem.conv.weight``,
``backbone.stage1.block1.conv2.weight``, ``head.fc.weight``), so one implementation serves
every source format. Checked state dicts only need ``.shape``; the expected keys and
shapes are those of our backbone, built on torch's meta device.
"""
from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass
from typing import Any, Mapping

import torch

from ..design.parts import BLOCKS
from ..design.presets import ALL_PRESET_NAMES, get_preset, preset_family, preset_spec
from ..design.pycls_config import is_pycls_config, spec_from_pycls_config
from ..design.regnet import WIDTH_ROUNDINGS
from ..design.spec import AnyNetSpec, StageSpec
from ..models.anynet import AnyNet
from .keymap import ConversionError, _preview

BACKBONE = 'backbone.'
HEAD = 'head.fc.'
#: ``--arch`` value that accepts the inferred shapes as a custom AnyNet (no preset).
CUSTOM_ARCH = 'anynet'
#: SE ratios tried (in order) when recovering se_ratio from round(se_ratio * w_in).
_SE_RATIO_CANDIDATES = (0.25, 0.0625, 0.5, 0.125)


@functools.lru_cache(maxsize=64)
def _backbone_shapes(spec: AnyNetSpec) -> dict[str, tuple[int, ...]]:
    """Key -> shape of our backbone's state dict for ``spec`` (built on the meta device:
    no memory, no initialisation cost worth mentioning)."""
    with torch.device('meta'):
        backbone = AnyNet(spec)
    return {f'{BACKBONE}{k}': tuple(v.shape) for k, v in backbone.state_dict().items()}


def expected_shapes(spec: AnyNetSpec, num_classes: int | None = None,
                    ) -> dict[str, tuple[int, ...]]:
    """Every key (ours, in module order) and shape of a classifier over ``spec``.

    ``num_classes=None`` describes the backbone alone. The backbone's keys are read off
    our :class:`~regnet_plugin.models.AnyNet` itself, built on the meta device.
    """
    shapes = dict(_backbone_shapes(spec))
    if num_classes is not None:
        shapes[f'{HEAD}weight'] = (num_classes, spec.out_width)
        shapes[f'{HEAD}bias'] = (num_classes,)
    return shapes


def _shape(state_dict: Mapping[str, Any], key: str) -> tuple[int, ...]:
    try:
        return tuple(state_dict[key].shape)
    except KeyError:
        raise ConversionError(
            f'missing {key!r}: cannot read the architecture without it') from None


def num_classes_of(state_dict: Mapping[str, Any]) -> int | None:
    """Classes of the fc head, or None for a backbone-only checkpoint."""
    key = f'{HEAD}weight'
    return int(_shape(state_dict, key)[0]) if key in state_dict else None


def _infer_block_type(state_dict: Mapping[str, Any]) -> str:
    """Which registered block type the keys are: a third conv means a bottleneck, a
    projection shortcut anywhere means a residual block with projections (the first
    block of a stride-2 stage always needs one), none means the shortcut-less kind."""
    keys = [k for k in state_dict if k.startswith(f'{BACKBONE}stage')]
    bottleneck = any('.conv3.' in k for k in keys)
    projection = any('.downsample.' in k for k in keys)
    for name in BLOCKS.names():
        block = BLOCKS.get(name)
        if block.bottleneck == bottleneck and \
                (block.shortcut == 'projection') == projection:
            return name
    raise ConversionError('the block tensors fit no registered block type '
                          f'({", ".join(BLOCKS.names())})')


def infer_spec(state_dict: Mapping[str, Any]) -> AnyNetSpec:
    """The AnyNetSpec whose tensors have these shapes.

    Depths come from the block indices, widths from the last conv, group widths from
    the 3x3 conv's input channels per group, b from width / bottleneck width, SE ratios
    from the SE width over the block input width; the block type from which tensors
    exist, a 7x7 stem conv means ResNet's stem, a head conv gives the head width.
    Strides and activations leave no trace in the weights: every stage is taken to have
    stride 2 and ReLU (true for the RegNetX/Y presets; pass the architecture otherwise).
    """
    block_re = re.compile(rf'{re.escape(BACKBONE)}stage(\d+)\.block(\d+)\.')
    blocks: dict[int, set[int]] = {}
    for key in state_dict:
        match = block_re.match(key)
        if match:
            blocks.setdefault(int(match[1]), set()).add(int(match[2]))
    if not blocks:
        raise ConversionError('the checkpoint has no RegNet blocks (no '
                              f'{BACKBONE}stage<i>.block<j>.* keys after renaming)')
    stage_ids = sorted(blocks)
    if stage_ids != list(range(1, len(stage_ids) + 1)):
        raise ConversionError(f'stages must be numbered 1..n without gaps, got {stage_ids}')
    stem_shape = _shape(state_dict, f'{BACKBONE}stem.conv.weight')
    stem_width = stem_shape[0]
    block_type = _infer_block_type(state_dict)
    if not BLOCKS.get(block_type).bottleneck:
        return _infer_plain_spec(state_dict, stage_ids, blocks, stem_width, block_type)
    stages = []
    w_in = stem_width
    for i in stage_ids:
        ids = sorted(blocks[i])
        if ids != list(range(1, len(ids) + 1)):
            raise ConversionError(
                f'stage {i}: blocks must be numbered 1..d without gaps, got {ids}')
        p = f'{BACKBONE}stage{i}.block1'
        width, w_b = _shape(state_dict, f'{p}.conv3.weight')[:2]
        group_width = _shape(state_dict, f'{p}.conv2.weight')[1]
        se_ratio = 0.0
        if f'{p}.se.fc1.weight' in state_dict:
            w_se = _shape(state_dict, f'{p}.se.fc1.weight')[0]
            # A later block whose SE width disagrees is reported by check_state_dict.
            se_ratio = next((r for r in _SE_RATIO_CANDIDATES
                             if round(r * w_in) == w_se), w_se / w_in)
        try:
            stages.append(StageSpec(depth=len(ids), width=width, stride=2,
                                    bottleneck_ratio=width / w_b,
                                    group_width=group_width, se_ratio=se_ratio))
        except ValueError as err:
            raise ConversionError(f'stage {i} has inconsistent shapes: {err}') from None
        w_in = width
    return AnyNetSpec(stages=tuple(stages), stem_width=stem_width,
                      **_network_parts(state_dict, stem_shape, block_type))


def _network_parts(state_dict: Mapping[str, Any], stem_shape: tuple[int, ...],
                   block_type: str) -> dict[str, Any]:
    head = f'{BACKBONE}final_conv.conv.weight'
    return {'stem_type': 'res_stem_in' if stem_shape[-1] == 7 else 'simple_stem_in',
            'block_type': block_type,
            'head_width': _shape(state_dict, head)[0] if head in state_dict else 0}


def _infer_plain_spec(state_dict: Mapping[str, Any], stage_ids: list[int],
                      blocks: dict[int, set[int]], stem_width: int,
                      block_type: str) -> AnyNetSpec:
    """Stages of blocks without bottleneck (two 3x3 convs): widths from conv2."""
    stages = []
    for i in stage_ids:
        ids = sorted(blocks[i])
        if ids != list(range(1, len(ids) + 1)):
            raise ConversionError(
                f'stage {i}: blocks must be numbered 1..d without gaps, got {ids}')
        width = _shape(state_dict, f'{BACKBONE}stage{i}.block1.conv2.weight')[0]
        stages.append(StageSpec(depth=len(ids), width=width, stride=2))
    return AnyNetSpec(stages=tuple(stages), stem_width=stem_width,
                      **_network_parts(state_dict, _shape(
                          state_dict, f'{BACKBONE}stem.conv.weight'), block_type))


def check_state_dict(state_dict: Mapping[str, Any], spec: AnyNetSpec,
                     num_classes: int | None, what: str = 'checkpoint',
                     limit: int = 20) -> None:
    """Fail unless the keys are exactly those of ``spec`` and every shape matches.

    The message lists the missing and unexpected keys and, per mismatched key, both
    shapes, so a wrong architecture is diagnosed from the error alone.
    """
    expected = expected_shapes(spec, num_classes)
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    mismatched = [f'{k}: {what} {tuple(state_dict[k].shape)} vs expected {expected[k]}'
                  for k in expected
                  if k in state_dict and tuple(state_dict[k].shape) != expected[k]]
    problems = []
    if missing:
        problems.append(f'{len(missing)} missing keys {_preview(missing, limit)}')
    if unexpected:
        problems.append(f'{len(unexpected)} unexpected keys {_preview(unexpected, limit)}')
    if mismatched:
        problems.append(f'{len(mismatched)} shape mismatches '
                        f'{_preview(mismatched, max(1, limit // 2))}')
    if problems:
        raise ConversionError(f'{what} does not fit {spec.describe()}: '
                              + '; '.join(problems))


@dataclass(frozen=True)
class Architecture:
    """What a checkpoint is: its spec, and the preset (with width rounding) it matches.

    ``preset`` is None for a custom AnyNet (``--arch anynet``).
    """

    spec: AnyNetSpec
    preset: str | None = None
    width_rounding: str | None = None

    @property
    def has_se(self) -> bool:
        return any(r > 0 for r in self.spec.se_ratios)

    def backbone_cfg(self) -> dict[str, Any]:
        """The config dict that builds our backbone with exactly these tensors."""
        if self.preset is None:
            return dict(type='AnyNet', arch=self.spec.to_dict())
        family = {'regnetx': 'RegNetX', 'regnety': 'RegNetY', 'regnetz': 'RegNetZ'}
        cfg = dict(type=family[preset_family(self.preset)], arch=self.preset)
        if cfg['type'] != 'RegNetZ':
            cfg['width_rounding'] = self.width_rounding
        return cfg

    def describe(self) -> str:
        if self.preset is None:
            return f'custom AnyNet {self.spec.describe()}'
        return f'{self.preset} (width_rounding={self.width_rounding!r})'

    def to_meta(self) -> dict[str, Any]:
        return {'arch': self.preset or CUSTOM_ARCH, 'width_rounding': self.width_rounding,
                'spec': self.spec.to_dict(), 'backbone': self.backbone_cfg()}


def _same_tensors(spec: AnyNetSpec, other: AnyNetSpec) -> bool:
    """Equal but for what weights cannot show (the activation, and whether a head
    without a conv ends in an activation)."""
    return dataclasses.replace(spec, activation=other.activation,
                               head_type=other.head_type) == other


def matching_presets(spec: AnyNetSpec, width_roundings: tuple[str, ...] = WIDTH_ROUNDINGS,
                     ) -> list[tuple[str, str]]:
    """Every (preset, width rounding) whose spec has ``spec``'s tensors ('pycls' first)."""
    return [(name, rounding) for rounding in width_roundings for name in ALL_PRESET_NAMES
            if _same_tensors(spec, preset_spec(name, rounding))]


def _closest_preset(spec: AnyNetSpec) -> str:
    """The preset with the most similar stage widths and depths (for error hints)."""
    def distance(name: str) -> float:
        other = preset_spec(name, 'pycls')
        if other.num_stages != spec.num_stages:
            return float('inf')
        return sum(abs(a - b) for a, b in zip(other.widths, spec.widths)) + \
            10 * sum(abs(a - b) for a, b in zip(other.depths, spec.depths)) + \
            1000 * (other.se_ratios != spec.se_ratios)
    best = min(ALL_PRESET_NAMES, key=distance)
    return f'{best} {preset_spec(best, "pycls").describe()}'


def resolve_architecture(state_dict: Mapping[str, Any], arch: str | None = None,
                         width_rounding: str | None = None) -> Architecture:
    """Identify the checkpoint's architecture and verify every key and shape.

    Without ``arch`` the spec inferred from the shapes must equal a preset's (either
    width rounding, or the one given). ``arch`` names the preset to check against
    instead; ``arch='anynet'`` accepts the inferred spec as a custom AnyNet.
    """
    if width_rounding is not None and width_rounding not in WIDTH_ROUNDINGS:
        raise ConversionError(f'width_rounding must be one of {WIDTH_ROUNDINGS}, '
                              f'got {width_rounding!r}')
    roundings = (width_rounding,) if width_rounding else WIDTH_ROUNDINGS
    num_classes = num_classes_of(state_dict)
    if isinstance(arch, (AnyNetSpec, Mapping)) or (arch is not None
                                                   and is_pycls_config(arch)):
        # a spec (ours carry theirs in meta) or a pycls model config names everything,
        # strides and stems included
        try:
            spec = (arch if isinstance(arch, AnyNetSpec) else AnyNetSpec.from_dict(arch)
                    if isinstance(arch, Mapping) and 'MODEL' not in arch
                    else spec_from_pycls_config(arch).spec)
        except (TypeError, ValueError) as err:
            raise ConversionError(f'cannot read the architecture: {err}') from None
        check_state_dict(state_dict, spec, num_classes)
        named = [(n, r) for n, r in matching_presets(spec, roundings)
                 if preset_spec(n, r) == spec]
        return Architecture(spec, *named[0]) if named else Architecture(spec)
    if arch is not None and arch.strip().lower() != CUSTOM_ARCH:
        try:
            get_preset(arch)
        except ValueError as err:
            raise ConversionError(f'{err} (or {CUSTOM_ARCH!r} for a custom AnyNet)') from None
        failures, tried = [], []
        for rounding in roundings:
            spec = preset_spec(arch, rounding)
            if spec in tried:          # both roundings agree for this preset
                continue
            tried.append(spec)
            try:
                check_state_dict(state_dict, spec, num_classes, limit=6)
            except ConversionError as err:
                failures.append(f'[width_rounding={rounding!r}] {err}')
                continue
            return Architecture(spec, _canonical(arch), rounding)
        raise ConversionError(f'the checkpoint is not {arch}: {_what_it_is(state_dict)}.'
                              f'\n  ' + '\n  '.join(failures))

    spec = infer_spec(state_dict)
    check_state_dict(state_dict, spec, num_classes)
    if arch is not None:                      # --arch anynet: take the shapes as they are
        return Architecture(spec)
    matches = matching_presets(spec, roundings)
    if not matches:
        raise ConversionError(
            f'the checkpoint is a RegNet-like {spec.describe()} that matches no preset '
            f'(width rounding {" or ".join(map(repr, roundings))}); closest preset: '
            f'{_closest_preset(spec)}. Pass arch={CUSTOM_ARCH!r} (--arch {CUSTOM_ARCH}) '
            f'to convert it as a custom AnyNet.')
    name, rounding = matches[0]
    return Architecture(preset_spec(name, rounding), name, rounding)


def _what_it_is(state_dict: Mapping[str, Any]) -> str:
    """'its shapes are <preset or spec>' for error messages (never raises)."""
    try:
        spec = infer_spec(state_dict)
    except ConversionError as err:
        return f'its shapes do not even give a RegNet ({err})'
    matches = matching_presets(spec)
    named = (f' = {matches[0][0]} (width_rounding={matches[0][1]!r})' if matches
             else ' (no preset)')
    return f'its shapes are {spec.describe()}{named}'


def _canonical(name: str) -> str:
    return name.strip().lower().replace('-', '_')
