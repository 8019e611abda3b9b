"""Every registration into the toolboxes' registries, in one place.

We register into mmengine's *root* registries. MMPretrain's and MMDetection's
registries (and any other OpenMMLab toolbox's) are children of these roots, and a
child looks a ``type=`` up in its parent when it does not have it: a config with
``default_scope='mmpretrain'`` or ``'mmdet'`` finds ``RegNetY`` all the same, while
``import regnet_plugin`` costs mmengine only, not both toolboxes (seconds saved in
every CLI). Our names never clash with the toolboxes' own (both have ``RegNet``).
"""
from __future__ import annotations

from mmengine.registry import DATASETS, HOOKS, MODELS, Registry


def register(cls: type, registry: Registry) -> type:
    """Register ``cls`` under its own name (idempotent on re-import)."""
    if registry.module_dict.get(cls.__name__) is not cls:
        registry.register_module(module=cls, force=False)
    return cls


# -- backbones (regnet_plugin/models) -------------------------------------
from .models import AnyNet, RegNetX, RegNetY  # noqa: E402

for _backbone in (AnyNet, RegNetX, RegNetY):
    register(_backbone, MODELS)

# -- design-space studies (regnet_plugin/studies) --------------------------
from .studies.dataset import DesignSpaceDataset  # noqa: E402
from .studies.hooks import EDFHook  # noqa: E402

register(DesignSpaceDataset, DATASETS)

# -- datasets held in memory (regnet_plugin/in_memory_dataset.py) -----------
from .in_memory_dataset import InMemoryDataset  # noqa: E402

register(InMemoryDataset, DATASETS)
register(EDFHook, HOOKS)
