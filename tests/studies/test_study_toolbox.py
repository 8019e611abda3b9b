"""Studies through the toolbox: DesignSpaceDataset with the distributed sampler, the
EDFHook in a real Runner (LocalVisBackend and TensorboardVisBackend), and a real
study run through the CLI killed with SIGKILL mid-way, then resumed."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import torch

from regnet_plugin.studies.claims import ClaimBook, pid_alive
from regnet_plugin.studies.hooks import EDFHook, NonFiniteLossError
from regnet_plugin.studies.layout import StudyDir
from regnet_plugin.studies.manifest import ConfigMismatch, Manifest
from regnet_plugin.studies.results import ResultStore
from regnet_plugin.studies.trainers import diagnose
from study_helpers import starts_per_key

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / 'configs' / 'studies' / 'demo_digits.py'
TOOL = ROOT / 'tools' / 'sample_space.py'

TINY = f"""
_base_ = [{str(DEMO)!r}]
study = dict(num_models={{n}}, train=dict(workers=1, launch='fork', torch_threads=1),
             analysis=dict(bootstrap_reps=500, width_fit_models=2){{study_extra}})
train_cfg = dict(max_epochs={{epochs}}, val_interval=1)
param_scheduler = [dict(type='CosineAnnealingLR', T_max={{epochs}}, by_epoch=True,
                        begin=0, end={{epochs}}, convert_to_iter_based=True)]
