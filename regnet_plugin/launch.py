"""Turn a config plus command-line options into a ready mmengine Runner, and start
distributed runs that also work on machines without a GPU.

``tools/train.py`` and ``tools/test.py`` are thin wrappers over :func:`prepare_config`
and :func:`build_runner`. The Runner takes its registry scope from the config's
``default_scope``, so the same code runs MMPretrain classifiers and MMDetection
detectors.

Why the CPU path exists: mmengine's ``pytorch``/``slurm`` launchers call
``torch.cuda.set_device`` (fails with "Found no NVIDIA driver"), and its default
DDP wrapper passes ``device_ids=[LOCAL_RANK]``, which a CPU module refuses. Without
CUDA we therefore initialise the process group ourselves with the gloo backend (the
Runner then skips its own initialisation) and wrap the model in
``MMDistributedDataParallel(device_ids=None)``.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
from typing import Any, Mapping

import torch
import torch.distributed as dist
from mmengine.config import Config, DictAction

LAUNCHERS: tuple[str, ...] = ('none', 'pytorch', 'slurm')
DEFAULT_MASTER_PORT = 29500
#: The DDP wrapper that works for modules on the CPU: mmengine's default one
#: (``Runner.wrap_model``: buffers not broadcast, so BN statistics stay per replica)
#: without device ids. ``find_unused_parameters`` comes from the config, as there.
CPU_MODEL_WRAPPER_CFG: dict[str, Any] = dict(type='MMDistributedDataParallel',
                                             device_ids=None, broadcast_buffers=False)


def _check_launcher(launcher: str) -> str:
    if launcher not in LAUNCHERS:
        raise ValueError(f'launcher must be one of {LAUNCHERS}, got {launcher!r}')
    return launcher


def _slurm_environment() -> dict[str, str]:
    """RANK/WORLD_SIZE/LOCAL_RANK/MASTER_ADDR/MASTER_PORT from the SLURM variables."""
    missing = [v for v in ('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST')
               if v not in os.environ]
    if missing:
        raise RuntimeError(f'--launcher slurm needs the SLURM variables {missing}; '
                           f'run it under srun (see tools/slurm_train.sh)')
    env = {'RANK': os.environ['SLURM_PROCID'],
           'WORLD_SIZE': os.environ['SLURM_NTASKS'],
           'LOCAL_RANK': os.environ.get('SLURM_LOCALID', '0')}
    if 'MASTER_ADDR' not in os.environ:
        env['MASTER_ADDR'] = subprocess.check_output(
            ['scontrol', 'show', 'hostname', os.environ['SLURM_NODELIST']],
            text=True).split()[0]
    env.setdefault('MASTER_PORT', os.environ.get('MASTER_PORT', str(DEFAULT_MASTER_PORT)))
    return env


def init_cpu_process_group(launcher: str) -> None:
    """Initialise torch.distributed with gloo from the launcher's environment.

    ``pytorch`` (torchrun) already exports RANK, WORLD_SIZE, MASTER_ADDR/PORT;
    ``slurm`` gets them derived from the SLURM variables. A group that already exists
    is left alone.
    """
    _check_launcher(launcher)
    if launcher == 'none' or (dist.is_available() and dist.is_initialized()):
        return
    if launcher == 'slurm':
        os.environ.update(_slurm_environment())
    missing = [v for v in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT')
               if v not in os.environ]
    if missing:
        raise RuntimeError(f'--launcher {launcher} needs the environment variables '
                           f'{missing}; start it with torchrun (tools/dist_train.sh)')
    dist.init_process_group(backend='gloo')


def setup_launcher(cfg: Config, launcher: str) -> Config:
    """Record the launcher in ``cfg``; without CUDA, start gloo and use a CPU DDP wrapper.

    With CUDA nothing else changes: the Runner initialises NCCL itself as usual.
    Without a ``model_wrapper_cfg`` the CPU gets mmengine's default wrapper (see
    :data:`CPU_MODEL_WRAPPER_CFG`); one the config has is used as mmengine uses it
    (its missing options take DDP's defaults), its ``device_ids`` forced to None on
    the CPU (any other value cannot work there).
    """
    cfg.launcher = _check_launcher(launcher)
    if launcher == 'none' or torch.cuda.is_available():
        return cfg
    init_cpu_process_group(launcher)
    wrapper = cfg.get('model_wrapper_cfg')
    if wrapper:
        wrapper = {'type': CPU_MODEL_WRAPPER_CFG['type'], **wrapper}
    else:
        wrapper = dict(CPU_MODEL_WRAPPER_CFG,
                       find_unused_parameters=cfg.get('find_unused_parameters', False))
    cfg.model_wrapper_cfg = {**wrapper, 'device_ids': None}
    return cfg


def enable_amp(cfg: Config) -> Config:
    """Switch the optimizer wrapper to mmengine's AmpOptimWrapper (dynamic loss scale).

    mmengine's AMP wrapper needs a GPU (or NPU/MLU/MUSA); on a CPU-only machine this
    fails early with a clear message instead of deep inside the Runner.
    """
    if not torch.cuda.is_available():
        raise RuntimeError('--amp needs a CUDA device: mmengine\'s AmpOptimWrapper does '
                           'not run on the CPU')
    optim_wrapper = cfg.get('optim_wrapper')
    if optim_wrapper is None:
        raise RuntimeError('--amp: the config has no optim_wrapper to switch to AMP')
    if optim_wrapper.get('type', 'OptimWrapper') == 'AmpOptimWrapper':
        return cfg
    if optim_wrapper.get('type', 'OptimWrapper') != 'OptimWrapper':
        raise RuntimeError(f"--amp only switches a plain OptimWrapper, the config has "
                           f"{optim_wrapper['type']!r}")
    optim_wrapper.type = 'AmpOptimWrapper'
    optim_wrapper.setdefault('loss_scale', 'dynamic')
    return cfg


def default_work_dir(config_path: str) -> str:
    """./work_dirs/<config name>, as the toolboxes' own tools do."""
    return os.path.join('./work_dirs', os.path.splitext(os.path.basename(config_path))[0])


def prepare_config(config_path: str, work_dir: str | None = None,
                   cfg_options: dict[str, Any] | None = None, launcher: str = 'none',
                   amp: bool = False, resume: str | bool | None = None,
                   auto_scale_lr: bool = False, load_from: str | None = None) -> Config:
    """Load ``config_path`` and apply the command-line options (no process group yet).

    ``resume``: True/'auto' resumes from the latest checkpoint in the work dir, a path
    resumes from that checkpoint, None/False starts afresh.
    ``work_dir`` wins over the config's, which wins over ./work_dirs/<config name>.
    """
    _check_launcher(launcher)
    if not os.path.isfile(config_path):
        raise FileNotFoundError(f'no config file at {config_path!r}')
    try:
        cfg = Config.fromfile(config_path)
    except Exception as exc:  # noqa: BLE001  (any error in the user's config file)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ''
        raise ValueError(f'cannot load config {config_path}: {type(exc).__name__}: '
                         f'{first}') from exc
    if cfg_options:
        try:
            cfg.merge_from_dict(cfg_options)
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f'--cfg-options {cfg_options}: cannot apply to the config '
                             f'({type(exc).__name__}: {exc})') from exc
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = default_work_dir(config_path)
    if amp:
        enable_amp(cfg)
    if resume in (True, 'auto'):
        cfg.resume = True
        cfg.load_from = None
    elif resume:
        cfg.resume = True
        cfg.load_from = resume
    if load_from is not None:
        cfg.load_from = load_from
    if auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise RuntimeError('--auto-scale-lr: the config has no '
                               'auto_scale_lr=dict(base_batch_size=...)')
        cfg.auto_scale_lr.enable = True
    return cfg


