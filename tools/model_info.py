#!/usr/bin/env python3
"""Print a model's stages and analytic complexity (flops, params, acts).

    python tools/model_info.py regnetx_400mf
    python tools/model_info.py depth=22 w0=24 wa=24.48 wm=2.54 group_width=16 --json
    python tools/model_info.py '{"stages": [...]}' --img-size 256 --num-classes 10

ARCH is a preset name, a JSON object (AnyNetSpec dict or RegNet parameters) or
key=value pairs; see ``regnet_plugin.design.arch``.
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


def model_info(arch, img_size: int = 224, num_classes: int = 1000) -> dict:
    """Everything the tool prints, as a JSON-friendly dict."""
    parsed = parse_arch(arch)
    spec = parsed.spec
    report = complexity(spec, img_size, num_classes)
    info = {
        'flops': report.flops, 'params': report.params, 'acts': report.acts,
        'depths': spec.depths, 'widths': spec.widths,
        'group_widths': spec.group_widths,
        'bottleneck_ratios': spec.bottleneck_ratios, 'se_ratios': spec.se_ratios,
        'img_size': img_size, 'num_classes': num_classes, 'id': spec.id,
        'spec': spec.to_dict(), 'parts': report.parts,
    }
    if parsed.preset:
        info['preset'] = parsed.preset
    if parsed.regnet is not None:
        info['regnet'] = parsed.regnet.to_dict()
    return info


def format_info(info: dict) -> str:
    lines = []
    if 'preset' in info:
        lines.append(f"preset        {info['preset']}")
    if 'regnet' in info:
        r = info['regnet']
        lines.append(f"regnet        d={r['depth']} w0={r['w0']} wa={r['wa']} wm={r['wm']} "
                     f"g={r['group_width']} b={r['bottleneck_ratio']} se={r['se_ratio']}")
    lines += [
        f"stage depths  {info['depths']}",
        f"stage widths  {info['widths']}",
        f"group widths  {info['group_widths']}",
        f"bottlenecks   {info['bottleneck_ratios']}",
        f"SE ratios     {info['se_ratios']}",
        f"at {info['img_size']}x{info['img_size']}, {info['num_classes']} classes:",
        f"flops         {info['flops']:,} ({info['flops'] / 1e9:.3f} B)",
        f"params        {info['params']:,} ({info['params'] / 1e6:.3f} M)",
        f"acts          {info['acts']:,} ({info['acts'] / 1e6:.3f} M)",
    ]
    return '\n'.join(lines)


@cli_main
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('arch', nargs='+', metavar='ARCH',
                        help='preset name, JSON spec/params, or key=value pairs')
    parser.add_argument('--json', action='store_true', help='print a JSON object')
    parser.add_argument('--img-size', type=int, default=224)
    parser.add_argument('--num-classes', type=int, default=1000)
    add_debug_flag(parser)
    args = parser.parse_args(argv)
    info = model_info(args.arch, args.img_size, args.num_classes)
    print(json.dumps(info, indent=2) if args.json else format_info(info))
    return 0


if __name__ == '__main__':
    sys.exit(main())
