#!/usr/bin/env python
"""CPU time of one Mask R-CNN training iteration and one inference, by backbone.

Three Mask R-CNN + FPN detectors at the same input size, random init (no model hub):

    ours    configs/mask_rcnn/mask-rcnn_regnetx-3.2gf_fpn_1x_coco.py (our RegNetX)
    mmdet   MMDetection's regnet/mask-rcnn_regnetx-3.2GF_fpn_1x_coco.py (its RegNet)
    r50     MMDetection's mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py (ResNet-50)

``ours`` gets *the same weights* as ``mmdet``: MMDetection's whole detector state dict
goes through ``regnet_plugin.convert.to_ours(..., 'mmdet')`` (backbone renamed, neck and
heads verbatim) and is loaded strictly; their eval outputs are compared before timing,
so both do the same work (same proposals, same detections, same masks).

A training iteration is ``model.train_step`` (data preprocessing, forward with losses,
backward, SGD step, as the Runner does); an inference is ``model.test_step`` (eval mode,
no grad, boxes and pasted masks). Repeats are interleaved (ours, mmdet, r50, then the
order rotated), each preceded by the same random seed; the median per model is reported
with the ratio ours/mmdet (< 1: ours is faster). The backbones are then also timed alone
(train-mode forward+backward, eval forward) on the same preprocessed input, 3x as many
repeats: on a CPU the RoI heads take most of an iteration, so this is the measurement
that resolves a few percent between ours and MMDetection's RegNet.

Quick run:  python benchmarks/bench_detection.py --size 320 --repeats 3
Default:    python benchmarks/bench_detection.py            (1 image, 512x512, 7 repeats)
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CONFIGS = {
    'ours': str(REPO / 'configs/mask_rcnn/mask-rcnn_regnetx-3.2gf_fpn_1x_coco.py'),
    'mmdet': 'mmdet::regnet/mask-rcnn_regnetx-3.2GF_fpn_1x_coco.py',
    'r50': 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
}
#: Tolerance of the ours-vs-mmdet equality check on the FPN outputs (eval mode).
MAX_FEATURE_DIFF = 1e-3


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--size', type=int, default=512, help='square image side (px)')
    parser.add_argument('--batch', type=int, default=1, help='images per iteration')
    parser.add_argument('--repeats', type=int, default=7,
                        help='timed repeats per model and mode (median reported)')
    parser.add_argument('--warmup', type=int, default=1, help='untimed repeats first')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads (default: torch\'s choice)')
    parser.add_argument('--score-thr', type=float, default=0.0,
                        help="RCNN test score threshold (MMDetection's: 0.05). A random-"
                             'init detector scores every box below 0.05, so the default 0 '
                             'keeps its top 100 boxes and times the mask branch too')
    parser.add_argument('--models', nargs='+', default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument('--json', help='also write the results to this file')
    return parser.parse_args(argv)


def load_config(name: str):
    """A config file, or a toolbox config by ``mmdet::`` name (loaded as a _base_)."""
    import tempfile

    from mmengine.config import Config

    path = CONFIGS[name]
    if not path.startswith('mmdet::'):
        return Config.fromfile(path)
    with tempfile.TemporaryDirectory() as tmp:
        twin = Path(tmp) / 'config.py'
        twin.write_text(f'_base_ = {path!r}\n')
        return Config.fromfile(str(twin))


def build_detector(name: str, score_thr: float) -> torch.nn.Module:
    import regnet_plugin  # noqa: F401  (registers our backbones)
    from mmdet.registry import MODELS

    cfg = load_config(name)
    cfg.model.backbone.init_cfg = None       # no download: random init everywhere
    cfg.model.test_cfg.rcnn.score_thr = score_thr
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def copy_mmdet_weights_into_ours(mmdet: torch.nn.Module, ours: torch.nn.Module) -> int:
    """Load MMDetection's detector weights into ours through the converter."""
    from regnet_plugin.convert import to_ours

    conversion = to_ours(mmdet.state_dict(), 'mmdet', arch='regnetx_3.2gf')
    ours.load_state_dict(conversion.state_dict, strict=True)
    return len(conversion.state_dict)


