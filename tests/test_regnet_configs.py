"""configs/regnet: one ImageNet config per preset with the paper's full regime.

Checked against independent sources: the regime numbers against the paper
(docs/design.md, Comparing design spaces), the
lr schedule epoch by epoch against pycls' own ``get_epoch_lr``, the built models'
parameter counts against the analytic complexity, and the small presets through a
real training step on the CPU.
"""
from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import torch

from regnet_plugin.design import PRESET_NAMES, complexity, preset_spec

REPO = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO / 'configs' / 'regnet'
CONFIGS = sorted(CONFIG_DIR.glob('*_in1k.py'))
NAME_RE = re.compile(r'(?P<family>regnet[xy])-(?P<size>[\d.]+(mf|gf))_8xb(?P<per_gpu>\d+)_in1k')
SMALL = ('regnetx_200mf', 'regnetx_400mf', 'regnety_200mf', 'regnety_400mf')


def _preset_of(path: Path) -> tuple[str, int]:
    match = NAME_RE.fullmatch(path.stem)
    assert match, f'{path.name} does not follow <family>-<size>_8xb<batch>_in1k.py'
    return f"{match['family']}_{match['size']}", int(match['per_gpu'])


def _paper_total_batch(preset: str) -> int:
    """Paper Section 5: 1024 up to 1.6GF, 512 for 3.2-16GF, 256 for 32GF."""
    size = preset.split('_')[1]
    gflops = float(size[:-2]) / (1000 if size.endswith('mf') else 1)
    return 1024 if gflops <= 1.6 else 512 if gflops <= 16 else 256


@pytest.fixture(scope='module')
def configs():
    from mmengine.config import Config
    return {path: Config.fromfile(str(path)) for path in CONFIGS}


def test_one_config_per_preset():
    assert sorted(_preset_of(p)[0] for p in CONFIGS) == sorted(PRESET_NAMES)


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.stem)
def test_config_has_the_papers_full_regime(configs, path):
    cfg = configs[path]
    preset, per_gpu = _preset_of(path)
    total = _paper_total_batch(preset)
    assert cfg.custom_imports == dict(imports=['regnet_plugin'], allow_failed_imports=False)
    assert cfg.default_scope == 'mmpretrain'
    backbone = cfg.model.backbone
    assert backbone.type == ('RegNetY' if preset.startswith('regnety') else 'RegNetX')
    assert backbone.arch == preset
    assert backbone.zero_init_residual is False    # pycls: BN.ZERO_INIT_FINAL_GAMMA False
    assert cfg.model.head.in_channels == preset_spec(preset).widths[-1]
    assert cfg.model.head.num_classes == 1000
    assert cfg.train_dataloader.batch_size == per_gpu == total // 8
    optimizer = cfg.optim_wrapper.optimizer
    assert optimizer.type == 'SGD'
    assert optimizer.lr == pytest.approx(0.1 * total / 128)
    assert (optimizer.momentum, optimizer.weight_decay) == (0.9, 5e-5)
    assert cfg.train_cfg.max_epochs == 100
    assert cfg.auto_scale_lr.base_batch_size == total
    # pycls' pixel statistics, BGR (as pycls reads images with OpenCV)
    assert cfg.data_preprocessor.to_rgb is False
    assert cfg.data_preprocessor.mean == pytest.approx([0.406 * 255, 0.456 * 255,
                                                        0.485 * 255])
    assert cfg.data_preprocessor.std == pytest.approx([0.225 * 255, 0.224 * 255,
                                                       0.229 * 255])


