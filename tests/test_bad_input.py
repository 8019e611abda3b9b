"""Bad input never gives a wrong answer, a hang or a lost file (issue 13), table-driven.

Every bad input of the issue that the design core and the tools own runs here, through
the Python API or the CLI, and must give the right exception type (TypeError for a
wrong type, ValueError for a bad value) or exit status 2 with one ``prog: error: ...``
line and no traceback; the message must name the bad value; no file may change that
should not. The torch-free CLI (model_info.py) runs as a subprocess (it starts fast);
the torch tools run in-process through their ``main`` (the same ``cli_main`` wrapper a
subprocess goes through; one subprocess per tool checks that path end to end). The
issue's study cases (tools/sample_space.py: bad manifests, --trainer foo, unusable work
dirs, a broken config, --executor slurm) are in tests/studies/test_study_cli.py, through
the same ``cli_main``.
"""
from __future__ import annotations

import errno
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from regnet_plugin.design import (AnyNetSpec, RegNetParams, Regime, StageSpec,
                                  adjust_block_compatibility, complexity, get_preset,
                                  get_space, is_preset, preset_spec, quantized_linear_widths,
                                  sample_models)
from regnet_plugin.design.arch import parse_arch

REPO = Path(__file__).resolve().parents[1]
TOOLS = REPO / 'tools'
SPEC = preset_spec('regnetx_200mf')
NAN = float('nan')