def make_batch(size: int, batch: int) -> dict[str, Any]:
    """Random images with three boxes and their rectangular masks per image."""
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import BitmapMasks
    from mmengine.structures import InstanceData

    generator = torch.Generator().manual_seed(0)
    inputs, samples = [], []
    boxes = torch.tensor([[0.10, 0.10, 0.45, 0.50], [0.50, 0.20, 0.90, 0.60],
                          [0.20, 0.55, 0.70, 0.95]]) * size
    for _ in range(batch):
        inputs.append(torch.randint(0, 256, (3, size, size), dtype=torch.uint8,
                                    generator=generator))
        masks = torch.zeros(len(boxes), size, size, dtype=torch.uint8)
        for k, (x0, y0, x1, y1) in enumerate(boxes.round().long().tolist()):
            masks[k, y0:y1, x0:x1] = 1
        gt = InstanceData(bboxes=boxes.clone(), labels=torch.tensor([0, 1, 2]),
                          masks=BitmapMasks(masks.numpy(), size, size))
        sample = DetDataSample(metainfo=dict(
            img_id=0, img_shape=(size, size), ori_shape=(size, size),
            scale_factor=(1.0, 1.0), pad_shape=(size, size)))
        sample.gt_instances = gt
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def check_same_outputs(ours: torch.nn.Module, mmdet: torch.nn.Module,
                       data: dict[str, Any]) -> float:
    """Max abs difference of the FPN outputs in eval mode (must be ~0)."""
    ours.eval()
    mmdet.eval()
    with torch.no_grad():
        batch = ours.data_preprocessor(data, False)['inputs']
        diffs = [(a - b).abs().max().item()
                 for a, b in zip(ours.extract_feat(batch), mmdet.extract_feat(batch))]
    return max(diffs)


def train_iteration(model: torch.nn.Module, wrapper, data: dict[str, Any]) -> None:
    model.train()
    model.train_step(data, wrapper)


def inference(model: torch.nn.Module, data: dict[str, Any]) -> int:
    model.eval()
    with torch.no_grad():
        results = model.test_step(data)
    return sum(len(r.pred_instances) for r in results)


def backbone_step(backbone: torch.nn.Module, batch: torch.Tensor) -> None:
    backbone.train()
    sum(out.sum() for out in backbone(batch)).backward()
    backbone.zero_grad(set_to_none=True)


