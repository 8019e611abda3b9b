"""Registered parts, torch side: each block, stem and head type is one name in the
torch-free registries (cost, key layout) and in the module registries (torch class).

Checked against independent counts: the parameters torch allocates, fvcore's trace
of the built network, and pycls 0.1.1's own AnyNet (its complexity and its modules).
"""
from __future__ import annotations

import pytest
import torch
from torch import nn

from regnet_plugin.compare.counting import count_with_fvcore
from regnet_plugin.design import AnyNetSpec, complexity
from regnet_plugin.design.parts import BLOCKS, HEADS, STEMS
from regnet_plugin.models import AnyNet
from regnet_plugin.models.parts import BLOCK_MODULES, HEAD_MODULES, STEM_MODULES


class Classifier(nn.Module):
    """Backbone (last output), global pool, fc: what MMPretrain's classifier computes."""

    def __init__(self, backbone: AnyNet, num_classes: int) -> None:
        super().__init__()
        self.backbone = backbone
        self.fc = nn.Linear(backbone.out_channels[-1], num_classes)

    def forward(self, x):
        return self.fc(self.backbone(x)[-1].mean((2, 3)))


def small_spec(block_type, stem_type='simple_stem_in', head_width=0, se=0.0,
               activation='relu'):
    bottleneck = BLOCKS.get(block_type).bottleneck
    return AnyNetSpec.from_lists(
        [2, 1, 2], [24, 48, 48] if bottleneck else [16, 32, 32], [2, 2, 1],
        [0.25, 1.0, 2.0] if bottleneck else None, [8, 16, 8] if bottleneck else None,
        se if bottleneck else 0.0, 16, stem_type=stem_type, block_type=block_type,
        head_width=head_width, activation=activation)


def test_design_and_module_registries_name_the_same_parts():
    assert set(BLOCK_MODULES.names()) == set(BLOCKS.names())
    assert set(STEM_MODULES.names()) == set(STEMS.names())
    assert set(HEAD_MODULES.names()) == set(HEADS.names())


@pytest.mark.parametrize('block_type', BLOCKS.names())
@pytest.mark.parametrize('stem_type', STEMS.names())
def test_cost_equals_torch_and_fvcore(block_type, stem_type):
    """One spec per part combination: params = torch's, flops/acts = fvcore's."""
    spec = small_spec(block_type, stem_type, head_width=40, se=0.25, activation='silu')
    backbone = AnyNet(spec)
    assert sum(p.numel() for p in backbone.parameters()) == \
        complexity(spec, num_classes=0).params
    counts = count_with_fvcore(Classifier(backbone, 10), 64)
    ours = complexity(spec, 64, 10)
    assert (counts.flops, counts.params, counts.acts) == (ours.flops, ours.params, ours.acts)


@pytest.mark.parametrize('block_type', BLOCKS.names())
def test_key_layout_names_the_module_tensors(block_type):
    """The block's registered module names are exactly its state-dict modules."""
    spec = small_spec(block_type, se=0.25)
    state = AnyNet(spec).state_dict()
    modules = {k.split('.', 2)[2].rsplit('.', 1)[0] for k in state if k.startswith('stage')}
    registered = set(BLOCKS.get(block_type).modules)
    assert modules <= registered
    # every registered module appears in some block (SE and projection included)
    assert registered == modules


def test_activation_and_head_conv_in_the_module():
    backbone = AnyNet(small_spec('res_bottleneck_linear_block', head_width=40, se=0.25,
                                 activation='silu'))
    kinds = {type(m) for m in backbone.modules()}
    assert nn.SiLU in kinds and nn.ReLU not in kinds
    assert backbone.out_channels == (40,)
    out = backbone(torch.zeros(1, 3, 32, 32))
    assert out[-1].shape[1] == 40
