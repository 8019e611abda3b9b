"""Study throughput: today's demo path against the new one, same models, same recipe.

Both paths train the same sampled models of the demo study (configs/studies/
demo_digits.py: same spaces, seed, epochs, batch size, optimizer, data, per-model
seeds) through the real CLI (``tools/sample_space.py train``, a fresh driver each
time, as ``make demo`` runs it), alternating paths round by round:

* ``today``: the PNGs decoded by MMPretrain's ``CustomDataset`` on every access,
  forked model processes that import the toolbox themselves (``warm_fork=False``),
  ``nn.Conv2d`` (oneDNN) in NCHW, SGD's per-tensor loop, the live summary drawn
  after every model;
* ``new``: the demo config as it is (``InMemoryDataset``, warm forks, the backbone's
  convolutions as ``SmallMapConv2d`` in channels_last, SGD's fused step).

It prints the wall time of each round, trained model-epochs per minute of wall for
each path (median over rounds) and their ratio, each path's summed training time and
worker time per model (start to finish of each model: what a model costs a study of
hundreds, once the one-off start and the last model's tail are spread over them),
and how the models' errors compare.
Both paths start each model from the same weights and feed it the same batches, but
the convolutions sum in another order: float32 rounding then makes individual
models end a little differently (as switching oneDNN to channels_last alone does),
so the benchmark reports the paired difference of the best errors (mean and 95%
interval) rather than expecting identical numbers. Timings on a shared machine are
noisy: compare the ratio, over several rounds.

    .venv/bin/python benchmarks/bench_study.py                 # ~25 min on 2 idle cores
    .venv/bin/python benchmarks/bench_study.py --rounds 3 --new-workers 1 --new-threads 2
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / 'configs' / 'studies' / 'demo_digits.py'
TOOL = ROOT / 'tools' / 'sample_space.py'

# today's data loading (the demo config before InMemoryDataset, verbatim): the PNGs
# are decoded on every access, collated as lists (the Runner's default pseudo_collate)
TODAY_DATA = """
train_dataloader = dict(collate_fn=dict(type='pseudo_collate'), dataset=dict(
    _delete_=True, type='CustomDataset', data_root='{study_dir}/data/digits32',
    data_prefix='train', pipeline=[dict(type='LoadImageFromFile'),
                                   dict(type='RandomCrop', crop_size=32, padding=2),
                                   dict(type='PackInputs')]))
val_dataloader = dict(collate_fn=dict(type='pseudo_collate'), dataset=dict(
    _delete_=True, type='CustomDataset', data_root='{study_dir}/data/digits32',
    data_prefix='val', pipeline=[dict(type='LoadImageFromFile'), dict(type='PackInputs')]))
test_dataloader = val_dataloader
# today's convolutions: nn.Conv2d (oneDNN) in NCHW
model = dict(backbone=dict(conv_cfg=None, channels_last=False))
# today's SGD step: torch's per-tensor loop
optim_wrapper = dict(optimizer=dict(foreach=None, fused=None))
# today's live summary: drawn again after every model
custom_hooks = [dict(type='EDFHook', summary_interval_s=0.0)]
"""


def write_config(folder: Path, name: str, models: int, train: dict, data: str) -> Path:
    path = folder / f'{name}.py'
    path.write_text(f'_base_ = [{str(DEMO)!r}]\n'
                    f'study = dict(num_models={models}, train={train!r})\n' + data)
    return path


def run(command: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f'{" ".join(command)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}')
    return time.perf_counter() - start


def model_walls(study: Path) -> dict[str, float]:
    """Each model's wall from its worker's start event to its finish event: the
    time a worker is busy with it (process start, imports, Runner, training,
    result), which is what each model costs a long study once the one-off start of
    the study and its last model's tail are spread over hundreds of models."""
    from regnet_plugin.studies.layout import StudyDir
    starts, walls = {}, {}
    for event in StudyDir(study).read_events():
        if event.get('event') == 'start':
            starts[event['key']] = event['time']
        elif event.get('event') == 'finish' and event['key'] in starts:
            walls[event['key']] = event['time'] - starts[event['key']]
    return walls


