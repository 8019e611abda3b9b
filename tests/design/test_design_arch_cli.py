"""ARCH parsing (library) and tools/model_info.py (run as a subprocess)."""
import json
import os
import subprocess
import sys

import pytest

from regnet_plugin.design import AnyNetSpec, RegNetParams, complexity, get_preset
from regnet_plugin.design.arch import parse_arch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(REPO, 'tools', 'model_info.py')


def run_tool(*args):
    return subprocess.run([sys.executable, TOOL, *args], capture_output=True, text=True,
                          cwd=REPO, timeout=60)


def test_parse_all_forms_of_the_same_model():
    expected = get_preset('regnetx_400mf').to_spec()
    forms = [
        'regnetx_400mf', 'RegNetX-400MF',
        'depth=22 w0=24 wa=24.48 wm=2.54 group_width=16',
        ['depth=22', 'w0=24', 'wa=24.48', 'wm=2.54', 'group_width=16'],
        '{"depth": 22, "w0": 24, "wa": 24.48, "wm": 2.54, "group_width": 16}',
        {'w0': 24, 'wa': 24.48, 'wm': 2.54, 'group_w': 16, 'depth': 22, 'bot_mul': 1.0},
        json.dumps(expected.to_dict()),
        'depths=1,2,7,12 widths=32,64,160,384 group_widths=16',
        expected, get_preset('regnetx_400mf'),
    ]
    for form in forms:
        assert parse_arch(form).spec == expected, form
    parsed = parse_arch('regnetx_400mf')
    assert parsed.preset == 'regnetx_400mf' and parsed.regnet == get_preset('regnetx_400mf')
    assert parse_arch('depth=13 w0=24 wa=36.44 wm=2.49 group_width=8 se_ratio=0.25').spec \
        == get_preset('regnety_200mf').to_spec()


@pytest.mark.parametrize('arch, match', [
    ('regnetx_400gf', "Did you mean 'regnetx_400mf'"),
    ('depth=22 w0=20 wa=24.48 wm=2.54 group_width=16', 'w0 must be a positive multiple of 8'),
    ('depth=22 w0=24 wa=24.48 wm=1 group_width=16', 'wm must be a finite number > 1'),
    ('depth=22 w0=24 wa=-2 wm=2.5 group_width=16', 'wa must be a finite number >= 0'),
    ('depth=0 w0=24 wa=24.48 wm=2.5 group_width=16',
     r'depth must be an integer in \[1, 10000\], got 0'),
    ('depth=22 w0=24 wa=24.48 wm=2.5', r"missing \['group_width'\]"),
    ('depth=22 w0=24 wa=24.48 wm=2.5 group_width=16 colour=3', r"unknown \['colour'\]"),
    ('depth=22 depth=23', 'given twice'),
    ('depth=', 'both parts'),
    ('{"depth": 22', 'JSON is invalid'),
    ('[1, 2]', 'unknown RegNet preset'),
    ('depths=1,2 widths=32', 'widths .* must have 2 entries, got 1'),
    ('depths=1,2 widths=32,64 colour=1', r"unexpected keys \['colour'\]"),
])
def test_parse_bad_input(arch, match):
    with pytest.raises(ValueError, match=match):
        parse_arch(arch)


def test_cli_preset_text():
    out = run_tool('regnetx_400mf')
    assert out.returncode == 0, out.stderr
    rep = complexity(get_preset('regnetx_400mf').to_spec())
    assert 'stage depths  [1, 2, 7, 12]' in out.stdout
    assert 'stage widths  [32, 64, 160, 384]' in out.stdout
    assert 'group widths  [16, 16, 16, 16]' in out.stdout
    assert f'{rep.flops:,}' in out.stdout and f'{rep.params:,}' in out.stdout
    assert f'{rep.acts:,}' in out.stdout


def test_cli_key_values_json_and_options():
    out = run_tool('depth=13', 'w0=24', 'wa=36.44', 'wm=2.49', 'group_width=8',
                   'se_ratio=0.25', '--json', '--img-size', '256', '--num-classes', '10')
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    spec = get_preset('regnety_200mf').to_spec()
    rep = complexity(spec, img_size=256, num_classes=10)
    assert {k: info[k] for k in ('flops', 'params', 'acts', 'depths', 'widths',
                                 'group_widths')} == \
        {'flops': rep.flops, 'params': rep.params, 'acts': rep.acts,
         'depths': spec.depths, 'widths': spec.widths, 'group_widths': spec.group_widths}
    assert AnyNetSpec.from_dict(info['spec']) == spec
    assert RegNetParams(**info['regnet']).to_spec() == spec


def test_cli_json_spec_argument_in_process(capsys):
    # in-process (each subprocess pays ~5 s of toolbox imports in regnet_plugin/__init__)
    sys.path.insert(0, os.path.dirname(TOOL))
    try:
        import model_info
    finally:
        sys.path.remove(os.path.dirname(TOOL))
    spec = AnyNetSpec.from_lists([1, 2], [32, 64], bottleneck_ratios=[2, 1], group_widths=8)
    assert model_info.main([json.dumps(spec.to_dict()), '--json']) == 0
    info = json.loads(capsys.readouterr().out)
    assert info['flops'] == complexity(spec).flops and info['widths'] == [32, 64]
    assert model_info.main(['depths=3', 'widths=64', 'group_widths=8']) == 0
    assert 'stage depths  [3]' in capsys.readouterr().out


def test_cli_unknown_preset():
    out = run_tool('regnetx_400gf')
    assert out.returncode == 2 and out.stdout == ''
    assert "unknown RegNet preset 'regnetx_400gf'" in out.stderr
    assert "Did you mean 'regnetx_400mf'" in out.stderr and 'regnety_32gf' in out.stderr


@pytest.mark.parametrize('tool, args', [
    ('model_info.py', ['regnetx_200mf']),
    ('scale_model.py', ['regnetx_200mf', '--type', 'dw', '--factor', '2'])])
def test_design_core_tools_run_without_importing_torch(tool, args):
    """As scripts, model_info.py and scale_model.py skip the package __init__ (which
    imports torch and both toolboxes): tools/design_core_only.py."""
    code = ('import runpy, sys; sys.argv = [{tool!r}] + {args!r}\n'
            'try:\n    runpy.run_path({path!r}, run_name="__main__")\n'
            'except SystemExit as exit:\n    assert not exit.code, exit.code\n'
            'print("TORCH" if "torch" in sys.modules else "NO TORCH")').format(
                tool=tool, args=args, path=os.path.join(REPO, 'tools', tool))
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         cwd=REPO, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == 'NO TORCH'