def _tool(name: str):
    """tools/<name>.py as a module (its ``main`` is the CLI entry point)."""
    spec = importlib.util.spec_from_file_location(f'tool_{name}', TOOLS / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tree(root: Path) -> dict[str, str]:
    """Every file under root (links as their target) with its content digest."""
    return {str(p.relative_to(root)): (f'-> {os.readlink(p)}' if p.is_symlink()
                                       else _digest(p))
            for p in sorted(root.rglob('*')) if p.is_file() or p.is_symlink()}


def assert_one_line_error(stderr: str, match: str) -> None:
    """The CLI convention: 'prog: error: ...' naming the value, no traceback."""
    assert 'Traceback' not in stderr, stderr
    lines = [line for line in stderr.splitlines() if 'error:' in line]
    assert lines, stderr
    import re
    assert re.search(match, lines[-1]), (match, stderr)


# == the torch-free API ===================================================================
API_CASES = [
    # quantized_linear_widths returned widths of -2**63 with numpy warnings
    ('qlw wa<0', lambda: quantized_linear_widths(5, 24, -24, 2.5), ValueError,
     r'wa must be a finite number >= 0, got -24'),
    ('qlw w0=0', lambda: quantized_linear_widths(5, 0, 24, 2.5), ValueError,
     r'w0 must be a finite number > 0.*got 0'),
    ('qlw wa=nan', lambda: quantized_linear_widths(5, 24, NAN, 2.5), ValueError,
     r'wa must be a finite number.*got nan'),
    ('qlw wm=nan', lambda: quantized_linear_widths(5, 24, 24, NAN), ValueError,
     r'wm must be a finite number > 1, got nan'),
    ('qlw wm<1', lambda: quantized_linear_widths(5, 24, 24, 0.5), ValueError,
     r'wm must be a finite number > 1, got 0.5'),
    ('qlw wm=1', lambda: quantized_linear_widths(5, 24, 24, 1), ValueError,
     r'wm must be a finite number > 1, got 1'),
    ('qlw depth=2.5', lambda: quantized_linear_widths(2.5, 24, 24, 2.5), TypeError,
     r'depth must be an integer.*got 2.5'),
    ('qlw depth huge', lambda: quantized_linear_widths(10**8, 24, 24, 2.5), ValueError,
     r'depth must be an integer in \[1, 10000\], got 100000000'),
    ('qlw overflow', lambda: quantized_linear_widths(3, 8, 1e300, 2), ValueError,
     r'wa=1e\+300.*above the maximum width 1048576'),
    ('qlw w0 rounds to 0', lambda: quantized_linear_widths(3, 3, 24, 2), ValueError,
     r'w0=3.*block width of 0'),
    # adjust_block_compatibility ignored a length mismatch; group width 0 gave width 0
    ('abc lengths', lambda: adjust_block_compatibility([32, 64], [1.0], [8, 8]),
     ValueError, r'widths has 2, bottleneck_ratios has 1, group_widths has 2'),
    ('abc group 0', lambda: adjust_block_compatibility([32, 64], [1.0, 1.0], [0, 8]),
     ValueError, r'group_widths\[0\] must be an integer in \[1, .*got 0'),
    ('abc ratio 0', lambda: adjust_block_compatibility([32], [0], [8]), ValueError,
     r'bottleneck_ratios\[0\] must be a finite number > 0, got 0'),
    ('abc scalar', lambda: adjust_block_compatibility(32, [1.0], [8]), TypeError,
     r'widths must be a list, got 32'),
    # complexity computed num_classes=10.5; a name or 224.5 failed inside
    ('cx num_classes', lambda: complexity(SPEC, num_classes=10.5), TypeError,
     r'num_classes must be an integer.*got 10.5'),
    ('cx name', lambda: complexity('regnetx_200mf'), TypeError,
     r"spec must be an AnyNetSpec .*got 'regnetx_200mf'"),
    ('cx img_size float', lambda: complexity(SPEC, 224.5), TypeError,
     r'img_size must be an integer.*got 224.5'),
    ('cx img_size 0', lambda: complexity(SPEC, 0), ValueError,
     r'img_size must be an integer in \[1, 32768\], got 0'),
    ('cx img_size triple', lambda: complexity(SPEC, (224, 224, 3)), ValueError,
     r'img_size must have 2 entries, got 3'),
    ('cx num_classes<0', lambda: complexity(SPEC, num_classes=-1), ValueError,
     r'num_classes must be an integer in \[0, .*got -1'),
    # presets
    ('get_preset None', lambda: get_preset(None), TypeError,
     r'preset name must be a string, got None'),
    ('is_preset None', lambda: is_preset(None), TypeError,
     r'preset name must be a string, got None'),
    ('get_preset 3', lambda: get_preset(3), TypeError, r'preset name must be a string, got 3'),
    ('preset typo', lambda: get_preset('regnetx_400gf'), ValueError,
     r"unknown RegNet preset 'regnetx_400gf'. Did you mean 'regnetx_400mf'"),
    # RegNet parameters (model_info.py key=value pairs go through these)
    ('regnet wa=1e300', lambda: RegNetParams(3, 8, 1e300, 2, 8), ValueError,
     r'wa=1e\+300.*above the maximum width'),
    ('regnet w0=8e20', lambda: RegNetParams(3, 8e20, 2, 2, 8), ValueError,
     r'w0 must be a positive multiple of 8, got 8e\+20'),
    ('regnet depth=1e8', lambda: RegNetParams(100_000_000, 8, 2, 2, 8), ValueError,
     r'depth must be an integer in \[1, 10000\], got 100000000'),
    ('regnet torchvision overflow',
     lambda: RegNetParams(3, 8, 1e30, 2, 8, width_rounding='torchvision'), ValueError,
     r'wa=1e\+30.*above the maximum width'),
    ('regnet wm str', lambda: RegNetParams(3, 8, 2, '2', 8), TypeError,
     r"wm must be a finite number > 1, got '2'"),
    ('regnet bool depth', lambda: RegNetParams(True, 8, 2, 2, 8), TypeError,
     r'depth must be an integer.*bool True'),
    ('mm arch bot_mul 0', lambda: RegNetParams.from_mm_arch(
        dict(w0=24, wa=24.48, wm=2.54, group_w=16, depth=22, bot_mul=0)), ValueError,
     r'bot_mul must be a finite number > 0, got 0'),
    ('mm arch not a dict', lambda: RegNetParams.from_mm_arch([1, 2]), TypeError,
     r'arch must be a dict, got \[1, 2\]'),
    # specs (model_info.py JSON goes through these)
    ('spec stage without width', lambda: parse_arch('{"stages": [{"depth": 1}]}'),
     ValueError, r"stages\[0\]: missing key\(s\) \['width'\]"),
    ('spec stages int', lambda: parse_arch('{"stages": 5}'), TypeError,
     r'stages must be a list, got 5'),
    ('spec stages of ints', lambda: parse_arch('{"stages": [1, 2]}'), TypeError,
     r'stages\[0\] must be a dict, got 1'),
    ('spec empty stages', lambda: parse_arch('{"stages": []}'), ValueError,
     r'stages must have at least 1 entries'),
    ('spec b as text', lambda: AnyNetSpec.from_dict(
        {'stages': [{'depth': 1, 'width': 32, 'bottleneck_ratio': '2'}]}), TypeError,
     r"stages\[0\]: bottleneck_ratio must be a finite number > 0.*got '2'"),
    ('spec too deep', lambda: AnyNetSpec.from_lists([6000, 6000], [8, 8]), ValueError,
     r'at most 10000 blocks \(MAX_DEPTH\), got 12000'),
    ('spec width huge', lambda: StageSpec(1, 10**9), ValueError,
     r'width must be an integer in \[1, 1048576\], got 1000000000'),
    ('spec stride 3', lambda: StageSpec(1, 32, stride=3), ValueError,
     r'stride must be an integer in \[1, 2\], got 3'),
    ('from_lists widths short', lambda: AnyNetSpec.from_lists([1, 2], [32]), ValueError,
     r'widths .* must have 2 entries, got 1'),
    ('from_lists group 0', lambda: AnyNetSpec.from_lists([1, 2], [32, 64], group_widths=[0, 8]),
     ValueError, r'stage 0: group_width must be an integer in \[1, .*got 0'),
    ('from_lists scalar depths', lambda: AnyNetSpec.from_lists(3, [32]), TypeError,
     r'depths .*must be a list, got 3'),
    ('arch not a model', lambda: parse_arch(3.5), TypeError,
     r'cannot read architecture 3.5'),
    # sampler and spaces
    ('regime img_size', lambda: Regime(img_size=224.5), TypeError,
     r'img_size must be an integer.*got 224.5'),
    ('regime max_flops nan', lambda: Regime(max_flops=NAN), ValueError,
     r'max_flops .*must be a finite number >= 0, got nan'),
    ('sample no space', lambda: sample_models(None, 1), TypeError,
     r'space must be a design space or its name, got None'),
    ('sample n=0', lambda: sample_models('RegNetX', 0), ValueError,
     r'n must be an integer >= 1, got 0'),
    ('sample n float', lambda: sample_models('RegNetX', 2.5), TypeError,
     r'n must be an integer >= 1, got 2.5'),
    ('sample seed', lambda: sample_models('RegNetX', 1, seed=-1), ValueError,
     r'seed must be an integer >= 0, got -1'),
    ('sample regime dict', lambda: sample_models('RegNetX', 1, regime={'max_flops': 1}),
     TypeError, r"regime must be a Regime or None, got \{'max_flops': 1\}"),
    ('space depth range', lambda: get_space('AnyNetX_A', depth_range=(0, 16)), ValueError,
     r'depth_range\[0\] must be an integer >= 1, got 0'),
    ('space depth range float', lambda: get_space('AnyNetX_A', depth_range=(1, 16.5)),
     TypeError, r'depth_range\[1\] must be an integer >= 1, got 16.5'),
    ('space range not a pair', lambda: get_space('RegNetX', wa_range=8), TypeError,
     r'wa_range \(low, high\) must be a list, got 8'),
    ('space group widths text', lambda: get_space('AnyNetX_A', group_widths=('a',)),
     TypeError, r"group_widths\[0\] must be an integer >= 1, got 'a'"),
    ('space se nan', lambda: get_space('RegNetX', se_ratio=NAN), ValueError,
     r'se_ratio must be a finite number >= 0 and < 1, got nan'),
    ('space num_stages', lambda: get_space('AnyNetX_A', num_stages=0), ValueError,
     r'num_stages must be an integer in \[1, 10000\], got 0'),
]


@pytest.mark.parametrize('call, error, match',
                         [pytest.param(*case[1:], id=case[0]) for case in API_CASES])
def test_api_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


# == model_info.py (torch-free, as a subprocess) =========================================
MODEL_INFO_CASES = [
    # printed widths [1, 8] and exited 0
    (['depth=3', 'w0=8', 'wa=1e300', 'wm=2', 'group_width=8'],
     r'wa=1e\+300.*above the maximum width 1048576'),
    (['depth=3', 'w0=8e20', 'wa=2', 'wm=2', 'group_width=8'],
     r'w0 must be a positive multiple of 8, got 8e\+20'),
    # grew without bound (4.7 GB after 60 s)
    (['depth=100000000', 'w0=8', 'wa=2', 'wm=2', 'group_width=8'],
     r'depth must be an integer in \[1, 10000\], got 100000000'),
    # TypeErrors from inside
    (['{"stages": [{"depth": 1}]}'], r"stages\[0\]: missing key\(s\) \['width'\]"),
    (['{"stages": 5}'], r'stages must be a list, got 5'),
    (['{"stages": [1, 2]}'], r'stages\[0\] must be a dict, got 1'),
    # more of the same kind
    (['regnetx_400gf'], r"unknown RegNet preset 'regnetx_400gf'"),
    (['regnetx_200mf', '--img-size', '0'], r'img_size must be an integer in \[1, 32768\], got 0'),
    (['regnetx_200mf', '--num-classes', '-3'], r'num_classes must be an integer in \[0, .*got -3'),
    (['depth=13', 'w0=24', 'wa=nan', 'wm=2.5', 'group_width=8'],
     r"wa must be a finite number >= 0, got 'nan'"),   # a string: TypeError
    (['depths=1,2', 'widths=32,64', 'group_widths=0,8'],
     r'stage 0: group_width must be an integer in \[1, .*got 0'),
    (['{"depth": 22'], r'architecture JSON is invalid'),
    (['[1, 2]'], r"unknown RegNet preset '\[1, 2\]'"),
    (['regnetx_200mf', '--img-size', '224.5'], r"invalid int value: '224.5'"),   # argparse
]


def _model_info(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(TOOLS / 'model_info.py'), *args],
                          capture_output=True, text=True, cwd=REPO, timeout=60)


