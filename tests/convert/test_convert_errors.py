"""Bad checkpoints fail with messages that name what is wrong; nothing is dropped."""
from __future__ import annotations

import pytest
import torch

from convert_helpers import run_cli
from regnet_plugin.convert import (ConversionError, convert_file, extract_state_dict,
                                   to_ours, to_pycls)


@pytest.fixture(scope='module')
def tv_x400():
    from torchvision.models import regnet_x_400mf
    return regnet_x_400mf().state_dict()


def test_extra_source_key_fails_with_its_name(tv_x400):
    state_dict = dict(tv_x400, **{'trunk_output.block1.extra.weight': torch.zeros(1),
                                  'aux_head.weight': torch.zeros(1)})
    with pytest.raises(ConversionError, match=r"2 of \d+ keys are not torchvision RegNet "
                                              r"tensors \[trunk_output.block1.extra.weight, "
                                              r"aux_head.weight\]"):
        to_ours(state_dict, 'torchvision')


def test_extra_block_tensor_is_an_unexpected_key(tv_x400):
    """A key the layout can rename but the architecture does not have."""
    state_dict = dict(tv_x400)
    state_dict['trunk_output.block1.block1-0.f.a.1.extra_stat'] = torch.zeros(32)
    with pytest.raises(ConversionError,
                       match=r"1 unexpected keys \[backbone.stage1.block1.bn1.extra_stat\]"):
        to_ours(state_dict, 'torchvision')


def test_missing_key_fails_with_its_name(tv_x400):
    state_dict = {k: v for k, v in tv_x400.items()
                  if k != 'trunk_output.block3.block3-2.f.b.0.weight'}
    with pytest.raises(ConversionError,
                       match=r"missing keys \[backbone.stage3.block3.conv2.weight\]"):
        to_ours(state_dict, 'torchvision')


def test_missing_bn_counters_are_filled_and_reported(tv_x400):
    state_dict = {k: v for k, v in tv_x400.items() if not k.endswith('num_batches_tracked')}
    conversion = to_ours(state_dict, 'torchvision')
    assert len(conversion.filled_counters) == sum(
        k.endswith('num_batches_tracked') for k in tv_x400)
    assert 'filled' in conversion.summary()


def test_wrong_arch_says_what_the_checkpoint_is(tv_x400):
    with pytest.raises(ConversionError) as err:
        to_ours(tv_x400, 'torchvision', arch='regnety_400mf')
    message = str(err.value)
    assert message.startswith('the checkpoint is not regnety_400mf')
    assert "= regnetx_400mf (width_rounding='torchvision')" in message
    assert 'missing keys [backbone.stage1.block1.se.fc1.weight' in message


def test_forcing_the_paper_rounding_on_torchvision_widths_fails(tv_x400):
    with pytest.raises(ConversionError, match=r"backbone.stage4.block1.conv1.weight: "
                                              r"checkpoint \(400, 160, 1, 1\) vs expected "
                                              r"\(384, 160, 1, 1\)"):
        to_ours(tv_x400, 'torchvision', arch='regnetx_400mf', width_rounding='pycls')


def test_another_architecture_is_refused():
    from torchvision.models import resnet18
    with pytest.raises(ConversionError, match='not a RegNet checkpoint'):
        to_ours(resnet18().state_dict(), 'torchvision')


def test_wrong_source_format_suggests_the_right_one(tv_x400):
    with pytest.raises(ConversionError, match='use --src torchvision'):
        to_ours(tv_x400, 'timm')


def test_detector_cannot_become_pycls():
    import regnet_plugin  # noqa: F401
    from mmdet.registry import MODELS
    backbone = MODELS.build(dict(type='mmdet.RegNet', arch='regnetx_400mf'))
    detector = {f'backbone.{k}': v for k, v in backbone.state_dict().items()}
    detector['neck.fpn_convs.0.conv.weight'] = torch.zeros(1)
    conversion = to_ours(detector, 'mmdet')
    with pytest.raises(ConversionError, match='no classifier head'):
        to_pycls(conversion)


def test_checkpoint_without_tensors_lists_its_keys():
    with pytest.raises(ConversionError, match=r"top-level keys are \[epoch, cfg\]"):
        extract_state_dict({'epoch': 3, 'cfg': 'x'})


def test_cli_reports_errors_on_stderr_with_exit_code_2(tmp_path, tv_x400):
    source = tmp_path / 'tv.pth'
    torch.save(tv_x400, source)
    result = run_cli('--src', 'torchvision', '--arch', 'regnety_400mf', source,
                     tmp_path / 'out.pth')
    assert result.returncode == 2
    assert 'the checkpoint is not regnety_400mf' in result.stderr
    assert not (tmp_path / 'out.pth').exists()


def test_missing_input_file(tmp_path):
    with pytest.raises(ConversionError, match='no checkpoint file at'):
        convert_file('torchvision', tmp_path / 'missing.pth', tmp_path / 'out.pth')
