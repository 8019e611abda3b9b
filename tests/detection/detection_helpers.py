"""Shared by the detection tests: a tiny, real COCO-format instance-segmentation set.

No COCO here, so the end-to-end tests generate one: coloured rectangles and triangles
on noisy backgrounds, with polygon ``segmentation``, ``area``, ``bbox`` and
``iscrowd`` exactly as in COCO's instances_*.json, so MMDetection's ``CocoDataset``
and pycocotools read it like the real thing.
"""
from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CATEGORIES = ('rectangle', 'triangle')
#: Per-category fill colour (RGB): distinct enough for a few iterations to matter.
COLOURS = {'rectangle': (220, 40, 40), 'triangle': (40, 60, 220)}


def _polygon_area(points: list[tuple[float, float]]) -> float:
    """Shoelace formula: the area COCO stores for a single-polygon instance."""
    total = 0.0
    for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1]):
        total += x0 * y1 - x1 * y0
    return abs(total) / 2.0


def _shape(category: str, cell: tuple[int, int, int, int], rng) -> list[tuple[float, float]]:
    """A random rectangle or triangle inside ``cell`` (x0, y0, x1, y1), at least 16 px."""
    x0, y0, x1, y1 = cell
    w = int(rng.integers(16, x1 - x0 - 2))
    h = int(rng.integers(16, y1 - y0 - 2))
    left = int(rng.integers(x0 + 1, x1 - w))
    top = int(rng.integers(y0 + 1, y1 - h))
    if category == 'rectangle':
        return [(left, top), (left + w, top), (left + w, top + h), (left, top + h)]
    return [(left + w / 2, top), (left + w, top + h), (left, top + h)]


def make_coco_instances(root: Path, num_images: int = 4, size: int = 128,
                        seed: int = 0) -> dict[str, Path]:
    """Write ``root/images/*.png`` and ``root/annotations.json``; 1-3 shapes per image.

    Shapes sit in distinct quadrants, so they never overlap and every polygon is also
    the instance's exact visible mask.
    """
    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    image_dir = root / 'images'
    image_dir.mkdir(parents=True, exist_ok=True)
    half = size // 2
    quadrants = [(0, 0, half, half), (half, 0, size, half),
                 (0, half, half, size), (half, half, size, size)]
    images, annotations = [], []
    for image_id in range(1, num_images + 1):
        pixels = np.clip(rng.normal(128, 20, (size, size, 3)), 0, 255).astype('uint8')
        image = Image.fromarray(pixels)
        draw = ImageDraw.Draw(image)
        count = 1 + (image_id - 1) % 3
        for k in rng.permutation(4)[:count]:
            # every image with 2+ shapes has both categories
            category_index = (image_id + len(annotations)) % 2
            category = CATEGORIES[category_index]
            points = _shape(category, quadrants[k], rng)
            draw.polygon(points, fill=COLOURS[category])
            xs, ys = [p[0] for p in points], [p[1] for p in points]
            annotations.append(dict(
                id=len(annotations) + 1, image_id=image_id,
                category_id=category_index + 1,
                segmentation=[[float(c) for p in points for c in p]],
                area=_polygon_area(points),
                bbox=[float(min(xs)), float(min(ys)),
                      float(max(xs) - min(xs)), float(max(ys) - min(ys))],
                iscrowd=0))
        file_name = f'{image_id:06d}.png'
        image.save(image_dir / file_name)
        images.append(dict(id=image_id, file_name=file_name, width=size, height=size))
    coco = dict(images=images, annotations=annotations,
                categories=[dict(id=i + 1, name=name, supercategory='shape')
                            for i, name in enumerate(CATEGORIES)])
    ann_file = root / 'annotations.json'
    ann_file.write_text(json.dumps(coco))
    return dict(root=root, images=image_dir, ann_file=ann_file)

