# Faster R-CNN + FPN, 1x schedule (12 epochs, single scale 1333x800), with our RegNet
# backbone in place of MMDetection's. Everything else is MMDetection's own RegNet
# recipe, inherited: pycls pixel statistics in BGR order (bgr_to_rgb=False), SGD lr 0.02
# for 16 images, weight decay 5e-5. Each configs/faster_rcnn/*_1x_coco.py sets the
# backbone type/arch and the FPN in_channels computed from that preset's stage widths.
_base_ = 'mmdet::regnet/faster-rcnn_regnetx-3.2GF_fpn_1x_coco.py'

custom_imports = dict(imports=['regnet_plugin'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _delete_=True,          # replace the inherited backbone and its pretrained init
        type=None,              # 'RegNetX' / 'RegNetY': set per config
        arch=None,              # preset name: set per config
        out_indices=(1, 2, 3, 4),   # C2..C5 (ours: 0 = stem, 1..4 = stages)
        frozen_stages=1,        # stem and stage 1 frozen, as MMDetection's RegNet configs
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,         # BN statistics stay those of the ImageNet checkpoint
        # ImageNet init from our classifier checkpoint (tools/convert_weights.py writes
        # one from pycls/timm/torchvision/MMPretrain weights); each config names its
        # file, checkpoints/<arch>_in1k.pth. Random init: --cfg-options
        # model.backbone.init_cfg=None (the frozen stem/stage 1 then stay random).
        init_cfg=dict(type='Pretrained', checkpoint=None, prefix='backbone.')),
    neck=dict(in_channels=None))  # set per config: fpn_in_channels(arch)
