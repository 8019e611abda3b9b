# RegNetY-600MF on ImageNet-1k, paper's full regime: 8 GPUs x 128 = 1024 images per step.
_base_ = ['./_base_/regnet_in1k.py']
from regnet_plugin.design import preset_spec

arch = 'regnety_600mf'
total_batch_size = 1024

model = dict(
    backbone=dict(type='RegNetY', arch=arch),
    head=dict(in_channels=preset_spec(arch).widths[-1]))
train_dataloader = dict(batch_size=total_batch_size // _base_.NUM_GPUS)
optim_wrapper = dict(optimizer=dict(lr=0.1 * total_batch_size / 128))
auto_scale_lr = dict(base_batch_size=total_batch_size)
