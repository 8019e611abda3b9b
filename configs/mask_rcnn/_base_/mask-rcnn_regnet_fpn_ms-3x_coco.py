# Mask R-CNN + FPN, multi-scale 3x schedule (36 epochs, shorter side 640..800 in steps
# of 32, lr x0.1 at epochs 28 and 34, gradient clipping at 35), with our RegNet backbone
# in place of MMDetection's. The rest is MMDetection's own RegNetX-3.2GF ms-3x recipe,
# inherited: pycls pixel statistics in BGR order, SGD lr 0.02 for 16 images, weight
# decay 5e-5. Each configs/mask_rcnn/*_ms-3x_coco.py sets the backbone type/arch and
# the FPN in_channels computed from that preset's stage widths.
_base_ = 'mmdet::regnet/mask-rcnn_regnetx-3.2GF_fpn_ms-3x_coco.py'

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