@pytest.mark.parametrize('args, match', MODEL_INFO_CASES,
                         ids=[' '.join(a)[:40] for a, _ in MODEL_INFO_CASES])
def test_model_info_bad_input(args, match):
    result = _model_info(*args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ''
    assert_one_line_error(result.stderr, match)


SCALE_MODEL_CASES = [
    (['regnetx_200mf', '--type', 'd', '--factor', '0'], r'scale factor must be .*> 0, got 0'),
    (['regnetx_200mf', '--type', 'd', '--factor', 'nan'], r'got nan'),
    (['regnetx_200mf', '--type', 'q', '--factor', '2'], r"scale type 'q'"),
    (['regnetx_200mf', '--type', 'd', '--factor', '1e300'],
     r'depth must be an integer in \[1, 10000\], got 1e\+300'),
    (['regnetx_200mf', '--type', 'd', '--factor', '2', '--img-size', '0'],
     r'img_size must be an integer in \[1, 32768\], got 0'),
    (['regnetx_200mf', '--plot', '/nonexistent/dir/x.png'],
     r'No such file or directory: /nonexistent/dir/x.png'),
]


@pytest.mark.parametrize('args, match', SCALE_MODEL_CASES,
                         ids=[' '.join(a[1:])[:40] for a, _ in SCALE_MODEL_CASES])
def test_scale_model_bad_input(args, match):
    result = subprocess.run([sys.executable, str(TOOLS / 'scale_model.py'), *args],
                            capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert_one_line_error(result.stderr, match)


def test_model_info_debug_shows_the_traceback():
    result = _model_info('{"stages": 5}', '--debug')
    assert result.returncode != 0
    assert 'Traceback' in result.stderr and 'TypeError: stages must be a list' in result.stderr


# == convert_weights.py ===================================================================
@pytest.fixture(scope='module')
def convert_tool():
    return _tool('convert_weights')


@pytest.fixture(scope='module')
def torchvision_checkpoint(tmp_path_factory):
    import torch
    from torchvision.models import regnet_x_400mf
    path = tmp_path_factory.mktemp('tv') / 'tv.pth'
    torch.save(regnet_x_400mf().state_dict(), path)
    return path


@pytest.fixture
def convert_dir(tmp_path, torchvision_checkpoint):
    """A directory with a good source, a good earlier output, and bad inputs."""
    data = torchvision_checkpoint.read_bytes()
    (tmp_path / 'tv.pth').write_bytes(data)
    (tmp_path / 'old_out.pth').write_bytes(b'a good earlier conversion')
    (tmp_path / 'empty.pth').write_bytes(b'')
    (tmp_path / 'text.pth').write_text('this is not a checkpoint\n')
    (tmp_path / 'truncated.pth').write_bytes(data[:len(data) // 2])
    (tmp_path / 'head.pth').write_bytes(data[:100])
    (tmp_path / 'folder.pth').mkdir()
    (tmp_path / 'link.pth').symlink_to('tv.pth')
    return tmp_path


CONVERT_CASES = [
    # one-line errors instead of EOFError, KeyError: 101 and tracebacks
    ('empty', ['empty.pth', 'out.pth'], r"'.*empty.pth' is empty \(0 bytes\)"),
    ('text', ['text.pth', 'out.pth'], r"text.pth'.*it is a text file"),
    ('truncated', ['truncated.pth', 'out.pth'], r'truncated.pth.*truncated or corrupt'),
    ('first 100 bytes', ['head.pth', 'out.pth'], r'head.pth.*truncated or corrupt'),
    ('directory', ['folder.pth', 'out.pth'], r"folder.pth' is a directory"),
    ('missing', ['missing.pth', 'out.pth'], r"no checkpoint file at '.*missing.pth'"),
    # output == input silently replaced the source
    ('out is in', ['tv.pth', 'tv.pth'], r"output '.*tv.pth' is the input file"),
    ('out is a link to in', ['tv.pth', 'link.pth'], r"output '.*link.pth' is the input"),
    ('in is a link to out', ['link.pth', 'tv.pth'], r"output '.*tv.pth' is the input"),
    ('out spelled differently', ['tv.pth', '../{dir}/./tv.pth'], r'is the input file'),
    ('out is a directory', ['tv.pth', 'folder.pth'], r"output '.*folder.pth' is a directory"),
    ('wrong arch', ['tv.pth', 'out.pth', '--arch', 'regnety_400mf'],
     r'the checkpoint is not regnety_400mf'),
    ('unknown arch', ['tv.pth', 'out.pth', '--arch', 'regnetx_401mf'],
     r"regnetx_401mf"),
]


@pytest.mark.parametrize('args, match', [pytest.param(*c[1:], id=c[0])
                                         for c in CONVERT_CASES])
def test_convert_weights_bad_input(convert_tool, convert_dir, capsys, monkeypatch,
                                   args, match):
    monkeypatch.chdir(convert_dir)
    args = [a.format(dir=convert_dir.name) for a in args]
    before = _tree(convert_dir)
    with pytest.raises(SystemExit) as exit_:
        convert_tool.main(['--src', 'torchvision', *args])
    assert exit_.value.code == 2
    assert_one_line_error(capsys.readouterr().err, match)
    assert _tree(convert_dir) == before            # nothing written, nothing replaced


def test_convert_weights_failed_write_keeps_the_old_output(convert_tool, convert_dir,
                                                          capsys, monkeypatch):
    """Disk full while writing: the earlier output stays as it was, no temporary file
    is left, and the error is one line."""
    import torch

    from regnet_plugin.convert import checkpoint as checkpoint_module

    def full_disk_save(obj, f, *args, **kwargs):
        f.write(b'half a checkpoint')
        raise OSError(errno.ENOSPC, 'No space left on device')

    monkeypatch.setattr(checkpoint_module.torch, 'save', full_disk_save)
    before = _tree(convert_dir)
    with pytest.raises(SystemExit) as exit_:
        convert_tool.main(['--src', 'torchvision', str(convert_dir / 'tv.pth'),
                           str(convert_dir / 'old_out.pth')])
    assert exit_.value.code == 2
    assert_one_line_error(capsys.readouterr().err, 'No space left on device')
    assert _tree(convert_dir) == before
    monkeypatch.undo()                                # the disk has room again
    assert convert_tool.main(['--src', 'torchvision', str(convert_dir / 'tv.pth'),
                              str(convert_dir / 'old_out.pth')]) == 0
    assert torch.load(convert_dir / 'old_out.pth', weights_only=True)['state_dict']
    assert oct(os.stat(convert_dir / 'old_out.pth').st_mode & 0o777) == \
        oct(os.stat(convert_dir / 'tv.pth').st_mode & 0o777)   # not mkstemp's 0600


@pytest.mark.slow
def test_convert_weights_subprocess_has_no_traceback(convert_dir):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO),
                                                      os.environ.get('PYTHONPATH', '')]))
    result = subprocess.run([sys.executable, str(TOOLS / 'convert_weights.py'), '--src',
                             'torchvision', 'text.pth', 'out.pth'], cwd=convert_dir,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert_one_line_error(result.stderr, r'convert_weights.py: error: .*text file')
    assert not (convert_dir / 'out.pth').exists()


# == compare_tables.py ====================================================================
@pytest.fixture(scope='module')
def compare_tool():
    return _tool('compare_tables')


COMPARE_CASES = [
    # silently ignored
    ('unknown model in results', ['--results', '{results}'],
     r"unknown model 'ResNet-51' \(did you mean 'ResNet-50'\?\)"),
    ('threads 0', ['--threads', '0'], r'--threads must be an integer in \[1, \d+\], got 0'),
    # exited 0 with the error in a table cell
    ('resolution 0', ['--timing-resolution', '0'],
     r'--timing-resolution must be an integer in \[1, 32768\], got 0'),
    ('resolution -5', ['--timing-resolution', '-5'],
     r'--timing-resolution must be an integer in \[1, 32768\], got -5'),
    ('device foo', ['--device', 'foo'], r"device must be 'cpu', 'cuda' or 'cuda:N', got 'foo'"),
    ('device cuda:99', ['--device', 'cuda:99'], r"'cuda:99'"),
    # wrote the .md but not the .csv
    ('threads 100000', ['--threads', '100000'],
     r'--threads must be an integer in \[1, \d+\], got 100000'),
    # more
    ('unknown row', ['--rows', 'RegNetX-3.2G'], r"unknown model 'RegNetX-3.2G'"),
    ('unknown table', ['--tables', 'table9'], r"unknown table 'table9'"),
    ('batch 0', ['--batch-size', '0'], r'--batch-size must be an integer >= 1, got 0'),
    ('warmup -1', ['--warmup', '-1'], r'--warmup must be an integer >= 0, got -1'),
    ('eval without =', ['--eval', 'RegNetX-3.2GF', '--data-root', '{tmp}'],
     r"--eval expects MODEL=PATH, got 'RegNetX-3.2GF'"),
    ('eval missing ckpt', ['--eval', 'RegNetX-3.2GF=nope.pth', '--data-root', '{tmp}'],
     r"no such file or directory 'nope.pth'"),
    ('results missing', ['--results', 'nope.json'], r"--results 'nope.json': no such file"),
    ('results not json', ['--results', '{notjson}'], r'is not valid JSON'),
    ('results error 150', ['--results', '{err150}'],
     r'top-1 error must be a percentage in \[0, 100\], got 150'),
    ('out-dir is a file', ['--out-dir', '{notjson}', '--rows', 'RegNetX-3.2GF'],
     r'--out-dir .* is not a directory'),
]


@pytest.mark.parametrize('args, match', [pytest.param(*c[1:], id=c[0])
                                         for c in COMPARE_CASES])
def test_compare_tables_bad_input(compare_tool, tmp_path, capsys, monkeypatch, args, match):
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'results.json').write_text(json.dumps({'ResNet-51': 22.0}))
    (tmp_path / 'err150.json').write_text(json.dumps({'ResNet-50': 150}))
    (tmp_path / 'notjson.txt').write_text('ResNet-50: 22')
    paths = dict(results='results.json', err150='err150.json', notjson='notjson.txt',
                 tmp=str(tmp_path))
    args = [a.format(**paths) for a in args]
    before = _tree(tmp_path)
    if '--out-dir' not in args:
        args += ['--out-dir', 'out']
    with pytest.raises(SystemExit) as exit_:
        compare_tool.main(args + ['--quiet', '--no-plots'])
    assert exit_.value.code == 2
    assert_one_line_error(capsys.readouterr().err, match)
    assert _tree(tmp_path) == before and not (tmp_path / 'out').exists()


