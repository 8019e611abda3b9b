"""Shared test set-up: headless plotting, quiet and repeatable torch."""
import os

os.environ.setdefault('MPLBACKEND', 'Agg')

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seed_everything():
    """Each test starts from the same random state, so failures reproduce."""
    import random

    import numpy as np
    random.seed(0)
    np.random.seed(0)
    try:
        import torch
    except ImportError:  # the torch-free core is tested without torch too
        return
    torch.manual_seed(0)


@pytest.fixture(scope='module')
def one_thread():
    """One torch thread for a module of tiny models (``pytestmark =
    pytest.mark.usefixtures('one_thread')``): OpenMP spin-waiting on a shared,
    oversubscribed machine made them up to 50x slower; restored afterwards."""
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make_image_folder(root, classes=2, per_class=6, size=16, splits=('train', 'val')):
    """An ImageNet-style tree root/split/class/img.png of learnable synthetic images.

    Each class has its own mean colour, so a few iterations of training move the loss.
    """
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for split in splits:
        for c in range(classes):
            folder = root / split / f'class{c}'
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(per_class):
                base = 40 + 170 * c / max(1, classes - 1)
                pixels = np.clip(rng.normal(base, 25, (size, size, 3)), 0, 255)
                Image.fromarray(pixels.astype('uint8')).save(folder / f'{i}.png')
    return root


@pytest.fixture(scope='session')
def tiny_image_folder(tmp_path_factory):
    """A 2-class, 16x16 image-folder dataset shared by the Runner tests."""
    return make_image_folder(tmp_path_factory.mktemp('tiny_images'))


@pytest.fixture(autouse=True)
def _isolate_default_scope():
    """Every test starts and ends with no current mmengine DefaultScope.

    Registries build in the *current* default scope, a process-wide singleton: a
    detection Runner (even one built by a module-scoped fixture) leaves 'mmdet'
    current, and a later MMPretrain build would look its types up in MMDetection's
    registry. Tests that need a scope set it (a Runner does so itself).
    """
    try:
        from mmengine.registry import DefaultScope
    except ImportError:
        yield
        return
    DefaultScope._instance_dict.clear()
    yield
    DefaultScope._instance_dict.clear()


@pytest.fixture(autouse=True)
def _forget_loggers_on_closed_streams():
    """A Runner built in the same second as an earlier one with the same config gets
    the earlier one's MMLogger (mmengine names loggers by config and timestamp). If
    that logger writes to a ``capsys`` stream of a finished test, every log line is a
    '--- Logging error ---' on this test's stderr. Forget such loggers first, so a
    Runner makes a fresh one on today's streams."""
    import sys
    if 'mmengine.logging' in sys.modules:
        from mmengine.logging import MMLogger
        for name, logger in list(MMLogger._instance_dict.items()):
            if any(getattr(getattr(h, 'stream', None), 'closed', False)
                   for h in logger.handlers):
                del MMLogger._instance_dict[name]
    yield