class CfgOptionsAction(DictAction):
    """mmengine's ``--cfg-options`` action, with a usage error (exit 2) for an entry that
    is not KEY=VALUE (mmengine's own raises 'not enough values to unpack')."""

    def __call__(self, parser, namespace, values, option_string=None):
        for entry in values:
            key, sep, _ = entry.partition('=')
            if not sep or not key.strip():
                raise argparse.ArgumentError(
                    self, f'expected KEY=VALUE entries (e.g. train_cfg.max_epochs=10), '
                          f'got {entry!r}')
        super().__call__(parser, namespace, values, option_string)


class CheckpointMismatch(ValueError):
    """A checkpoint whose tensors do not fit the model (missing/unexpected/mis-shaped)."""


#: How many key names an error message lists of each kind.
LISTED_KEYS = 5


def _listed(keys: list[str]) -> str:
    more = f' and {len(keys) - LISTED_KEYS} more' if len(keys) > LISTED_KEYS else ''
    return ', '.join(keys[:LISTED_KEYS]) + more


def checkpoint_state_dict(checkpoint: Any) -> dict[str, Any]:
    """The tensors mmengine's ``load_checkpoint`` would load: ``checkpoint['state_dict']``
    (or the whole dict), ``module.`` prefixes removed (its default ``revise_keys``)."""
    if not isinstance(checkpoint, Mapping):
        raise CheckpointMismatch(f'a checkpoint must be a dict of tensors, got '
                                 f'{type(checkpoint).__name__}')
    state_dict = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state_dict, Mapping):
        raise CheckpointMismatch(f"the checkpoint's state_dict is a "
                                 f'{type(state_dict).__name__}, not a dict of tensors')
    return {re.sub(r'^module\.', '', k): v for k, v in state_dict.items()}


