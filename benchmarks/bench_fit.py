#!/usr/bin/env python
"""Speed and quality of the quantized linear fit (``design/fit.py``), before and after.

"Before" is the search as it was up to commit 08fa3fe (w0 within 1.25x of the first
width, a 96 x 96 (wa, wm) grid, then local zoom rounds), loaded from git history;
"after" is the current one (every w0 with a lower-bound skip, exact over wa, a fine
wm grid). Both fit the same per-block widths of models drawn from the AnyNetX and
RegNetX spaces (the widths a study fits); calls alternate old/new in one process and
the median ms per model is reported, with the ratio old/new and how often each one
found the lower e_fit.

    python benchmarks/bench_fit.py             (40 models per space)
    python benchmarks/bench_fit.py --models 10
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from regnet_plugin.design.fit import fit_quantized_linear  # noqa: E402
from regnet_plugin.design.spaces import get_space  # noqa: E402

OLD_COMMIT = '08fa3fe'      # last commit with the old search


def old_fit():
    """The old ``fit_quantized_linear`` from git history, as a function."""
    source = subprocess.run(['git', 'show', f'{OLD_COMMIT}:regnet_plugin/design/fit.py'],
                            cwd=ROOT, check=True, capture_output=True, text=True).stdout
    module = types.ModuleType('old_fit')
    module.__package__ = 'regnet_plugin.design'
    exec(compile(source, f'{OLD_COMMIT}:fit.py', 'exec'), module.__dict__)
    return module.fit_quantized_linear


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--models', type=int, default=40, help='models per space')
    parser.add_argument('--spaces', nargs='+',
                        default=['AnyNetX_A', 'AnyNetX_E', 'RegNetX'])
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    old = old_fit()
    rng = np.random.default_rng(args.seed)
    print(f'{"space":<10} {"models":>6} {"blocks":>6} {"old ms":>8} {"new ms":>8} '
          f'{"old/new":>7} {"new better":>10} {"old better":>10} {"max gain":>9}')
    for name in args.spaces:
        space = get_space(name)
        widths = [space.sample(rng).block_widths for _ in range(args.models)]
        t_old, t_new, gains = [], [], []
        for i, w in enumerate(widths):
            pair = [('old', old), ('new', fit_quantized_linear)]
            if i % 2:
                pair.reverse()
            result = {}
            for label, fit in pair:
                start = time.perf_counter()
                result[label] = fit(w).e_fit
                (t_old if label == 'old' else t_new).append(time.perf_counter() - start)
            gains.append(result['old'] - result['new'])
        gains = np.array(gains)
        mo, mn = statistics.median(t_old) * 1e3, statistics.median(t_new) * 1e3
        print(f'{name:<10} {len(widths):>6} {np.mean([len(w) for w in widths]):>6.1f} '
              f'{mo:>8.1f} {mn:>8.1f} {mo / mn:>7.2f} {int(np.sum(gains > 1e-9)):>10} '
              f'{int(np.sum(gains < -1e-9)):>10} {gains.max():>9.4f}')


if __name__ == '__main__':
    main()
