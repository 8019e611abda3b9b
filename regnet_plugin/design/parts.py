"""The registered parts of an AnyNet: stems, blocks and heads, each with its cost.

An AnyNet (``docs/design.md``, "Network structure") is a stem, stages of blocks and
a head. Each kind of part is found by name in a public :class:`Registry`
(:data:`STEMS`, :data:`BLOCKS`, :data:`HEADS`); a part type holds, in one place,

* its **cost**: one function giving flops, params and acts (``docs/design.md``,
  "Complexity") written over Python ints *or* numpy integer arrays, so the exact
  scalar count (:func:`regnet_plugin.design.complexity`) and the vectorised count
  of the sampler (:func:`regnet_plugin.design.complexity.stage_arrays_complexity`)
  are the same arithmetic;
* its **key layout**: the module names of its tensors in our state dicts and, per
  checkpoint format, the names that format gives them (``convert/keymap.py`` reads
  them from here).

The torch module of a part is registered by ``regnet_plugin.models`` under the same
name (``models.parts.BLOCK_MODULES``...); a test keeps the two registries equal.
Nothing here imports torch.

Adding a block: write its cost function, call ``BLOCKS.register(BlockType(...))``,
and register its torch module under the same name (README, "Extending").
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Generic, Iterator, Mapping, TypeVar

IMAGE_CHANNELS = 3

T = TypeVar('T')


class Registry(Generic[T]):
    """Name -> object, with errors that list the valid names.

    Deliberately small (no mmengine: the design core stays torch-free); the torch
    side registers its modules in the toolboxes' mmengine registries as usual.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, item: T, name: str | None = None, force: bool = False) -> T:
        """Add ``item`` under ``name`` (default ``item.name``); returns ``item``."""
        key = name if name is not None else getattr(item, 'name')
        if not isinstance(key, str) or not key:
            raise TypeError(f'a {self.kind} needs a non-empty str name, got {key!r}')
        if key in self._items and self._items[key] is not item and not force:
            raise KeyError(f'{self.kind} {key!r} is already registered '
                           f'(pass force=True to replace it)')
        self._items[key] = item
        return item

    def get(self, name: str) -> T:
        if not isinstance(name, str):
            raise TypeError(f'a {self.kind} is named by a str (one of '
                            f'{", ".join(self._items)}), got {name!r}')
        if name in self._items:
            return self._items[name]
        raise ValueError(f'unknown {self.kind} {name!r}; registered: '
                         f'{", ".join(self._items) or "none"}')

    def names(self) -> tuple[str, ...]:
        return tuple(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f'Registry({self.kind!r}, {list(self._items)})'


# -- primitive layer costs (ints or int64 arrays) ----------------------------------
def out_size(size, stride):
    """Output side of a conv/pool with padding k // 2: (size - 1) // stride + 1."""
    return (size - 1) // stride + 1


def conv_cost(w_in, w_out, k: int, h, w, groups=1, bias: bool = False) -> tuple:
    """(flops, params, acts) of a k x k conv with an h x w *output*; ints or arrays."""
    flops = k * k * w_in * w_out * h * w // groups + (w_out * h * w if bias else 0)
    params = k * k * w_in * w_out // groups + (w_out if bias else 0)
    return flops, params, w_out * h * w


def bn_params(channels):
    """BatchNorm: 2 trainable parameters per channel, no flops, no acts."""
    return 2 * channels


def linear_cost(w_in, w_out, bias: bool = True) -> tuple:
    """(flops, params, acts) of a fully connected layer on one vector."""
    extra = w_out if bias else 0
    return w_in * w_out + extra, w_in * w_out + extra, w_out


def _conv_bn(w_in, w_out, k, h, w, groups=1) -> tuple:
    f, p, a = conv_cost(w_in, w_out, k, h, w, groups)
    return f, p + bn_params(w_out), a


def _se_cost(w_b, w_se) -> tuple:
    """SE on a w_b-channel map: pool, 1x1 conv w_b->w_se, 1x1 conv w_se->w_b (biases).

    Zero when ``w_se`` is 0 (elementwise for arrays)."""
    if isinstance(w_se, int) and not w_se:      # no SE at all: skip the arithmetic
        return 0, 0, 0
    f1, p1, a1 = conv_cost(w_b, w_se, 1, 1, 1, bias=True)
    f2, p2, a2 = conv_cost(w_se, w_b, 1, 1, 1, bias=True)
    on = w_se > 0
    return (f1 + f2) * on, (p1 + p2) * on, (a1 + a2) * on


def _projection(w_in, w_out, stride, ho, wo) -> tuple:
    """The 1x1 conv + BN shortcut, charged where the shape changes (elementwise)."""
    needed = (w_in != w_out) | (stride != 1)
    f, p, a = _conv_bn(w_in, w_out, 1, ho, wo)
    return f * needed, p * needed, a * needed


def _add(*costs: tuple) -> tuple:
    f = p = a = 0
    for cf, cp, ca in costs:
        f, p, a = f + cf, p + cp, a + ca
    return f, p, a


# -- block costs: (w_in, w_out, stride, w_b, groups, w_se, h, w) -> (f, p, a, ho, wo) --
def _bottleneck_cost(w_in, w_out, stride, w_b, groups, w_se, h, w):
    """1x1 w_in->w_b, 3x3 w_b->w_b (stride, groups), [SE], 1x1 w_b->w_out; BN each."""
    ho, wo = out_size(h, stride), out_size(w, stride)
    f1, p1, a1 = conv_cost(w_in, w_b, 1, h, w)
    f2, p2, a2 = conv_cost(w_b, w_b, 3, ho, wo, groups)
    f3, p3, a3 = conv_cost(w_b, w_out, 1, ho, wo)
    fs, ps, as_ = _se_cost(w_b, w_se)
    return (f1 + f2 + f3 + fs, p1 + p2 + p3 + ps + bn_params(2 * w_b + w_out),
            a1 + a2 + a3 + as_, ho, wo)


def res_bottleneck_cost(w_in, w_out, stride, w_b, groups, w_se, h, w):
    """The X/Y block: bottleneck transform plus projection shortcut where needed."""
    f, p, a, ho, wo = _bottleneck_cost(w_in, w_out, stride, w_b, groups, w_se, h, w)
    pf, pp, pa = _projection(w_in, w_out, stride, ho, wo)
    return f + pf, p + pp, a + pa, ho, wo


def res_bottleneck_linear_cost(w_in, w_out, stride, w_b, groups, w_se, h, w):
    """Bottleneck transform with a linear output; identity shortcut only, never a
    projection (pycls' res_bottleneck_linear_block, RegNetZ's block)."""
    return _bottleneck_cost(w_in, w_out, stride, w_b, groups, w_se, h, w)


def _basic_transform_cost(w_in, w_out, stride, h, w):
    ho, wo = out_size(h, stride), out_size(w, stride)
    return _add(_conv_bn(w_in, w_out, 3, ho, wo), _conv_bn(w_out, w_out, 3, ho, wo)) \
        + (ho, wo)


def vanilla_cost(w_in, w_out, stride, w_b, groups, w_se, h, w):
    """[3x3 conv, BN, ReLU] x 2, no shortcut (b, g and SE do not apply)."""
    return _basic_transform_cost(w_in, w_out, stride, h, w)


def res_basic_cost(w_in, w_out, stride, w_b, groups, w_se, h, w):
    """ResNet's basic block: two 3x3 convs plus projection shortcut where needed."""
    f, p, a, ho, wo = _basic_transform_cost(w_in, w_out, stride, h, w)
    pf, pp, pa = _projection(w_in, w_out, stride, ho, wo)
    return f + pf, p + pp, a + pa, ho, wo


# -- stem costs: (w_in, w_out, h, w) -> (f, p, a, ho, wo) ---------------------------------
def simple_stem_cost(w_in, w_out, h, w):
    """3x3 conv stride 2, BN, ReLU (the RegNet stem)."""
    ho, wo = out_size(h, 2), out_size(w, 2)
    return _conv_bn(w_in, w_out, 3, ho, wo) + (ho, wo)


def res_stem_in_cost(w_in, w_out, h, w):
    """7x7 conv stride 2, BN, ReLU, 3x3 max-pool stride 2 (ResNet's ImageNet stem).

    The pool changes the size but is not a conv: it adds no acts by our definition
    (``docs/design.md``; pycls counts its output as acts)."""
    ho, wo = out_size(h, 2), out_size(w, 2)
    return _conv_bn(w_in, w_out, 7, ho, wo) + (out_size(ho, 2), out_size(wo, 2))


def res_stem_cifar_cost(w_in, w_out, h, w):
    """3x3 conv stride 1, BN, ReLU (ResNet's CIFAR stem)."""
    return _conv_bn(w_in, w_out, 3, h, w) + (h, w)


# -- head cost: (w_in, head_width, num_classes, h, w) -> (f, p, a) ----------------------
def any_head_cost(w_in, head_width, num_classes, h, w):
    """[1x1 conv w_in->head_width, BN, act when head_width > 0], pool, fc (when
    num_classes > 0: the classifier; 0 counts the backbone only)."""
    f = p = a = 0
    if head_width:
        f, p, a = _conv_bn(w_in, head_width, 1, h, w)
        w_in = head_width
    if num_classes:
        f, p, a = _add((f, p, a), linear_cost(w_in, num_classes))
    return f, p, a


# -- part types ---------------------------------------------------------------------------
@dataclass(frozen=True)
class BlockType:
    """A block: its cost and its key layout (the torch module is registered apart).

    Args:
        name: registry name (pycls' ``ANYNET.BLOCK_TYPE`` names where pycls has them).
        cost: ``(w_in, w_out, stride, w_b, groups, w_se, h, w) -> (flops, params,
            acts, h_out, w_out)`` over ints or integer arrays.
        modules: our module names of its tensors, in registration order (optional
            ones, e.g. ``se.*`` or ``downsample.*``, included).
        formats: per checkpoint format, {their module name: ours}.
        bottleneck: whether the bottleneck ratio, group width and SE apply.
        shortcut: 'projection' (identity, or 1x1 conv + BN where the shape changes),
            'identity' (only where the shape is kept) or 'none'.
    """

    name: str
    cost: Callable[..., tuple]
    modules: tuple[str, ...]
    formats: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    bottleneck: bool = True
    shortcut: str = 'projection'

    def __post_init__(self) -> None:
        for fmt, mapping in self.formats.items():
            unknown = sorted(set(mapping.values()) - set(self.modules))
            if unknown:
                raise ValueError(f'block {self.name!r}, format {fmt!r}: {unknown} are '
                                 f'not modules of the block {list(self.modules)}')
            if len(set(mapping.values())) != len(mapping):
                raise ValueError(f'block {self.name!r}, format {fmt!r}: two names '
                                 f'map to one of ours')

    def key_map(self, fmt: str) -> Mapping[str, str]:
        """{their module name: ours} for checkpoint format ``fmt``."""
        if fmt == 'ours':
            return {m: m for m in self.modules}
        if fmt not in self.formats:
            raise ValueError(f'block {self.name!r} has no key layout for format {fmt!r}; '
                             f'it has: {", ".join(["ours", *self.formats])}')
        return self.formats[fmt]


@dataclass(frozen=True)
class StemType:
    """A stem: ``cost(w_in, w_out, h, w) -> (flops, params, acts, h_out, w_out)``,
    its total stride (what the feature strides build on) and module names."""

    name: str
    cost: Callable[..., tuple]
    stride: int
    modules: tuple[str, ...] = ('conv', 'bn')


@dataclass(frozen=True)
class HeadType:
    """A head: ``cost(w_in, head_width, num_classes, h, w) -> (flops, params, acts)``.

    Its conv (when ``head_width`` > 0) belongs to the backbone: ``modules`` are its
    names, ``formats`` map each checkpoint format's names to them ('ours' included:
    ``final_conv.conv``/``final_conv.bn`` under the backbone); the fc is the classifier's.
    """

    name: str
    cost: Callable[..., tuple]
    modules: tuple[str, ...] = ('conv', 'bn')
    formats: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def key_map(self, fmt: str) -> Mapping[str, str]:
        return self.formats.get(fmt, {})


BLOCKS: Registry[BlockType] = Registry('block type')
STEMS: Registry[StemType] = Registry('stem type')
HEADS: Registry[HeadType] = Registry('head type')

#: Defaults of an AnyNetSpec (the paper's RegNet parts; ids of existing specs
#: depend on these staying the defaults).
DEFAULT_STEM, DEFAULT_BLOCK, DEFAULT_HEAD = 'simple_stem_in', 'res_bottleneck_block', \
    'any_head'

_BOTTLENECK = ('conv1', 'bn1', 'conv2', 'bn2', 'se.fc1', 'se.fc2', 'conv3', 'bn3')
_PROJECTION = ('downsample.conv', 'downsample.bn')
_BASIC = ('conv1', 'bn1', 'conv2', 'bn2')


def _with_projection(mapping: Mapping[str, str], fmt: str) -> dict[str, str]:
    proj = {'pycls': {'proj': 'downsample.conv', 'bn': 'downsample.bn'},
            'timm': {'downsample.conv': 'downsample.conv', 'downsample.bn': 'downsample.bn'},
            'torchvision': {'proj.0': 'downsample.conv', 'proj.1': 'downsample.bn'},
            'mmpretrain': {'downsample.0': 'downsample.conv',
                           'downsample.1': 'downsample.bn'}}[fmt]
    return {**mapping, **proj}


_BOTTLENECK_FORMATS = {
    'pycls': {'f.a': 'conv1', 'f.a_bn': 'bn1', 'f.b': 'conv2', 'f.b_bn': 'bn2',
              'f.se.f_ex.0': 'se.fc1', 'f.se.f_ex.2': 'se.fc2',
              'f.c': 'conv3', 'f.c_bn': 'bn3'},
    'timm': {'conv1.conv': 'conv1', 'conv1.bn': 'bn1', 'conv2.conv': 'conv2',
             'conv2.bn': 'bn2', 'se.fc1': 'se.fc1', 'se.fc2': 'se.fc2',
             'conv3.conv': 'conv3', 'conv3.bn': 'bn3'},
    'torchvision': {'f.a.0': 'conv1', 'f.a.1': 'bn1', 'f.b.0': 'conv2', 'f.b.1': 'bn2',
                    'f.se.fc1': 'se.fc1', 'f.se.fc2': 'se.fc2',
                    'f.c.0': 'conv3', 'f.c.1': 'bn3'},
    'mmpretrain': {m: m for m in ('conv1', 'bn1', 'conv2', 'bn2', 'conv3', 'bn3')},
}

BLOCKS.register(BlockType(
    'res_bottleneck_block', res_bottleneck_cost, _BOTTLENECK + _PROJECTION,
    {fmt: _with_projection(m, fmt) for fmt, m in _BOTTLENECK_FORMATS.items()}))
BLOCKS.register(BlockType(
    'res_bottleneck_linear_block', res_bottleneck_linear_cost, _BOTTLENECK,
    {'pycls': _BOTTLENECK_FORMATS['pycls'], 'timm': _BOTTLENECK_FORMATS['timm']},
    shortcut='identity'))
BLOCKS.register(BlockType(
    'res_basic_block', res_basic_cost, _BASIC + _PROJECTION,
    {'pycls': _with_projection({'f.a': 'conv1', 'f.a_bn': 'bn1', 'f.b': 'conv2',
                                'f.b_bn': 'bn2'}, 'pycls')},
    bottleneck=False))
BLOCKS.register(BlockType(
    'vanilla_block', vanilla_cost, _BASIC,
    {'pycls': {'a': 'conv1', 'a_bn': 'bn1', 'b': 'conv2', 'b_bn': 'bn2'}},
    bottleneck=False, shortcut='none'))

STEMS.register(StemType('simple_stem_in', simple_stem_cost, stride=2))
STEMS.register(StemType('res_stem_in', res_stem_in_cost, stride=4))
STEMS.register(StemType('res_stem_cifar', res_stem_cifar_cost, stride=1))

_HEAD_FORMATS = {'ours': {'final_conv.conv': 'conv', 'final_conv.bn': 'bn'},
                 'pycls': {'head.conv': 'conv', 'head.bn': 'bn'},
                 'timm': {'final_conv.conv': 'conv', 'final_conv.bn': 'bn'}}
#: pycls' AnyHead: [1x1 conv, BN, act when head_width > 0], pool, fc.
HEADS.register(HeadType('any_head', any_head_cost, formats=_HEAD_FORMATS))
#: timm's RegNet head for linear-output blocks (its RegNetZ-4GF): the same, but without
#: a head conv the last stage still goes through the activation (free: same cost).
HEADS.register(HeadType('final_act_head', any_head_cost, formats=_HEAD_FORMATS))


def block_type(name: str) -> BlockType:
    return BLOCKS.get(name)


def stem_type(name: str) -> StemType:
    return STEMS.get(name)


def head_type(name: str) -> HeadType:
    return HEADS.get(name)


__all__ = ['Registry', 'BLOCKS', 'STEMS', 'HEADS', 'BlockType', 'StemType', 'HeadType',
           'conv_cost', 'bn_params', 'linear_cost', 'out_size', 'IMAGE_CHANNELS',
           'DEFAULT_STEM', 'DEFAULT_BLOCK', 'DEFAULT_HEAD', 'block_type', 'stem_type',
           'head_type']

