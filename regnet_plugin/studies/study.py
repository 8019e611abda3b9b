"""A design-space study end to end: sample the population, (train), analyse.

``sample_study`` turns a study config into a study directory: the population
(``manifest.json``) and one runnable mmengine training config per model
(``models/<key>/config.py``: the study config's training setup with the model's
AnyNet spec, head width, work dir and EDFHook (result + NaN-loss check) filled in).
``executors.train_study`` trains them; ``analyze_study`` writes the report.

A work dir remembers the hash of the config that made it (training-run options in
``study.train`` excluded). Sampling again with the same config keeps every result
(it only writes the configs of models not trained yet); with a different config it
refuses unless ``force=True``, which re-samples and rewrites the manifest and every
model config, and deletes nothing. Each model config carries its *recipe* hash (the
config with the study directory left out, and the prepared data's hash): a result
whose model is in the new population with the same recipe is reused; one trained
with another recipe or data is set aside, with its model directory, under
``superseded/<time>/`` (listed in its ``superseded.json`` and the manifest's
history), so the new population is trained with the new recipe only. Results of
models no longer in the population stay where they are, uncounted. Prepared data
goes into a directory keyed by its parameters (``preparation.py``).
"""
from __future__ import annotations

import ast
import copy
import hashlib
import json
import os
import pprint
import re
import time
import zlib
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from mmengine.config import Config

from ..analysis.population import Population
from ..atomic_io import atomic_write_text
from ..analysis.report import AnalysisResult, analyze_population
from .claims import ClaimBook, StudyBusy
from .layout import StudyDir, map_strings, rebase_paths
from .manifest import ConfigMismatch, Manifest, ModelEntry, draw_population
from .preparation import PreparedData, prepare_data, resolve_data_spec
from .results import ResultStore, atomic_write_json
from .schema import StudyConfig

PLACEHOLDER = '{study_dir}'
BACKBONE_TYPES = ('AnyNet',)
REGNET_PLUGIN = 'regnet_plugin'


def load_config(path: str | Path) -> tuple[Config, StudyConfig]:
    """The mmengine config and its validated ``study`` section."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f'study config {path} does not exist')
    try:
        cfg = Config.fromfile(str(path))
    except Exception as exc:  # noqa: BLE001  (any error of the user's config file)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ''
        raise ValueError(f'cannot load study config {path}: {type(exc).__name__}: '
                         f'{first}') from exc
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


def model_seed(entry: ModelEntry) -> int:
    """A model's training seed: fixed by its space seed and key, so it stays the same
    when the population around it changes (a re-sample with more models)."""
    return (int(entry.seed) + zlib.crc32(entry.key.encode())) % 2 ** 31


def model_config(cfg: Config, entry: ModelEntry, study_dir: StudyDir,
                 data: PreparedData | None = None) -> dict[str, Any]:
    """The runnable training config of one model (a plain dict); paths under the
    prepared data's configured root point at where ``data`` was written."""
    data_cfg = substitute(copy.deepcopy(cfg.to_dict()), str(study_dir.root))
    data_cfg.pop('study', None)
    if data is not None:
        data_cfg = rebase_paths(data_cfg, str(data.root), str(data.path))
    model = data_cfg['model']
    model['backbone']['arch'] = copy.deepcopy(entry.spec)
    last_width = entry.spec['stages'][-1]['width']
    for part in ('neck', 'head'):
        module = model.get(part)
        if isinstance(module, dict) and 'in_channels' in module:
            module['in_channels'] = last_width
    if isinstance(model.get('head'), dict) and 'in_channels' not in model['head']:
        model['head']['in_channels'] = last_width
    data_cfg['work_dir'] = str(study_dir.model_work_dir(entry.key))
    hooks, options = [], {}
    for hook in data_cfg.get('custom_hooks') or []:
        if isinstance(hook, dict) and hook.get('type') == 'EDFHook':
            options = hook            # the config's EDFHook options (e.g. its interval)
        else:
            hooks.append(hook)
    hooks.append(dict(options, type='EDFHook', study_dir=str(study_dir.root),
                      model_key=entry.key))
    data_cfg['custom_hooks'] = hooks
    imports = dict(data_cfg.get('custom_imports') or {})
    names = list(imports.get('imports') or [])
    if REGNET_PLUGIN not in names:
        names.append(REGNET_PLUGIN)
    data_cfg['custom_imports'] = dict(imports, imports=names, allow_failed_imports=False)
    # each model trains with its own fixed seed, so a rerun reproduces it; the
    # toolboxes' default runtimes say seed=None (a fresh random seed per run)
    randomness = dict(data_cfg.get('randomness') or {})
    if randomness.get('seed') is None:
        randomness['seed'] = model_seed(entry)
    data_cfg['randomness'] = randomness
    return data_cfg


