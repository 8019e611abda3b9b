# RetinaNet + FPN, multi-scale 3x schedule, with our RegNet backbone. MMDetection
# publishes no RegNet RetinaNet beyond 1x, so this is its ResNet-50 ms-3x RetinaNet
# (COCO train repeated 3x for 12 epochs, shorter side 640..800, SGD lr 0.01 for 16
# images) with the settings its RegNet configs change: pycls pixel statistics in BGR
# order, weight decay 5e-5, gradient clipping at 35 (as its RegNet RetinaNet 1x).
# Each configs/retinanet/*_ms-3x_coco.py sets the backbone type/arch and the FPN
# in_channels computed from that preset's stage widths.
_base_ = ['mmdet::retinanet/retinanet_r50_fpn_ms-640-800-3x_coco.py',
          '../../_base_/regnet_fpn_backbone.py']

custom_imports = dict(imports=['regnet_plugin'], allow_failed_imports=False)

model = dict(
    data_preprocessor=dict(
        mean=[103.53, 116.28, 123.675],   # pycls' ImageNet statistics, BGR order
        std=[57.375, 57.12, 58.395],
        bgr_to_rgb=False),
    backbone={{_base_.regnet_fpn_backbone}},   # configs/_base_/regnet_fpn_backbone.py
    neck=dict(in_channels=None))  # set per config: fpn_in_channels(arch)

optim_wrapper = dict(
    optimizer=dict(weight_decay=5e-5),
    clip_grad=dict(max_norm=35, norm_type=2))
