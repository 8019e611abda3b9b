#!/usr/bin/env python
"""CPU throughput of our backbones against the same architectures elsewhere.

Pairs (ours vs theirs), each with *the same weights* (theirs converted into ours by
``regnet_plugin.convert.to_ours``, and the eval outputs are checked to agree before
anything is timed):

    RegNetX-400MF  vs timm regnetx_004
    RegNetY-400MF  vs timm regnety_004
    RegNetY-4.0GF  vs timm regnety_040
    RegNetX-3.2GF  vs MMPretrain RegNet(arch='regnetx_3.2gf')

For each pair it measures inference (eval, no grad) and a training step (train mode,
forward, backward of the mean of the last feature map, SGD momentum step) in images/s,
in one process with one thread count. Iterations alternate ours/theirs (flipping which
goes first), the median time per model is reported as images/s, with the ratio
ours/theirs (> 1: ours is faster). ``--fuse`` adds our inference with conv+BN folded.

Quick run:  python benchmarks/bench_backbone.py --batch 8 --iters 3
Full run:   python benchmarks/bench_backbone.py            (batch 32, 224x224)
"""
from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from regnet_plugin.convert import LAYOUTS, OURS, to_ours  # noqa: E402
from regnet_plugin.models import AnyNet, RegNetX, RegNetY  # noqa: E402

PAIRS = {
    # name: (our class, our arch, their library, their model name)
    'regnetx_400mf': (RegNetX, 'regnetx_400mf', 'timm', 'regnetx_004'),
    'regnety_400mf': (RegNetY, 'regnety_400mf', 'timm', 'regnety_004'),
    'regnety_4.0gf': (RegNetY, 'regnety_4.0gf', 'timm', 'regnety_040'),
    'regnetx_3.2gf': (RegNetX, 'regnetx_3.2gf', 'mmpretrain', 'regnetx_3.2gf'),
}


# -- their models, their weights in ours ----------------------------------------------
class LastFeature(nn.Module):
    """Uniform interface: image batch -> last stage feature map."""

    def __init__(self, model: nn.Module, forward: Callable[[nn.Module, torch.Tensor],
                                                           torch.Tensor]) -> None:
        super().__init__()
        self.model = model
        self._forward = forward

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._forward(self.model, x)


def build_theirs(library: str, name: str) -> LastFeature:
    if library == 'timm':
        import timm
        model = timm.create_model(name, pretrained=False)
        return LastFeature(model, lambda m, x: m.forward_features(x))
    if library == 'mmpretrain':
        from mmpretrain.models.backbones import RegNet
        model = RegNet(arch=name)
        return LastFeature(model, lambda m, x: m(x)[-1])
    raise ValueError(f'unknown library {library!r}')


def their_weights_in_ours(theirs: nn.Module, library: str, arch: str
                          ) -> dict[str, torch.Tensor]:
    """Their backbone's tensors under our backbone's names, through the converter
    (``library`` is the converter's source format; the classifier head is dropped)."""
    conversion = to_ours(theirs.state_dict(), library, arch=arch)
    prefix = OURS.backbone_prefix                     # 'backbone.'
    return {k[len(prefix):]: v for k, v in conversion.state_dict.items()
            if k.startswith(prefix)}


def build_pair(key: str, ours_channels_last: bool = False
               ) -> tuple[LastFeature, LastFeature, float]:
    """Ours and theirs with the same weights, and their max output difference
    relative to the largest output value (eval mode)."""
    our_cls, arch, library, their_name = PAIRS[key]
    torch.manual_seed(0)
    theirs = build_theirs(library, their_name)
    with torch.no_grad():   # non-trivial BN statistics, so the check means something
        gen = torch.Generator().manual_seed(0)
        for m in theirs.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
    ours_model: AnyNet = our_cls(arch, channels_last=ours_channels_last)
    ours_model.load_state_dict(their_weights_in_ours(theirs.model, library, arch),
                               strict=True)
    ours = LastFeature(ours_model, lambda m, x: m(x)[-1])
    x = torch.randn(2, 3, 224, 224)
    # the converter makes RGB-trained weights (timm) take BGR, as our configs feed it
    ours_x = x[:, [2, 1, 0]] if LAYOUTS[library].input_channels == 'rgb' else x
    with torch.no_grad():
        reference = theirs.eval()(x)
        diff = ((ours.eval()(ours_x) - reference).abs().max()
                / reference.abs().max()).item()
    return ours, theirs, diff


# -- timing ----------------------------------------------------------------------------
def make_runner(model: nn.Module, mode: str, x: torch.Tensor) -> Callable[[], None]:
    if mode == 'infer':
        model.eval()

        def run() -> None:
            with torch.no_grad():
                model(x)
        return run
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=1e-3, momentum=0.9)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        model(x).float().mean().backward()
        optimizer.step()
    return step