RECIPE_LINE = re.compile(r'^# study model (?P<key>\S+) recipe (?P<recipe>[0-9a-f]+) '
                         r'dir (?P<root>.+)$')


def model_recipe(config: Mapping[str, Any], study_dir: StudyDir,
                 data: PreparedData | None) -> str:
    """Hash of how a model is trained: its config with the study directory left out
    (a moved study keeps its recipes), and the prepared data's hash."""
    text = json.dumps(config, sort_keys=True, default=repr)
    text = text.replace(str(study_dir.root), PLACEHOLDER)
    payload = json.dumps({'config': text, 'data': data.digest if data else None})
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def python_text(config: Mapping[str, Any]) -> str:
    """A config as Python source: one ``name = literal`` per key (pprint), checked to
    read back equal; mmengine's ``pretty_text`` (yapf) only where a value has no
    literal form. (yapf takes ~0.5-1 s per model config: minutes for a population.)"""
    lines = []
    for name, value in config.items():
        text = pprint.pformat(value, width=88, sort_dicts=False)
        try:
            same = ast.literal_eval(text) == value
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            same = False
        if not name.isidentifier() or not same:
            return Config(dict(config)).pretty_text
        lines.append(f'{name} = {text}')
    return '\n'.join(lines) + '\n'


def config_text(config: Mapping[str, Any], key: str, recipe: str,
                study_dir: StudyDir) -> str:
    """A model config file: its first line records the recipe and the study dir."""
    return (f'# study model {key} recipe {recipe} dir {study_dir.root}\n'
            f'# (written by `sample`; a re-sample sets aside results trained with '
            f'another recipe)\n' + python_text(config))


def written_recipe(path: Path) -> tuple[str, str] | None:
    """(recipe, study dir) a model config on disk was written with; None if there is
    no config, ('', '') if it records none (written by an older version)."""
    try:
        with open(path) as f:
            first = f.readline().rstrip('\n')
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError):
        return '', ''
    match = RECIPE_LINE.match(first)
    return (match['recipe'], match['root']) if match else ('', '')


def _prepare_data(study: StudyConfig, study_dir: StudyDir,
                  log: Callable[[str], None]) -> PreparedData | None:
    if not study.data_preparation:
        return None
    spec = substitute(dict(study.data_preparation), str(study_dir.root))
    return prepare_data(spec, log)


def check_work_dir(study_dir: StudyDir) -> None:
    """A clear error for a work dir that cannot hold a study (a file, not writable)."""
    root = study_dir.root
    if root.exists() and not root.is_dir():
        raise ValueError(f'work dir {root} is a file, not a directory; give --work-dir '
                         f'a directory (it is created if missing)')
    existing = root
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f'work dir {root} cannot be created: {existing} is a file')
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f'work dir {root} is not writable ({existing} does not let '
                         f'this user write); choose another --work-dir')


def refuse_if_training(study_dir: StudyDir) -> None:
    """Re-sampling while live workers train would mix populations: refuse."""
    book = ClaimBook(study_dir.claims)
    live = {key: info for key, info in book.holders().items()
            if info is not None and not book.is_stale(key)}
    if live:
        who = ', '.join(f'{key} (pid {info.pid} on {info.host})'
                        for key, info in sorted(live.items())[:5])
        raise StudyBusy(f'{study_dir.root} is being trained now: {len(live)} model(s) '
                        f'claimed by live workers ({who}). Stop them before re-sampling')


def sample_study(config_path: str | Path, work_dir: str | Path, force: bool = False,
                 log: Callable[[str], None] = print,
                 progress: Callable[[Iterable], Iterable] | None = None) -> Manifest:
    """Sample the population and write the per-model configs (see module docstring)."""
    cfg, study = load_config(config_path)
    study_dir = StudyDir(work_dir)
    check_work_dir(study_dir)
    digest = config_hash(cfg)
    history: list[dict[str, Any]] = []
    if study_dir.manifest.exists():
        old = Manifest.load(study_dir)
        if check_same_config(study_dir, old, config_path, digest, force,
                             'Refusing to mix two populations: use another --work-dir, '
                             'or --force to re-sample here (results trained with another '
                             'recipe are set aside under superseded/, nothing is deleted)'):
            data = _prepare_data(study, study_dir, log)
            _write_model_configs(cfg, old, study_dir, data, replace_trained=False)
            log(f'{study_dir.root} already holds this study ({len(old.models)} models, '
                f'config {digest}); nothing re-sampled, results kept')
            return old
        refuse_if_training(study_dir)
        history = (old.history or []) + [{'config_hash': old.config_hash,
                                          'config_path': old.config_path,
                                          'replaced': time.time()}]
        log(f'--force: re-sampling {study_dir.root} with a different config')
    elif study_dir.root.exists():
        refuse_if_training(study_dir)
    if study.data_preparation:          # a bad data kind fails before anything is written
        resolve_data_spec(substitute(dict(study.data_preparation), str(study_dir.root)))
    models = draw_population(study, progress)     # first: a bad regime fails fast
    try:
        study_dir.make()
    except OSError as exc:
        raise ValueError(f'work dir {study_dir.root} cannot be written: {exc}') from None
    data = _prepare_data(study, study_dir, log)
    manifest = Manifest(name=study.name, config_hash=digest,
                        config_path=str(Path(config_path).resolve()), models=models,
                        study=cfg.to_dict().get('study', {}), created=time.time(),
                        history=history, data=data.record() if data else None)
    aside, moved = _write_model_configs(cfg, manifest, study_dir, data,
                                        replace_trained=True)
    if aside is not None:
        manifest.history = (manifest.history or []) + [{
            'superseded': str(aside.relative_to(study_dir.root)), 'models': len(moved),
            'time': time.time()}]
        log(f'set aside {len(moved)} result(s) trained with another recipe or data under '
            f'{aside} (see {SUPERSEDED_INDEX} there); they will be trained again')
    cfg.dump(str(study_dir.study_config))
    manifest.save(study_dir)
    log(f'sampled {len(models)} models ({", ".join(e.label for e in study.spaces)}) '
        f'into {study_dir.root}')
    return manifest