def test_compare_tables_never_writes_md_without_csv(compare_tool, tmp_path, monkeypatch):
    """Both tables are rendered before either file is written."""
    from regnet_plugin.compare import render

    def broken_csv(*args, **kwargs):
        raise RuntimeError('csv rendering failed')

    monkeypatch.setattr(render, 'csv_text', broken_csv)
    argv = ['--tables', 'regnetx', '--rows', 'RegNetX-200MF', '--no-timing', '--no-plots',
            '--quiet', '--out-dir', str(tmp_path / 'out')]
    with pytest.raises(RuntimeError, match='csv rendering failed'):
        compare_tool.main(argv)
    assert not list((tmp_path / 'out').glob('comparison.*'))
    monkeypatch.undo()
    assert compare_tool.main(argv) == 0
    assert sorted(p.name for p in (tmp_path / 'out').iterdir()) == \
        ['comparison.csv', 'comparison.md']


# == train.py / test.py ===================================================================
TEST_CONFIG = '''
default_scope = 'mmpretrain'
custom_imports = dict(imports=['regnet_plugin'], allow_failed_imports=False)
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(num_classes=2, mean=[127.5] * 3, std=[64.0] * 3),
    backbone=dict(type='RegNetX', arch='regnetx_200mf'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=2, in_channels=368,
              loss=dict(type='CrossEntropyLoss')))
test_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='CustomDataset', data_root={data_root!r}, data_prefix='val',
                 pipeline=[dict(type='LoadImageFromFile'), dict(type='PackInputs')]))
test_evaluator = dict(type='Accuracy', topk=(1,))
test_cfg = dict()
'''


