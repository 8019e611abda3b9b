"""``custom_imports=dict(imports=['regnet_plugin'])`` is all a toolbox config needs.

Each case runs in a fresh interpreter, so the plugin is imported by the config
itself (not by the test process), exactly as ``tools/train.py`` would do it.
"""
import json
import subprocess
import sys
import textwrap

MMPRETRAIN_CONFIG = """
custom_imports = dict(imports=['regnet_plugin'], allow_failed_imports=False)
default_scope = 'mmpretrain'
model = dict(
    type='ImageClassifier',
    backbone=dict(type='RegNetY', arch='regnety_200mf'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=368,
              loss=dict(type='CrossEntropyLoss')))
"""

MMDET_CONFIG = """
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['regnet_plugin'], allow_failed_imports=False)
model = dict(
    backbone=dict(_delete_=True, type='RegNetX', arch='regnetx_400mf',
                  out_indices=(0, 1, 2, 3), frozen_stages=1,
                  norm_cfg=dict(type='BN', requires_grad=True), norm_eval=True,
                  init_cfg=None),
    neck=dict(in_channels=[32, 64, 160, 384]))
"""

PROBE = textwrap.dedent("""
    import json, sys
    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    assert 'regnet_plugin' not in sys.modules
    cfg = Config.fromfile(sys.argv[1])          # runs custom_imports
    assert 'regnet_plugin' in sys.modules
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    from mmengine.registry import MODELS
    model = MODELS.build(cfg.model).eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        feats = model.extract_feat(x)
    feats = feats if isinstance(feats, (tuple, list)) else [feats]
    print(json.dumps({'model': type(model).__name__,
                      'backbone': type(model.backbone).__name__,
                      'backbone_module': type(model.backbone).__module__,
                      'shapes': [list(f.shape) for f in feats]}))
""")


def probe(tmp_path, config_text):
    cfg_file = tmp_path / 'cfg.py'
    cfg_file.write_text(config_text)
    proc = subprocess.run([sys.executable, '-c', PROBE, str(cfg_file)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_mmpretrain_config_builds_our_backbone(tmp_path):
    out = probe(tmp_path, MMPRETRAIN_CONFIG)
    assert out['model'] == 'ImageClassifier'
    assert out['backbone'] == 'RegNetY'
    assert out['backbone_module'].startswith('regnet_plugin.')
    assert out['shapes'] == [[1, 368]]  # pooled last stage


def test_mmdet_config_builds_mask_rcnn_with_our_backbone(tmp_path):
    out = probe(tmp_path, MMDET_CONFIG)
    assert out['model'] == 'MaskRCNN'
    assert out['backbone'] == 'DetRegNetX'   # type='RegNetX' with MMDetection's defaults
    assert out['backbone_module'].startswith('regnet_plugin.')
    # FPN: 5 levels of 256 channels, strides 4..64 on a 64x64 input
    assert out['shapes'] == [[1, 256, 16, 16], [1, 256, 8, 8], [1, 256, 4, 4],
                             [1, 256, 2, 2], [1, 256, 1, 1]]


def test_toolboxes_keep_their_own_regnet(tmp_path):
    code = textwrap.dedent("""
        import regnet_plugin
        from mmpretrain.registry import MODELS as P
        from mmdet.registry import MODELS as D
        print(P.get('RegNet').__module__, D.get('RegNet').__module__,
              P.get('RegNetX').__module__, D.get('RegNetY').__module__)
    """)
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[0].startswith('mmpretrain.') and out[1].startswith('mmdet.')
    assert out[2].startswith('regnet_plugin.') and out[3].startswith('regnet_plugin.')
