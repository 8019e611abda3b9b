# Mask R-CNN + FPN, multi-scale 3x schedule (36 epochs, shorter side 640..800 in steps
# of 32, lr x0.1 at epochs 28 and 34, gradient clipping at 35), with our RegNet backbone
# in place of MMDetection's. The rest is MMDetection's own RegNetX-3.2GF ms-3x recipe,
# inherited: pycls pixel statistics in BGR order, SGD lr 0.02 for 16 images, weight
# decay 5e-5. Each configs/mask_rcnn/*_ms-3x_coco.py sets the backbone type/arch and
# the FPN in_channels computed from that preset's stage widths.
_base_ = ['mmdet::regnet/mask-rcnn_regnetx-3.2GF_fpn_ms-3x_coco.py',
          '../../_base_/regnet_fpn_backbone.py']

custom_imports = dict(imports=['regnet_plugin'], allow_failed_imports=False)

model = dict(
    backbone={{_base_.regnet_fpn_backbone}},   # configs/_base_/regnet_fpn_backbone.py
    neck=dict(in_channels=None))  # set per config: fpn_in_channels(arch)
