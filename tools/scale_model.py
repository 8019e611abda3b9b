#!/usr/bin/env python3
"""Scale a model as in "Fast and Accurate Model Scaling" (Dollar et al., CVPR 2021).

    python tools/scale_model.py regnety_4.0gf --type d1_w8_g8_r1 --factor 4
    python tools/scale_model.py regnetx_400mf --type dw --factor 2 --json

ARCH is anything ``tools/model_info.py`` accepts (preset, JSON, key=value pairs, a pycls
YAML config). ``--type`` names the dimensions to scale with relative weights: ``d``,
``w``, ``g`` (group width), ``r`` (resolution), e.g. ``dwr`` or ``d1_w8_g8_r1`` (fast
compound scaling); ``--factor`` is the flops multiplier. Rounding follows pycls'
``pycls/models/scaler.py`` (see ``regnet_plugin.design.scaling``).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import types

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

if __name__ == '__main__' and 'regnet_plugin' not in sys.modules:
    # torch-free: skip the package __init__ (toolbox registration), as model_info does
    _pkg = types.ModuleType('regnet_plugin')
    _pkg.__path__ = [os.path.join(REPO, 'regnet_plugin')]
    sys.modules['regnet_plugin'] = _pkg

from regnet_plugin.design.arch import parse_arch  # noqa: E402
from regnet_plugin.design.complexity import complexity  # noqa: E402
from regnet_plugin.design.scaling import scale_spec  # noqa: E402


def scale_model(arch, scale_type: str, factor: float, img_size: int = 224,
                num_classes: int = 1000) -> dict:
    """The original and the scaled model, as a JSON-friendly dict."""
    spec = parse_arch(arch).spec
    base = complexity(spec, img_size, num_classes)
    scaled = scale_spec(spec, scale_type, factor, img_size, num_classes)
    return {'type': scale_type, 'factor': factor,
            'original': {'depths': spec.depths, 'widths': spec.widths,
                         'group_widths': spec.group_widths, 'img_size': img_size,
                         'flops': base.flops, 'params': base.params, 'acts': base.acts},
            'scaled': scaled.as_dict()}


def format_result(result: dict) -> str:
    o, s = result['original'], result['scaled']
    f = s['factors']
    lines = [f"scaling {result['type']} x{result['factor']:g}: d x{f['d']:.4f}, "
             f"w x{f['w']:.4f}, g x{f['g']:.4f}, r x{f['r']:.4f}",
             f"{'':14s}{'original':>28s}  {'scaled':>28s}"]
    for label, key in (('stage depths', 'depths'), ('stage widths', 'widths'),
                       ('group widths', 'group_widths'), ('resolution', 'img_size')):
        lines.append(f'{label:14s}{str(o[key]):>28s}  {str(s[key]):>28s}')
    for label, key, unit, scale in (('flops', 'flops', 'B', 1e9), ('params', 'params', 'M', 1e6),
                                    ('acts', 'acts', 'M', 1e6)):
        lines.append(f'{label:14s}{o[key] / scale:>27.3f}{unit}  {s[key] / scale:>27.3f}{unit}'
                     f'  (x{s[key] / o[key]:.2f})')
    return '\n'.join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('arch', nargs='+', metavar='ARCH',
                        help='preset name, JSON spec/params, key=value pairs, pycls YAML')
    parser.add_argument('--type', required=True, dest='scale_type',
                        help='dimensions and weights, e.g. d, dw, dwr, d1_w8_g8_r1')
    parser.add_argument('--factor', type=float, required=True, help='flops multiplier')
    parser.add_argument('--img-size', type=int, default=224)
    parser.add_argument('--num-classes', type=int, default=1000)
    parser.add_argument('--json', action='store_true', help='print a JSON object')
    args = parser.parse_args(argv)
    try:
        result = scale_model(args.arch, args.scale_type, args.factor, args.img_size,
                             args.num_classes)
    except ValueError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2) if args.json else format_result(result))
    return 0


if __name__ == '__main__':
    sys.exit(main())