def test_lr_schedule_equals_pycls_epoch_by_epoch(configs):
    """mmengine's chained LinearLR x CosineAnnealingLR reproduce pycls' get_epoch_lr."""
    from mmengine.registry import PARAM_SCHEDULERS
    from pycls.core import optimizer as pycls_optimizer
    from pycls.core.config import cfg as pycls_cfg

    cfg = configs[CONFIG_DIR / 'regnetx-400mf_8xb128_in1k.py']
    base_lr = cfg.optim_wrapper.optimizer.lr
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=base_lr)
    schedulers = [PARAM_SCHEDULERS.build(dict(s, optimizer=optimizer))
                  for s in copy.deepcopy(cfg.param_scheduler)]
    ours = []
    for _ in range(cfg.train_cfg.max_epochs):
        ours.append(optimizer.param_groups[0]['lr'])
        for scheduler in schedulers:
            scheduler.step()

    saved = copy.deepcopy(pycls_cfg)
    pycls_cfg.defrost()
    try:
        pycls_cfg.OPTIM.BASE_LR = base_lr
        pycls_cfg.OPTIM.LR_POLICY = 'cos'
        pycls_cfg.OPTIM.MAX_EPOCH = 100
        pycls_cfg.OPTIM.WARMUP_EPOCHS = 5
        pycls_cfg.OPTIM.WARMUP_FACTOR = 0.1
        reference = [pycls_optimizer.get_epoch_lr(e) for e in range(100)]
    finally:
        pycls_cfg.clear()
        pycls_cfg.update(saved)
    assert ours == pytest.approx(reference, rel=1e-9, abs=1e-12)
    assert ours[0] == pytest.approx(0.08)


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.stem)
def test_model_builds_with_the_papers_parameter_count(configs, path):
    """Built on the meta device (no memory, no init), so even 32GF is instant."""
    import regnet_plugin  # noqa: F401
    from mmpretrain.registry import MODELS
    preset, _ = _preset_of(path)
    with torch.device('meta'):
        model = MODELS.build(configs[path].model)
    params = sum(p.numel() for p in model.parameters())
    assert params == complexity(preset_spec(preset), num_classes=1000).params


@pytest.mark.parametrize('preset', SMALL)
def test_small_presets_take_a_training_step_on_cpu(configs, preset):
    """Config model + data preprocessor + optimizer: one SGD step on 2 tiny images."""
    import regnet_plugin  # noqa: F401
    from mmengine.optim import build_optim_wrapper
    from mmpretrain.registry import MODELS
    from mmpretrain.structures import DataSample
    family, size = preset.split('_')
    path = next(p for p in CONFIGS if p.stem.startswith(f'{family}-{size}_'))
    cfg = configs[path]
    torch.manual_seed(0)
    model = MODELS.build(dict(cfg.model, data_preprocessor=cfg.data_preprocessor))
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    data = dict(inputs=[torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)
                        for _ in range(2)],
                data_samples=[DataSample().set_gt_label(label) for label in (3, 999)])
    log_vars = model.train_step(data, optim_wrapper)
    assert torch.isfinite(log_vars['loss'])
    changed = [k for k, v in model.named_parameters() if not torch.equal(v, before[k])]
    assert 'head.fc.weight' in changed and 'backbone.stem.conv.weight' in changed


def test_runner_builds_from_a_config(tmp_path):
    """Through tools/train.py's library path: hooks (PreciseBN before checkpointing),
    model and scope resolve; the data is only touched when training starts."""
    from regnet_plugin.launch import build_runner, prepare_config
    cfg = prepare_config(str(CONFIG_DIR / 'regnety-200mf_8xb128_in1k.py'),
                         work_dir=str(tmp_path), cfg_options={'log_level': 'WARNING'})
    runner = build_runner(cfg)
    assert type(runner.model.backbone).__name__ == 'RegNetY'
    hooks = [type(h).__name__ for h in runner.hooks]
    assert hooks.index('PreciseBNHook') < hooks.index('CheckpointHook')


@pytest.mark.slow
def test_mmpretrains_get_flops_tool_reads_our_config():
    """MMPretrain's own tools/analysis_tools/get_flops.py (as installed): its params (the
    classifier's) and flops (multiply-adds of backbone and neck, at 224) are the
    analytic ones."""
    import importlib.util
    import os
    import subprocess
    import sys

    tool = (Path(importlib.util.find_spec('mmpretrain').submodule_search_locations[0])
            / '.mim' / 'tools' / 'analysis_tools' / 'get_flops.py')
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO)] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p]),
        OMP_NUM_THREADS='1')
    result = subprocess.run(
        [sys.executable, str(tool), str(CONFIG_DIR / 'regnetx-400mf_8xb128_in1k.py'),
         '--shape', '224'], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    params = re.search(r'Params: ([\d.]+)M', result.stdout)
    flops = re.search(r'Flops: ([\d.]+)G', result.stdout)
    assert params and flops, result.stdout[-2000:]
    # params: the whole classifier (its head included); flops: what runs, extract_feat
    with_head = complexity(preset_spec('regnetx_400mf'), img_size=224, num_classes=1000)
    backbone = complexity(preset_spec('regnetx_400mf'), img_size=224, num_classes=0)
    assert float(params[1]) == pytest.approx(with_head.params / 1e6, abs=0.001)
    assert float(flops[1]) == pytest.approx(backbone.flops / 1e9, rel=0.02), result.stdout[-300:]