def results(study: Path) -> dict[str, dict]:
    out = {}
    for path in sorted((study / 'results').glob('*.json')):
        data = json.loads(path.read_text())
        out[path.stem] = data.get('result', data)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--models-per-space', type=int, default=16,
                        help='models of each demo space per round (default 16: 16 per '
                             'worker, so that the one-off start of a round (driver '
                             'imports, warm-up, ~8 s) and the last model\'s tail (one '
                             'worker idle, ~5 s) weigh closer to what they weigh in a '
                             'study, where hundreds of models share them)')
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--workers', type=int, default=None,
                        help="both paths' workers (default: the demo config's)")
    parser.add_argument('--new-workers', type=int, default=None)
    parser.add_argument('--new-threads', type=int, default=None,
                        help='torch threads per model on the new path')
    parser.add_argument('--keep', help='keep the study dirs under this folder')
    args = parser.parse_args()

    python = sys.executable
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get('PYTHONPATH', ''))
    os.environ.update(env)
    folder = Path(args.keep or tempfile.mkdtemp(prefix='bench_study_'))
    folder.mkdir(parents=True, exist_ok=True)
    # no per-model timeout: on a loaded machine a slow model is a slow data point,
    # not a failure
    common = {'timeout_s': 24 * 3600.0}
    if args.workers is not None:
        common['workers'] = args.workers
    new_train = dict(common, warm_fork=True)
    if args.new_workers:
        new_train['workers'] = args.new_workers
    if args.new_threads:
        new_train['torch_threads'] = args.new_threads
    configs = {'today': write_config(folder, 'today', args.models_per_space,
                                     dict(common, warm_fork=False), TODAY_DATA),
               'new': write_config(folder, 'new', args.models_per_space, new_train, '')}
    templates = {}
    for name, config in configs.items():
        templates[name] = folder / f'{name}_template'
        run([python, str(TOOL), str(config), 'sample', '--work-dir', str(templates[name]),
             '--no-progress'])
    manifest = json.loads((templates['new'] / 'manifest.json').read_text())
    keys = [m['key'] for m in manifest['models']]
    today_keys = [m['key'] for m in json.loads(
        (templates['today'] / 'manifest.json').read_text())['models']]
    assert keys == today_keys, 'the two paths sampled different models'
    epochs = _epochs(configs['new'])
    print(f'{len(keys)} models x {epochs} epochs per round and path '
          f'({", ".join(sorted({m["space"] for m in manifest["models"]}))}); '
          f'work in {folder}', flush=True)

    walls: dict[str, list[float]] = {'today': [], 'new': []}
    errors: dict[str, dict[str, tuple]] = {'today': {}, 'new': {}}
    train_s: dict[str, dict[str, list[float]]] = {'today': {}, 'new': {}}
    busy_s: dict[str, dict[str, list[float]]] = {'today': {}, 'new': {}}
    for r in range(args.rounds):
        order = ['today', 'new'] if r % 2 == 0 else ['new', 'today']
        for name in order:
            study = folder / f'{name}_round{r}'
            shutil.rmtree(study, ignore_errors=True)
            shutil.copytree(templates[name], study)
            wall = run([python, str(TOOL), str(configs[name]), 'train', '--work-dir',
                        str(study), '--no-progress'])
            done = {k: v for k, v in results(study).items() if v.get('status') == 'done'}
            if len(done) != len(keys):
                sys.exit(f'{name} round {r}: only {len(done)} of {len(keys)} models '
                         f'trained; see {study}')
            for key, res in done.items():
                errors[name].setdefault(key, (res['final_error'], res['best_error'],
                                              tuple(res['history'])))
                train_s[name].setdefault(key, []).append(res['train_seconds'])
            for key, seconds in model_walls(study).items():
                busy_s[name].setdefault(key, []).append(seconds)
            walls[name].append(wall)
            rate = len(keys) * epochs / wall * 60
            print(f'round {r} {name:5s}: {wall:6.1f} s wall, {rate:6.1f} model-epochs/min',
                  flush=True)
            if not args.keep:
                shutil.rmtree(study, ignore_errors=True)

    rates = {n: len(keys) * epochs / statistics.median(w) * 60 for n, w in walls.items()}
    print(f'today: {rates["today"]:.1f} model-epochs/min (median wall '
          f'{statistics.median(walls["today"]):.1f} s)')
    print(f'new:   {rates["new"]:.1f} model-epochs/min (median wall '
          f'{statistics.median(walls["new"]):.1f} s)')
    print(f'ratio new/today: {rates["new"] / rates["today"]:.2f}x '
          f'(per round: {", ".join(f"{t / n:.2f}" for t, n in zip(walls["today"], walls["new"]))})')
    per_model = {n: sum(statistics.median(v) for v in train_s[n].values()) for n in train_s}
    print(f'training time of the models (each model\'s median train_seconds, summed): '
          f'today {per_model["today"]:.1f} s, new {per_model["new"]:.1f} s, ratio '
          f'{per_model["today"] / per_model["new"]:.2f}x (the rest of the wall: '
          f'start-up, per-model process and Runner set-up, the last model\'s tail)')
    busy = {n: sum(statistics.median(v) for v in busy_s[n].values()) for n in busy_s}
    print(f'worker time per model, start to finish (median per model, summed): today '
          f'{busy["today"]:.1f} s, new {busy["new"]:.1f} s, ratio '
          f'{busy["today"] / busy["new"]:.2f}x (the throughput of a study of many '
          f'models, where the one-off start and the last model\'s tail weigh nothing)')
    same = [k for k in keys if errors['today'][k] == errors['new'][k]]
    print(f'identical error histories on both paths: {len(same)} of {len(keys)} models')
    best = {n: [errors[n][k][1] for k in keys] for n in ('today', 'new')}
    diffs = [b - a for a, b in zip(best['today'], best['new'])]
    half = 1.96 * statistics.stdev(diffs) / len(diffs) ** 0.5 if len(diffs) > 1 else float('nan')
    print(f'best top-1 error, mean over models: today {statistics.mean(best["today"]):.2f}%, '
          f'new {statistics.mean(best["new"]):.2f}%; paired difference new - today '
          f'{statistics.mean(diffs):+.2f} +- {half:.2f} points (95%), '
          f'{sum(d > 0 for d in diffs)} higher / {sum(d < 0 for d in diffs)} lower')
    for key, a, b in zip(keys, best['today'], best['new']):
        print(f'  {key}: best error today {a:.2f}%, new {b:.2f}%')
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


def _epochs(config: Path) -> int:
    from mmengine.config import Config
    return int(Config.fromfile(str(config)).train_cfg.max_epochs)


if __name__ == '__main__':
    sys.exit(main())
