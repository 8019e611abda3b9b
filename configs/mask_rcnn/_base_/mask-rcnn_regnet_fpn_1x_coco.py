# Mask R-CNN + FPN, 1x schedule (12 epochs, single scale 1333x800), with our RegNet
# backbone in place of MMDetection's. Everything else is MMDetection's own RegNet
# recipe, inherited: pycls pixel statistics in BGR order (bgr_to_rgb=False), SGD lr 0.02
# for 16 images, weight decay 5e-5. Each configs/mask_rcnn/*_1x_coco.py sets the
# backbone type/arch and the FPN in_channels computed from that preset's stage widths.
_base_ = ['mmdet::regnet/mask-rcnn_regnetx-3.2GF_fpn_1x_coco.py',
          '../../_base_/regnet_fpn_backbone.py']

custom_imports = dict(imports=['regnet_plugin'], allow_failed_imports=False)

model = dict(
    backbone={{_base_.regnet_fpn_backbone}},   # configs/_base_/regnet_fpn_backbone.py
    neck=dict(in_channels=None))  # set per config: fpn_in_channels(arch)
