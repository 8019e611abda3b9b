# Shared training setup of the ImageNet design-space studies: the paper's low-epoch
# regime (Section 3, as in NDS; docs/design.md, Comparing design spaces): ImageNet at
# 224x224, 10 epochs,
# SGD momentum 0.9, batch 128 on 1 GPU, half-period cosine from lr 0.05, weight
# decay 5e-5, no warm-up and no other regularisation. Each sampled model is an
# AnyNet built from its spec; its head width is filled in per model by `sample`.
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs64.py',
    'mmpretrain::_base_/default_runtime.py',
]

custom_imports = dict(imports=['regnet_plugin'], allow_failed_imports=False)

EPOCHS = 10

model = dict(
    type='ImageClassifier',
    backbone=dict(type='AnyNet', arch=None),     # arch: each sampled model's spec
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=1000, in_channels=None,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0), topk=(1, 5)))

# batch 128 on one GPU (the base's pipelines: random-resized crop 224 + flip for
# training, resize 256 + center crop 224 for validation)
train_dataloader = dict(batch_size=128, num_workers=8)
val_dataloader = dict(batch_size=128, num_workers=8)
test_dataloader = val_dataloader

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-5, nesterov=True))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=EPOCHS, by_epoch=True, begin=0,
                        end=EPOCHS, eta_min=0.0)]
train_cfg = dict(by_epoch=True, max_epochs=EPOCHS, val_interval=1)
val_cfg = dict()
test_cfg = dict()
# the paper records the error at the end; validating every epoch also gives the best
auto_scale_lr = dict(base_batch_size=128, enable=False)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=100),
    # a study of 500 models keeps only each model's last checkpoint
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=1),
)
