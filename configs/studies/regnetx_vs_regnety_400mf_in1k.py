# RegNetX vs RegNetY (RegNetX + Squeeze-and-Excitation, ratio 1/4 of the block input
# width): the refined RegNet spaces of Section 4-5 (b = 1, 12 <= d <= 28, wm >= 2,
# the params/acts limits), n = 500 models each at 360-400 MF (224x224), low-epoch
# regime, compared by their error EDFs.
#
#   python tools/sample_space.py configs/studies/regnetx_vs_regnety_400mf_in1k.py run \
#       --work-dir work_dirs/regnetx_vs_regnety --executor slurm --workers 64
_base_ = ['./_base_/imagenet_low_epoch.py']

study = dict(
    name='regnetx_vs_regnety_400mf',
    spaces=[dict(name='RegNetX_constrained', label='RegNetX'),
            dict(name='RegNetY_constrained', label='RegNetY')],
    num_models=500,
    seed=0,
    regime=dict(min_flops=360e6, max_flops=400e6, img_size=224, num_classes=1000),
    analysis=dict(num_bins=10, bootstrap_reps=10_000, bootstrap_fraction=0.25),
    train=dict(executor='slurm', workers=64, gpus_per_model=1,
               slurm=dict(timeout_min=72 * 60, cpus_per_task=10, mem_gb=64)),
)
