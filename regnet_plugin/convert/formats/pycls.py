"""pycls 0.1.1 (the paper's reference implementation).

Checkpoints are ``{'epoch', 'model_state', 'optimizer_state', 'cfg'}``; its RegNet keys
look like ``s1.b1.f.a.weight``, ``s1.b1.f.se.f_ex.0.bias``, ``s1.b1.proj.weight`` with the
projection's BN called ``s1.b1.bn``, and ``head.fc.weight``.
"""
from __future__ import annotations

from typing import Any

from ...design.spec import AnyNetSpec
from ..keymap import KeyLayout

LAYOUT = KeyLayout(
    name='pycls',
    stem={'stem.conv': 'conv', 'stem.bn': 'bn'},
    block_regex=r's(?P<stage>\d+)\.b(?P<block>\d+)',
    block_format='s{stage}.b{block}',
    first_stage=1, first_block=1,
    block_modules={'f.a': 'conv1', 'f.a_bn': 'bn1', 'f.b': 'conv2', 'f.b_bn': 'bn2',
                   'f.se.f_ex.0': 'se.fc1', 'f.se.f_ex.2': 'se.fc2',
                   'f.c': 'conv3', 'f.c_bn': 'bn3',
                   'proj': 'downsample.conv', 'bn': 'downsample.bn'},
    head={'head.fc': 'fc'},
)


def anynet_cfg_yaml(spec: AnyNetSpec, num_classes: int) -> str:
    """A pycls config (YAML, as pycls stores ``cfg`` in its checkpoints) for ``spec``.

    pycls' ``anynet`` model type takes per-stage lists, so this also describes widths
    that pycls' own RegNet generator would not produce (torchvision's rounding).
    SE ratios must agree across stages (pycls has one ``SE_R``).
    """
    se_ratios = set(spec.se_ratios)
    if len(se_ratios) != 1:
        raise ValueError(f'pycls has a single SE ratio; this spec has {sorted(se_ratios)}')
    se_r = se_ratios.pop()

    def ints(values):
        return '[' + ', '.join(str(int(v)) for v in values) + ']'

    def floats(values):
        return '[' + ', '.join(repr(float(v)) for v in values) + ']'

    return '\n'.join([
        'MODEL:',
        '  TYPE: anynet',
        f'  NUM_CLASSES: {num_classes}',
        'ANYNET:',
        '  STEM_TYPE: simple_stem_in',
        f'  STEM_W: {spec.stem_width}',
        '  BLOCK_TYPE: res_bottleneck_block',
        f'  DEPTHS: {ints(spec.depths)}',
        f'  WIDTHS: {ints(spec.widths)}',
        f'  STRIDES: {ints(spec.strides)}',
        f'  BOT_MULS: {floats(1.0 / b for b in spec.bottleneck_ratios)}',
        f'  GROUP_WS: {ints(spec.group_widths)}',
        f'  SE_ON: {"True" if se_r > 0 else "False"}',
        f'  SE_R: {se_r if se_r > 0 else 0.25}',
        '',
    ])


def make_checkpoint(state_dict: dict[str, Any], spec: AnyNetSpec,
                    num_classes: int) -> dict[str, Any]:
    """The dict pycls' ``checkpoint.load_checkpoint`` reads (``model_state``, ``epoch``)."""
    return {'epoch': 0, 'model_state': state_dict,
            'cfg': anynet_cfg_yaml(spec, num_classes)}
