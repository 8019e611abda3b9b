"""Every registration into the toolboxes' registries, in one place.

Our classes are registered into MMPretrain's and MMDetection's registries so that a
config with ``default_scope='mmpretrain'`` or ``'mmdet'`` finds them by ``type=``.
Names never clash with the toolboxes' own (both already have ``RegNet``).
"""
from __future__ import annotations

from mmdet.registry import MODELS as MMDET_MODELS
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS


def register(cls: type, *registries) -> type:
    """Register ``cls`` under its own name in each registry (idempotent)."""
    for registry in registries:
        if registry.get(cls.__name__) is not cls:
            registry.register_module(module=cls, force=False)
    return cls


# -- backbones (regnet_plugin/models) -------------------------------------
from .models import AnyNet, RegNetX, RegNetY  # noqa: E402

for _backbone in (AnyNet, RegNetX, RegNetY):
    register(_backbone, MMPRETRAIN_MODELS, MMDET_MODELS)

# -- design-space studies (regnet_plugin/studies) --------------------------
from mmdet.registry import DATASETS as MMDET_DATASETS  # noqa: E402
from mmdet.registry import HOOKS as MMDET_HOOKS  # noqa: E402
from mmpretrain.registry import DATASETS as MMPRETRAIN_DATASETS  # noqa: E402
from mmpretrain.registry import HOOKS as MMPRETRAIN_HOOKS  # noqa: E402

from .studies.dataset import DesignSpaceDataset  # noqa: E402
from .studies.hooks import EDFHook  # noqa: E402

register(DesignSpaceDataset, MMPRETRAIN_DATASETS, MMDET_DATASETS)
register(EDFHook, MMPRETRAIN_HOOKS, MMDET_HOOKS)
