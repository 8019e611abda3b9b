"""The models of the comparison tables: which architecture each paper row names,
how to build it as a classifier, and at which resolution the paper counts it.

Every row is a classifier under MMPretrain's ``ImageClassifier`` with
``GlobalAveragePooling`` and a ``LinearClsHead`` to 1000 classes, i.e. exactly the
classifier a user evaluates with the toolbox (random init, no weights downloaded).
RegNet rows use our ``RegNetX``/``RegNetY`` backbones; ResNe(X)t rows use our
``AnyNet`` at an AnyNet point (``resnet_spec``: pycls' own ResNet-50 / ResNeXt-50 32x4d
AnyNet configs, deeper ones with ResNet's stage depths). Both are counted by the
analytic core (``entry.spec``), and the module built (timed, and evaluated with
``--eval``) is the one counted. MMPretrain's ImageNet ResNet/ResNeXt checkpoints load
into these AnyNets unchanged (``AnyNet`` renames their keys as it loads), and the
tests keep fvcore's count of MMPretrain's own ResNet/ResNeXt as a cross-check of the
analytic one. EfficientNet and the mobile rows are MMPretrain backbones counted with
fvcore.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from regnet_plugin.design import AnyNetSpec, is_preset, preset_spec
from regnet_plugin.design.pycls_config import spec_from_pycls_config

NUM_CLASSES = 1000
DEFAULT_RESOLUTION = 224


@dataclass(frozen=True)
class ModelEntry:
    """One row's model: name as the paper prints it and how to build it."""

    name: str
    family: str
    resolution: int = DEFAULT_RESOLUTION
    backbone: dict[str, Any] | None = None
    preset: str | None = None
    description: str = ''
    unavailable: str = ''
    head_in_channels: int | None = field(default=None, compare=False)
    #: the AnyNet spec of rows the analytic core counts (RegNets, ResNe(X)t)
    spec: AnyNetSpec | None = field(default=None, compare=False)

    @property
    def is_regnet(self) -> bool:
        return self.preset is not None

    @property
    def buildable(self) -> bool:
        return not self.unavailable


#: Stage depths of ResNet-50/101/152 (He et al., Table 1).
RESNET_STAGE_DEPTHS = {50: [3, 4, 6, 3], 101: [3, 4, 23, 3], 152: [3, 8, 36, 3]}


def resnet_spec(depth: int, resnext: bool = False) -> AnyNetSpec:
    """ResNet-D / ResNeXt-D 32x4d as an AnyNet point, as pycls' anynet configs write
    them (``configs/archive/imagenet/anynet/R-50-1x64d_step_8gpu.yaml``,
    ``X-50-32x4d``): ResNet's ImageNet stem, bottleneck blocks with the stride on the
    3x3 conv, strides [1, 2, 2, 2]; b = 4 and one group (ResNet) or b = 2 and group
    width 4..32, i.e. 32 groups (ResNeXt)."""
    return spec_from_pycls_config({
        'MODEL': {'TYPE': 'anynet', 'NUM_CLASSES': NUM_CLASSES},
        'ANYNET': {'STEM_TYPE': 'res_stem_in', 'STEM_W': 64,
                   'BLOCK_TYPE': 'res_bottleneck_block',
                   'DEPTHS': RESNET_STAGE_DEPTHS[depth],
                   'WIDTHS': [256, 512, 1024, 2048], 'STRIDES': [1, 2, 2, 2],
                   'BOT_MULS': [0.5 if resnext else 0.25] * 4,
                   'GROUP_WS': [4, 8, 16, 32] if resnext else [64, 128, 256, 512]}}).spec


def regnet_preset_name(model_name: str) -> str:
    """'RegNetX-3.2GF' -> 'regnetx_3.2gf' (the core's and MMPretrain's preset names)."""
    return model_name.strip().lower().replace('-', '_')


def _efficientnet(index: int) -> ModelEntry:
    from mmpretrain.models import EfficientNet
    arch = f'b{index}'
    resolution = EfficientNet.arch_settings[arch][2]
    return ModelEntry(f'EfficientNet-B{index}', 'efficientnet', resolution,
                      backbone=dict(type='EfficientNet', arch=arch),
                      description=f'MMPretrain EfficientNet arch={arch} at {resolution}px')


