"""SmallMapConv2d + channels_last against the default conv, on models a study trains.

Draws models from design spaces the way a study does (the demo's spaces and regime:
32x32 digits, 1-2 MF), builds each twice with the same initial weights (``AnyNet``
as configured by default, and with ``conv_cfg=dict(type='SmallMapConv2d')``,
``channels_last=True``), and times a training step (forward, backward, SGD step) of
both in the same process, alternating. Prints each model's times, the ratio of the
summed times, and how far each path's float32 outputs and gradients are from the
float64 computation (float rounding: neither is bit-identical to it).

    .venv/bin/python benchmarks/bench_small_map_conv.py              # ~1 min
    .venv/bin/python benchmarks/bench_small_map_conv.py --models 8 --threads 2
"""
from __future__ import annotations

import argparse
import copy
import time

import torch

import regnet_plugin  # noqa: F401  (registers SmallMapConv2d for build_conv_layer)
from regnet_plugin.design.sampler import Regime, sample_models
from regnet_plugin.models import AnyNet


def step_time(net: torch.nn.Module, x: torch.Tensor, repeats: int) -> float:
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)

    def step() -> None:
        out = net(x)[-1].mean((2, 3)).sum()
        out.backward()
        opt.step()
        opt.zero_grad()

    step()
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    return (time.perf_counter() - start) / repeats


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--spaces', nargs='+',
                        default=['AnyNetX_A', 'AnyNetX_C', 'AnyNetX_E', 'RegNetX'])
    parser.add_argument('--models', type=int, default=3, help='models per space')
    parser.add_argument('--batch', type=int, default=64)
    parser.add_argument('--img-size', type=int, default=32)
    parser.add_argument('--min-flops', type=float, default=1e6)
    parser.add_argument('--max-flops', type=float, default=2e6)
    parser.add_argument('--repeats', type=int, default=4, help='timed steps per round')
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    totals = {'default': 0.0, 'small_map': 0.0}
    worst = [0.0, 0.0]
    for space in args.spaces:
        regime = Regime(min_flops=args.min_flops, max_flops=args.max_flops,
                        img_size=args.img_size,
                        num_classes=10)
        for model in sample_models(space, args.models, regime, seed=args.seed):
            torch.manual_seed(0)
            plain = AnyNet(arch=model.spec)
            fast = AnyNet(arch=model.spec, conv_cfg=dict(type='SmallMapConv2d'),
                          channels_last=True)
            fast.load_state_dict(plain.state_dict())
            x = torch.randn(args.batch, 3, args.img_size, args.img_size)
            worst = [max(w, d) for w, d in zip(worst, _difference(plain, fast, x))]
            times = {'default': 0.0, 'small_map': 0.0}
            for _ in range(args.rounds):
                times['default'] += step_time(plain, x, args.repeats)
                times['small_map'] += step_time(fast, x, args.repeats)
            for k in totals:
                totals[k] += times[k]
            print(f'{space:10s} {model.spec.id:>14s} '
                  f'default {times["default"] / args.rounds * 1e3:7.1f} ms  '
                  f'small_map {times["small_map"] / args.rounds * 1e3:7.1f} ms  '
                  f'x{times["default"] / times["small_map"]:.2f}', flush=True)
    print(f'training step, summed over models: default / small_map = '
          f'{totals["default"] / totals["small_map"]:.2f}')
    print(f'largest relative difference of outputs and gradients from float64: '
          f'default {worst[0]:.1e}, small_map {worst[1]:.1e}')
    return 0


def _difference(plain: torch.nn.Module, fast: torch.nn.Module, x: torch.Tensor
                ) -> tuple[float, float]:
    """How far each float32 model's output and gradients are from the float64
    computation (largest relative difference over the tensors): float32 rounding is
    amplified through deep BatchNorm stacks, so compare the two against the exact
    reference, not against each other."""
    def run(model: torch.nn.Module, dtype: torch.dtype) -> list[torch.Tensor]:
        model = copy.deepcopy(model).to(dtype)
        out = model(x.to(dtype))[-1]
        out.square().mean().backward()
        return [out.detach()] + [p.grad for p in model.parameters()]

    exact = run(plain, torch.float64)

    def error(tensors: list[torch.Tensor]) -> float:
        return max(float((t.double() - e).abs().max() / e.abs().max().clamp_min(1e-12))
                   for t, e in zip(tensors, exact))

    return error(run(plain, torch.float32)), error(run(fast, torch.float32))


if __name__ == '__main__':
    raise SystemExit(main())
