"""Conversion of the registered parts beyond the X/Y block: pycls 0.1.1's own AnyNets
(ResNet stem, CIFAR stem, basic and vanilla blocks, per-stage strides; the architecture
read from the cfg the checkpoint carries or given as a pycls YAML) and timm's RegNetZ
(linear bottleneck block, SE, SiLU, head conv). Outputs are compared with the source
model's on the same image."""
from __future__ import annotations

import copy
from contextlib import contextmanager

import pytest
import torch

from convert_helpers import (TOLERANCE, build_ours, max_abs_diff, ours_logits,
                             random_input, randomize_)
from regnet_plugin.convert import convert_file

pycls_config = pytest.importorskip('pycls.core.config')

#: (stem, block, depths, widths, strides, bot_muls, group widths, SE)
PYCLS_ANYNETS = {
    'resnet_like': ('res_stem_in', 'res_bottleneck_block', [1, 2], [32, 64], [1, 2],
                    [0.25, 0.25], [8, 16], False),
    'cifar_basic': ('res_stem_cifar', 'res_basic_block', [2, 1, 1], [16, 32, 64],
                    [1, 2, 2], None, None, False),
    'vanilla': ('simple_stem_in', 'vanilla_block', [1, 2], [24, 48], [2, 2], None, None,
                False),
    'se_bottleneck_stride1': ('simple_stem_in', 'res_bottleneck_block', [2, 1],
                              [24, 48], [1, 2], [1.0, 0.5], [8, 8], True),
}


@contextmanager
def pycls_cfg():
    cfg = pycls_config.cfg
    saved = copy.deepcopy(cfg)
    cfg.defrost()
    try:
        yield cfg
    finally:
        cfg.defrost()
        cfg.clear()
        cfg.update(saved)


@pytest.mark.parametrize('case', sorted(PYCLS_ANYNETS))
def test_pycls_anynet_converts_with_its_cfg(tmp_path, case):
    from pycls.core import builders
    stem, block, ds, ws, ss, bms, gws, se = PYCLS_ANYNETS[case]
    with pycls_cfg() as cfg:
        cfg.MODEL.TYPE, cfg.MODEL.NUM_CLASSES = 'anynet', 7
        an = cfg.ANYNET
        an.STEM_TYPE, an.STEM_W, an.BLOCK_TYPE = stem, 16, block
        an.DEPTHS, an.WIDTHS, an.STRIDES = ds, ws, ss
        an.BOT_MULS, an.GROUP_WS = bms or [], gws or []
        an.SE_ON = se
        source = randomize_(builders.build_model())
        dumped = cfg.dump()        # what pycls' save_checkpoint stores as 'cfg'
    source_file = tmp_path / 'pycls.pyth'
    torch.save({'epoch': 1, 'model_state': source.state_dict(), 'cfg': dumped},
               source_file)
    conversion = convert_file('pycls', source_file, tmp_path / 'ours.pth')
    spec = conversion.architecture.spec
    assert (spec.stem_type, spec.block_type, spec.strides) == (stem, block, ss)
    ours = build_ours(torch.load(tmp_path / 'ours.pth', weights_only=True))
    x = random_input()
    with torch.no_grad():
        expected = source(x)
    assert max_abs_diff(ours_logits(ours, x), expected) <= TOLERANCE
    # and back: ours -> pycls keeps every tensor under pycls' own names
    back = tmp_path / 'back.pyth'
    convert_file('ours', tmp_path / 'ours.pth', back, destination='pycls')
    state = torch.load(back, weights_only=False)['model_state']
    assert set(state) == set(source.state_dict())


@pytest.mark.parametrize('timm_name, preset', [('regnetz_005', 'regnetz_500mf'),
                                               ('regnetz_040', 'regnetz_4gf'),
                                               ('regnetz_040_h', 'regnetz_4gf_h')])
def test_timm_regnetz_converts_and_equals_timm(tmp_path, timm_name, preset):
    timm = pytest.importorskip('timm')
    source = randomize_(timm.create_model(timm_name, num_classes=5))
    source_file = tmp_path / 'timm.pth'
    torch.save(source.state_dict(), source_file)
    conversion = convert_file('timm', source_file, tmp_path / 'ours.pth')
    assert conversion.architecture.preset == preset
    assert conversion.architecture.backbone_cfg()['type'] == 'RegNetZ'
    ours = build_ours(torch.load(tmp_path / 'ours.pth', weights_only=True))
    x = random_input()                      # RGB for timm; ours takes BGR
    with torch.no_grad():
        expected = source(x)
    assert max_abs_diff(ours_logits(ours, x.flip(1)), expected) <= TOLERANCE