def _classifier_state_dict(backbone: dict, in_channels: int) -> dict:
    import regnet_plugin  # noqa: F401
    from mmpretrain.registry import MODELS
    model = MODELS.build(dict(
        type='ImageClassifier', backbone=backbone, neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=2, in_channels=in_channels)))
    return model.state_dict()


@pytest.fixture(scope='module')
def test_workspace(tmp_path_factory, tiny_image_folder):
    """A test config (RegNetX-200MF, 2 classes) and checkpoints: its own, a ResNet-18's,
    a RegNetX-400MF's, and files that are not checkpoints."""
    import torch
    root = tmp_path_factory.mktemp('tools_test')
    config = root / 'regnetx_200mf_test.py'
    config.write_text(TEST_CONFIG.format(data_root=str(tiny_image_folder)))
    torch.manual_seed(0)
    ckpts = {
        'own': _classifier_state_dict(dict(type='RegNetX', arch='regnetx_200mf'),
                                      368),
        'resnet18': _classifier_state_dict(dict(type='ResNet', depth=18), 512),
        'regnetx_400mf': _classifier_state_dict(
            dict(type='RegNetX', arch='regnetx_400mf'), 384),
    }
    for name, state_dict in ckpts.items():
        torch.save({'state_dict': state_dict, 'meta': {}}, root / f'{name}.pth')
    (root / 'text.pth').write_text('not a checkpoint\n')
    return root, config


