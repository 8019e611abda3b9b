"""Every registration into the toolboxes' registries, in one place.

We register into mmengine's *root* registries. MMPretrain's and MMDetection's
registries (and any other OpenMMLab toolbox's) are children of these roots, and a
child looks a ``type=`` up in its parent when it does not have it: a config with
``default_scope='mmpretrain'`` (or any other) finds ``RegNetY`` all the same. Our
names never clash with the toolboxes' own (both have ``RegNet``).

The one exception is MMDetection, whose ``RegNet`` defaults differ from MMPretrain's
(``out_indices=(0, 1, 2, 3)``, ``norm_eval=True``): its own child registry gets the
``Det*`` variants under the same names, so ``type='RegNetX'`` in an MMDetection config
(default scope ``mmdet``, or ``mmdet.RegNetX``, or ``mmdet.registry.MODELS``) builds a
backbone with MMDetection's defaults, and everywhere else with MMPretrain's. Importing
``mmdet.registry`` costs little: mmcv, which it needs, is already loaded by our models.
"""
from __future__ import annotations

from mmengine.registry import DATASETS, HOOKS, MODELS, Registry


def register(cls: type, registry: Registry) -> type:
    """Register ``cls`` under its own name (idempotent on re-import)."""
    if registry.module_dict.get(cls.__name__) is not cls:
        registry.register_module(module=cls, force=False)
    return cls


# -- backbones (regnet_plugin/models) -------------------------------------
from .models import (AnyNet, DetAnyNet, DetRegNetX, DetRegNetY, DetRegNetZ,  # noqa
                     RegNetX, RegNetY, RegNetZ, SmallMapConv2d)

for _backbone in (AnyNet, RegNetX, RegNetY, RegNetZ):
    register(_backbone, MODELS)
# a conv layer for conv_cfg=dict(type='SmallMapConv2d'): mmcv's build_conv_layer
# looks conv types up in the same root registry
register(SmallMapConv2d, MODELS)


def register_as(cls: type, name: str, registry: Registry) -> type:
    """Register ``cls`` under ``name`` (idempotent on re-import)."""
    if registry.module_dict.get(name) is not cls:
        registry.register_module(name=name, module=cls, force=False)
    return cls


try:
    from mmdet.registry import MODELS as MMDET_MODELS
except ImportError:         # MMDetection not installed: MMPretrain's defaults everywhere
    MMDET_MODELS = None
if MMDET_MODELS is not None:
    for _det, _base in ((DetAnyNet, AnyNet), (DetRegNetX, RegNetX),
                        (DetRegNetY, RegNetY), (DetRegNetZ, RegNetZ)):
        register_as(_det, _base.__name__, MMDET_MODELS)

# -- design-space studies (regnet_plugin/studies) --------------------------
from .studies.dataset import DesignSpaceDataset  # noqa: E402
from .studies.hooks import EDFHook  # noqa: E402

register(DesignSpaceDataset, DATASETS)

# -- datasets held in memory (regnet_plugin/in_memory_dataset.py) -----------
from .in_memory_dataset import InMemoryDataset  # noqa: E402

register(InMemoryDataset, DATASETS)
register(EDFHook, HOOKS)
