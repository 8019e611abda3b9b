"""The ``study`` section of a study config, validated (no torch, no mmengine).

A study config is an ordinary MMPretrain training config (model, data, schedule,
runtime: what every sampled model is trained with) plus a ``study`` dict::

    study = dict(
        name='anynetx_a_to_e',
        spaces=['AnyNetX_A', dict(name='RegNetX', label='RegNetX_d<=40',
                                  overrides=dict(depth_range=(1, 40))),
                # a space of the study's own (design.spaces.space_from_config)
                dict(name='AnyNetX_shallow',
                     space=dict(type='AnyNetSpace', depth_range=(1, 4)))],
        num_models=500,                  # per space
        seed=0,
        regime=dict(min_flops=360e6, max_flops=400e6, img_size=224, num_classes=1000),
        analysis=dict(num_bins=10, bootstrap_reps=10_000, ...),   # AnalysisOptions
        # (error_key='best_error': lowest error over epochs, pycls/NDS; or 'final_error')
        train=dict(executor='subprocess', workers=1, gpus_per_model=1, ...),
        data_preparation=dict(type='digits', root='{study_dir}/data/digits32', ...),
    )

``{study_dir}`` in any string of the config is replaced by the study directory when
the per-model configs are written. ``study.train`` only says *how* to run (executor,
workers...): it is not part of the config hash, so it may change between runs.
"""
from __future__ import annotations

import dataclasses
import zlib
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..analysis.options import AnalysisOptions
from ..design.sampler import Regime
from ..design.spaces import SPACES, DesignSpace, get_space
from ..validate import check_bool, check_int

#: regnet_plugin.launch.LAUNCHERS (the ones that also run without a GPU), repeated
#: here because this module stays torch-free; a test keeps the two equal
LAUNCHERS: tuple[str, ...] = ('none', 'pytorch', 'slurm')

EXECUTORS = ('subprocess', 'local', 'slurm')
LAUNCHES = ('spawn', 'fork')


def _unknown(section: str, data: Mapping[str, Any], known: set[str]) -> None:
    bad = sorted(set(data) - known)
    if bad:
        raise ValueError(f'unknown key(s) {bad} in {section}; accepted: {sorted(known)}')


@dataclass(frozen=True)
class SpaceEntry:
    """One design space of the study: a named space, optional overrides, a label.

    ``space`` defines a space of the study's own instead of a registered one
    (``dict(type='AnyNetSpace', ...)`` or ``dict(base='AnyNetX_A', ...)``); it is
    then called ``name``.
    """

    name: str
    overrides: Mapping[str, Any] = field(default_factory=dict)
    label: str = ''
    space_cfg: Mapping[str, Any] | None = None

    @classmethod
    def parse(cls, item: Any) -> 'SpaceEntry':
        if isinstance(item, str):
            entry = cls(item, {}, item)
        elif isinstance(item, Mapping):
            _unknown('a study.spaces entry', item, {'name', 'overrides', 'label', 'space'})
            if 'name' not in item:
                raise ValueError(f"a study.spaces entry needs 'name' (one of "
                                 f"{', '.join(SPACES.names())}, or any name with "
                                 f"'space'), got {dict(item)!r}")
            space_cfg = item.get('space')
            if space_cfg is not None and not isinstance(space_cfg, Mapping):
                raise ValueError(f"a study.spaces entry's 'space' must be a dict "
                                 f"(type=... or base=...), got {space_cfg!r}")
            entry = cls(str(item['name']), dict(item.get('overrides') or {}),
                        str(item.get('label') or item['name']),
                        dict(space_cfg) if space_cfg is not None else None)
        else:
            raise ValueError(f'study.spaces entries must be a space name or a dict, '
                             f'got {item!r}')
        entry.space()   # unknown space or parameter names fail here, with the valid ones
        return entry

    def space(self) -> DesignSpace:
        overrides = {k: tuple(v) if isinstance(v, list) else v
                     for k, v in self.overrides.items()}
        if self.space_cfg is not None:
            return get_space({**self.space_cfg, 'name': self.name}, **overrides)
        return get_space(self.name, **overrides)

    def seed(self, study_seed: int) -> int:
        """Per-space seed: independent streams, stable when spaces are reordered."""
        return (int(study_seed) * 1_000_003 + zlib.crc32(self.label.encode())) % 2 ** 32

    def as_dict(self) -> dict[str, Any]:
        out = {'name': self.name, 'overrides': dict(self.overrides), 'label': self.label}
        if self.space_cfg is not None:     # absent otherwise: older configs hash the same
            out['space'] = dict(self.space_cfg)
        return out