@pytest.fixture(scope='module')
def tools_test():
    return _tool('test')


@pytest.fixture(scope='module')
def tools_train():
    return _tool('train')


@pytest.mark.parametrize('checkpoint, match', [
    # named as the model loads them: AnyNet renames ResNet-style keys (conv1 -> stem.conv)
    ('resnet18.pth', r"resnet18.pth' does not fit the model \(ImageClassifier, \d+ tensors\): "
                     r'\d+ missing keys: backbone.stage1.block1.conv3.weight, .*unexpected '
                     r'keys: backbone.stage1.block2.conv1.weight, .*mis-shaped tensors: '
                     r'backbone.stem.conv.weight \(64, 3, 7, 7\) vs model \(32, 3, 3, 3\).*'
                     r'--allow-partial'),
    ('regnetx_400mf.pth', r'does not fit the model.*\d+ unexpected keys: backbone.stage2.*'
                          r'\d+ mis-shaped tensors: backbone.stage1.block1.conv1.weight '
                          r'\(32, 32, 1, 1\) vs model \(24, 32, 1, 1\)'),
    ('text.pth', r"text.pth'.*it is a text file"),
    ('nope.pth', r"no checkpoint file at '.*nope.pth'"),
])
def test_tools_test_refuses_a_checkpoint_that_does_not_fit(tools_test, test_workspace,
                                                           capsys, checkpoint, match):
    """mmengine loads non-strictly: another architecture's checkpoint scored at chance
    level with exit status 0."""
    root, config = test_workspace
    with pytest.raises(SystemExit) as exit_:
        tools_test.main([str(config), str(root / checkpoint),
                         '--work-dir', str(root / 'work')])
    assert exit_.value.code == 2
    assert_one_line_error(capsys.readouterr().err, match)


