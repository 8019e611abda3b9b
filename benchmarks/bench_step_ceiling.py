"""Where a study model's training step spends its time, and how much faster better
kernels could make it: the ceiling on study throughput from the step itself.

Draws the models of a study config (default: the 32x32 digits demo,
``configs/studies/demo_digits.py``: RegNetX and AnyNetX_A, 2-4 MF) with the study's
own population draw, builds each from the config a study writes for it (its
backbone options: ``SmallMapConv2d`` in channels_last; its optimizer wrapper: SGD's
fused step; its batch size and threads) and, per model, times the Runner's training
step (``model.train_step``: data preprocessor, forward, loss, backward, SGD step) on
a random batch, and profiles it (``torch.profiler``, each op's own time). Two
references are measured in the same process before each model's step (their medians
are used: the machine's speed drifts): its float32 GEMM rate (a 4096x512x512
``torch.mm``, about the shape of the models' 1x1 convolutions) and its copy bandwidth
(``Tensor.copy_`` of 8 MB, a typical activation of the first stages).

It prints the step's share per kind of op (GEMM: the 1x1 convolutions, fc and the
small-map products; convolution: oneDNN's convolutions and their gradients;
BatchNorm; ReLU; SGD; other ops: views, copies, allocations, autograd's bookkeeping;
between ops: Python and dispatch, the profiled step's wall less its ops' own time).
The profiler adds a little to every op, so the shares are scaled to the unprofiled
step: kinds made of many small ops read somewhat high. From the models' analytic
multiply-adds (the population's recorded complexity, forward x 3 for forward and
backward), two bounds:

* the arithmetic floor: every multiply-add at the GEMM rate, nothing else;
* the kernel ceiling: oneDNN's convolutions at the GEMM rate (their multiply-adds
  from the profiler's count of the forward, x 3 with both gradients, x 2 for the
  stem, whose input needs no gradient) and BatchNorm and ReLU at the copy bandwidth
  (the passes over their data that fused kernels could not avoid: 3 forward, 5
  backward), everything else as measured. The step's time over this is the most any
  replacement for those kernels could gain.

    .venv/bin/python benchmarks/bench_step_ceiling.py              # ~1 min
    .venv/bin/python benchmarks/bench_step_ceiling.py --models 4 --threads 2 \
        --config configs/studies/demo_digits_refinement.py
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib
import logging
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import torch
from mmengine.logging import MMLogger
from mmengine.optim import build_optim_wrapper
from mmengine.registry import MODELS, init_default_scope
from torch.profiler import ProfilerActivity, profile

from regnet_plugin.studies.layout import StudyDir
from regnet_plugin.studies.manifest import draw_population
from regnet_plugin.studies.study import load_config, model_config

DEMO = Path(__file__).resolve().parents[1] / 'configs' / 'studies' / 'demo_digits.py'

#: op name -> kind; ops not listed are "other ops" (views, copies, allocation, autograd)
KINDS = {
    'aten::mm': 'GEMM', 'aten::addmm': 'GEMM', 'aten::bmm': 'GEMM',
    'aten::mkldnn_convolution': 'convolution', 'aten::convolution_backward': 'convolution',
    'aten::native_batch_norm': 'BatchNorm', 'aten::native_batch_norm_backward': 'BatchNorm',
    'aten::relu_': 'ReLU', 'aten::clamp_min_': 'ReLU', 'aten::threshold_backward': 'ReLU',
    'aten::_fused_sgd_': 'SGD',
}
#: passes over a BatchNorm's data a fused BN+ReLU kernel still needs: forward, read x
#: for the statistics, read x and write y; backward, read dy and x for the sums, read
#: them again and write dx (the ReLU's mask and the other ReLUs taken as free)
BN_PASSES = 3 + 5


def seconds_per_call(fn, repeats: int = 20) -> float:
    """The median wall of ``repeats`` timed calls of ``fn``, after one untimed."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def references() -> tuple[float, float]:
    """(multiply-adds per second of a float32 GEMM, bytes per second of a copy)."""
    a, b = torch.randn(4096, 512), torch.randn(512, 512)
    src, dst = torch.randn(2 * 1024 * 1024), torch.empty(2 * 1024 * 1024)
    gemm = 4096 * 512 * 512 / seconds_per_call(lambda: torch.mm(a, b))
    copy = 2 * src.numel() * 4 / seconds_per_call(lambda: dst.copy_(src))
    return gemm, copy


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default=str(DEMO), help='a study config')
    parser.add_argument('--models', type=int, default=8,
                        help="models per space (default 8; the config's num_models "
                             "draws the same first ones)")
    parser.add_argument('--repeats', type=int, default=5, help='timed steps per model')
    parser.add_argument('--threads', type=int, default=None,
                        help="torch threads (default: the study's torch_threads)")
    args = parser.parse_args()
    cfg, study = load_config(args.config)
    threads = args.threads or study.train.torch_threads or 1
    torch.set_num_threads(threads)
    scope = cfg.get('default_scope') or 'mmpretrain'
    importlib.import_module(f'{scope}.utils').register_all_modules(init_default_scope=False)
    for name in (cfg.get('custom_imports') or {}).get('imports', []):
        importlib.import_module(name)
    init_default_scope(scope)
    # quiet: init_weights logs every parameter's initializer
    MMLogger.get_current_instance().setLevel(logging.ERROR)
    study_dir = StudyDir(tempfile.mkdtemp(prefix='bench_step_ceiling_'))
    size = study.regime.img_size

    rates: list[tuple[float, float]] = []
    step_s, madds = 0.0, 0
    kinds: dict[str, float] = defaultdict(float)
    conv_madds, norm_bytes = 0.0, 0.0
    for entry in draw_population(dataclasses.replace(study, num_models=args.models)):
        run_cfg = model_config(cfg, entry, study_dir)
        model_cfg = dict(run_cfg['model'])
        # as the Runner does: the config's top-level data preprocessor, if any
        model_cfg.setdefault('data_preprocessor', run_cfg.get('data_preprocessor'))
        torch.manual_seed(0)
        model = MODELS.build(model_cfg)
        model.init_weights()
        model.train()
        optim_wrapper = build_optim_wrapper(model, run_cfg['optim_wrapper'])
        batch = run_cfg['train_dataloader']['batch_size']
        num_classes = study.regime.num_classes
        data = dict(inputs=torch.randint(0, 256, (batch, 3, size, size), dtype=torch.uint8),
                    data_samples=[_sample(i % num_classes) for i in range(batch)])

        def step() -> None:
            model.train_step(data, optim_wrapper)

        rates.append(references())        # next to each model: the machine's speed drifts
        seconds = seconds_per_call(step, args.repeats)
        with profile(activities=[ProfilerActivity.CPU], record_shapes=True,
                     with_flops=True) as prof:
            start = time.perf_counter()
            step()
            profiled = time.perf_counter() - start
        own: dict[str, float] = defaultdict(float)
        for event in prof.key_averages(group_by_input_shape=True):
            own[KINDS.get(event.key, 'other ops')] += event.self_cpu_time_total / 1e6
            if event.key == 'aten::conv2d':          # the convolutions left to oneDNN
                # forward, input and weight gradients; the stem's input needs none
                passes = 2 if event.input_shapes[0][1] == 3 else 3
                conv_madds += event.flops / 2 * passes
            elif event.key == 'aten::native_batch_norm':
                elements = torch.Size(event.input_shapes[0]).numel()
                norm_bytes += BN_PASSES * 4 * elements * event.count
        own['between ops'] = max(profiled - sum(own.values()), 0.0)
        scale = seconds / sum(own.values())      # the profiler's own cost taken out
        for kind, spent in own.items():
            kinds[kind] += spent * scale
        step_s += seconds
        madds += 3 * batch * entry.complexity['flops']
        print(f'{entry.key:>24s} step {seconds * 1e3:6.1f} ms', flush=True)

    gemm_rate = statistics.median(r[0] for r in rates)
    copy_rate = statistics.median(r[1] for r in rates)
    floor = madds / gemm_rate
    ideal = (step_s - kinds['convolution'] - kinds['BatchNorm'] - kinds['ReLU']
             + conv_madds / gemm_rate + norm_bytes / copy_rate)
    print(f'references: GEMM {gemm_rate * 2 / 1e9:.1f} GFLOP/s, copy '
          f'{copy_rate / 1e9:.1f} GB/s (this process, {threads} thread(s))')
    print(f'training step, summed over the models: {step_s * 1e3:.1f} ms, '
          f'{madds * 2 / step_s / 1e9:.1f} GFLOP/s')
    for kind in ('GEMM', 'convolution', 'BatchNorm', 'ReLU', 'SGD', 'other ops',
                 'between ops'):
        print(f'  {kind:12s} {kinds[kind] * 1e3:8.1f} ms  {kinds[kind] / step_s:6.1%}')
    print(f'arithmetic floor (all multiply-adds at the GEMM rate): {floor * 1e3:.1f} ms, '
          f'the step is {step_s / floor:.2f}x that')
    print(f'kernel ceiling (convolutions at the GEMM rate, BatchNorm and ReLU at the copy '
          f'bandwidth, the rest as measured): {ideal * 1e3:.1f} ms, the step is '
          f'{step_s / ideal:.2f}x that')
    return 0


def _sample(label: int):
    """A data sample with a ground-truth label, as the toolbox's PackInputs makes it."""
    from mmpretrain.structures import DataSample
    return DataSample().set_gt_label(label)


if __name__ == '__main__':
    raise SystemExit(main())
