"""pycls 0.1.1 (the paper's reference implementation).

Checkpoints are ``{'epoch', 'model_state', 'optimizer_state', 'cfg'}``; its RegNet keys
look like ``s1.b1.f.a.weight``, ``s1.b1.f.se.f_ex.0.bias``, ``s1.b1.proj.weight`` with the
projection's BN called ``s1.b1.bn``, and ``head.fc.weight``.
"""
from __future__ import annotations

from typing import Any

from ...design.pycls_config import pycls_config_yaml
from ...design.spec import AnyNetSpec
from ..keymap import KeyLayout

LAYOUT = KeyLayout(
    registry_format='pycls',
    name='pycls',
    stem={'stem.conv': 'conv', 'stem.bn': 'bn'},
    block_regex=r's(?P<stage>\d+)\.b(?P<block>\d+)',
    block_format='s{stage}.b{block}',
    first_stage=1, first_block=1,
    block_modules=None,        # every registered block type's (design/parts.py)
    head={'head.fc': 'fc'},
)


def anynet_cfg_yaml(spec: AnyNetSpec, num_classes: int) -> str:
    """A pycls config (YAML, as pycls stores ``cfg`` in its checkpoints) for ``spec``
    (see :func:`regnet_plugin.design.pycls_config.pycls_config_yaml`)."""
    return pycls_config_yaml(spec, num_classes)


def make_checkpoint(state_dict: dict[str, Any], spec: AnyNetSpec,
                    num_classes: int) -> dict[str, Any]:
    """The dict pycls' ``checkpoint.load_checkpoint`` reads (``model_state``, ``epoch``)."""
    return {'epoch': 0, 'model_state': state_dict,
            'cfg': anynet_cfg_yaml(spec, num_classes)}