@pytest.mark.slow
def test_tools_test_allow_partial_and_a_fitting_checkpoint(tools_test, test_workspace,
                                                           capsys):
    root, config = test_workspace
    metrics = tools_test.main([str(config), str(root / 'regnetx_400mf.pth'),
                               '--allow-partial', '--work-dir', str(root / 'work')])
    assert 'accuracy/top1' in metrics
    assert 'warning: --allow-partial: ' in capsys.readouterr().err
    metrics = tools_test.main([str(config), str(root / 'own.pth'),
                               '--work-dir', str(root / 'work')])
    assert 'accuracy/top1' in metrics
    assert '--allow-partial' not in capsys.readouterr().err


@pytest.mark.parametrize('tool', ['tools_test', 'tools_train'])
@pytest.mark.parametrize('options, match', [
    (['--cfg-options', 'foo'], r"--cfg-options: expected KEY=VALUE entries .*got 'foo'"),
    (['--cfg-options', '=3'], r"--cfg-options: expected KEY=VALUE entries .*got '=3'"),
    (['--launcher', 'mpi'], r"--launcher: invalid choice: 'mpi'"),
])
def test_train_and_test_bad_options(request, test_workspace, capsys, tool, options, match):
    module = request.getfixturevalue(tool)
    root, config = test_workspace
    positional = [str(config)] + ([str(root / 'own.pth')] if tool == 'tools_test' else [])
    with pytest.raises(SystemExit) as exit_:
        module.main(positional + options)
    assert exit_.value.code == 2
    assert_one_line_error(capsys.readouterr().err, match)


