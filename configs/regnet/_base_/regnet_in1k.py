# RegNet on ImageNet-1k with the paper's full training regime (docs/design.md,
# Comparing design spaces),
# shared by every configs/regnet/<preset>_8xb<N>_in1k.py; those only choose the
# backbone preset and the total batch size (which sets the lr by linear scaling).
#
# Everything here follows pycls, the paper's reference implementation: SGD with
# momentum 0.9 (pycls' default Nesterov), weight decay 5e-5 on all parameters,
# 100 epochs, lr updated once per epoch: 5-epoch linear warm-up from 0.1x, times a
# half-period cosine over all 100 epochs (pycls' get_epoch_lr), no label smoothing;
# BGR input normalised with pycls' statistics, pycls' PCA lighting noise and precise
# BN statistics before evaluation.
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs32.py',  # OpenCV resizing, as pycls
    'mmpretrain::_base_/default_runtime.py',
]

custom_imports = dict(imports=['regnet_plugin'], allow_failed_imports=False)

NUM_GPUS = 8

model = dict(
    type='ImageClassifier',
    # type/arch come from the per-preset config. pycls initialises every block's last
    # BN gamma to 1 (BN.ZERO_INIT_FINAL_GAMMA = False); RegNetX/RegNetY default to the
    # toolboxes' zero init, so the paper's regime says so explicitly.
    backbone=dict(type=None, arch=None, zero_init_residual=False),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=None,  # per preset: the last stage width of its spec
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5),
    ))

# pycls reads images with OpenCV (BGR) and normalises with the ImageNet statistics in
# BGR order; converted pycls weights expect exactly this input.
data_preprocessor = dict(
    num_classes=1000,
    mean=[103.53, 116.28, 123.675],
    std=[57.375, 57.12, 58.395],
    to_rgb=False,
)

# pycls' train augmentation: random-sized crop (OpenCV), flip, AlexNet-style PCA
# lighting. pycls adds sum_j(eigvec[c, j] * alpha_j * eigval_j) to RGB channel c of
# images in [0, 1] with alpha ~ N(0, 0.1); mmcv adds row c to channel c of the BGR
# image in [0, 255]: so the eigenvector rows are listed in BGR order and the alpha std
# is 0.1 * 255 (eigenvalues unchanged).
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='Lighting',
         eigval=[0.2175, 0.0188, 0.0045],
         eigvec=[[-0.5836, -0.6948, 0.4203],    # B
                 [-0.5808, -0.0045, -0.8140],   # G
                 [-0.5675, 0.7192, 0.4009]],    # R
         alphastd=0.1 * 255,
         to_rgb=False),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

# lr 0.1 per 128 images; the per-preset config sets lr = 0.1 * total batch / 128.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=None, momentum=0.9, nesterov=True, weight_decay=5e-5))

max_epochs = 100
warmup_epochs = 5
# pycls' warm-up factor is 0.1 + 0.9 * epoch / 5 for epochs 0..4 and 1 from epoch 5.
# mmengine's LinearLR reaches end_factor at its last active step (end - 1), so it must
# stay active until warmup_epochs + 1 to take the same 5 steps.
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, end_factor=1.0, by_epoch=True,
         begin=0, end=warmup_epochs + 1),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0.0, by_epoch=True,
         begin=0, end=max_epochs),
]

train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
# pycls recomputes BN statistics on 8192 training images before each evaluation
# (BN.USE_PRECISE_STATS); it must run before the CheckpointHook saves the model.
custom_hooks = [dict(type='PreciseBNHook', num_samples=8192, interval=1,
                     priority='ABOVE_NORMAL')]
val_cfg = dict()
test_cfg = dict()

# The paper's batch is the total over 8 GPUs; auto_scale_lr (tools/train.py
# --auto-scale-lr) rescales the lr when training with another total batch size.
auto_scale_lr = dict(base_batch_size=None)
