# Embedded demo of a design-space study (paper Section 3.1), no download needed:
# RegNetX vs AnyNetX_A on scikit-learn's 8x8 handwritten digits, written once as an
# ImageNet-style folder tree of 32x32 PNGs under the study's work dir, loaded by
# MMPretrain's CustomDataset and trained for real by the Runner, a few epochs each.
#
#   python tools/sample_space.py configs/studies/demo_digits.py run \
#       --work-dir work_dirs/demo_digits
#
# The regime is the paper's idea scaled to the resolution: models of 2-4 MF at
# 32x32 (the paper's 360-400 MF at 224x224 would be ~7.5 MF here; smaller keeps the
# demo within minutes on 2 CPU cores). Errors are top-1 on the 360 held-out digits.
_base_ = ['mmpretrain::_base_/default_runtime.py']

custom_imports = dict(imports=['regnet_plugin'], allow_failed_imports=False)

IMG_SIZE = 32
NUM_CLASSES = 10
EPOCHS = 6
data_root = '{study_dir}/data/digits32'     # {study_dir}: filled in by `sample`

study = dict(
    name='demo_digits',
    spaces=['RegNetX', 'AnyNetX_A'],
    num_models=12,                          # per space
    seed=0,
    regime=dict(min_flops=2e6, max_flops=4e6, img_size=IMG_SIZE,
                num_classes=NUM_CLASSES),
    data_preparation=dict(type='digits', root=data_root, size=IMG_SIZE,
                          val_fraction=0.2, seed=0),
    analysis=dict(num_bins=5, bootstrap_reps=10_000, bootstrap_fraction=0.25,
                  width_fit_models=4),
    # 2 workers, one thread each, models forked from a worker that already imported
    # the toolboxes (saves ~5 s of imports per model on a small CPU machine)
    train=dict(executor='subprocess', workers=2, torch_threads=1, launch='fork',
               timeout_s=300),
)

model = dict(
    type='ImageClassifier',
    # arch: each sampled model's spec; zero-init of each block's last BN keeps the
    # deepest sampled models (50+ blocks) trainable in a few epochs without warm-up
    # SmallMapConv2d + channels_last: the same convolutions, computed as GEMMs on the
    # 2x2 and 1x1 maps of the last stages, where oneDNN's overhead dominates on CPU
    # (regnet_plugin/models/small_map_conv.py; same state dict as nn.Conv2d)
    backbone=dict(type='AnyNet', arch=None, zero_init_last_bn=True,
                  conv_cfg=dict(type='SmallMapConv2d'), channels_last=True),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=NUM_CLASSES, in_channels=None,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0), topk=(1,)))

data_preprocessor = dict(num_classes=NUM_CLASSES, mean=[78.0, 78.0, 78.0],
                         std=[96.0, 96.0, 96.0], to_rgb=False)

# The images are decoded once (InMemoryDataset: the source's pipeline loads, once per
# image); the random crop and packing run per access as before, so every batch, and
# so every error, is the same as loading the PNGs again each epoch. The DataLoader
# fetches a batch at a time (InMemoryDataset.__getitems__: the batch's crops in a few
# array operations) and mmengine's default_collate stacks it, so ClsDataPreprocessor
# normalizes one tensor instead of 64 (the same values as pseudo_collate's path).
load_pipeline = [dict(type='LoadImageFromFile')]
train_pipeline = [
    dict(type='RandomCrop', crop_size=IMG_SIZE, padding=2),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=64, num_workers=0, persistent_workers=False,
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='InMemoryDataset', pipeline=train_pipeline,
                 dataset=dict(type='CustomDataset', data_root=data_root,
                              data_prefix='train', pipeline=load_pipeline)),
    sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = dict(
    batch_size=256, num_workers=0, persistent_workers=False,
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='InMemoryDataset', pipeline=test_pipeline,
                 dataset=dict(type='CustomDataset', data_root=data_root,
                              data_prefix='val', pipeline=load_pipeline)),
    sampler=dict(type='DefaultSampler', shuffle=False))
val_evaluator = dict(type='Accuracy', topk=(1,))
test_dataloader = val_dataloader
test_evaluator = val_evaluator

# the paper's low-epoch recipe: SGD m0.9, lr 0.05, half-period cosine, wd 5e-5
# (fused: torch's one-kernel SGD step, bit-identical to its per-tensor loop and, on
# these CPU models, about 6x faster than foreach, which loops per tensor on the CPU)
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-5,
                                    nesterov=True, fused=True))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=EPOCHS, by_epoch=True,
                        begin=0, end=EPOCHS, convert_to_iter_based=True)]
train_cfg = dict(by_epoch=True, max_epochs=EPOCHS, val_interval=2)
val_cfg = dict()
test_cfg = dict()

# the live summary (analysis/live/: EDF plot, counts) at most every 20 s rather than
# after each model: drawing it took ~0.6 s, while a demo model trains in ~5-10 s;
# `run` writes the full analysis at the end either way
custom_hooks = [dict(type='EDFHook', summary_interval_s=20.0)]

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=-1, save_last=False),
)