SUPERSEDED_INDEX = 'superseded.json'


def _write_model_configs(cfg: Config, manifest: Manifest, study_dir: StudyDir,
                         data: PreparedData | None, replace_trained: bool
                         ) -> tuple[Path | None, list[str]]:
    """Write every model config. ``replace_trained=False`` (same study config): the
    configs of models with a result stay as they were trained. ``True`` (a new
    population): every config is (re)written; a model whose recorded recipe differs
    from the new one (or is unknown) has its result and model directory moved under
    ``superseded/<time>/``. Returns that folder (None if nothing was set aside) and
    the keys set aside."""
    store = ResultStore(study_dir.results)
    aside: Path | None = None
    index: list[dict[str, Any]] = []
    for entry in manifest.models:
        path = study_dir.model_config(entry.key)
        config = model_config(cfg, entry, study_dir, data)
        recipe = model_recipe(config, study_dir, data)
        written = written_recipe(path)
        old_recipe = None if written is None else written[0]
        trained = store.path(entry.key).exists()
        if written == (recipe, str(study_dir.root)):
            continue
        if old_recipe != recipe:
            if trained and not replace_trained:
                continue               # keep the config its result was trained with
            if trained:
                if aside is None:
                    aside = _new_superseded_dir(study_dir)
                index.append(_set_aside(study_dir, entry.key, aside, old_recipe, recipe))
        # (same recipe in another dir: a moved study, its paths are rewritten)
        atomic_write_text(path, config_text(config, entry.key, recipe, study_dir))
    if aside is not None:
        atomic_write_json(aside / SUPERSEDED_INDEX, {
            'time': time.time(), 'config_hash': manifest.config_hash,
            'config_path': manifest.config_path,
            'why': 'trained with another recipe or data than the re-sampled study',
            'models': index})
    return aside, [row['key'] for row in index]


def _new_superseded_dir(study_dir: StudyDir) -> Path:
    stamp = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())
    for n in range(1000):
        path = study_dir.root / 'superseded' / (stamp if n == 0 else f'{stamp}-{n}')
        try:
            path.mkdir(parents=True)
            return path
        except FileExistsError:
            continue
    raise RuntimeError(f'cannot create a new folder under {study_dir.root / "superseded"}')


def _set_aside(study_dir: StudyDir, key: str, aside: Path, old_recipe: str | None,
               recipe: str) -> dict[str, Any]:
    """Move a model's result and directory (config, work dir, log) under ``aside``."""
    moved = []
    for source, target in ((ResultStore(study_dir.results).path(key),
                            aside / 'results' / f'{key}.json'),
                           (study_dir.model_dir(key), aside / 'models' / key)):
        if source.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.rename(source, target)
            moved.append(str(target.relative_to(study_dir.root)))
    reason = ('its model config is missing' if old_recipe is None else
              'its model config records no recipe (an older version wrote it)'
              if old_recipe == '' else f'recipe {old_recipe}, now {recipe}')
    study_dir.log_event('superseded', key, reason=reason, moved=moved)
    return {'key': key, 'old_recipe': old_recipe or None, 'new_recipe': recipe,
            'reason': reason, 'moved': moved}


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
    result = analyze_population(population, out_dir or study_dir.analysis, options,
                                title=f'{manifest.name}: design-space comparison',
                                progress=progress)
    if study.expected_order:           # the study's claim, answered in the report
        from .ordering import add_to_report
        add_to_report(result, population, study.expected_order)
    return result
