# RetinaNet, RegNetX-4.0GF + FPN, multi-scale 3x schedule (see the _base_ for the recipe).
_base_ = './_base_/retinanet_regnet_fpn_ms-3x_coco.py'
# Imports must follow _base_ (mmengine then parses a classic config and drops them).
from regnet_plugin.detection import fpn_in_channels

arch = 'regnetx_4.0gf'
model = dict(
    backbone=dict(type='RegNetX', arch=arch,
                  init_cfg=dict(checkpoint=f'checkpoints/{arch}_in1k.pth')),
    neck=dict(in_channels=fpn_in_channels(arch)))
