#!/usr/bin/env python3
"""Scale a model as in "Fast and Accurate Model Scaling" (Dollar et al., CVPR 2021).

    python tools/scale_model.py regnety_4.0gf --type d1_w8_g8_r1 --factor 4
    python tools/scale_model.py regnetx_400mf --type dw --factor 2 --json
    python tools/scale_model.py regnety_400mf --plot docs/scaling_acts_vs_flops.png

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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from design_core_only import skip_package_init  # noqa: E402

skip_package_init(__name__ == '__main__')  # torch-free: see tools/design_core_only.py

from regnet_plugin.cli_errors import add_debug_flag, cli_main  # noqa: E402
from regnet_plugin.design.arch import parse_arch  # noqa: E402
from regnet_plugin.design.complexity import complexity  # noqa: E402
from regnet_plugin.design.scaling import scale_spec, scaling_curves  # noqa: E402


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


#: What ``--plot`` draws: the paper's main strategies over these flops factors.
PLOT_STRATEGIES = ('d', 'w', 'r', 'dwr', 'd1_w8_g8_r1')
PLOT_FACTORS = (1, 2, 4, 8, 16, 32)


def plot_scaling(arch, path: str, img_size: int = 224) -> None:
    """Acts against flops (log-log) for the main strategies ([Scaling] Figure 1's
    point: fast compound scaling d1_w8_g8_r1 keeps acts near sqrt(flops))."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    curves = scaling_curves(parse_arch(arch).spec, PLOT_STRATEGIES, PLOT_FACTORS, img_size)
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for name, points in curves.items():
        flops, acts = zip(*points)
        label = 'fast compound (d1_w8_g8_r1)' if name == 'd1_w8_g8_r1' else name
        ax.plot([f / 1e9 for f in flops], [a / 1e6 for a in acts], 'o-', label=label)
    f0, a0 = curves[PLOT_STRATEGIES[0]][0]
    ref = [f0 * k for k in PLOT_FACTORS]
    ax.plot([f / 1e9 for f in ref], [a0 * (f / f0) ** 0.5 / 1e6 for f in ref], 'k--',
            lw=0.8, label='acts ~ sqrt(flops)')
    ax.set(xscale='log', yscale='log', xlabel='flops (B)', ylabel='acts (M)',
           title=f'scaling {" ".join(arch) if isinstance(arch, list) else arch} '
                 f'by 1-32x flops')
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


@cli_main
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('arch', nargs='+', metavar='ARCH',
                        help='preset name, JSON spec/params, key=value pairs, pycls YAML')
    parser.add_argument('--type', dest='scale_type',
                        help='dimensions and weights, e.g. d, dw, dwr, d1_w8_g8_r1')
    parser.add_argument('--factor', type=float, help='flops multiplier')
    parser.add_argument('--plot', metavar='PNG',
                        help=f'instead: plot acts vs flops of {", ".join(PLOT_STRATEGIES)} '
                             f'for factors {PLOT_FACTORS} (needs matplotlib)')
    parser.add_argument('--img-size', type=int, default=224)
    parser.add_argument('--num-classes', type=int, default=1000)
    parser.add_argument('--json', action='store_true', help='print a JSON object')
    add_debug_flag(parser)
    args = parser.parse_args(argv)
    if args.plot:
        plot_scaling(args.arch, args.plot, args.img_size)
        print(f'wrote {args.plot}')
        return 0
    if args.scale_type is None or args.factor is None:
        parser.error('--type and --factor are required (or --plot)')
    result = scale_model(args.arch, args.scale_type, args.factor, args.img_size,
                         args.num_classes)
    print(json.dumps(result, indent=2) if args.json else format_result(result))
    return 0


if __name__ == '__main__':
    sys.exit(main())
