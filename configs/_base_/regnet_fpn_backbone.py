# The backbone block every detection config here shares (Mask R-CNN, Faster R-CNN,
# RetinaNet; 1x and ms-3x): our RegNet in place of the inherited backbone. The
# detection _base_ files put it into their model with
# ``backbone={{_base_.regnet_fpn_backbone}}``; each per-preset config then sets the
# backbone type/arch, its checkpoint, and the FPN in_channels from the stage widths.
regnet_fpn_backbone = dict(
    _delete_=True,          # replace the inherited backbone and its pretrained init
    type=None,              # 'RegNetX' / 'RegNetY': set per config
    arch=None,              # preset name: set per config
    out_indices=(0, 1, 2, 3),   # C2..C5: stages 1..4, numbered as MMDetection's RegNet
    frozen_stages=1,        # stem and stage 1 frozen, as MMDetection's RegNet configs
    norm_cfg=dict(type='BN', requires_grad=True),
    norm_eval=True,         # BN statistics stay those of the ImageNet checkpoint
    # ImageNet init from our classifier checkpoint (tools/convert_weights.py writes one
    # from pycls/timm/torchvision/MMPretrain weights); each config names its file,
    # checkpoints/<arch>_in1k.pth. Random init: --cfg-options
    # model.backbone.init_cfg=None (the frozen stem/stage 1 then stay random).
    init_cfg=dict(type='Pretrained', checkpoint=None, prefix='backbone.'))