@dataclass(frozen=True)
class TrainOptions:
    """How models are trained (not part of the config hash)."""

    executor: str = 'subprocess'       # subprocess | local (submitit) | slurm (submitit)
    workers: int = 1                   # concurrent workers (array tasks for submitit)
    gpus_per_model: int = 1            # >1: torchrun with the toolbox's pytorch launcher
    launcher: str = 'none'             # mmengine launcher inside a model's process
    trainer: str = 'runner'            # 'runner', 'module:function' or 'file.py:function'
    timeout_s: float | None = None     # per model; None: no limit
    retry_failed: bool = False         # train failed models again
    torch_threads: int | None = None   # threads per model process (CPU)
    launch: str = 'spawn'              # spawn: fresh interpreter per model; fork: faster
    warm_fork: bool = True             # fork: import the toolbox + load in-memory data
                                       # once per worker, not once per model
    stale_after_s: float = 15 * 60     # cross-host claim heartbeat timeout
    slurm: Mapping[str, Any] = field(default_factory=dict)  # submitit update_parameters
    wait: bool = True                  # slurm: wait for the array and show progress

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> 'TrainOptions':
        data = dict(data or {})
        _unknown('study.train', data, {f.name for f in dataclasses.fields(cls)})
        options = cls(**data)
        options.validate()
        return options

    def validate(self) -> None:
        if self.executor not in EXECUTORS:
            raise ValueError(f'executor must be one of {EXECUTORS}, got {self.executor!r}')
        if self.launch not in LAUNCHES:
            raise ValueError(f'launch must be one of {LAUNCHES}, got {self.launch!r}')
        for name in ('workers', 'gpus_per_model'):
            check_int(name, getattr(self, name), 1)
        if self.timeout_s is not None and not self.timeout_s > 0:
            raise ValueError(f'timeout_s must be > 0 or None, got {self.timeout_s!r}')
        if self.torch_threads is not None and (not isinstance(self.torch_threads, int)
                                               or self.torch_threads < 1):
            raise ValueError(f'torch_threads must be an integer >= 1 or None, '
                             f'got {self.torch_threads!r}')
        check_bool('study.train.warm_fork', self.warm_fork)
        if self.launcher not in LAUNCHERS:
            raise ValueError(f'launcher must be one of {LAUNCHERS}, got {self.launcher!r}')

    def replace(self, **changes: Any) -> 'TrainOptions':
        changes = {k: v for k, v in changes.items() if v is not None}
        options = dataclasses.replace(self, **changes)
        options.validate()
        return options


@dataclass(frozen=True)
class StudyConfig:
    """The validated ``study`` section."""

    name: str
    spaces: tuple[SpaceEntry, ...]
    num_models: int
    regime: Regime
    seed: int = 0
    analysis: AnalysisOptions = field(default_factory=AnalysisOptions)
    train: TrainOptions = field(default_factory=TrainOptions)
    data_preparation: Mapping[str, Any] | None = None
    max_draws: int | None = None
    expected_order: tuple[str, ...] | None = None   # e.g. ('A', '<', 'C'): ordering.py

    KEYS = ('name', 'spaces', 'num_models', 'regime', 'seed', 'analysis', 'train',
            'data_preparation', 'max_draws', 'expected_order')

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> 'StudyConfig':
        if not data:
            raise ValueError("the config has no 'study' section; a study config is a "
                             "training config plus study=dict(spaces=[...], "
                             "num_models=..., regime=dict(...))")
        data = dict(data)
        _unknown('study', data, set(cls.KEYS))
        for required in ('spaces', 'num_models', 'regime'):
            if required not in data:
                raise ValueError(f"study.{required} is required")
        spaces = data['spaces']
        if isinstance(spaces, (str, Mapping)) or not spaces:
            raise ValueError(f'study.spaces must be a non-empty list, got {spaces!r}')
        entries = tuple(SpaceEntry.parse(s) for s in spaces)
        labels = [e.label for e in entries]
        if len(set(labels)) != len(labels):
            raise ValueError(f'study.spaces labels must be distinct, got {labels}; give '
                             f"repeated spaces a 'label'")
        n = data['num_models']
        check_int('study.num_models (models per space)', n, 1)
        regime = data['regime']
        if not isinstance(regime, Mapping):
            raise ValueError(f'study.regime must be a dict, got {regime!r}')
        _unknown('study.regime', regime, {f.name for f in dataclasses.fields(Regime)})
        seed = data.get('seed', 0)
        check_int('study.seed', seed, 0)
        prep = data.get('data_preparation')
        if prep is not None and (not isinstance(prep, Mapping) or 'type' not in prep):
            raise ValueError(f"study.data_preparation must be a dict with a 'type', "
                             f'got {prep!r}')
        regime = Regime(**dict(regime))
        return cls(name=str(data.get('name') or 'study'), spaces=entries, num_models=n,
                   regime=regime, seed=seed,
                   # the regime bounds are the normalized EDFs' shared complexity range
                   analysis=AnalysisOptions.from_dict(data.get('analysis'), regime=regime),
                   train=TrainOptions.from_dict(data.get('train')),
                   data_preparation=dict(prep) if prep else None,
                   max_draws=data.get('max_draws'),
                   expected_order=_expected_order(data.get('expected_order'), labels))


def _expected_order(order: Any, labels: list[str]) -> tuple[str, ...] | None:
    """``study.expected_order`` checked: steps between spaces of this study."""
    if order is None:
        return None
    from .ordering import parse_order
    if isinstance(order, (str, Mapping)):
        raise ValueError(f'study.expected_order must be a list, got {order!r}')
    for worse, _, better in parse_order(order):
        for label in (worse, better):
            if label not in labels:
                raise ValueError(f'study.expected_order names {label!r}, which is not '
                                 f'a space of the study ({labels})')
    return tuple(str(x) for x in order)
