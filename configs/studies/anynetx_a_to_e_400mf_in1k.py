# The paper's Section 3 comparison: AnyNetX_A -> B -> C -> D -> E (Figures 4-7),
# n = 500 models per space sampled at 360-400 MF (224x224, 1000 classes), each
# trained with the low-epoch regime, compared by their (normalized) error EDFs.
#
#   python tools/sample_space.py configs/studies/anynetx_a_to_e_400mf_in1k.py run \
#       --work-dir work_dirs/anynetx_a_to_e --executor slurm --workers 64
#
# 2500 models x 10 ImageNet epochs: a GPU cluster job array (study.train.slurm is
# passed to submitit; set the partition/account of your cluster there or in a child
# config). Interrupt and re-run at will: finished models are never retrained.
_base_ = ['./_base_/imagenet_low_epoch.py']

study = dict(
    name='anynetx_a_to_e_400mf',
    spaces=['AnyNetX_A', 'AnyNetX_B', 'AnyNetX_C', 'AnyNetX_D', 'AnyNetX_E'],
    num_models=500,
    seed=0,
    regime=dict(min_flops=360e6, max_flops=400e6, img_size=224, num_classes=1000),
    analysis=dict(num_bins=10, bootstrap_reps=10_000, bootstrap_fraction=0.25),
    train=dict(executor='slurm', workers=64, gpus_per_model=1,
               slurm=dict(timeout_min=72 * 60, cpus_per_task=10, mem_gb=64)),
)
