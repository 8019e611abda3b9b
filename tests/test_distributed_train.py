"""Two-process CPU training through tools/dist_train.sh -> torchrun -> tools/train.py,
then tools/test.py on the checkpoint it wrote.

Checks what data-parallel training promises: both replicas end with identical
parameters, which differ from the initial ones (training happened), the model was
wrapped in MMDistributedDataParallel over a 2-process gloo group (with mmengine's
default options: buffers not broadcast, no unused-parameter search), and the checkpoint
rank 0 wrote holds the same parameters. BN running statistics stay per replica (no
SyncBN, no buffer broadcast), so only parameters are compared.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]

HOOK_MODULE = '''
"""Test helper: each rank dumps its parameters before and after training."""
import os
import torch
import torch.distributed as dist
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


@HOOKS.register_module()
class RankParametersHook(Hook):
    def before_train(self, runner):
        self._dump(runner, 'before')

    def after_train(self, runner):
        self._dump(runner, 'after')

    def _dump(self, runner, when):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        rank = dist.get_rank() if dist.is_initialized() else 0
        torch.save({
            'params': {k: v.detach().clone() for k, v in model.named_parameters()},
            'wrapper': type(runner.model).__name__,
            'broadcast_buffers': getattr(runner.model, 'broadcast_buffers', None),
            'find_unused_parameters': getattr(runner.model, 'find_unused_parameters',
                                              None),
            'backend': dist.get_backend() if dist.is_initialized() else None,
            'world_size': dist.get_world_size() if dist.is_initialized() else 1,
        }, os.path.join(runner.work_dir, f'{when}_rank{rank}.pth'))
'''

CONFIG = '''
_base_ = ['mmpretrain::_base_/default_runtime.py']
custom_imports = dict(imports=['regnet_plugin', 'rank_parameters_hook'],
                      allow_failed_imports=False)
model = dict(
    type='ImageClassifier',
    backbone=dict(type='RegNetY', arch='regnety_200mf'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=2, in_channels={in_channels},
              loss=dict(type='CrossEntropyLoss')))
data_preprocessor = dict(num_classes=2, mean=[127.5] * 3, std=[64.0] * 3, to_rgb=True)
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='CustomDataset', data_root={data_root!r},
                 pipeline=[dict(type='LoadImageFromFile'),
                           dict(type='RandomFlip', prob=0.5, direction='horizontal'),
                           dict(type='PackInputs')]))
train_cfg = dict(by_epoch=False, max_iters=3)
test_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='CustomDataset', data_root={data_root!r},
                 pipeline=[dict(type='LoadImageFromFile'), dict(type='PackInputs')]))
test_evaluator = dict(type='Accuracy', topk=(1,))
test_cfg = dict()
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-5))
param_scheduler = []
default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=3),
                     logger=dict(type='LoggerHook', interval=1))
custom_hooks = [dict(type='RankParametersHook')]
env_cfg = dict(cudnn_benchmark=False, mp_cfg=dict(mp_start_method='fork'),
               dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
'''


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _write_dataset(root: Path, per_class: int = 4, size: int = 32) -> None:
    """An ImageNet-style folder tree (one folder per class) of random PNGs."""
    from PIL import Image
    rng = np.random.default_rng(0)
    for label in ('class_a', 'class_b'):
        (root / label).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / label / f'{i}.png')


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    """The tiny dataset, the hook module and the config, shared by both tests."""
    from regnet_plugin.design import preset_spec
    root = tmp_path_factory.mktemp('tiny_regnety')
    _write_dataset(root / 'data')
    (root / 'rank_parameters_hook.py').write_text(HOOK_MODULE)
    config = root / 'regnety_200mf_tiny.py'
    config.write_text(CONFIG.format(in_channels=preset_spec('regnety_200mf').widths[-1],
                                    data_root=str(root / 'data')))
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(_free_port()),
               OMP_NUM_THREADS='1', CUDA_VISIBLE_DEVICES='',
               PYTHONPATH=os.pathsep.join([str(root), str(REPO),
                                           os.environ.get('PYTHONPATH', '')]))
    return root, config, env


@pytest.mark.slow
def test_two_cpu_replicas_end_with_identical_weights(workspace):
    tmp_path, config, env = workspace
    work_dir = tmp_path / 'work'
    result = subprocess.run(
        ['bash', str(REPO / 'tools' / 'dist_train.sh'), str(config), '2',
         '--work-dir', str(work_dir)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]

    dumps = {(when, rank): torch.load(work_dir / f'{when}_rank{rank}.pth',
                                      weights_only=True)
             for when in ('before', 'after') for rank in (0, 1)}
    for dump in dumps.values():
        assert dump['wrapper'] == 'MMDistributedDataParallel'
        assert (dump['broadcast_buffers'], dump['find_unused_parameters']) == (False, False)
        assert (dump['backend'], dump['world_size']) == ('gloo', 2)
    after0, after1 = dumps['after', 0]['params'], dumps['after', 1]['params']
    assert after0.keys() == after1.keys()
    different = [k for k in after0 if not torch.equal(after0[k], after1[k])]
    assert not different, f'replicas diverged in {different[:5]}'
    before0 = dumps['before', 0]['params']
    assert any(not torch.equal(before0[k], after0[k]) for k in after0), 'nothing trained'

    import regnet_plugin  # noqa: F401  (allow-lists mmengine's checkpoint contents)
    checkpoint = torch.load(work_dir / 'iter_3.pth', map_location='cpu',
                            weights_only=True)
    saved = checkpoint['state_dict']
    assert all(torch.equal(saved[k], after0[k]) for k in after0)


@pytest.mark.slow
def test_tools_test_evaluates_a_checkpoint_in_our_format(workspace):
    """tools/test.py loads a ``{'state_dict', 'meta'}`` checkpoint (the converter's
    format) into the config's model, evaluates and dumps one prediction per image."""
    import pickle

    import regnet_plugin  # noqa: F401
    from mmengine.config import Config
    from mmpretrain.registry import MODELS
    tmp_path, config, env = workspace
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(str(config), import_custom_modules=False).model)
    checkpoint = tmp_path / 'ours.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, checkpoint)
    predictions = tmp_path / 'predictions.pkl'
    result = subprocess.run(
        [sys.executable, str(REPO / 'tools' / 'test.py'), str(config), str(checkpoint),
         '--work-dir', str(tmp_path / 'test_work'), '--out', str(predictions)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    assert 'accuracy/top1' in result.stdout + result.stderr
    with open(predictions, 'rb') as f:
        dumped = pickle.load(f)
    assert len(dumped) == 8                      # one prediction per image
    assert sorted(int(p['gt_label']) for p in dumped) == [0] * 4 + [1] * 4


def _tools_test_module():
    import importlib.util
    spec = importlib.util.spec_from_file_location('tools_test', REPO / 'tools' / 'test.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def test_only_config(workspace):
    """The workspace config without anything for training (no optim_wrapper...)."""
    from mmengine.config import Config
    root, config, _ = workspace
    cfg = Config.fromfile(str(config), import_custom_modules=False)
    for key in ('optim_wrapper', 'param_scheduler', 'train_dataloader', 'train_cfg',
                'custom_hooks', 'custom_imports'):
        cfg.pop(key, None)
    cfg.custom_imports = dict(imports=['regnet_plugin'], allow_failed_imports=False)
    cfg.test_cfg = dict(type='TestLoop')
    path = root / 'regnety_200mf_test_only.py'
    cfg.dump(str(path))
    return path


def test_tools_test_amp_sets_test_cfg_fp16(test_only_config, tmp_path):
    """--amp turns on the test loop's autocast (test_cfg.fp16), which is what a test
    run uses; it needs no optim_wrapper and no GPU to configure."""
    tools_test = _tools_test_module()
    common = [str(test_only_config), str(tmp_path / 'ckpt.pth'),
              '--work-dir', str(tmp_path)]
    cfg = tools_test.make_config(tools_test.parse_args(common + ['--amp']))
    assert 'optim_wrapper' not in cfg
    assert cfg.test_cfg == dict(type='TestLoop', fp16=True)   # other keys kept
    assert cfg.load_from == str(tmp_path / 'ckpt.pth')
    cfg = tools_test.make_config(tools_test.parse_args(common))
    assert 'fp16' not in cfg.test_cfg
    cfg = tools_test.make_config(tools_test.parse_args(
        common + ['--amp', '--cfg-options', 'test_cfg=None']))
    assert cfg.test_cfg == dict(fp16=True)


@pytest.mark.slow
def test_tools_test_amp_runs_without_an_optim_wrapper(workspace, test_only_config):
    """End to end on the CPU (autocast to bfloat16 there) with a test-only config."""
    import regnet_plugin  # noqa: F401
    from mmengine.config import Config
    from mmpretrain.registry import MODELS
    tmp_path, _, env = workspace
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(str(test_only_config)).model)
    checkpoint = tmp_path / 'ours_amp.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, checkpoint)
    result = subprocess.run(
        [sys.executable, str(REPO / 'tools' / 'test.py'), str(test_only_config),
         str(checkpoint), '--amp', '--work-dir', str(tmp_path / 'test_amp_work')],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    assert 'accuracy/top1' in result.stdout + result.stderr


def test_prepare_config_applies_the_command_line(workspace, monkeypatch):
    """--work-dir, --resume (auto or a path), --cfg-options; bad launcher/--amp on CPU."""
    from regnet_plugin.launch import prepare_config, setup_launcher
    root, config, _ = workspace
    monkeypatch.syspath_prepend(str(root))       # the config imports the hook module
    cfg = prepare_config(str(config), cfg_options={'train_cfg.max_iters': 7})
    assert cfg.work_dir == './work_dirs/regnety_200mf_tiny'
    assert cfg.train_cfg.max_iters == 7 and cfg.get('resume', False) is False
    cfg = prepare_config(str(config), work_dir='/tmp/w', resume='auto')
    assert (cfg.work_dir, cfg.resume, cfg.load_from) == ('/tmp/w', True, None)
    cfg = prepare_config(str(config), resume='/tmp/w/iter_3.pth')
    assert (cfg.resume, cfg.load_from) == (True, '/tmp/w/iter_3.pth')
    with pytest.raises(ValueError, match=r"launcher must be one of \('none', 'pytorch', "
                                         r"'slurm'\), got 'mpi'"):
        prepare_config(str(config), launcher='mpi')
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match='--amp needs a CUDA device'):
            prepare_config(str(config), amp=True)
        # without a GPU and without a launcher nothing distributed is set up
        cfg = setup_launcher(prepare_config(str(config)), 'none')
        assert 'model_wrapper_cfg' not in cfg


def test_cpu_ddp_wrapper_has_mmengines_defaults(workspace, monkeypatch):
    """Without CUDA, setup_launcher builds mmengine's default DDP wrapper
    (Runner.wrap_model: broadcast_buffers=False, find_unused_parameters from the config)
    minus device ids; a config's own wrapper is kept (device_ids forced to None)."""
    from regnet_plugin import launch
    root, config, _ = workspace
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(launch, 'init_cpu_process_group', lambda launcher: None)
    cfg = launch.setup_launcher(launch.prepare_config(str(config)), 'pytorch')
    assert cfg.model_wrapper_cfg == dict(type='MMDistributedDataParallel', device_ids=None,
                                         broadcast_buffers=False,
                                         find_unused_parameters=False)
    cfg = launch.prepare_config(str(config), cfg_options={'find_unused_parameters': True})
    assert launch.setup_launcher(cfg, 'pytorch').model_wrapper_cfg.find_unused_parameters
    own = dict(type='MMDistributedDataParallel', device_ids=[0], static_graph=True)
    cfg = launch.prepare_config(str(config), cfg_options={'model_wrapper_cfg': own})
    assert launch.setup_launcher(cfg, 'slurm').model_wrapper_cfg == dict(
        own, device_ids=None)
