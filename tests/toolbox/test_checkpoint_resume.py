"""Runner checkpoints resume and load under torch's weights-only torch.load.

mmengine 0.10.7 calls torch.load without weights_only; torch >= 2.6 defaults it to
True. ``import regnet_plugin`` allow-lists exactly what mmengine checkpoints hold.
"""
import io
import subprocess
import sys

import pytest
import torch

import regnet_plugin  # noqa: F401  (installs the allow-list)


def classifier_cfg(data_root, work_dir, max_epochs, **extra):
    from mmengine.config import Config
    pipeline = [dict(type='LoadImageFromFile'), dict(type='Resize', scale=32),
                dict(type='PackInputs')]
    return Config(dict(
        default_scope='mmpretrain',
        work_dir=str(work_dir),
        model=dict(
            type='ImageClassifier',
            data_preprocessor=dict(num_classes=2, mean=[127.5] * 3, std=[64.0] * 3),
            backbone=dict(type='ResNet', depth=18, base_channels=8, out_indices=(3,)),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=2, in_channels=64,
                      loss=dict(type='CrossEntropyLoss'))),
        train_dataloader=dict(
            batch_size=4, num_workers=0,
            dataset=dict(type='CustomDataset', data_root=str(data_root),
                         data_prefix='train', pipeline=pipeline),
            sampler=dict(type='DefaultSampler', shuffle=True)),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9)),
        param_scheduler=dict(type='CosineAnnealingLR', T_max=2, by_epoch=True),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1),
                           logger=dict(type='LoggerHook', interval=1)),
        randomness=dict(seed=0),
        **extra))


@pytest.fixture(scope='module')
def first_epoch(tiny_image_folder, tmp_path_factory):
    """Train one epoch and stop: the work dir then holds epoch_1.pth."""
    from mmengine.runner import Runner
    work_dir = tmp_path_factory.mktemp('resume')
    runner = Runner.from_cfg(classifier_cfg(tiny_image_folder, work_dir, max_epochs=1))
    runner.train()
    assert (work_dir / 'epoch_1.pth').exists()
    return tiny_image_folder, work_dir


def test_plain_torch_load_needs_the_allow_list(first_epoch):
    """Without the plugin the default torch.load refuses mmengine's checkpoint."""
    _, work_dir = first_epoch
    code = ('import torch, sys\n'
            'try:\n'
            f'    torch.load({str(work_dir / "epoch_1.pth")!r})\n'
            'except Exception as e:\n'
            '    print(type(e).__name__, e); sys.exit(3)\n')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert 'Unsupported global' in proc.stdout


def test_allow_list_covers_every_global_of_a_runner_checkpoint(first_epoch):
    _, work_dir = first_epoch
    path = str(work_dir / 'epoch_1.pth')
    code = ('import torch\n'
            f'print(sorted(torch.serialization.get_unsafe_globals_in_checkpoint({path!r})))')
    without_plugin = subprocess.run([sys.executable, '-c', code], capture_output=True,
                                    text=True, check=True).stdout
    assert 'mmengine.logging.history_buffer.HistoryBuffer' in without_plugin
    assert torch.serialization.get_unsafe_globals_in_checkpoint(path) == []
    ckpt = torch.load(path)  # weights_only is the default
    assert ckpt['meta']['epoch'] == 1


def test_resume_continues_and_finishes(first_epoch):
    from mmengine.runner import Runner
    data_root, work_dir = first_epoch
    runner = Runner.from_cfg(
        classifier_cfg(data_root, work_dir, max_epochs=2, resume=True))
    runner.train()
    assert runner.epoch == 2
    iters_per_epoch = len(runner.train_dataloader)
    assert runner.iter == 2 * iters_per_epoch  # the first epoch was not redone
    resumed = torch.load(work_dir / 'epoch_2.pth')
    assert resumed['meta']['epoch'] == 2
    assert 'train/loss' in resumed['message_hub']['log_scalars']


def test_load_from_loads_the_weights(first_epoch, tmp_path):
    from mmengine.runner import Runner
    data_root, work_dir = first_epoch
    ckpt_path = work_dir / 'epoch_1.pth'
    cfg = classifier_cfg(data_root, tmp_path, max_epochs=1, load_from=str(ckpt_path))
    runner = Runner.from_cfg(cfg)
    runner.load_or_resume()
    saved = torch.load(ckpt_path)['state_dict']
    for name, value in runner.model.state_dict().items():
        torch.testing.assert_close(value, saved[name], msg=name)


@pytest.mark.parametrize('owner_attr', [('HistoryBuffer', '__init__'),
                                        ('ndarray', 'tofile')])
def test_weights_only_stays_on_for_anything_else(owner_attr):
    """Only HistoryBuffer's statistics resolve through the narrowed getattr."""
    import numpy as np
    from mmengine.logging.history_buffer import HistoryBuffer
    owner = {'HistoryBuffer': HistoryBuffer, 'ndarray': np.ndarray}[owner_attr[0]]

    class Sneaky:
        def __reduce__(self):
            return getattr, (owner, owner_attr[1])

    buf = io.BytesIO()
    torch.save({'x': Sneaky()}, buf)
    buf.seek(0)
    with pytest.raises(Exception, match='not allowed'):
        torch.load(buf)


class NotAllowListed:
    """Any class outside torch's and our allow-lists."""


def test_arbitrary_classes_are_still_refused():
    buf = io.BytesIO()
    torch.save({'x': NotAllowListed()}, buf)
    buf.seek(0)
    with pytest.raises(Exception, match='Unsupported global'):
        torch.load(buf)
