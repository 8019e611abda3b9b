"""A cheap but real trainer for the study-machinery tests (plugged in by file path).

It fits a random-features classifier on scikit-learn's digits whose hidden width is
the model's last stage width (so different specs give different, real errors) and
returns the held-out top-1 error. Milliseconds per model: tests of claims, workers
and executors can train whole populations. Environment knobs for failure tests:
``CHEAP_TRAINER_FAIL=<substring of key>`` raises for matching models,
``CHEAP_TRAINER_SLEEP=<seconds>`` slows every model down.
"""
from __future__ import annotations

import os
import time

import numpy as np

from regnet_plugin.studies.results import ModelResult


def train(study, entry, options) -> ModelResult:
    fail = os.environ.get('CHEAP_TRAINER_FAIL')
    if fail and fail in entry.key:
        raise RuntimeError(f'planted failure for {entry.key}')
    time.sleep(float(os.environ.get('CHEAP_TRAINER_SLEEP', '0')))
    from sklearn.datasets import load_digits
    digits = load_digits()
    x = digits.data / 16.0
    y = digits.target
    rng = np.random.default_rng(int(entry.id, 16) % 2 ** 32)
    order = rng.permutation(len(y))
    train_idx, val_idx = order[:1400], order[1400:]
    width = 32 + entry.spec['stages'][-1]['width'] // 4
    projection = rng.normal(0, 1 / np.sqrt(x.shape[1]), (x.shape[1], width))
    features = np.maximum(x @ projection, 0)
    targets = np.eye(10)[y]
    a = features[train_idx]
    weights = np.linalg.solve(a.T @ a + 1e-2 * np.eye(width), a.T @ targets[train_idx])
    error = 100.0 * np.mean((features[val_idx] @ weights).argmax(1) != y[val_idx])
    return ModelResult.done(entry.key, error, error, (error,), epochs=1)
