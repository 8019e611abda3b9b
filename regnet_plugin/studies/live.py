"""The study's live summary, refreshed after every finished model (by EDFHook).

A light version of the full analysis: EDF statistics, KS tests and bootstrap
ranges over the models finished so far (no width fits, one plot: the EDFs, written
to ``analysis/live/edf.png`` and returned as an image array for the visualizer), in
``analysis/live/``. Cheap enough (well under a second for 1000 models) to run
after each model; several workers may refresh it at once (files are replaced
atomically, the last writer wins, each writer's view is complete).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..analysis import plots
from ..analysis.population import Population
from ..analysis.report import analyze_population
from .layout import StudyDir
from .manifest import Manifest
from .schema import StudyConfig
from .study import population_records


@dataclass
class LiveSummary:
    """What a refresh wrote and what the visualizer logs: ``edf_png`` is the EDF plot
    written for people, ``edf_image`` the same pixels as an (H, W, 3) uint8 array
    (None while no model has finished)."""

    finished: int
    summary_path: Path
    edf_png: Path | None
    scalars: dict[str, float] = field(default_factory=dict)
    edf_image: np.ndarray | None = None


def refresh_live_summary(study: StudyDir) -> LiveSummary:
    manifest = Manifest.load(study)
    options = dataclasses.replace(StudyConfig.from_dict(manifest.study).analysis,
                                  plots=False, with_fit=False, sample_size=False)
    population = Population.from_dicts(population_records(study, manifest),
                                       options.error_key)
    out = study.analysis / 'live'
    result = analyze_population(population, out, options,
                                title=f'{manifest.name} (live)')
    summary = result.summary
    finished = sum(c['finished'] for c in summary['counts'].values())
    scalars: dict[str, float] = {
        'study/finished': float(finished),
        'study/failed': float(sum(c['failed'] for c in summary['counts'].values()))}
    edf_png = edf_image = None
    spaces = summary['analysable_spaces']
    if spaces:
        fig = plots.plot_edfs({s: (population.errors(s), None) for s in spaces},
                              f'{manifest.name}: EDF ({finished} models)')
        try:
            edf_png = plots.save_png(fig, out / 'edf.png')
            edf_image = plots.figure_rgb(fig)
        finally:
            plots.close_figure(fig)
        for space in spaces:
            s = summary['spaces'][space]
            scalars[f'study/{space}/min_error'] = s['min_error']
            scalars[f'study/{space}/mean_error'] = s['mean_error']
        for ks in summary['ks']:
            a, b = ks['spaces']
            scalars[f'study/ks_D/{a}_vs_{b}'] = ks['D']
    return LiveSummary(finished, result.files['summary'], edf_png, scalars, edf_image)