def read_checkpoint(checkpoint_path: str) -> dict[str, Any] | None:
    """The state dict mmengine would load from ``checkpoint_path`` (None for a URL,
    left to mmengine). A path that is not a readable checkpoint (missing, a directory,
    empty, a text file, truncated) raises a one-line ValueError saying which."""
    if '://' in str(checkpoint_path):
        return None
    from .convert.checkpoint import load_checkpoint_file   # one-line read errors
    return checkpoint_state_dict(load_checkpoint_file(checkpoint_path))


def state_dict_as_loaded(model: torch.nn.Module,
                         state_dict: Mapping[str, Any]) -> dict[str, Any]:
    """``state_dict`` under the names ``model`` loads it by: a copy with every module's
    load-state-dict pre-hooks applied, parents first, as torch's and mmengine's loaders
    apply them before matching keys (``AnyNet`` renames MMPretrain's/MMDetection's
    ResNet-style keys there, so their ResNe(X)t and RegNet checkpoints fit). Pre-hooks
    may only edit the state dict they are given (torch's contract for them)."""
    renamed = dict(state_dict)
    for name, module in model.named_modules():
        prefix = f'{name}.' if name else ''
        for hook in module._load_state_dict_pre_hooks.values():
            hook(renamed, prefix, {}, True, [], [], [])
    return renamed


def check_checkpoint_fits(model: torch.nn.Module, state_dict: Mapping[str, Any] | None,
                          checkpoint_path: str, allow_partial: bool = False) -> list[str]:
    """Refuse a checkpoint (``read_checkpoint``) that does not fit ``model`` before the
    Runner loads it.

    mmengine loads ``load_from`` non-strictly and only logs what did not fit, so a
    checkpoint of another architecture (a ResNet-18, another RegNet size) used to be
    evaluated at chance level with exit status 0. Missing keys, unexpected keys and
    shape mismatches raise :class:`CheckpointMismatch` naming the first few of each;
    with ``allow_partial`` they are returned (one line each) for the caller to report.
    """
    if state_dict is None:
        return []
    model = getattr(model, 'module', model)      # DDP and other wrappers
    state_dict = state_dict_as_loaded(model, state_dict)
    expected = model.state_dict()
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    mis_shaped = [f'{k} {tuple(state_dict[k].shape)} vs model {tuple(v.shape)}'
                  for k, v in expected.items()
                  if k in state_dict and hasattr(state_dict[k], 'shape')
                  and tuple(state_dict[k].shape) != tuple(v.shape)]
    problems = [f'{len(keys)} {kind}: {_listed(keys)}' for kind, keys in (
        ('missing keys', missing), ('unexpected keys', unexpected),
        ('mis-shaped tensors', mis_shaped)) if keys]
    if problems and not allow_partial:
        raise CheckpointMismatch(
            f'checkpoint {checkpoint_path!r} does not fit the model '
            f'({type(model).__name__}, {len(expected)} tensors): ' + '; '.join(problems) +
            '. It is probably of another architecture; pass --allow-partial to load '
            'what fits on purpose')
    return problems


def build_runner(cfg: Config):
    """The Runner for ``cfg`` (set up for ``cfg.launcher`` first, see :func:`setup_launcher`).

    Imports ``regnet_plugin`` so our models are registered whatever the config imports;
    a config with ``runner_type`` gets that Runner class, as in the toolboxes' tools.
    """
    import regnet_plugin  # noqa: F401  (registers our models, allow-lists checkpoints)
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    setup_launcher(cfg, cfg.get('launcher', 'none'))
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)
