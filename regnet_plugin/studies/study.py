"""A design-space study end to end: sample the population, (train), analyse.

``sample_study`` turns a study config into a study directory: the population
(``manifest.json``) and one runnable mmengine training config per model
(``models/<key>/config.py``: the study config's training setup with the model's
AnyNet spec, head width, work dir and EDFHook (result + NaN-loss check) filled in).
``executors.train_study`` trains them; ``analyze_study`` writes the report.

A work dir remembers the hash of the config that made it (training-run options in
``study.train`` excluded). Sampling again with the same config is a no-op that
keeps every result; with a different config it refuses unless ``force=True``,
which re-samples and rewrites the manifest and model configs but deletes nothing:
results of models that are in the new population are reused, the others are
left on disk, uncounted.
"""
from __future__ import annotations

import copy
import hashlib
import json
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from mmengine.config import Config

from ..analysis.population import Population
from ..analysis.report import AnalysisResult, analyze_population
from .layout import StudyDir, map_strings
from .manifest import ConfigMismatch, Manifest, ModelEntry, draw_population
from .results import ResultStore
from .schema import StudyConfig

PLACEHOLDER = '{study_dir}'
BACKBONE_TYPES = ('AnyNet',)
REGNET_PLUGIN = 'regnet_plugin'


def load_config(path: str | Path) -> tuple[Config, StudyConfig]:
    """The mmengine config and its validated ``study`` section."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f'study config {path} does not exist')
    cfg = Config.fromfile(str(path))
    study = StudyConfig.from_dict(cfg.get('study'))
    _check_training_setup(cfg)
    return cfg, study


def _check_training_setup(cfg: Config) -> None:
    model = cfg.get('model')
    if not isinstance(model, Mapping) or not isinstance(model.get('backbone'), Mapping):
        raise ValueError('a study config needs model=dict(backbone=dict(type=\'AnyNet\', '
                         'arch=None), ...): every sampled model is built from it')
    if model['backbone'].get('type') not in BACKBONE_TYPES:
        raise ValueError(f"study configs use backbone type 'AnyNet' (its arch is filled "
                         f"in per model), got {model['backbone'].get('type')!r}")
    for section in ('train_dataloader', 'val_dataloader', 'train_cfg'):
        if cfg.get(section) is None:
            raise ValueError(f'a study config needs {section}: each model is trained '
                             f'and validated with it')


def config_hash(cfg: Config) -> str:
    """Hash of what defines the population and its training (not how it is run)."""
    data = copy.deepcopy(cfg.to_dict())
    data.pop('work_dir', None)
    if isinstance(data.get('study'), dict):
        data['study'].pop('train', None)
    text = json.dumps(data, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def check_same_config(study_dir: StudyDir, manifest: Manifest, config_path: str | Path,
                      digest: str, force: bool, advice: str) -> bool:
    """True if ``manifest`` was sampled from a config hashing to ``digest``. If not,
    raise ``ConfigMismatch`` (its message ends with ``advice``: what to do), or with
    ``force`` return False."""
    if manifest.config_hash == digest:
        return True
    if not force:
        raise ConfigMismatch(
            f'{study_dir.root} was sampled from a different config '
            f'({manifest.config_path}, hash {manifest.config_hash}; {config_path} '
            f'hashes to {digest}). {advice}')
    return False


def substitute(value: Any, root: str) -> Any:
    """Replace ``{study_dir}`` in every string of a config tree."""
    return map_strings(value, lambda text: text.replace(PLACEHOLDER, root))


def model_config(cfg: Config, entry: ModelEntry, study_dir: StudyDir) -> dict[str, Any]:
    """The runnable training config of one model (a plain dict)."""
    data = substitute(copy.deepcopy(cfg.to_dict()), str(study_dir.root))
    data.pop('study', None)
    model = data['model']
    model['backbone']['arch'] = copy.deepcopy(entry.spec)
    last_width = entry.spec['stages'][-1]['width']
    for part in ('neck', 'head'):
        module = model.get(part)
        if isinstance(module, dict) and 'in_channels' in module:
            module['in_channels'] = last_width
    if isinstance(model.get('head'), dict) and 'in_channels' not in model['head']:
        model['head']['in_channels'] = last_width
    data['work_dir'] = str(study_dir.model_work_dir(entry.key))
    hooks = [h for h in (data.get('custom_hooks') or [])
             if not (isinstance(h, dict) and h.get('type') == 'EDFHook')]
    hooks.append(dict(type='EDFHook', study_dir=str(study_dir.root), model_key=entry.key))
    data['custom_hooks'] = hooks
    imports = dict(data.get('custom_imports') or {})
    names = list(imports.get('imports') or [])
    if REGNET_PLUGIN not in names:
        names.append(REGNET_PLUGIN)
    data['custom_imports'] = dict(imports, imports=names, allow_failed_imports=False)
    # each model trains with its own fixed seed, so a rerun reproduces it; the
    # toolboxes' default runtimes say seed=None (a fresh random seed per run)
    randomness = dict(data.get('randomness') or {})
    if randomness.get('seed') is None:
        randomness['seed'] = int(entry.seed + entry.index) % 2 ** 31
    data['randomness'] = randomness
    return data


def _prepare_data(study: StudyConfig, study_dir: StudyDir,
                  log: Callable[[str], None]) -> None:
    if not study.data_preparation:
        return
    prep = dict(substitute(dict(study.data_preparation), str(study_dir.root)))
    kind = prep.pop('type')
    if kind == 'digits':
        from .demo_data import write_digits_tree
        root = write_digits_tree(**prep)
        log(f'digits dataset ready at {root}')
    else:
        raise ValueError(f"unknown study.data_preparation type {kind!r}; known: 'digits'")


def sample_study(config_path: str | Path, work_dir: str | Path, force: bool = False,
                 log: Callable[[str], None] = print,
                 progress: Callable[[Iterable], Iterable] | None = None) -> Manifest:
    """Sample the population and write the per-model configs (see module docstring)."""
    cfg, study = load_config(config_path)
    study_dir = StudyDir(work_dir)
    digest = config_hash(cfg)
    history: list[dict[str, Any]] = []
    if study_dir.manifest.exists():
        old = Manifest.load(study_dir)
        if check_same_config(study_dir, old, config_path, digest, force,
                             'Refusing to mix two populations: use another --work-dir, '
                             'or --force to re-sample here (results are kept, nothing '
                             'is deleted)'):
            _prepare_data(study, study_dir, log)
            _write_model_configs(cfg, old, study_dir)
            log(f'{study_dir.root} already holds this study ({len(old.models)} models, '
                f'config {digest}); nothing re-sampled, results kept')
            return old
        history = (old.history or []) + [{'config_hash': old.config_hash,
                                          'config_path': old.config_path,
                                          'replaced': time.time()}]
        log(f'--force: re-sampling {study_dir.root} with a different config')
    models = draw_population(study, progress)     # first: a bad regime fails fast
    study_dir.make()
    _prepare_data(study, study_dir, log)
    manifest = Manifest(name=study.name, config_hash=digest,
                        config_path=str(Path(config_path).resolve()), models=models,
                        study=cfg.to_dict().get('study', {}), created=time.time(),
                        history=history)
    _write_model_configs(cfg, manifest, study_dir)
    cfg.dump(str(study_dir.study_config))
    manifest.save(study_dir)
    log(f'sampled {len(models)} models ({", ".join(e.label for e in study.spaces)}) '
        f'into {study_dir.root}')
    return manifest


def _write_model_configs(cfg: Config, manifest: Manifest, study_dir: StudyDir) -> None:
    for entry in manifest.models:
        path = study_dir.model_config(entry.key)
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f'.{path.name}.tmp')
        tmp.write_text(Config(model_config(cfg, entry, study_dir)).pretty_text)
        tmp.replace(path)


def population_records(study_dir: StudyDir, manifest: Manifest | None = None
                       ) -> list[dict[str, Any]]:
    """Manifest rows joined with their results (read-only: corrupt counts as pending)."""
    manifest = manifest or Manifest.load(study_dir)
    store = ResultStore(study_dir.results)
    rows = []
    for entry in manifest.models:
        result = store.peek(entry.key)
        row = {'key': entry.key, 'space': entry.space, 'spec': entry.spec,
               'complexity': entry.complexity, 'space_params': entry.space_params,
               'status': 'pending'}
        if result is not None:
            row.update(status=result.status, final_error=result.final_error,
                       best_error=result.best_error, reason=result.reason)
        rows.append(row)
    return rows


def analyze_study(study_dir: str | Path, log: Callable[[str], None] = print,
                  progress: Callable[[Iterable], Iterable] | None = None,
                  out_dir: str | Path | None = None, **option_changes: Any
                  ) -> AnalysisResult:
    """Write the study's report (``analysis/``) from its manifest and results."""
    study_dir = StudyDir(study_dir)
    manifest = Manifest.load(study_dir)
    study = StudyConfig.from_dict(manifest.study)
    options = study.analysis
    for name, value in option_changes.items():
        setattr(options, name, value)
    population = Population.from_dicts(population_records(study_dir, manifest),
                                       options.error_key)
    return analyze_population(population, out_dir or study_dir.analysis, options,
                              title=f'{manifest.name}: design-space comparison',
                              progress=progress)
