#!/usr/bin/env python
"""Convert RegNet checkpoints between pycls, torchvision, timm, MMPretrain, MMDetection
and this plugin (thin CLI over ``regnet_plugin.convert``).

Examples:
  # torchvision / timm / pycls / MMPretrain classifier -> ours (for load_from= or
  # init_cfg=dict(type='Pretrained', checkpoint=OUT, prefix='backbone.'))
  python tools/convert_weights.py --src torchvision regnet_x_400mf.pth ours.pth
  python tools/convert_weights.py --src timm regnetx_004.pth ours.pth --arch regnetx_400mf
  # MMDetection detector: backbone renamed, neck and heads kept verbatim
  python tools/convert_weights.py --src mmdet mask_rcnn_regnetx.pth ours_det.pth
  # a pycls AnyNet (ResNet-50 from its YAML: strides and stem are not in the weights)
  python tools/convert_weights.py --src pycls r50.pyth ours.pth --arch R-50-1x64d.yaml
  # ours -> pycls (writes model_state plus an 'anynet' cfg that builds the model)
  python tools/convert_weights.py --src ours --dst pycls ours.pth pycls.pyth
"""
from __future__ import annotations

import argparse
import sys

from regnet_plugin.cli_errors import add_debug_flag, cli_main
from regnet_plugin.convert import CUSTOM_ARCH, DESTINATIONS, SOURCES, convert_file
from regnet_plugin.design.regnet import WIDTH_ROUNDINGS


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--src', required=True, choices=SOURCES,
                        help="format of IN ('mmdet' also reads whole detectors; 'ours' is "
                             "this plugin's, for --dst pycls)")
    parser.add_argument('--dst', default='ours', choices=DESTINATIONS,
                        help='format of OUT (default: ours); pycls can be written from any '
                             '--src, e.g. --src ours --dst pycls')
    parser.add_argument('--arch', default=None,
                        help='preset to check against (e.g. regnetx_400mf, RegNetY-1.6GF) '
                             'instead of inferring it from the shapes; a pycls model '
                             'config (.yaml: MODEL/ANYNET/REGNET sections, e.g. ResNet-50 '
                             "as an AnyNet); '"
                             f"{CUSTOM_ARCH}' keeps shapes that match no preset as a "
                             'custom AnyNet. pycls checkpoints default to the config '
                             'they carry')
    parser.add_argument('--width-rounding', default=None, choices=WIDTH_ROUNDINGS,
                        help='only consider presets with this width rounding (default: '
                             "try 'pycls', then 'torchvision', whose RegNetX-400MF etc. "
                             'have other widths)')
    parser.add_argument('input', metavar='IN', help='checkpoint to read')
    parser.add_argument('output', metavar='OUT',
                        help='checkpoint to write (written whole or not at all; never IN)')
    add_debug_flag(parser)
    return parser.parse_args(argv)


@cli_main
def main(argv: list[str] | None = None) -> int:
    """Bad input (ConversionError and the like) exits 2 with one line on stderr."""
    args = parse_args(argv)
    conversion = convert_file(args.src, args.input, args.output, args.dst,
                              args.arch, args.width_rounding)
    print(conversion.summary())
    print(f'backbone config: {conversion.architecture.backbone_cfg()}')
    print(f'wrote {args.dst} checkpoint {args.output}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
