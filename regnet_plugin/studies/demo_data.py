"""The embedded demo's data: scikit-learn's 8x8 digits as an ImageNet-style tree.

No download: scikit-learn ships the 1797 handwritten digits. They are written once
as PNG files (upscaled, grey replicated to RGB) into ``root/train/<class>/`` and
``root/val/<class>/``, so MMPretrain's own ``CustomDataset``/ImageNet folder loading
and its image pipeline are what the demo trains on. A marker file (written last,
atomically) makes the write idempotent; a tree written with other settings (another
split) is never written over, since the two would mix: a study prepares each
setting into its own directory (``preparation.prepare_data``, type 'digits').
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

MARKER = '.digits_ready.json'


def write_digits_tree(root: str | os.PathLike, size: int = 32, val_fraction: float = 0.2,
                      seed: int = 0) -> Path:
    """Write the digits tree under ``root`` (once; later calls return at once)."""
    root = Path(root)
    settings = {'size': int(size), 'val_fraction': float(val_fraction), 'seed': int(seed)}
    marker = root / MARKER
    if marker.exists():
        try:
            if json.loads(marker.read_text()).get('settings') == settings:
                return root
        except ValueError:
            pass
    if root.exists() and any(root.iterdir()):
        raise ValueError(f'{root} already holds files (another digits split or a partial '
                         f'write): refusing to write {settings} over them, the two would '
                         f'mix; use an empty directory')
    if not 8 <= size <= 512:
        raise ValueError(f'size must be in [8, 512] pixels, got {size}')
    if not 0 < val_fraction < 1:
        raise ValueError(f'val_fraction must be in (0, 1), got {val_fraction}')
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise RuntimeError('the digits demo needs scikit-learn (pip install '
                           'scikit-learn); it ships the dataset, nothing is downloaded'
                           ) from None
    from PIL import Image

    digits = load_digits()
    images = (digits.images / 16.0 * 255).round().astype(np.uint8)   # values 0..16
    labels = digits.target
    order = np.random.default_rng(seed).permutation(len(labels))
    n_val = int(round(len(labels) * val_fraction))
    split = {'val': order[:n_val], 'train': order[n_val:]}
    counts = {}
    for name, indices in split.items():
        for c in range(10):
            (root / name / str(c)).mkdir(parents=True, exist_ok=True)
        for i in indices:
            image = Image.fromarray(images[i], mode='L').resize((size, size),
                                                                Image.BILINEAR)
            image.convert('RGB').save(root / name / str(labels[i]) / f'{i:04d}.png')
        counts[name] = int(len(indices))
    tmp = marker.with_suffix('.tmp')
    tmp.write_text(json.dumps({'settings': settings, 'counts': counts}))
    tmp.replace(marker)
    return root
