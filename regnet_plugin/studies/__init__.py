"""Design-space studies (paper Section 3, NDS): sample a population of models from
design spaces within a complexity regime, train each one isolated and durably
(many workers, Slurm job arrays, kill -9 safe), and compare the spaces by their
error distributions (``regnet_plugin.analysis``).

Layout of a study directory: ``layout.py``; the study config schema: ``schema.py``;
population and manifest: ``manifest.py``; claims and results: ``claims.py``,
``results.py``; data preparation kinds (a registry): ``preparation.py``; the worker
loop: ``worker.py``; trainers: ``trainers.py``;
executors: ``executors.py``; sample/analyze: ``study.py``; the toolbox glue:
``dataset.py`` (DesignSpaceDataset) and ``hooks.py`` (EDFHook).

This package imports no torch at import time; ``dataset``, ``hooks``, ``study``
and ``train_one`` need mmengine (and torch).
"""
