"""pycls model configs (YAML files or dicts) as AnyNetSpecs.

pycls, the paper's reference implementation, describes a model with the ``MODEL``,
``ANYNET`` and ``REGNET`` sections of its yacs config, e.g. its
``configs/archive/imagenet/anynet/R-50-1x64d_step_8gpu.yaml`` (ResNet-50 as an
AnyNet point: ``res_stem_in``, ``res_bottleneck_block``, strides [1, 2, 2, 2]). Those
sections map one to one onto :class:`~regnet_plugin.design.spec.AnyNetSpec`; the other
sections (OPTIM, TRAIN, ...) are not architecture and are ignored, except the image
sizes, which are returned for counting. Defaults are pycls' (``pycls/core/config.py``).
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any, Mapping

from .regnet import RegNetParams
from .spec import AnyNetSpec

#: pycls' defaults for the sections we read.
MODEL_DEFAULTS = {'TYPE': '', 'NUM_CLASSES': 10, 'ACTIVATION_FUN': 'relu'}
ANYNET_DEFAULTS = {'STEM_TYPE': 'simple_stem_in', 'STEM_W': 32,
                   'BLOCK_TYPE': 'res_bottleneck_block', 'DEPTHS': [], 'WIDTHS': [],
                   'STRIDES': [], 'BOT_MULS': [], 'GROUP_WS': [], 'HEAD_W': 0,
                   'SE_ON': False, 'SE_R': 0.25}
REGNET_DEFAULTS = {'STEM_TYPE': 'simple_stem_in', 'STEM_W': 32,
                   'BLOCK_TYPE': 'res_bottleneck_block', 'STRIDE': 2, 'SE_ON': False,
                   'SE_R': 0.25, 'DEPTH': 10, 'W0': 32, 'WA': 5.0, 'WM': 2.5,
                   'GROUP_W': 16, 'BOT_MUL': 1.0, 'HEAD_W': 0}
#: MODEL keys that do not change the network's tensors.
_MODEL_IGNORED = {'LOSS_FUN', 'ACTIVATION_INPLACE', 'SCALING_TYPE', 'SCALING_FACTOR',
                  'DEPTH'}   # MODEL.DEPTH: pycls' ResNet depth, not an AnyNet's
MODEL_TYPES = ('anynet', 'regnet')


@dataclass(frozen=True)
class PyclsModel:
    """What a pycls config says about the model: spec, classes, image sizes."""

    spec: AnyNetSpec
    num_classes: int
    train_im_size: int = 224
    test_im_size: int = 256
    regnet: RegNetParams | None = None


def is_pycls_config(value: Any) -> bool:
    """A YAML path, YAML text with a MODEL section, or a dict with a MODEL section."""
    if isinstance(value, Mapping):
        return 'MODEL' in value
    if isinstance(value, str):
        text = value.strip()
        return text.endswith(('.yaml', '.yml')) or text.startswith('MODEL:') \
            or '\nMODEL:' in text
    return False


def load_pycls_config(source: str | Mapping[str, Any]) -> dict[str, Any]:
    """The config as a dict: from a mapping, a .yaml path or YAML text."""
    if isinstance(source, Mapping):
        return dict(source)
    import yaml
    text = source
    if source.strip().endswith(('.yaml', '.yml')) and '\n' not in source.strip():
        if not os.path.isfile(source):
            raise ValueError(f'pycls config file {source!r} does not exist')
        with open(source, encoding='utf-8') as f:
            text = f.read()
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError(f'a pycls config must be a YAML mapping, got {type(data).__name__}')
    return data


def _section(cfg: Mapping[str, Any], name: str, defaults: Mapping[str, Any],
             ignored: set[str] = frozenset()) -> dict[str, Any]:
    given = cfg.get(name) or {}
    if not isinstance(given, Mapping):
        raise ValueError(f'pycls config section {name} must be a mapping, got {given!r}')
    unknown = sorted(set(given) - set(defaults) - set(ignored))
    if unknown:
        raise ValueError(f'unknown pycls {name} key(s) {unknown}; known: '
                         f'{sorted(set(defaults) | set(ignored))}')
    return {**defaults, **{k: v for k, v in given.items() if k in defaults}}


def _activation(model: Mapping[str, Any]) -> str:
    act = str(model['ACTIVATION_FUN']).lower()
    return 'silu' if act == 'swish' else act


def spec_from_pycls_config(source: str | Mapping[str, Any]) -> PyclsModel:
    """Build the AnyNetSpec of a pycls model config (``MODEL.TYPE`` anynet/regnet)."""
    cfg = load_pycls_config(source)
    model = _section(cfg, 'MODEL', MODEL_DEFAULTS, _MODEL_IGNORED)
    kind = str(model['TYPE']).lower()
    if kind not in MODEL_TYPES:
        raise ValueError(f'pycls MODEL.TYPE must be one of {MODEL_TYPES} (the AnyNet '
                         f'family), got {model["TYPE"]!r}')
    sizes = {'train_im_size': int((cfg.get('TRAIN') or {}).get('IM_SIZE', 224)),
             'test_im_size': int((cfg.get('TEST') or {}).get('IM_SIZE', 256))}
    activation = _activation(model)
    regnet = None
    if kind == 'anynet':
        an = _section(cfg, 'ANYNET', ANYNET_DEFAULTS)
        n = len(an['DEPTHS'])
        if not n:
            raise ValueError('pycls ANYNET.DEPTHS is empty: an anynet config lists '
                             'its stages in DEPTHS, WIDTHS, STRIDES')
        if len(an['STRIDES']) != n:
            raise ValueError(f'pycls ANYNET.STRIDES has {len(an["STRIDES"])} entries, '
                             f'DEPTHS {n}: pycls needs one stride per stage')
        bms = an['BOT_MULS'] or [1.0] * n
        gws = an['GROUP_WS'] or [1] * n
        for key, values in (('BOT_MULS', bms), ('GROUP_WS', gws)):
            if len(values) != n:
                raise ValueError(f'pycls ANYNET.{key} has {len(values)} entries, '
                                 f'DEPTHS {n}')
        if any(not float(b) > 0 for b in bms):
            raise ValueError(f'pycls ANYNET.BOT_MULS must be > 0, got {bms}')
        spec = AnyNetSpec.from_lists(
            an['DEPTHS'], an['WIDTHS'], an['STRIDES'], [1.0 / float(b) for b in bms],
            gws, float(an['SE_R']) if an['SE_ON'] else 0.0, an['STEM_W'],
            stem_type=an['STEM_TYPE'], block_type=an['BLOCK_TYPE'],
            head_width=an['HEAD_W'], activation=activation)
    else:
        rn = _section(cfg, 'REGNET', REGNET_DEFAULTS)
        if not float(rn['BOT_MUL']) > 0:
            raise ValueError(f'pycls REGNET.BOT_MUL must be > 0, got {rn["BOT_MUL"]!r}')
        regnet = RegNetParams(depth=rn['DEPTH'], w0=rn['W0'], wa=rn['WA'], wm=rn['WM'],
                              group_width=rn['GROUP_W'],
                              bottleneck_ratio=1.0 / float(rn['BOT_MUL']),
                              se_ratio=float(rn['SE_R']) if rn['SE_ON'] else 0.0,
                              stem_width=rn['STEM_W'])
        spec = dataclasses.replace(
            regnet.to_spec(), stem_type=rn['STEM_TYPE'], block_type=rn['BLOCK_TYPE'],
            head_width=rn['HEAD_W'], activation=activation)
        if rn['STRIDE'] != 2:
            spec = dataclasses.replace(spec, stages=tuple(
                dataclasses.replace(s, stride=rn['STRIDE']) for s in spec.stages))
    return PyclsModel(spec, int(model['NUM_CLASSES']), regnet=regnet, **sizes)


def pycls_config_yaml(spec: AnyNetSpec, num_classes: int) -> str:
    """A pycls ``anynet`` model config (YAML) for ``spec``, as pycls stores ``cfg`` in
    its checkpoints; :func:`spec_from_pycls_config` reads it back to ``spec``.

    pycls has one SE ratio for all stages; per-stage lists describe widths pycls' own
    RegNet generator would not produce (torchvision's rounding) too.
    """
    se_ratios = set(spec.se_ratios)
    if len(se_ratios) != 1:
        raise ValueError(f'pycls has a single SE ratio; this spec has {sorted(se_ratios)}')
    se_r = se_ratios.pop()

    def ints(values):
        return '[' + ', '.join(str(int(v)) for v in values) + ']'

    def floats(values):
        return '[' + ', '.join(repr(float(v)) for v in values) + ']'

    lines = ['MODEL:', '  TYPE: anynet', f'  NUM_CLASSES: {num_classes}']
    if spec.activation != 'relu':
        lines.append(f'  ACTIVATION_FUN: {spec.activation}')
    lines += [
        'ANYNET:',
        f'  STEM_TYPE: {spec.stem_type}',
        f'  STEM_W: {spec.stem_width}',
        f'  BLOCK_TYPE: {spec.block_type}',
        f'  DEPTHS: {ints(spec.depths)}',
        f'  WIDTHS: {ints(spec.widths)}',
        f'  STRIDES: {ints(spec.strides)}',
        f'  BOT_MULS: {floats(1.0 / b for b in spec.bottleneck_ratios)}',
        f'  GROUP_WS: {ints(spec.group_widths)}',
    ]
    if spec.head_width:
        lines.append(f'  HEAD_W: {spec.head_width}')
    lines += [f'  SE_ON: {"True" if se_r > 0 else "False"}',
              f'  SE_R: {se_r if se_r > 0 else 0.25}', '']
    return '\n'.join(lines)
