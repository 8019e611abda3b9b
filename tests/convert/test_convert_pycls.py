"""pycls 0.1.1 (the paper's reference implementation) -> ours, and ours -> pycls -> ours.

pycls models are built from its global yacs config, which the tests restore afterwards.
"""
from __future__ import annotations

import copy
from contextlib import contextmanager

import pytest
import torch

from convert_helpers import (TOLERANCE, build_ours, max_abs_diff, ours_logits,
                             random_input, randomize_, run_cli)
from regnet_plugin.convert import convert_file
from regnet_plugin.design import get_preset

pycls_config = pytest.importorskip('pycls.core.config')


@contextmanager
def pycls_cfg():
    """pycls' global cfg, restored on exit (other tests build pycls models too)."""
    cfg = pycls_config.cfg
    saved = copy.deepcopy(cfg)
    cfg.defrost()
    try:
        yield cfg
    finally:
        cfg.defrost()
        cfg.clear()
        cfg.update(saved)


def _pycls_regnet(preset: str, num_classes: int):
    """pycls' own RegNet generator from the preset's (d, w0, wa, wm, g)."""
    from pycls.core import builders
    params = get_preset(preset)
    with pycls_cfg() as cfg:
        cfg.MODEL.TYPE = 'regnet'
        cfg.MODEL.NUM_CLASSES = num_classes
        cfg.REGNET.DEPTH = params.depth
        cfg.REGNET.W0 = params.w0
        cfg.REGNET.WA = params.wa
        cfg.REGNET.WM = params.wm
        cfg.REGNET.GROUP_W = params.group_width
        cfg.REGNET.SE_ON = params.se_ratio > 0
        return builders.build_model()


@pytest.mark.parametrize('preset', ['regnetx_400mf', 'regnety_400mf'])
def test_pycls_regnet(tmp_path, preset):
    source = randomize_(_pycls_regnet(preset, num_classes=10))
    source_file = tmp_path / 'pycls.pyth'
    # as pycls' checkpoint.save_checkpoint writes it
    torch.save({'epoch': 3, 'model_state': source.state_dict(), 'cfg': ''}, source_file)
    conversion = convert_file('pycls', source_file, tmp_path / 'ours.pth')
    assert (conversion.architecture.preset,
            conversion.architecture.width_rounding) == (preset, 'pycls')
    checkpoint = torch.load(tmp_path / 'ours.pth', weights_only=True)
    x = random_input()
    with torch.no_grad():
        expected = source(x.clone())
    assert max_abs_diff(ours_logits(build_ours(checkpoint), x), expected) <= TOLERANCE


def test_round_trip_ours_pycls_ours(tmp_path):
    """Ours (torchvision widths, so pycls needs the emitted 'anynet' cfg) -> pycls file
    that pycls' own loader reads into the model its cfg builds (same logits) -> ours
    again, bit for bit."""
    import regnet_plugin  # noqa: F401
    from mmpretrain.registry import MODELS
    from pycls.core import builders
    from pycls.core import checkpoint as pycls_checkpoint
    from yacs.config import CfgNode

    ours = randomize_(MODELS.build(dict(
        type='ImageClassifier',
        backbone=dict(type='RegNetX', arch='regnetx_400mf', width_rounding='torchvision'),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=6, in_channels=400))))
    original = ours.state_dict()
    ours_file = tmp_path / 'ours.pth'
    torch.save({'state_dict': original, 'meta': {}}, ours_file)

    pycls_file = tmp_path / 'model.pyth'
    result = run_cli('--src', 'ours', '--dst', 'pycls', ours_file, pycls_file)
    assert result.returncode == 0, result.stderr
    saved = torch.load(pycls_file, weights_only=True)
    with pycls_cfg() as cfg:
        cfg.merge_from_other_cfg(CfgNode.load_cfg(saved['cfg']))
        assert cfg.ANYNET.WIDTHS == [32, 64, 160, 400]
        pycls_model = builders.build_model()
    pycls_checkpoint.load_checkpoint(str(pycls_file), pycls_model)  # strict load
    pycls_model.eval()
    x = random_input()
    with torch.no_grad():
        expected = pycls_model(x.clone())
    assert max_abs_diff(ours_logits(ours, x), expected) <= TOLERANCE

    back_file = tmp_path / 'back.pth'
    convert_file('pycls', pycls_file, back_file)
    back = torch.load(back_file, weights_only=True)
    assert back['meta']['regnet_plugin']['backbone'] == dict(
        type='RegNetX', arch='regnetx_400mf', width_rounding='torchvision')
    assert list(back['state_dict']) == list(original)
    assert all(torch.equal(back['state_dict'][k], original[k]) for k in original)
