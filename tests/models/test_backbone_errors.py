"""Bad input fails early, naming the bad value and what is accepted: TypeError for a
wrong type, ValueError for a bad value (never a bare assert)."""
from __future__ import annotations

import pytest
import torch

from regnet_plugin.models import AnyNet, RegNetX, RegNetY

MM_ARCH = dict(w0=24, wa=24.48, wm=2.54, group_w=16, depth=22, bot_mul=1.0)


@pytest.fixture(autouse=True)
def meta_device():
    with torch.device('meta'):
        yield


def test_unknown_preset_lists_valid_ones():
    with pytest.raises(ValueError, match=r"unknown RegNet preset 'regnetx_401mf'.*"
                                         r"regnetx_400mf.*regnety_32gf"):
        RegNetX('regnetx_401mf')
    with pytest.raises(ValueError, match='unknown RegNet preset'):
        AnyNet('resnet50')


def test_family_mismatch_is_refused():
    with pytest.raises(ValueError, match=r"RegNetY got 'regnetx_3.2gf', a regnetx preset; "
                                         r"use RegNetX.*regnety_400mf"):
        RegNetY('regnetx_3.2gf')
    with pytest.raises(ValueError, match=r"RegNetX got 'regnety_400mf', a regnety preset; "
                                         r"use RegNetY"):
        RegNetX('regnety_400mf')


def test_paper_spelling_is_accepted():
    assert RegNetX('RegNetX-3.2GF').spec == RegNetX('regnetx_3.2gf').spec


def test_mm_arch_dict_keys():
    assert RegNetX(MM_ARCH).spec == RegNetX('regnetx_400mf').spec
    assert RegNetY(MM_ARCH).spec.se_ratios == [0.25] * 4
    missing = {k: v for k, v in MM_ARCH.items() if k != 'wm'}
    with pytest.raises(ValueError, match=r"missing \['wm'\], unexpected \[\]"):
        RegNetX(missing)
    with pytest.raises(ValueError, match=r"missing \[\], unexpected \['stem_width'\]"):
        RegNetY(dict(MM_ARCH, stem_width=32))
    with pytest.raises(ValueError, match=r'w0 must be a positive multiple of 8, got 20'):
        RegNetX(dict(MM_ARCH, w0=20))


def test_arch_of_wrong_type():
    with pytest.raises(TypeError, match=r'RegNetX arch must be a preset name.*got int: 3'):
        RegNetX(3)
    with pytest.raises(TypeError,
                       match=r'cannot read architecture \[1, 2, 3\]: give a preset name'):
        AnyNet([1, 2, 3])


def test_anynet_lists_dict_keys():
    with pytest.raises(ValueError, match=r"missing keys \['widths'\], unexpected keys "
                                         r"\['group_width'\]"):
        AnyNet(dict(depths=[1, 2], group_width=[8, 8]))
    with pytest.raises(ValueError, match='group_widths .* must have 2 entries, got 1'):
        AnyNet(dict(depths=[1, 2], widths=[32, 64], group_widths=[8]))
    with pytest.raises(ValueError, match='group_width 48 must divide the bottleneck width 64'):
        AnyNet(dict(depths=[1, 2], widths=[48, 64], group_widths=48))


@pytest.mark.parametrize('out_indices', [4, (1, 4), (-5,), (2, 1), (1, 1), ()])
def test_out_indices_out_of_range(out_indices):
    with pytest.raises(ValueError, match=r'out_indices'):
        RegNetX('regnetx_400mf', out_indices=out_indices)
    with pytest.raises(TypeError, match=r'out_indices entry .* got 1.0'):
        RegNetX('regnetx_400mf', out_indices=(1.0,))


def test_out_indices_message_names_range_and_the_stem_option():
    with pytest.raises(ValueError, match=r'0\.\.3 = stages 1\.\.4; the stem: out_stem=True\)'
                                         r' must be an integer in \[-4, 3\], got 4'):
        RegNetX('regnetx_400mf', out_indices=(1, 4))


@pytest.mark.parametrize('frozen_stages,error', [(-2, ValueError), (5, ValueError),
                                                 (1.5, TypeError)])
def test_frozen_stages_out_of_range(frozen_stages, error):
    with pytest.raises(error, match=r'frozen_stages must be .*\[-1, 4\]'):
        RegNetY('regnety_400mf', frozen_stages=frozen_stages)


def test_other_options():
    with pytest.raises(ValueError, match=r"width_rounding must be one of \['pycls', "
                                         r"'torchvision'\], got 'timm'"):
        RegNetX('regnetx_400mf', width_rounding='timm')
    with pytest.raises(ValueError, match=r'drop_path_rate must be .*>= 0 and < 1, got 1.0'):
        RegNetX('regnetx_400mf', drop_path_rate=1.0)
    with pytest.raises(ValueError, match=r'RegNetY se_ratio must be .*> 0 and < 1, got 0'):
        RegNetY('regnety_400mf', se_ratio=0)
    with pytest.raises(ValueError, match='RegNetX has no SE'):
        RegNetX('regnetx_400mf', se_ratio=0.25)
    with pytest.raises(ValueError, match="norm_cfg needs a 'type'"):
        RegNetX('regnetx_400mf', norm_cfg=dict(requires_grad=False))
