"""``arch`` takes the names users bring, each meaning what it means where it comes
from: ours/MMPretrain/MMDetection's (``regnetx_4.0gf``), the paper's
(``RegNetX-4.0GF``), timm's (``regnetx_040``) and torchvision's (``regnet_y_1_6gf``,
with torchvision's widths). The references are timm's and torchvision's own models:
same parameter shapes as ours built from their names."""
from __future__ import annotations

import re

import pytest
import torch

from regnet_plugin.design import get_preset
from regnet_plugin.models import RegNetX, RegNetY


def _cls(name: str) -> type:
    return RegNetY if re.match(r'regnet_?y', name.lower()) else RegNetX


def _backbone_shapes(model: torch.nn.Module, skip: tuple[str, ...]) -> list[tuple[int, ...]]:
    return sorted(tuple(p.shape) for n, p in model.named_parameters()
                  if not n.startswith(skip))


#: timm's names of the paper's 24 models: hundreds of MF in three digits (1.6GF -> 016).
TIMM_NAMES = [f'regnet{family}_{code}' for family in 'xy'
              for code in ('002', '004', '006', '008', '016', '032', '040', '064', '080',
                           '120', '160', '320')]


@pytest.mark.parametrize('name', TIMM_NAMES)
def test_timm_names_build_timms_architecture(name):
    timm = pytest.importorskip('timm')
    assert name in timm.list_models('regnet*')
    with torch.device('meta'):
        theirs = timm.create_model(name, pretrained=False)
        ours = _cls(name)(name)
    assert _backbone_shapes(ours, ()) == _backbone_shapes(theirs, ('head.',))


@pytest.mark.parametrize('name', ['regnet_x_400mf', 'regnet_y_1_6gf', 'regnet_x_8gf'])
def test_torchvision_names_build_torchvisions_architecture(name):
    """Their names imply their width rounding (RegNetX-400MF: 400 wide, not 384)."""
    import torchvision
    theirs = getattr(torchvision.models, name)()
    with torch.device('meta'):
        ours = _cls(name)(name)
    assert _backbone_shapes(ours, ()) == _backbone_shapes(theirs, ('fc.',))
    assert ours.spec.widths[-1] == theirs.fc.in_features
    if name == 'regnet_x_400mf':
        assert ours.spec.widths[-1] == 400 != RegNetX('regnetx_400mf').spec.widths[-1]
        with torch.device('meta'):     # an explicit rounding wins over the name's
            assert RegNetX(name, width_rounding='pycls').spec == \
                RegNetX('regnetx_400mf').spec


@pytest.mark.parametrize('spelling', ['RegNetX-4.0GF', 'regnetx_4.0gf', 'regnetx_040',
                                      ' RegNetX_4.0GF '])
def test_paper_mmdet_and_timm_spellings_are_one_preset(spelling):
    with torch.device('meta'):
        assert RegNetX(spelling).spec == get_preset('regnetx_4.0gf').to_spec()


@pytest.mark.parametrize('typo,meant', [('regnety_4gf', 'regnety_4.0gf'),
                                        ('regnetx_8gf', 'regnetx_8.0gf'),
                                        ('RegNetY-1.6', 'regnety_1.6gf'),
                                        ('regnetx_401mf', 'regnetx_400mf')])
def test_unknown_names_suggest_the_closest_preset(typo, meant):
    with pytest.raises(ValueError, match=f"Did you mean '{re.escape(meant)}'"):
        _cls(typo)(typo)
