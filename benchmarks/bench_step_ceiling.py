"""Where a study model's training step spends its time, and how much faster better
kernels could make it: the ceiling on study throughput from the step itself.

Draws models the way the 32x32 digits demo does (``configs/studies/demo_digits.py``:
RegNetX and AnyNetX_A, 2-4 MF at 32x32), builds them as a study trains them
(``SmallMapConv2d`` in channels_last, SGD's fused step, batch 64, one thread) and, per
model, times the training step (forward, loss, backward, SGD step) and profiles it
(``torch.profiler``, each op's own time). Two references are measured in the same
process: this machine's float32 GEMM rate (a 4096x512x512 ``torch.mm``, about the
shape of the models' 1x1 convolutions) and its copy bandwidth (``Tensor.copy_`` of 8 MB,
a typical activation of the first stages).

It prints the step's share per kind of op (GEMM: the 1x1 convolutions, fc and the
small-map products; convolution: oneDNN's convolutions and their gradients;
BatchNorm; ReLU; SGD; other ops: views, copies, allocations, autograd's bookkeeping;
between ops: Python and dispatch, the profiled step's wall less its ops' own time).
The profiler adds a little to every op, so the shares are scaled to the unprofiled
step: kinds made of many small ops read somewhat high. From the models' analytic
multiply-adds (``regnet_plugin.design.complexity``, forward x 3 for forward and
backward), two bounds:

* the arithmetic floor: every multiply-add at the GEMM rate, nothing else;
* the kernel ceiling: oneDNN's convolutions at the GEMM rate (their multiply-adds
  from the profiler's count of the forward, x 3 with both gradients, x 2 for the
  stem, whose input needs no gradient) and BatchNorm and ReLU at the copy bandwidth
  (the passes over their data that fused kernels could not avoid: 3 forward, 5
  backward), everything else as measured. The step's time over this is the most any
  replacement for those kernels could gain.

    .venv/bin/python benchmarks/bench_step_ceiling.py              # ~1 min
    .venv/bin/python benchmarks/bench_step_ceiling.py --models 8 --threads 2
"""
from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict

import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile

import regnet_plugin  # noqa: F401  (registers SmallMapConv2d for build_conv_layer)
from regnet_plugin.design.complexity import complexity
from regnet_plugin.design.sampler import Regime, sample_models
from regnet_plugin.models import AnyNet

#: op name -> kind; ops not listed are "other" (views, copies, allocation, autograd)
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


def rate(fn, work: float, repeats: int = 20) -> float:
    """``work`` units per second of ``fn``, the median of ``repeats`` timed calls."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return work / statistics.median(times)


def references() -> tuple[float, float]:
    """(multiply-adds per second of a float32 GEMM, bytes per second of a copy)."""
    a, b = torch.randn(4096, 512), torch.randn(512, 512)
    src, dst = torch.randn(2 * 1024 * 1024), torch.empty(2 * 1024 * 1024)
    gemm = rate(lambda: torch.mm(a, b), 4096 * 512 * 512)
    copy = rate(lambda: dst.copy_(src), 2 * src.numel() * 4)
    return gemm, copy


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--spaces', nargs='+', default=['RegNetX', 'AnyNetX_A'])
    parser.add_argument('--models', type=int, default=8, help='models per space')
    parser.add_argument('--batch', type=int, default=64)
    parser.add_argument('--img-size', type=int, default=32)
    parser.add_argument('--min-flops', type=float, default=2e6)
    parser.add_argument('--max-flops', type=float, default=4e6)
    parser.add_argument('--repeats', type=int, default=5, help='timed steps per model')
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    gemm_rate, copy_rate = references()
    step_s, madds = 0.0, 0
    kinds: dict[str, float] = defaultdict(float)
    conv_madds, norm_bytes = 0.0, 0.0
    regime = Regime(min_flops=args.min_flops, max_flops=args.max_flops,
                    img_size=args.img_size, num_classes=10)
    for space in args.spaces:
        for model in sample_models(space, args.models, regime, seed=args.seed):
            torch.manual_seed(0)
            net = AnyNet(arch=model.spec, conv_cfg=dict(type='SmallMapConv2d'),
                         channels_last=True)
            fc = torch.nn.Linear(model.spec.out_width, 10)
            params = list(net.parameters()) + list(fc.parameters())
            opt = torch.optim.SGD(params, lr=0.05, momentum=0.9, weight_decay=5e-5,
                                  nesterov=True, fused=True)
            x = torch.randn(args.batch, 3, args.img_size, args.img_size)
            y = torch.randint(0, 10, (args.batch,))

            def step() -> None:
                loss = F.cross_entropy(fc(net(x)[-1].mean((2, 3))), y)
                opt.zero_grad()
                loss.backward()
                opt.step()

            seconds = 1 / rate(step, 1.0, args.repeats)
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
            own['between ops'] = max(profiled - sum(own.values()), 0.0)
            scale = seconds / sum(own.values())      # the profiler's own cost taken out
            for kind, spent in own.items():
                kinds[kind] += spent * scale
            norm_bytes += BN_PASSES * 4 * _norm_elements(net, x)
            step_s += seconds
            madds += 3 * args.batch * complexity(model.spec, args.img_size,
                                                 num_classes=10).flops
            print(f'{space:10s} {model.spec.id:>14s} step {seconds * 1e3:6.1f} ms', flush=True)

    floor = madds / gemm_rate
    ideal = (step_s - kinds['convolution'] - kinds['BatchNorm'] - kinds['ReLU']
             + conv_madds / gemm_rate + norm_bytes / copy_rate)
    print(f'references: GEMM {gemm_rate * 2 / 1e9:.1f} GFLOP/s, copy '
          f'{copy_rate / 1e9:.1f} GB/s (this process, {args.threads} thread(s))')
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


def _norm_elements(net: torch.nn.Module, x: torch.Tensor) -> int:
    """Elements normalized by the BatchNorms of one forward pass."""
    count = 0

    def hook(module, inputs, output) -> None:
        nonlocal count
        count += output.numel()

    handles = [m.register_forward_hook(hook) for m in net.modules()
               if isinstance(m, torch.nn.BatchNorm2d)]
    with torch.no_grad():
        net(x)
    for handle in handles:
        handle.remove()
    return count


if __name__ == '__main__':
    raise SystemExit(main())
