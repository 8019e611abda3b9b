# Mask R-CNN, RegNetX-3.2GF + FPN, 1x schedule (see the _base_ for the recipe).
_base_ = './_base_/mask-rcnn_regnet_fpn_1x_coco.py'
# Imports must follow _base_ (mmengine then parses a classic config and drops them).
from regnet_plugin.detection import fpn_in_channels

arch = 'regnetx_3.2gf'
model = dict(
    backbone=dict(type='RegNetX', arch=arch,
                  init_cfg=dict(checkpoint=f'checkpoints/{arch}_in1k.pth')),
    neck=dict(in_channels=fpn_in_channels(arch)))
