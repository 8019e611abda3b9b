"""The report's plots drawn one by one against one forked process per CPU.

``analyze`` spends most of its time drawing the report's figures (layout and
rendering in matplotlib: ~11 s of 12 s for the 192-model demo's 4 spaces on 2
cores). ``draw_report_plots`` draws them in forked copies of the process; this
benchmark analyses the same synthetic population (4 spaces, RegNet models with a
planted error surface, the demo's analysis options) both ways, alternating, checks
the files are byte for byte the same, and prints the median times and their ratio.

    .venv/bin/python benchmarks/bench_report_plots.py              # ~1 min on 2 cores
    .venv/bin/python benchmarks/bench_report_plots.py --models 100 --rounds 3
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault('MPLBACKEND', 'Agg')


def population(models: int, seed: int = 0) -> list[dict]:
    import numpy as np

    from regnet_plugin.design.complexity import complexity
    from regnet_plugin.design.regnet import RegNetParams
    rng = np.random.default_rng(seed)
    rows = []
    for space, offset in (('A', 3.0), ('B', 2.0), ('C', 1.0), ('D', 0.0)):
        made = 0
        while made < models:
            d = int(rng.integers(8, 30))
            p = RegNetParams(d, int(rng.integers(2, 10)) * 8, float(rng.uniform(8, 48)),
                             float(rng.uniform(1.6, 3.0)), int(rng.choice([1, 2, 4, 8])))
            if p.num_stages != 4:
                continue
            spec = p.to_spec()
            cx = complexity(spec, 32, 10)
            error = 20 + offset + 0.05 * (d - 18) ** 2 + rng.normal(0, 0.5)
            rows.append(dict(key=f'{space}-{spec.id}-{made}', space=space,
                             spec=spec.to_dict(), space_params=p.to_dict(),
                             complexity=dict(flops=cx.flops, params=cx.params,
                                             acts=cx.acts),
                             status='done', final_error=error, best_error=error - 0.1))
            made += 1
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--models', type=int, default=48, help='models per space')
    parser.add_argument('--rounds', type=int, default=2)
    args = parser.parse_args()
    from regnet_plugin.analysis import AnalysisOptions, Population, analyze_population
    from regnet_plugin.analysis import report_plots
    pop = Population.from_dicts(population(args.models))
    options = AnalysisOptions(num_bins=5, bootstrap_reps=10_000, bootstrap_fraction=0.25,
                              width_fit_models=2)
    parallel_jobs = report_plots.default_jobs()
    times: dict[str, list[float]] = {'one by one': [], f'{parallel_jobs} processes': []}
    folder = Path(tempfile.mkdtemp(prefix='bench_report_plots_'))
    analyze_population(pop, folder / 'warm', options, 'bench')    # imports, fit cache
    real_default = report_plots.default_jobs
    for r in range(args.rounds):
        names = list(times) if r % 2 == 0 else list(times)[::-1]
        for name in names:
            jobs = 1 if name == 'one by one' else parallel_jobs
            report_plots.default_jobs = lambda jobs=jobs: jobs
            out = folder / f'{r}-{jobs}'
            start = time.perf_counter()
            analyze_population(pop, out, options, 'bench')
            times[name].append(time.perf_counter() - start)
            print(f'round {r} {name}: {times[name][-1]:.2f} s', flush=True)
    report_plots.default_jobs = real_default
    one, many = (folder / f'0-{j}' for j in (1, parallel_jobs))
    files = sorted(p.name for p in one.iterdir() if p.is_file())
    same = all((one / f).read_bytes() == (many / f).read_bytes() for f in files)
    print(f'{len(files)} files, byte for byte the same both ways: {same}')
    medians = {name: statistics.median(t) for name, t in times.items()}
    (base, t1), (other, t2) = medians.items()
    print(f'analyze_population, median: {base} {t1:.2f} s, {other} {t2:.2f} s; '
          f'ratio {t1 / t2:.2f}x')
    return 0 if same else 1


if __name__ == '__main__':
    sys.exit(main())
