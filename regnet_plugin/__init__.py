"""regnet_plugin: "Designing Network Design Spaces" (RegNet, AnyNet, design-space
studies) for MMPretrain and MMDetection.

``custom_imports=dict(imports=['regnet_plugin'])`` in a toolbox config imports this
package, which registers our models, datasets and hooks into both toolboxes
(see ``regnet_plugin/registry.py``) and makes mmengine checkpoints loadable under
torch's weights-only ``torch.load`` (see ``regnet_plugin/checkpoint_compat.py``).

The design-space math lives in ``regnet_plugin.design`` and needs no torch: when
torch/mmengine are not installed, only that part is usable.
"""
from importlib.util import find_spec

__version__ = '0.1.0'

if find_spec('torch') is not None and find_spec('mmengine') is not None:
    from . import checkpoint_compat  # noqa: F401  (allow-lists mmengine's globals)
    from . import registry  # noqa: F401  (registers into MMPretrain and MMDetection)