def backbone_inference(backbone: torch.nn.Module, batch: torch.Tensor) -> None:
    backbone.eval()
    with torch.no_grad():
        backbone(batch)


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved(names: list[str], rounds: int, warmup: int,
                step: Callable[[str, int], dict[str, float]],
                times: dict[str, dict[str, list[float]]]) -> None:
    """``step(name, round)`` for every model each round, the order rotated per round so
    no model always runs first; the seconds it returns per mode are kept after warm-up."""
    for repeat in range(warmup + rounds):
        for name in names[repeat % len(names):] + names[:repeat % len(names)]:
            seconds = step(name, repeat)
            if repeat >= warmup:
                for mode, value in seconds.items():
                    times[name].setdefault(mode, []).append(value)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    from mmdet.utils import register_all_modules
    from mmengine.optim import OptimWrapper

    from mmengine.logging import MMLogger

    register_all_modules(init_default_scope=True)
    # the current logger: keeps init_weights' per-parameter report off the output
    MMLogger.get_instance('bench_detection', log_level='WARNING')
    names = args.models
    models = {name: build_detector(name, args.score_thr) for name in names}
    data = make_batch(args.size, args.batch)
    notes = []
    if 'ours' in models and 'mmdet' in models:
        copied = copy_mmdet_weights_into_ours(models['mmdet'], models['ours'])
        diff = check_same_outputs(models['ours'], models['mmdet'], data)
        if diff > MAX_FEATURE_DIFF:
            raise SystemExit(f'ours and mmdet disagree with the same weights: FPN max '
                             f'abs diff {diff:.3g} > {MAX_FEATURE_DIFF}')
        notes.append(f'ours <- mmdet weights ({copied} tensors via the converter); '
                     f'FPN outputs max abs diff {diff:.2e}')
    # One SGD per model, as in the configs (lr 0.02, momentum 0.9, wd 5e-5): the step
    # is part of an iteration. Small lr keeps the weights from drifting apart much.
    wrappers = {name: OptimWrapper(torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=1e-5, momentum=0.9,
        weight_decay=5e-5)) for name, model in models.items()}

    times: dict[str, dict[str, list[float]]] = {n: {} for n in names}
    detections: dict[str, int] = {}

    def detector_step(name: str, repeat: int) -> dict[str, float]:
        model = models[name]
        torch.manual_seed(repeat)
        train_s = timed(lambda: train_iteration(model, wrappers[name], data))
        torch.manual_seed(repeat)
        infer_s = timed(lambda: detections.__setitem__(name, inference(model, data)))
        return {'train': train_s, 'infer': infer_s}

    interleaved(names, args.repeats, args.warmup, detector_step, times)

    # The backbone alone, inside its detector (frozen stem/stage 1, norm_eval), on the
    # preprocessed batch: the only part that differs between ours and mmdet, and small
    # enough next to the RoI heads that the whole-detector timings cannot resolve 5%.
    batch = next(iter(models.values())).data_preprocessor(data, False)['inputs']

    def backbone_round(name: str, repeat: int) -> dict[str, float]:
        backbone = models[name].backbone
        return {'backbone_train': timed(lambda: backbone_step(backbone, batch)),
                'backbone_infer': timed(lambda: backbone_inference(backbone, batch))}

    interleaved(names, 3 * args.repeats, args.warmup, backbone_round, times)

    medians = {n: {mode: statistics.median(v) for mode, v in t.items()}
               for n, t in times.items()}
    # other processes on a shared machine only ever add time: the minimum is the
    # least disturbed repeat, shown beside the median
    minima = {n: {mode: min(v) for mode, v in t.items()} for n, t in times.items()}
    print(f'Mask R-CNN + FPN, {args.batch} image(s) {args.size}x{args.size}, CPU, '
          f'{torch.get_num_threads()} threads, {args.repeats} interleaved repeats '
          f'(+{args.warmup} warm-up), median; RCNN score_thr {args.score_thr}')
    for note in notes:
        print(note)
    print(f'{"backbone":<8} {"train iter (ms)":>16} {"inference (ms)":>15} '
          f'{"detections":>10}')
    for name in names:
        print(f'{name:<8} {medians[name]["train"] * 1e3:>16.0f} '
              f'{medians[name]["infer"] * 1e3:>15.0f} {detections[name]:>10}')
    print(f'backbone alone, {3 * args.repeats} interleaved repeats: '
          f'median (min) ms')
    print(f'{"backbone":<8} {"fwd+bwd":>16} {"eval fwd":>15}')
    for name in names:
        cells = [f'{medians[name][m] * 1e3:.1f} ({minima[name][m] * 1e3:.1f})'
                 for m in ('backbone_train', 'backbone_infer')]
        print(f'{name:<8} {cells[0]:>16} {cells[1]:>15}')
    ratios = {}
    if 'ours' in medians and 'mmdet' in medians:
        ratios = {mode: medians['ours'][mode] / medians['mmdet'][mode]
                  for mode in ('train', 'infer', 'backbone_train', 'backbone_infer')}
        print(f'ours/mmdet time ratio: Mask R-CNN train {ratios["train"]:.3f}, inference '
              f'{ratios["infer"]:.3f}; backbone train {ratios["backbone_train"]:.3f}, '
              f'inference {ratios["backbone_infer"]:.3f} (< 1: ours faster; bar: <= 1.05)')
        best = {mode: minima['ours'][mode] / minima['mmdet'][mode]
                for mode in ('backbone_train', 'backbone_infer')}
        ratios.update({f'{mode}_min': value for mode, value in best.items()})
        print(f'ours/mmdet ratio of the minima: backbone train '
              f'{best["backbone_train"]:.3f}, inference {best["backbone_infer"]:.3f}')
    result = dict(size=args.size, batch=args.batch, repeats=args.repeats,
                  score_thr=args.score_thr,
                  threads=torch.get_num_threads(), times_s=times, median_s=medians,
                  min_s=minima,
                  detections=detections, ratio_ours_over_mmdet=ratios, notes=notes)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return result


if __name__ == '__main__':
    main()
