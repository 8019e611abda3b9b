"""The key-mapping engine shared by every checkpoint format.

Every RegNet implementation stores the same tensors (stem conv/BN, per block three
convs with their BNs, optional SE and projection shortcut, and a final fc); they differ
only in how they *name* them. A :class:`KeyLayout` describes one naming as data, so a
single engine renames in both directions (source -> ours, ours -> pycls) and no format
needs its own loop. The names inside a block (and of the head conv) come from the part
registries of :mod:`regnet_plugin.design.parts`, where each block type lists its key
layout per format: a format reads every registered block type, and writes one.
Renaming never drops a key: keys that a layout does not know are returned to the
caller, which fails with their list.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Mapping, NamedTuple

from ..design.parts import BLOCKS, DEFAULT_HEAD, HEADS


class ConversionError(ValueError):
    """A checkpoint that cannot be converted: the message says exactly why."""


def _preview(keys: Iterable[str], limit: int = 20) -> str:
    """A readable list of keys (the first ``limit``, then how many more)."""
    keys = list(keys)
    shown = ', '.join(keys[:limit])
    more = f', ... ({len(keys) - limit} more)' if len(keys) > limit else ''
    return f'[{shown}{more}]'


class TensorName(NamedTuple):
    """A tensor's format-independent identity.

    ``part`` is 'stem', 'block', 'final' (the head conv, in the backbone) or 'head' (the
    classifier); ``stage``/``block`` count from 1 (0 outside blocks); ``module`` is OUR
    module name inside that part (``conv``/``bn`` for the stem and the head conv,
    ``conv1``...``se.fc1``...``downsample.bn`` for a block, ``fc`` for the head);
    ``param`` is the tensor's own name (``weight``, ``running_mean``, ...).
    """

    part: str
    stage: int
    block: int
    module: str
    param: str


@dataclass(frozen=True)
class KeyLayout:
    """How one implementation names the RegNet tensors.

    Args:
        name: the format's name (for messages).
        stem: its stem module names -> ours (``conv``, ``bn``).
        block_regex: regex of a block's module prefix with named groups ``stage`` and
            ``block`` (the regex must only match whole prefixes).
        block_format: the same prefix as a ``str.format`` template (``stage``, ``block``).
        first_stage: the index its first stage has (``s1``: 1, MMPretrain ``layer1``: 1).
        first_block: the index its first block has in a stage (pycls ``b1``: 1,
            torchvision ``block1-0``: 0).
        block_modules: its module names inside a block -> ours; None (default): those of
            every registered block type for ``registry_format`` (what reading needs);
            :meth:`for_block` narrows to one block type (what writing needs).
        head: its classifier module names -> ours (``fc``); the first is used when
            writing this format.
        registry_format: the format's name in the part registries' key layouts.
        final: its head-conv module names -> ours; None: the registered head's.
        backbone_prefix: prefix of every non-head key (MMPretrain/MMDetection
            ``backbone.``); head keys are matched without it.
        input_channels: the channel order its checkpoints were trained on: ``'bgr'``
            (pycls, and MMPretrain/MMDetection's RegNets converted from it) or
            ``'rgb'`` (timm, torchvision).
    """

    name: str
    stem: Mapping[str, str]
    block_regex: str
    block_format: str
    first_stage: int
    first_block: int
    block_modules: Mapping[str, str] | None
    head: Mapping[str, str]
    backbone_prefix: str = ''
    input_channels: str = 'bgr'
    registry_format: str = ''
    final: Mapping[str, str] | None = None
    block_type: str | None = None
    _block_re: re.Pattern = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, '_block_re', re.compile(
            rf'(?:{self.block_regex})\.(?P<rest>.+)'))
        fmt = self.registry_format or self.name
        if self.block_modules is None:
            union: dict[str, str] = {}
            for block in BLOCKS.names():
                for theirs, ours in BLOCKS.get(block).formats.get(fmt, {}).items():
                    if union.setdefault(theirs, ours) != ours:
                        raise ValueError(f'{self.name}: {theirs!r} means {union[theirs]!r} '
                                         f'in one block type and {ours!r} in {block!r}')
            object.__setattr__(self, 'block_modules', union)
        elif len(set(self.block_modules.values())) != len(self.block_modules):
            raise ValueError(f'{self.name}: block_modules maps two names to one of ours')
        if self.final is None:
            object.__setattr__(self, 'final', dict(HEADS.get(DEFAULT_HEAD).key_map(fmt)))
        if len(set(self.stem.values())) != len(self.stem):
            raise ValueError(f'{self.name}: stem maps two names to one of ours')

    def with_backbone_prefix(self, prefix: str) -> 'KeyLayout':
        return replace(self, backbone_prefix=prefix)

    def for_block(self, block_type: str) -> 'KeyLayout':
        """This format's naming of ``block_type`` only (writing needs one name per
        tensor; e.g. pycls calls a vanilla block's first conv ``a``, a bottleneck's
        ``f.a``)."""
        fmt = self.registry_format or self.name
        mapping = (BLOCKS.get(block_type).key_map(fmt) if fmt != 'ours'
                   else {m: m for m in BLOCKS.get(block_type).modules})
        return replace(self, block_modules=dict(mapping), block_type=block_type)

    # -- reading -----------------------------------------------------------
    def parse(self, key: str) -> TensorName | None:
        """The identity of ``key`` in this layout, or None if the layout does not know it."""
        module, _, param = key.rpartition('.')
        if not module:
            return None
        if module in self.head:
            return TensorName('head', 0, 0, self.head[module], param)
        if self.backbone_prefix:
            if not module.startswith(self.backbone_prefix):
                return None
            module = module[len(self.backbone_prefix):]
        if module in self.stem:
            return TensorName('stem', 0, 0, self.stem[module], param)
        if module in self.final:
            return TensorName('final', 0, 0, self.final[module], param)
        match = self._block_re.fullmatch(module)
        if match and match['rest'] in self.block_modules:
            stage = int(match['stage']) - self.first_stage + 1
            block = int(match['block']) - self.first_block + 1
            if stage >= 1 and block >= 1:
                return TensorName('block', stage, block,
                                  self.block_modules[match['rest']], param)
        return None

    # -- writing -----------------------------------------------------------
    def format(self, name: TensorName) -> str:
        """The key this layout gives the tensor ``name``."""
        if name.part == 'head':
            return f'{_inverse(self.head)[name.module]}.{name.param}'
        if name.part == 'stem':
            module = _inverse(self.stem)[name.module]
        elif name.part == 'final':
            module = _inverse(self.final)[name.module]
        else:
            prefix = self.block_format.format(stage=name.stage - 1 + self.first_stage,
                                              block=name.block - 1 + self.first_block)
            module = f'{prefix}.{_inverse(self.block_modules)[name.module]}'
        return f'{self.backbone_prefix}{module}.{name.param}'


def _inverse(mapping: Mapping[str, str]) -> dict[str, str]:
    """ours -> theirs; for several of theirs per ours, the first one listed wins."""
    inverse: dict[str, str] = {}
    for theirs, ours in mapping.items():
        inverse.setdefault(ours, theirs)
    return inverse


def rename(state_dict: Mapping[str, Any], source: KeyLayout, target: KeyLayout,
           keep_verbatim: Callable[[str], bool] | None = None,
           ) -> tuple[dict[str, Any], list[str]]:
    """Rename every key of ``state_dict`` from ``source``'s naming to ``target``'s.

    Keys for which ``keep_verbatim`` is true are kept as they are (a detector's neck and
    heads, which a backbone conversion does not touch).

    Returns the renamed dict and the keys ``source`` does not know (in their order);
    the caller decides how to fail on them. Two keys landing on one name is an error.
    """
    renamed: dict[str, Any] = {}
    origin: dict[str, str] = {}
    unknown: list[str] = []
    for key, value in state_dict.items():
        if keep_verbatim is not None and keep_verbatim(key):
            new_key = key
        else:
            name = source.parse(key)
            if name is None:
                unknown.append(key)
                continue
            new_key = target.format(name)
        if new_key in renamed:
            raise ConversionError(
                f'{source.name} keys {origin[new_key]!r} and {key!r} both map to '
                f'{new_key!r}: the checkpoint is not a single {source.name} RegNet')
        renamed[new_key] = value
        origin[new_key] = key
    return renamed, unknown


#: Our own naming: an MMPretrain ImageClassifier around our backbone. Block modules are
#: the union of every registered block type's (the same names mean the same tensors).
OURS = KeyLayout(
    name='ours',
    stem={'stem.conv': 'conv', 'stem.bn': 'bn'},
    block_regex=r'stage(?P<stage>\d+)\.block(?P<block>\d+)',
    block_format='stage{stage}.block{block}',
    first_stage=1, first_block=1,
    block_modules={m: m for name in BLOCKS.names() for m in BLOCKS.get(name).modules},
    head={'head.fc': 'fc'},
    backbone_prefix='backbone.',
    final=dict(HEADS.get(DEFAULT_HEAD).key_map('ours')),
)
