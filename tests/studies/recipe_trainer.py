"""A trainer for the re-sampling tests: it reads the model's config from disk, as the
Runner would, and records what it would train with (epochs, data root) instead of
training. Plugged in by path, like cheap_trainer.py."""
from __future__ import annotations

from mmengine.config import Config

from regnet_plugin.studies.results import ModelResult


def data_root(dataset) -> str:
    """The data_root of a dataset config, through wrappers (dataset=dict(...))."""
    while 'data_root' not in dataset:
        dataset = dataset['dataset']
    return dataset['data_root']


def train(study, entry, options) -> ModelResult:
    cfg = Config.fromfile(str(study.model_config(entry.key)))
    return ModelResult.done(entry.key, 10.0, epochs=int(cfg.train_cfg.max_epochs),
                            extra={'data_root': data_root(cfg.train_dataloader.dataset),
                                   'seed': cfg.randomness.seed})
