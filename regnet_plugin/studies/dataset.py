"""DesignSpaceDataset: a design space's sampled population as an mmengine dataset.

Its items are models, not images: ``{'key', 'id', 'space', 'spec', 'complexity',
'space_params', 'index'}`` for ``num_samples`` distinct models drawn from ``space``
inside ``regime`` with ``seed``. Being an ordinary ``BaseDataset``, it is split
across ranks by the toolbox's samplers (``DefaultSampler``) like any dataset, which
is how a distributed job shares a population out; the models are exactly those
the study's ``sample`` step draws for the same space, label, regime and seed.
"""
from __future__ import annotations

from typing import Any, Mapping

from mmengine.dataset import BaseDataset

from ..design.sampler import Regime
from ..validate import check_int
from .manifest import sample_space_entries
from .schema import SpaceEntry


class DesignSpaceDataset(BaseDataset):
    """Models sampled from a design space within a complexity regime.

    Args:
        space: a named design space (``AnyNetX_A``.. ``AnyNetX_E``, ``RegNetX``,
            ``RegNetY``, ``RegNetX_constrained``, ``RegNetY_constrained``).
        num_samples: how many distinct models.
        regime: ``Regime`` fields: ``min_flops``/``max_flops``/``min_params``/
            ``max_params``/``min_acts``/``max_acts``, ``img_size``, ``num_classes``.
        seed: the study seed (the space's own stream is derived from it and the label).
        overrides: design-space parameters to change (e.g. ``depth_range``).
        label: the space's name in keys and reports (default: ``space``).
        max_draws: give up after this many draws (impossible regimes fail clearly).
        **kwargs: ``BaseDataset`` arguments (``pipeline``, ``lazy_init``, ``indices``...).
    """

    METAINFO: dict = dict(task='design-space sampling')

    def __init__(self, space: str, num_samples: int,
                 regime: Mapping[str, Any] | None = None, seed: int = 0,
                 overrides: Mapping[str, Any] | None = None, label: str | None = None,
                 max_draws: int | None = None, **kwargs: Any) -> None:
        check_int('num_samples', num_samples, 1)
        check_int('seed', seed, 0)
        self.entry = SpaceEntry.parse(dict(name=space, overrides=dict(overrides or {}),
                                           label=label or space))
        self.regime = Regime(**dict(regime or {}))
        self.num_samples = num_samples
        self.seed = seed
        self.max_draws = max_draws
        kwargs.setdefault('pipeline', [])
        super().__init__(ann_file='', **kwargs)

    def load_data_list(self) -> list[dict]:
        rows = sample_space_entries(self.entry, self.num_samples, self.regime, self.seed,
                                    self.max_draws)
        return [{'key': r.key, 'id': r.id, 'space': r.space, 'space_name': r.space_name,
                 'spec': r.spec, 'complexity': r.complexity,
                 'space_params': r.space_params, 'index': r.index} for r in rows]
