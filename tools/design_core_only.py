"""Import only the torch-free design core when a tool runs as a script.

``regnet_plugin/__init__.py`` registers the backbones into MMPretrain/MMDetection,
which imports torch and both toolboxes (~5 s). Tools that only compute with the
design core (``model_info.py``, ``scale_model.py``) call :func:`skip_package_init`
first: Python then gets a bare parent package and never runs that ``__init__``.
Imported as a module (tests import the tools' functions), nothing is changed.
"""
from __future__ import annotations

import os
import sys
import types

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def skip_package_init(running_as_script: bool) -> None:
    """Put the repository on the path; as a script, stand in a bare ``regnet_plugin``
    package (unless the real one is already imported)."""
    if REPO not in sys.path:
        sys.path.insert(0, REPO)
    if running_as_script and 'regnet_plugin' not in sys.modules:
        package = types.ModuleType('regnet_plugin')
        package.__path__ = [os.path.join(REPO, 'regnet_plugin')]
        sys.modules['regnet_plugin'] = package