def test_train_refuses_bad_checkpoints_before_training(tools_train, test_workspace, capsys):
    root, config = test_workspace
    for options, match in ((['--resume', str(root / 'nope.pth')],
                            r"--resume: no checkpoint file at '.*nope.pth'"),
                           (['--cfg-options', f'load_from={root / "text.pth"}'],
                            r'text.pth.*it is a text file'),
                           (['--cfg-options', 'load_from=' + str(root / 'folder')],
                            r'no checkpoint file at')):
        with pytest.raises(SystemExit) as exit_:
            tools_train.main([str(config), '--work-dir', str(root / 'train_work'), *options])
        assert exit_.value.code == 2
        assert_one_line_error(capsys.readouterr().err, match)


def test_missing_or_broken_config_is_one_line(tools_test, test_workspace, capsys):
    root, _ = test_workspace
    (root / 'broken.py').write_text('model = dict(type=undefined_name)\n')
    for config, match in (('no_config.py', r"no config file at '.*no_config.py'"),
                          ('broken.py', r'cannot load config .*broken.py: NameError: '
                                        r".*'undefined_name'")):
        with pytest.raises(SystemExit) as exit_:
            tools_test.main([str(root / config), str(root / 'own.pth')])
        assert exit_.value.code == 2
        assert_one_line_error(capsys.readouterr().err, match)