def _mobile_entry(name: str) -> ModelEntry:
    from mmpretrain.registry import MODELS
    candidates = {
        'MobileNet': ('mobilenet', dict(type='MobileNetV1'), 'MobileNetV1 1.0x'),
        'MobileNetV2': ('mobilenet', dict(type='MobileNetV2', widen_factor=1.4),
                        'MobileNetV2 1.4x'),
        'ShuffleNet': ('shufflenet', dict(type='ShuffleNetV1', groups=3, widen_factor=2.0),
                       'ShuffleNetV1 2x, g=3'),
        'ShuffleNetV2': ('shufflenet', dict(type='ShuffleNetV2', widen_factor=2.0),
                         'ShuffleNetV2 2x'),
    }
    if name not in candidates:
        return ModelEntry(name, 'nas', unavailable='no MMPretrain implementation')
    family, backbone, description = candidates[name]
    if MODELS.get(backbone['type']) is None:
        return ModelEntry(name, family, unavailable=(
            f'{backbone["type"]} is not in this MMPretrain version'))
    return ModelEntry(name, family, backbone=backbone,
                      description=f'MMPretrain {description}')


def model_entry(name: str) -> ModelEntry:
    """The entry for a paper row name (raises ValueError for names we do not know)."""
    if is_preset(regnet_preset_name(name)):
        preset = regnet_preset_name(name)
        family = preset.split('_')[0]
        backbone_type = 'RegNetY' if family == 'regnety' else 'RegNetX'
        return ModelEntry(name, family, DEFAULT_RESOLUTION,
                          # default out_indices: the last stage
                          backbone=dict(type=backbone_type, arch=preset),
                          preset=preset,
                          description=f'regnet_plugin {backbone_type} arch={preset}',
                          head_in_channels=preset_spec(preset).widths[-1],
                          spec=preset_spec(preset))
    match = re.fullmatch(r'ResNe(X?)t-(\d+)', name)
    if match:
        depth = int(match.group(2))
        resnext = bool(match.group(1))
        if depth not in RESNET_STAGE_DEPTHS:
            raise ValueError(f'no model known for table row {name!r} (depths '
                             f'{sorted(RESNET_STAGE_DEPTHS)})')
        spec = resnet_spec(depth, resnext)
        family = 'resnext' if resnext else 'resnet'
        what = f'ResNeXt depth={depth} 32x4d' if resnext else f'ResNet depth={depth}'
        return ModelEntry(name, family, DEFAULT_RESOLUTION,
                          # default out_indices: the last stage
                          backbone=dict(type='AnyNet', arch=spec.to_dict()),
                          description=f'regnet_plugin AnyNet {what}',
                          head_in_channels=spec.out_width, spec=spec)
    match = re.fullmatch(r'EfficientNet-B(\d)', name)
    if match:
        return _efficientnet(int(match.group(1)))
    if name in ('MobileNet', 'MobileNetV2', 'ShuffleNet', 'ShuffleNetV2', 'NASNet-A',
                'AmoebaNet-C', 'PNASNet-5', 'DARTS'):
        return _mobile_entry(name)
    raise ValueError(f'no model known for table row {name!r}')


def _backbone_out_channels(backbone: Any, resolution: int) -> int:
    """The channels of the backbone's last output, found by running it once small."""
    import torch
    was_training = backbone.training
    backbone.eval()
    with torch.no_grad():
        outs = backbone(torch.zeros(1, 3, min(resolution, 64), min(resolution, 64)))
    backbone.train(was_training)
    last = outs[-1] if isinstance(outs, (tuple, list)) else outs
    return int(last.shape[1])


def _ensure_registered(entry: ModelEntry) -> None:
    """Importing regnet_plugin registers our backbones into MMPretrain's registry."""
    import regnet_plugin  # noqa: F401
    if entry.spec is not None:          # RegNet and ResNe(X)t rows: our backbones
        from mmpretrain.registry import MODELS
        if MODELS.get(entry.backbone['type']) is None:
            raise RuntimeError(
                f'{entry.backbone["type"]} is not registered in MMPretrain (the '
                f'regnet_plugin.models backbones are not available): cannot build '
                f'{entry.name} as a torch model')


def classifier_config(entry: ModelEntry, in_channels: int) -> dict[str, Any]:
    """MMPretrain ImageClassifier config: backbone + GAP + linear head, 1000 classes."""
    return dict(
        type='ImageClassifier',
        backbone=copy.deepcopy(entry.backbone),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=NUM_CLASSES, in_channels=in_channels,
                  loss=dict(type='CrossEntropyLoss', loss_weight=1.0), topk=(1, 5)))


def build_classifier(entry: ModelEntry) -> tuple[Any, dict[str, Any]]:
    """The classifier module (random init, eval mode) and the config it was built from."""
    if not entry.buildable:
        raise RuntimeError(f'{entry.name}: {entry.unavailable}')
    _ensure_registered(entry)
    from mmpretrain.registry import MODELS
    in_channels = entry.head_in_channels
    if in_channels is None:
        in_channels = _backbone_out_channels(MODELS.build(copy.deepcopy(entry.backbone)),
                                             entry.resolution)
    config = classifier_config(entry, in_channels)
    model = MODELS.build(copy.deepcopy(config))
    model.eval()
    return model, config