train_dataloader = dict(dataset=dict(indices=1024))
val_dataloader = dict(dataset=dict(indices=180))
"""


def tiny_config(tmp_path: Path, n: int = 2, name: str = 'tiny.py', epochs: int = 2,
                study_extra: str = '', extra: str = '') -> Path:
    """The demo config, shrunk: n models per space, a data subset, few epochs."""
    path = tmp_path / name
    path.write_text(TINY.format(n=n, epochs=epochs, study_extra=study_extra) + extra)
    return path


# -- DesignSpaceDataset ---------------------------------------------------------------
def test_dataset_is_split_across_ranks_by_the_default_sampler():
    from mmengine.dataset import DefaultSampler
    from mmpretrain.registry import DATASETS
    regime = dict(min_flops=2e6, max_flops=4e6, img_size=32, num_classes=10)
    dataset = DATASETS.build(dict(type='DesignSpaceDataset', space='RegNetY',
                                  num_samples=9, regime=regime, seed=3))
    assert len(dataset) == 9
    item = dataset[0]
    assert {'key', 'id', 'spec', 'complexity', 'space_params'} <= set(item)
    assert 2e6 <= item['complexity']['flops'] <= 4e6
    assert item['key'] == f"RegNetY-{item['id']}" and item['space_params']['se_ratio'] == 0.25
    shares = []
    for rank in (0, 1):
        with mock.patch('mmengine.dataset.sampler.get_dist_info', return_value=(rank, 2)):
            sampler = DefaultSampler(dataset, shuffle=True, seed=0, round_up=False)
        shares.append([dataset[i]['id'] for i in sampler])
    assert len(shares[0]) == 5 and len(shares[1]) == 4
    assert not set(shares[0]) & set(shares[1])
    assert set(shares[0]) | set(shares[1]) == {dataset[i]['id'] for i in range(9)}
    # the same population as the study's own sampling, and reproducible
    again = DATASETS.build(dict(type='DesignSpaceDataset', space='RegNetY',
                                num_samples=9, regime=regime, seed=3))
    assert [again[i]['id'] for i in range(9)] == [dataset[i]['id'] for i in range(9)]


def test_dataset_bad_input():
    from mmpretrain.registry import DATASETS
    with pytest.raises(ValueError, match='unknown design space'):
        DATASETS.build(dict(type='DesignSpaceDataset', space='AnyNetX_F', num_samples=2))
    with pytest.raises(ValueError, match='impossible regime'):
        DATASETS.build(dict(type='DesignSpaceDataset', space='RegNetX', num_samples=2,
                            regime=dict(max_flops=10, img_size=32), max_draws=5000))


# -- EDFHook --------------------------------------------------------------------------
def test_edf_hook_records_result_and_logs_to_local_and_tensorboard(tmp_path):
    pytest.importorskip('tensorboard')
    from mmengine.config import Config
    from mmengine.runner import Runner

    from regnet_plugin.studies.study import sample_study
    study_dir = tmp_path / 'study'
    manifest = sample_study(tiny_config(tmp_path, n=1), study_dir, log=lambda m: None)
    key = manifest.keys()[0]
    cfg = Config.fromfile(str(StudyDir(study_dir).model_config(key)))
    cfg.visualizer = dict(type='UniversalVisualizer', vis_backends=[
        dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')])
    cfg.train_cfg.max_epochs = 1
    torch.set_num_threads(1)
    runner = Runner.from_cfg(cfg)
    import matplotlib.image as mpimg
    with mock.patch.object(mpimg, 'imread', side_effect=AssertionError('PNG read back')):
        runner.train()             # the EDF image goes to the visualizer as an array

    result = ResultStore(StudyDir(study_dir).results).load(key)
    assert result.status == 'done' and 0 <= result.final_error < 100
    assert result.best_error == min(result.history) and len(result.history) == 1
    live = json.loads((study_dir / 'analysis' / 'live' / 'summary.json').read_text())
    assert live['counts'][manifest.models[0].space]['finished'] == 1

    vis_data = Path(runner.log_dir) / 'vis_data'
    logged = mpimg.imread(vis_data / 'vis_image' / 'study_edf_1.png')
    written = mpimg.imread(study_dir / 'analysis' / 'live' / 'edf.png')[..., :3]
    assert np.array_equal(logged, written)    # the pixels of the PNG written for people
    scalars = [json.loads(line) for line in (vis_data / 'scalars.json').read_text()
               .splitlines()]
    assert any(s.get('study/finished') == 1.0 for s in scalars)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = EventAccumulator(str(vis_data)).Reload()
    assert 'study_edf' in events.Tags()['images']
    assert 'study/finished' in events.Tags()['scalars']


def test_edf_hook_stops_on_nan_loss_and_reason_is_diagnosed(tmp_path):
    hook = EDFHook(str(tmp_path), 'RegNetX-abc')
    runner = mock.Mock(iter=41, epoch=2)
    hook.after_train_iter(runner, 0, outputs={'loss': torch.tensor(0.5)})
    with pytest.raises(NonFiniteLossError, match='iteration 42'):
        hook.after_train_iter(runner, 0, outputs={'loss': torch.tensor(float('nan'))})
    log = 'Traceback...\nregnet_plugin.studies.hooks.NonFiniteLossError: loss became NaN'
    assert diagnose(1, log, False, None).startswith('loss became NaN or infinite')
    assert diagnose(-9, 'Epoch(train) [1]', False, None).startswith('killed by SIGKILL')
    assert diagnose(1, 'RuntimeError: CUDA out of memory.', False, None).startswith(
        'out of memory')
    assert diagnose(None, '', True, 60) == 'timed out after 60 s'
    with pytest.raises(KeyError, match='accuracy/top1'):
        hook.after_val_epoch(runner, {'loss': 1.0})


def test_edf_hook_refreshes_the_live_summary_at_most_every_interval(tmp_path):
    calls = []
    hook = EDFHook(str(tmp_path), 'RegNetX-abc', summary_interval_s=30)
    hook._log_study = lambda runner: calls.append(1)
    runner = mock.Mock(epoch=1, work_dir=str(tmp_path))
    hook.history = [12.0]
    hook.after_train(runner)                       # no summary yet: refresh
    summary = tmp_path / 'analysis' / 'live' / 'summary.json'
    summary.parent.mkdir(parents=True)
    summary.write_text('{}')
    hook.after_train(runner)                       # refreshed a moment ago: skip
    old = time.time() - 31
    os.utime(summary, (old, old))
    hook.after_train(runner)                       # older than the interval: refresh
    assert len(calls) == 2
    every = EDFHook(str(tmp_path), 'RegNetX-abc')  # default 0: after every model
    every._log_study = lambda runner: calls.append(1)
    every.history = [12.0]
    every.after_train(runner)
    assert len(calls) == 3
    with pytest.raises(ValueError, match='summary_interval_s'):
        EDFHook(str(tmp_path), 'RegNetX-abc', summary_interval_s=-1)


def test_model_configs_are_printed_without_yapf(tmp_path):
    """The Runner logs and dumps a model's config three times; yapf formatting took
    ~1.1 s per model (mmengine 0.10's fromfile ignores format_python_code=False)."""
    import copy

    from mmengine.config import Config

    from regnet_plugin.studies import train_one
    from regnet_plugin.studies.study import sample_study
    manifest = sample_study(tiny_config(tmp_path, n=1), tmp_path / 'study', log=lambda m: None)
    path = StudyDir(tmp_path / 'study').model_config(manifest.keys()[0])
    cfg = train_one.setup_launcher(train_one.relocate(train_one.load_config(path),
                                                      str(tmp_path / 'study')), 'none')
    with mock.patch('mmengine.config.config.FormatCode',
                    side_effect=AssertionError('yapf called')):
        text = copy.deepcopy(cfg).pretty_text      # the Runner deep-copies its cfg
    assert Config.fromstring(text, '.py').model.backbone.type == 'AnyNet'


def test_sample_keeps_the_configs_edf_hook_options(tmp_path):
    from mmengine.config import Config

    from regnet_plugin.studies.study import sample_study
    config = tiny_config(tmp_path, n=1, extra="custom_hooks = [dict(type='EDFHook', "
                                              "summary_interval_s=20.0)]\n")
    manifest = sample_study(config, tmp_path / 'study', log=lambda m: None)
    key = manifest.keys()[0]
    cfg = Config.fromfile(str(StudyDir(tmp_path / 'study').model_config(key)))
    hooks = [h for h in cfg.custom_hooks if h['type'] == 'EDFHook']
    assert len(hooks) == 1
    assert hooks[0]['summary_interval_s'] == 20.0 and hooks[0]['model_key'] == key
    assert hooks[0]['study_dir'] == str(StudyDir(tmp_path / 'study').root)


# -- a real study, killed with SIGKILL mid-way, then resumed -------------------------
@pytest.mark.slow
def test_killed_study_resumes_without_retraining_or_losing_results(tmp_path):
    config = tiny_config(tmp_path, n=2)
    work = tmp_path / 'study'
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    command = [sys.executable, str(TOOL), str(config), 'run', '--work-dir', str(work),
               '--no-progress']
    log = open(tmp_path / 'first.log', 'wb')
    first = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    results = work / 'results'
    deadline = time.time() + 240
    while time.time() < deadline and first.poll() is None:
        if results.exists() and list(results.glob('*.json')):
            break
        time.sleep(0.2)
    assert first.poll() is None, (tmp_path / 'first.log').read_text()[-3000:]
    first.send_signal(signal.SIGKILL)
    first.wait()
    log.close()

    finished = [p.stem for p in results.glob('*.json')]
    assert 1 <= len(finished) < 4
    kept = {k: (results / f'{k}.json').read_bytes() for k in finished}
    # workers and training processes die with the driver (no orphan keeps training)
    deadline = time.time() + 20
    while time.time() < deadline:
        holders = ClaimBook(work / 'claims').holders()
        if all(info is None or not pid_alive(info.pid) for info in holders.values()):
            break
        time.sleep(0.2)
    else:
        pytest.fail(f'claim holders still alive after the driver was killed: {holders}')

    second = subprocess.run(command, capture_output=True, text=True, env=env, timeout=400)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert 'already holds this study' in second.stdout
    assert 'report:' in second.stdout

    manifest = Manifest.load(StudyDir(work))
    store = ResultStore(results)
    for key, content in kept.items():             # finished results untouched
        assert (results / f'{key}.json').read_bytes() == content
    starts = starts_per_key(work)
    assert all(starts[k] == 1 for k in kept)       # and never retrained
    errors = [store.load(key).final_error for key in manifest.keys()]
    assert max(errors) < 85 and np.mean(errors) < 60, errors      # chance is 90%
    assert (work / 'analysis' / 'report.md').exists()
    assert (work / 'analysis' / 'edf.png').exists()
    assert not list((work / 'claims').glob('*.claim'))

    # a different config on the same work dir is refused; nothing is lost
    from regnet_plugin.studies.study import sample_study
    other = tiny_config(tmp_path, n=3, name='other.py')
    with pytest.raises(ConfigMismatch, match='different config'):
        sample_study(other, work, log=lambda m: None)
    refused = subprocess.run([sys.executable, str(TOOL), str(other), 'train',
                              '--work-dir', str(work), '--no-progress'],
                             capture_output=True, text=True, env=env, timeout=200)
    assert refused.returncode == 2 and 'different config' in refused.stderr
    forced = sample_study(other, work, force=True, log=lambda m: None)
    assert len(forced.models) == 6 and set(manifest.keys()) <= set(forced.keys())
    assert all(store.load(k).status == 'done' for k in manifest.keys())


@pytest.mark.slow
def test_spawned_model_with_nan_loss_is_recorded_as_failed(tmp_path):
    """The spawn path (a fresh interpreter per model, as on GPU clusters) and the
    NaN-loss check: inputs divided by a zero std make the first loss NaN."""
    from regnet_plugin.studies.schema import TrainOptions
    from regnet_plugin.studies.study import sample_study
    from regnet_plugin.studies.worker import run_worker
    config = tiny_config(tmp_path, n=1, epochs=1, study_extra=", spaces=['RegNetX']",
                         extra='data_preprocessor = dict(std=[0.0, 0.0, 0.0])\n')
    manifest = sample_study(config, tmp_path / 'study', log=lambda m: None)
    report = run_worker(tmp_path / 'study', 'runner',
                        TrainOptions(launch='spawn', torch_threads=1, timeout_s=300),
                        wait_for_others=False)
    key = manifest.keys()[0]
    assert report.failed == [key]
    result = ResultStore(tmp_path / 'study' / 'results').load(key)
    assert result.status == 'failed'
    assert result.reason.startswith('loss became NaN or infinite'), result.reason


# -- a study directory moved or copied elsewhere ---------------------------------------
def test_rebase_paths_moves_only_paths_under_the_old_root():
    from regnet_plugin.studies.layout import rebase_paths
    tree = {'a': '/s/study', 'b': ['/s/study/models/k/work', ('/s/study2/x', 3)],
            'c': {'d': '/s/studyx', 'e': 'not/s/study'}}
    assert rebase_paths(tree, '/s/study', '/t/copy') == {
        'a': '/t/copy', 'b': ['/t/copy/models/k/work', ('/s/study2/x', 3)],
        'c': {'d': '/s/studyx', 'e': 'not/s/study'}}


def test_copied_study_trains_into_the_copy_not_the_original(tmp_path):
    """Model configs hold absolute paths; a copied study (e.g. rsync'd from a cluster)
    must write its work dirs and results into the copy, never into the original."""
    import shutil
    from regnet_plugin.studies.schema import TrainOptions
    from regnet_plugin.studies.study import sample_study
    from regnet_plugin.studies.worker import run_worker
    config = tiny_config(tmp_path, n=1, epochs=1, study_extra=", spaces=['RegNetX']")
    original = tmp_path / 'original'
    manifest = sample_study(config, original, log=lambda m: None)
    copy = tmp_path / 'copy'
    shutil.copytree(original, copy)
    shutil.rmtree(original / 'data')        # the copy must read its own generated data
    report = run_worker(copy, 'runner', TrainOptions(launch='fork', torch_threads=1),
                        wait_for_others=False)
    key = manifest.keys()[0]
    assert report.failed == [], ResultStore(copy / 'results').load(key).reason
    assert ResultStore(copy / 'results').load(key).status == 'done'
    assert list((copy / 'models' / key / 'work').rglob('*.log'))    # the Runner's log
    assert (copy / 'analysis' / 'live' / 'summary.json').exists()
    assert not list((original / 'results').glob('*.json'))
    assert not (original / 'models' / key / 'work').exists()
    assert not (original / 'analysis' / 'live').exists()


# -- reproducibility ---------------------------------------------------------------------
def test_every_model_config_has_its_own_fixed_seed(tmp_path):
    """The toolboxes' default runtime says randomness=dict(seed=None): a study must not
    inherit that (a rerun would train a different model); an explicit seed is kept."""
    from mmengine.config import Config
    from regnet_plugin.studies.study import sample_study
    manifest = sample_study(tiny_config(tmp_path, n=3), tmp_path / 's', log=lambda m: None)
    seeds = [Config.fromfile(str(StudyDir(tmp_path / 's').model_config(k))).randomness.seed
             for k in manifest.keys()]
    assert all(isinstance(seed, int) for seed in seeds) and len(set(seeds)) == len(seeds)
    fixed = tiny_config(tmp_path, n=1, name='fixed.py',
                        extra='randomness = dict(seed=7, deterministic=False)\n')
    manifest = sample_study(fixed, tmp_path / 'f', log=lambda m: None)
    assert Config.fromfile(str(StudyDir(tmp_path / 'f').model_config(
        manifest.keys()[0]))).randomness.seed == 7


def test_training_a_model_again_reproduces_its_error(tmp_path):
    """Same study config, two study directories: the same model trains to the same
    validation errors, epoch by epoch (one thread: CPU kernels are then deterministic).
    Fresh interpreters (spawn): forks of one process would share numpy's global state
    and so agree even on a seed drawn at random."""
    from regnet_plugin.studies.schema import TrainOptions
    from regnet_plugin.studies.study import sample_study
    from regnet_plugin.studies.worker import run_worker
    config = tiny_config(tmp_path, n=1, epochs=2, study_extra=", spaces=['RegNetX']")
    histories = []
    for name in ('first', 'second'):
        manifest = sample_study(config, tmp_path / name, log=lambda m: None)
        run_worker(tmp_path / name, 'runner', TrainOptions(launch='spawn', torch_threads=1),
                   wait_for_others=False)
        result = ResultStore(tmp_path / name / 'results').load(manifest.keys()[0])
        assert result.status == 'done', result.reason
        histories.append(result.history)
    assert histories[0] == histories[1]


def test_the_make_demo_config_samples_what_its_comments_say(tmp_path):
    """configs/studies/demo_digits_refinement.py overrides demo_digits.py's size in
    every place it is used (regime, data, crop) and keeps its EDFHook interval."""
    from mmengine.config import Config

    from regnet_plugin.studies.study import sample_study
    config = tmp_path / 'demo.py'
    config.write_text(f"_base_ = [{str(ROOT / 'configs/studies/demo_digits_refinement.py')!r}]"
                      f"\nstudy = dict(num_models=1)\n")
    manifest = sample_study(config, tmp_path / 'study', log=lambda m: None)
    assert sorted({m.space for m in manifest.models}) == [
        'AnyNetX_A', 'AnyNetX_C', 'AnyNetX_E', 'RegNetX']
    assert all(0.25e6 <= m.complexity['flops'] <= 0.5e6 for m in manifest.models)
    cfg = Config.fromfile(str(StudyDir(tmp_path / 'study').model_config(manifest.keys()[0])))
    train = cfg.train_dataloader.dataset
    assert train.pipeline[0] == dict(type='RandomCrop', crop_size=16, padding=1)
    assert Path(train.dataset.data_root).name.startswith('digits16')
    assert cfg.val_dataloader.dataset.dataset.data_root == train.dataset.data_root
    from PIL import Image
    first = next((Path(train.dataset.data_root) / 'train').rglob('*.png'))
    assert Image.open(first).size == (16, 16)
    assert cfg.train_cfg.max_epochs == 3 and cfg.model.backbone.channels_last
    assert [h['summary_interval_s'] for h in cfg.custom_hooks if h['type'] == 'EDFHook'] \
        == [20.0]


def test_the_demo_optimizer_takes_torchs_reference_sgd_steps_bit_for_bit():
    """The demo builds its SGD through mmengine with ``fused=True`` (one kernel per
    step, for speed): its steps are bit-identical to torch's per-tensor SGD loop
    with the recipe's hyper-parameters, on a real demo model (same recipe)."""
    import copy

    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper

    import regnet_plugin  # noqa: F401
    from regnet_plugin.models import AnyNet
    cfg = Config.fromfile(str(DEMO))
    torch.manual_seed(0)
    model = AnyNet(arch=dict(stem_width=16, stages=[
        dict(depth=d, width=w, stride=2, bottleneck_ratio=1.0, group_width=8)
        for d, w in ((1, 16), (2, 32), (2, 48), (1, 64))]), channels_last=True,
        conv_cfg=dict(type='SmallMapConv2d'))
    reference = copy.deepcopy(model)
    wrapper = build_optim_wrapper(model, copy.deepcopy(cfg.optim_wrapper))
    assert wrapper.optimizer.defaults['fused'] is True
    options = {k: cfg.optim_wrapper.optimizer[k]
               for k in ('lr', 'momentum', 'weight_decay', 'nesterov')}
    loop = torch.optim.SGD(reference.parameters(), foreach=False, **options)
    gen = torch.Generator().manual_seed(1)
    for _ in range(3):
        x = torch.randn(8, 3, 32, 32, generator=gen)
        for net, step in ((model, wrapper.update_params), (reference, None)):
            loss = sum(o.square().mean() for o in net(x))
            if step is not None:
                step(loss)
            else:
                loop.zero_grad()
                loss.backward()
                loop.step()
    for (name, a), b in zip(reference.named_parameters(), model.parameters()):
        assert torch.equal(a, b), name


# -- fixed costs of a forked study ---------------------------------------------------------
def test_the_driver_warms_up_once_before_forking_its_workers(tmp_path, monkeypatch):
    """launch='fork' with warm_fork: the driver warms up (train_one.warm_up, with the
    config of the first model left to train) before it forks its workers, which
    inherit the imports and the decoded data instead of each doing it again."""
    from regnet_plugin.studies import train_one, trainers
    from regnet_plugin.studies.executors import train_study
    from regnet_plugin.studies.results import ModelResult
    from regnet_plugin.studies.study import sample_study
    from regnet_plugin.studies.worker import training_order
    root = tmp_path / 's'
    manifest = sample_study(tiny_config(tmp_path, n=2), root, log=lambda m: None)
    first, second = training_order(manifest.models)[:2]
    ResultStore(root / 'results').write(ModelResult.done(first.key, 5.0))
    calls = []
    monkeypatch.setattr(train_one, 'warm_up', lambda config, study_dir=None: calls.append(
        (os.getpid(), str(config), study_dir)))
    monkeypatch.setattr(trainers.RunnerTrainer, '__call__',     # the workers: no training
                        lambda self, study, entry, options: ModelResult.done(entry.key, 1.0))
    summary = train_study(root, progress=False, log=lambda m: None)
    assert summary.done == 4 and summary.worker_errors == []
    assert calls == [(os.getpid(), str(StudyDir(root).model_config(second.key)), str(root))]


def test_a_warm_fork_gets_the_config_its_parent_parsed(tmp_path, monkeypatch):
    """The warm worker parses a model's config once (for its warm-up) and the forked
    training process uses that Config, rebased onto the study it trains in, instead of
    parsing the file again."""
    import shutil
    from regnet_plugin.studies import train_one, trainers
    from regnet_plugin.studies.schema import TrainOptions
    from regnet_plugin.studies.study import sample_study
    manifest = sample_study(tiny_config(tmp_path, n=1, study_extra=", spaces=['RegNetX']"),
                            tmp_path / 'original', log=lambda m: None)
    root = tmp_path / 'copy'                 # a copy: the config must be rebased onto it
    shutil.copytree(tmp_path / 'original', root)
    path = StudyDir(root).model_config(manifest.keys()[0])
    warmed = []
    monkeypatch.setattr(train_one, 'warm_up', lambda cfg, study_dir=None: warmed.append(cfg))
    seen = tmp_path / 'seen.json'

    def child(config, launcher, log, threads, study_dir):
        fresh = train_one.model_config(path, study_dir).to_dict()
        seen.write_text(json.dumps({'type': type(config).__name__, 'same': (
            config.to_dict() == fresh) if not isinstance(config, str) else None}))
        os._exit(0)

    monkeypatch.setattr(trainers, '_fork_target', child)
    code, timed_out = trainers.RunnerTrainer()._fork(
        path, TrainOptions(launch='fork'), tmp_path / 'log.txt', root)
    assert (code, timed_out) == (0, False)
    assert json.loads(seen.read_text()) == {'type': 'Config', 'same': True}
    assert len(warmed) == 1 and str(root.resolve()) in warmed[0].work_dir
