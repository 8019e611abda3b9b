"""The population of a study: sampling it, and the manifest that records it.

``draw_population`` samples every space of the study (``design.sampler``) into
``ModelEntry`` rows; the manifest (``manifest.json``) stores them with the study's
config hash, so that a later run can tell whether a work dir was made by the same
config (and refuse to mix populations unless forced).
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from ..design.sampler import sample_models
from .layout import MANIFEST, StudyDir, model_key
from .results import atomic_write_json
from .schema import SpaceEntry, StudyConfig

MANIFEST_FORMAT = 1
REQUIRED_KEYS = ('name', 'config_hash', 'config_path', 'models')


@dataclass(frozen=True)
class ModelEntry:
    """One model of the population."""

    index: int
    key: str
    space: str               # the space entry's label
    space_name: str          # the named design space it was drawn from
    id: str                  # AnyNetSpec.id
    spec: dict[str, Any]
    complexity: dict[str, int]
    space_params: dict[str, Any]
    draw_index: int
    seed: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> 'ModelEntry':
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


def sample_space_entries(entry: SpaceEntry, num_models: int, regime, seed: int,
                         max_draws: int | None = None, start_index: int = 0
                         ) -> list[ModelEntry]:
    """``num_models`` distinct models of one space in the regime, as manifest rows."""
    space_seed = entry.seed(seed)
    try:
        result = sample_models(entry.space(), num_models, regime, seed=space_seed,
                               max_draws=max_draws)
    except RuntimeError as exc:
        raise ValueError(f'impossible regime for {entry.label}: {exc}') from None
    rows = []
    for i, s in enumerate(result.samples):
        rows.append(ModelEntry(
            index=start_index + i, key=model_key(entry.label, s.id), space=entry.label,
            space_name=entry.name, id=s.id, spec=s.spec.to_dict(),
            complexity={'flops': int(s.complexity.flops), 'params': int(s.complexity.params),
                        'acts': int(s.complexity.acts)},
            space_params=_jsonable(s.params), draw_index=int(s.draw_index),
            seed=space_seed))
    return rows


def draw_population(study: StudyConfig,
                    progress: Callable[[Iterable], Iterable] | None = None
                    ) -> list[ModelEntry]:
    """Every space's models, in the study's space order."""
    rows: list[ModelEntry] = []
    spaces = study.spaces if progress is None else progress(study.spaces)
    for entry in spaces:
        rows += sample_space_entries(entry, study.num_models, study.regime, study.seed,
                                     study.max_draws, len(rows))
    return rows


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, 'tolist'):
        return value.tolist()
    if hasattr(value, 'item'):
        return value.item()
    return value


class ConfigMismatch(RuntimeError):
    """The work dir holds a study sampled from a different config."""


@dataclass
class Manifest:
    """What ``manifest.json`` holds."""

    name: str
    config_hash: str
    config_path: str
    models: list[ModelEntry]
    study: dict[str, Any]
    created: float = 0.0
    history: list[dict[str, Any]] | None = None
    data: dict[str, Any] | None = None      # preparation.PreparedData.record()

    def keys(self) -> list[str]:
        return [m.key for m in self.models]

    def by_key(self) -> dict[str, ModelEntry]:
        return {m.key: m for m in self.models}

    def save(self, study_dir: StudyDir) -> Path:
        atomic_write_json(study_dir.manifest, {
            'format': MANIFEST_FORMAT, 'name': self.name, 'config_hash': self.config_hash,
            'config_path': self.config_path, 'created': self.created or time.time(),
            'history': self.history or [], 'data': self.data, 'study': self.study,
            'models': [m.as_dict() for m in self.models]})
        return study_dir.manifest

    @classmethod
    def load(cls, study_dir: StudyDir) -> 'Manifest':
        path = study_dir.manifest
        if not path.exists():
            raise FileNotFoundError(
                f'{path} does not exist: run the `sample` subcommand first '
                f'(or `run`, which samples, trains and analyses)')
        try:
            data = json.loads(path.read_text())
        except ValueError as exc:
            raise ValueError(f'{path} is not valid JSON ({exc}); the population cannot '
                             f'be read. Remove it and sample again (results are kept)'
                             ) from None
        return cls.from_dict(data, path)

    @classmethod
    def from_dict(cls, data: Any, path: Path | str = MANIFEST) -> 'Manifest':
        """A manifest from its JSON content; ValueError naming what is wrong."""
        advice = 'Remove it and sample again (results are kept)'
        missing = [k for k in REQUIRED_KEYS if not isinstance(data, Mapping) or k not in data]
        if missing:
            got = (f'keys {sorted(data)}' if isinstance(data, Mapping)
                   else f'a JSON {type(data).__name__}: {str(data)[:60]}')
            raise ValueError(f'{path} is not a study manifest: it needs the keys '
                             f'{list(REQUIRED_KEYS)}, got {got}; missing {missing}. {advice}')
        if not isinstance(data['models'], list):
            raise ValueError(f"{path}: 'models' must be a list of models, got "
                             f"{type(data['models']).__name__}. {advice}")
        models = []
        for i, row in enumerate(data['models']):
            try:
                models.append(ModelEntry.from_dict(row))
            except (KeyError, TypeError) as exc:
                raise ValueError(f'{path}: model {i} is malformed ({type(exc).__name__}: '
                                 f'{exc}; fields: {sorted(ModelEntry.__dataclass_fields__)}). '
                                 f'{advice}') from None
        return cls(name=str(data['name']), config_hash=str(data['config_hash']),
                   config_path=str(data['config_path']), models=models,
                   study=data.get('study') or {}, created=data.get('created', 0.0),
                   history=data.get('history') or [], data=data.get('data'))
