"""Fixtures of the detection tests (helpers in ``detection_helpers.py``)."""
from __future__ import annotations

from pathlib import Path

import pytest
from detection_helpers import make_coco_instances


@pytest.fixture(scope='session')
def tiny_coco(tmp_path_factory) -> dict[str, Path]:
    """4 images of 128x128 with 1-3 instances each, 2 categories, COCO JSON."""
    return make_coco_instances(tmp_path_factory.mktemp('tiny_coco'))
