"""Bad input to tools/sample_space.py: one line `sample_space.py: error: ...` naming the
bad value, exit status 2 (regnet_plugin.cli_errors), no traceback, and nothing written
that should not be; --debug shows the traceback."""
import importlib.util
import json
import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / 'configs' / 'studies' / 'demo_digits.py'
CHEAP = str(Path(__file__).with_name('cheap_trainer.py')) + ':train'


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('sample_space_tool',
                                                  ROOT / 'tools' / 'sample_space.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def sampled(tmp_path_factory, tool):
    """A sampled study (no data preparation: nothing here trains for real)."""
    base = tmp_path_factory.mktemp('sampled')
    config = base / 'c.py'
    config.write_text(f'_base_ = [{str(DEMO)!r}]\n'
                      f'study = dict(num_models=1, data_preparation=None)\n')
    work = base / 'study'
    assert tool.main([str(config), 'sample', '--work-dir', str(work), '--no-progress']) == 0
    return config, work


@pytest.fixture
def study(sampled, tmp_path):
    """A fresh copy of the sampled study for one test."""
    config, work = sampled
    shutil.copytree(work, tmp_path / 'study')
    return config, tmp_path / 'study'


def fails_clearly(tool, capsys, argv, *needles):
    with pytest.raises(SystemExit) as exit_:
        tool.main([str(a) for a in argv] + ['--no-progress'])
    out, err = capsys.readouterr()
    assert exit_.value.code == 2, out + err
    errors = [line for line in err.splitlines()
              if line.startswith('sample_space.py: error: ')]
    assert len(errors) == 1 and 'Traceback' not in out + err, err
    for needle in needles:
        assert needle in errors[0], err
    return errors[0]


@pytest.mark.parametrize('content', ['{}', '[]', '{"name": "x", "config_hash": "h", '
                                                 '"config_path": "p", "models": [1]}'])
def test_a_manifest_that_is_not_one(tool, study, capsys, content):
    config, work = study
    (work / 'manifest.json').write_text(content)
    for command in ('train', 'analyze'):
        fails_clearly(tool, capsys, [config, command, '--work-dir', work],
                      str(work / 'manifest.json'), 'sample again')


def test_an_unknown_trainer(tool, study, capsys):
    config, work = study
    fails_clearly(tool, capsys, [config, 'train', '--work-dir', work, '--trainer', 'foo'],
                  "'foo'", "'runner'")
    assert not (work / 'workers').exists()        # no worker was started


def test_a_work_dir_that_is_a_file(tool, tmp_path, capsys):
    config = tmp_path / 'c.py'
    config.write_text(f'_base_ = [{str(DEMO)!r}]\nstudy = dict(num_models=1, '
                      f'data_preparation=None)\n')
    work = tmp_path / 'file'
    work.write_text('keep me')
    fails_clearly(tool, capsys, [config, 'sample', '--work-dir', work], str(work), 'a file')
    assert work.read_text() == 'keep me'


@pytest.mark.skipif(os.geteuid() == 0, reason='root may write into a read-only directory')
def test_a_read_only_work_dir(tool, tmp_path, capsys):
    config = tmp_path / 'c.py'
    config.write_text(f'_base_ = [{str(DEMO)!r}]\nstudy = dict(num_models=1, '
                      f'data_preparation=None)\n')
    locked = tmp_path / 'locked'
    locked.mkdir()
    locked.chmod(0o500)
    try:
        fails_clearly(tool, capsys, [config, 'sample', '--work-dir', locked / 'study'],
                      'not writable', str(locked))
    finally:
        locked.chmod(0o700)


def test_a_config_with_a_name_error(tool, tmp_path, capsys):
    config = tmp_path / 'broken.py'
    config.write_text('study = dict(num_models=undefined_name)\n')
    fails_clearly(tool, capsys, [config, 'sample', '--work-dir', tmp_path / 's'],
                  str(config), 'NameError', 'undefined_name')
    assert not (tmp_path / 's').exists()


@pytest.mark.skipif(shutil.which('sbatch') is not None, reason='Slurm is installed here')
def test_slurm_where_there_is_none(tool, study, capsys):
    config, work = study
    fails_clearly(tool, capsys, [config, 'train', '--work-dir', work, '--executor', 'slurm'],
                  '--executor slurm', 'sbatch')
    assert not (work / 'submitit').exists()


def test_a_negative_stale_after(tool, study, capsys):
    config, work = study
    fails_clearly(tool, capsys, [config, 'train', '--work-dir', work, '--trainer', CHEAP,
                                 '--stale-after', '-1'], '--stale-after', '-1')


def test_resample_while_workers_train_is_refused(tool, study, capsys):
    import socket
    import time
    from regnet_plugin.studies.claims import ClaimInfo, process_start_time
    config, work = study
    manifest = json.loads((work / 'manifest.json').read_text())
    key = manifest['models'][0]['key']
    me = os.getpid()
    (work / 'claims' / f'{key}.claim').write_text(ClaimInfo(
        key, me, socket.gethostname(), process_start_time(me), time.time(), 't').to_json())
    other = config.with_name('other.py')
    other.write_text(config.read_text().replace('num_models=1', 'num_models=2'))
    before = (work / 'manifest.json').read_bytes()
    fails_clearly(tool, capsys, [other, 'sample', '--work-dir', work, '--force'],
                  'being trained now', key, f'pid {me}')
    assert (work / 'manifest.json').read_bytes() == before


def test_debug_shows_the_traceback(tool, tmp_path):
    config = tmp_path / 'broken.py'
    config.write_text('study = dict(num_models=undefined_name)\n')
    with pytest.raises(ValueError, match='NameError') as raised:
        tool.main([str(config), 'sample', '--work-dir', str(tmp_path / 's'), '--debug'])
    assert isinstance(raised.value.__cause__, NameError)