CLOCKS = {'wall': time.perf_counter, 'cpu': time.process_time}


def timed(run: Callable[[], None], clock: Callable[[], float]) -> float:
    start = clock()
    run()
    return clock() - start


def bench(models: dict[str, nn.Module], mode: str, args: argparse.Namespace) -> dict:
    """Images/s per model: median over ``args.iters`` iterations, which alternate
    between the models (and flip their order every round) so that load from other
    processes hits all of them alike."""
    x = torch.randn(args.batch, 3, args.size, args.size)
    if args.channels_last:
        x = x.to(memory_format=torch.channels_last)
    runners = {name: make_runner(model, mode, x) for name, model in models.items()}
    for run in runners.values():          # warm-up (allocator, oneDNN primitives)
        for _ in range(args.warmup):
            run()
    seconds: dict[str, list[float]] = {name: [] for name in runners}
    names = list(runners)
    for i in range(args.iters):
        for name in (names if i % 2 == 0 else names[::-1]):
            seconds[name].append(timed(runners[name], CLOCKS[args.clock]))
    return {name: args.batch / statistics.median(v) for name, v in seconds.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--pairs', nargs='+', default=list(PAIRS), choices=list(PAIRS))
    parser.add_argument('--modes', nargs='+', default=['infer', 'train'],
                        choices=['infer', 'train'])
    parser.add_argument('--batch', type=int, default=32)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--iters', type=int, default=10,
                        help='timed iterations per model, alternating ours/theirs; '
                             'the median is reported')
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--threads', type=int, default=torch.get_num_threads())
    parser.add_argument('--clock', choices=list(CLOCKS), default='wall',
                        help="'cpu' times process CPU seconds (images per CPU-second): "
                             'steadier than wall time on a machine shared with others')
    parser.add_argument('--channels-last', action='store_true',
                        help='both models and the input in channels_last')
    parser.add_argument('--ours-channels-last', action='store_true',
                        help='build ours with channels_last=True (NHWC inside, input '
                             'converted in forward); theirs keep the default layout')
    parser.add_argument('--fuse', action='store_true',
                        help='also time our inference with conv+BN folded')
    parser.add_argument('--json', type=Path, help='write the results here too')
    args = parser.parse_args(argv)
    for name in ('batch', 'size', 'iters', 'threads'):
        if getattr(args, name) < 1:
            parser.error(f'--{name} must be >= 1, got {getattr(args, name)}')
    torch.set_num_threads(args.threads)

    print(f'torch {torch.__version__}, threads {torch.get_num_threads()}, batch '
          f'{args.batch}, {args.size}x{args.size}, iters {args.iters} (alternating, '
          f'median), clock {args.clock}, channels_last {args.channels_last}, '
          f'ours_channels_last {args.ours_channels_last}')
    print(f'{"model":<15}{"mode":<12}{"theirs":<26}{"ours img/s":>11}'
          f'{"theirs img/s":>14}{"ratio":>8}')
    report = []
    for key in args.pairs:
        ours, theirs, diff = build_pair(key, args.ours_channels_last)
        if diff > 1e-3:
            raise SystemExit(f'{key}: outputs differ by {diff:.2e} (relative) with the '
                             f'same weights: not the same architecture')
        their_name = f'{PAIRS[key][2]} {PAIRS[key][3]}'
        if args.channels_last:
            ours = ours.to(memory_format=torch.channels_last)
            theirs = theirs.to(memory_format=torch.channels_last)
        for mode in args.modes:
            models = {'ours': ours, 'theirs': theirs}
            if mode == 'infer' and args.fuse:
                fused = copy.deepcopy(ours).eval()
                fused.model.fuse_conv_bn()
                models['ours_fused'] = fused
            result = bench(models, mode, args)
            for variant in [v for v in models if v != 'theirs']:
                ratio = result[variant] / result['theirs']
                label = mode + ('+fuse' if variant == 'ours_fused' else '')
                print(f'{key:<15}{label:<12}{their_name:<26}{result[variant]:>11.1f}'
                      f'{result["theirs"]:>14.1f}{ratio:>8.3f}', flush=True)
                report.append(dict(model=key, mode=label, theirs=their_name,
                                   ours_img_s=result[variant],
                                   theirs_img_s=result['theirs'], ratio=ratio,
                                   max_rel_diff=diff))
    if args.json:
        args.json.write_text(json.dumps(dict(args={k: str(v) for k, v in vars(args).items()},
                                             results=report), indent=1))
    return 0


if __name__ == '__main__':
    sys.exit(main())
