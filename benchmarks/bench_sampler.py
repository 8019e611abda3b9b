#!/usr/bin/env python3
"""Sampling rate of design spaces in the paper's regime (360-400MF at 224x224).

For each space it times ``sample_models`` (vectorised draws + closed-form batch
complexity, exact ``complexity()`` only for draws inside the regime) and, in the
same process, the naive reference loop over the same draws: every valid draw is
built as an ``AnyNetSpec`` and measured with the full layer-by-layer
``complexity()``. The naive loop is run for a fixed number of draws (it would take
minutes to reach 500 models), and rates are compared per draw.

    python benchmarks/bench_sampler.py [--n 500] [--naive-draws 5000] [--seed 0]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import types

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
if 'regnet_plugin' not in sys.modules:      # torch-free: skip toolbox registration
    _pkg = types.ModuleType('regnet_plugin')
    _pkg.__path__ = [os.path.join(REPO, 'regnet_plugin')]
    sys.modules['regnet_plugin'] = _pkg

import numpy as np  # noqa: E402

from regnet_plugin.design.complexity import complexity  # noqa: E402
from regnet_plugin.design.sampler import DEFAULT_BATCH, Regime, sample_models  # noqa: E402
from regnet_plugin.design.spaces import get_space  # noqa: E402


def naive(space, regime, seed, draws):
    """Reference: the same draws, one spec and one full complexity() per valid draw."""
    rng = np.random.default_rng(seed)
    found, seen, done = 0, set(), 0
    start = time.perf_counter()
    while done < draws:
        batch = space.draw_batch(rng, min(DEFAULT_BATCH, draws - done))
        for i in range(len(batch)):
            if batch.valid[i]:
                spec = batch.draw(i).spec
                rep = complexity(spec, regime.img_size, regime.num_classes)
                if regime.contains(rep) and spec.id not in seen:
                    seen.add(spec.id)
                    found += 1
        done += len(batch)
    return found, done, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--n', type=int, default=500)
    parser.add_argument('--naive-draws', type=int, default=5000)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--repeats', type=int, default=3)
    args = parser.parse_args()
    regime = Regime.paper()
    print(f'regime: {regime.min_flops / 1e6:.0f}-{regime.max_flops / 1e6:.0f}MF at '
          f'{regime.img_size}x{regime.img_size}; n = {args.n}; best of {args.repeats}')
    for name in ('RegNetX', 'AnyNetX_A'):
        space = get_space(name)
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            result = sample_models(space, args.n, regime, seed=args.seed)
            times.append(time.perf_counter() - start)
        t = min(times)
        fast_draws = result.draws / t
        found, draws, t_naive = naive(space, regime, args.seed, args.naive_draws)
        naive_draws = draws / t_naive
        accept = len(result) / result.draws
        print(f'{name:10s} fast : {len(result)} models in {t:.3f} s = '
              f'{len(result) / t:8.0f} models/s, {fast_draws:9.0f} draws/s '
              f'({result.draws} draws, acceptance {accept:.2%})')
        print(f'{name:10s} naive: {found} models in {draws} draws in {t_naive:.3f} s = '
              f'{naive_draws:9.0f} draws/s (~{naive_draws * accept:6.0f} models/s, '
              f'~{args.n / (naive_draws * accept):.1f} s for {args.n})')
        print(f'{name:10s} speed-up: {fast_draws / naive_draws:.1f}x')


if __name__ == '__main__':
    main()
