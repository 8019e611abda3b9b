"""Data preparation kinds: how a study makes the data its models train on.

A kind is a function ``prepare(root: Path, **params) -> None`` that writes the data
into ``root``, an empty directory, using paths relative to it (the directory is
renamed once complete). Kinds are found by name in ``DATA_PREPARATIONS``; 'digits'
(``demo_data.write_digits_tree``) is the first. A study config names one::

    study = dict(..., data_preparation=dict(type='digits', root='{study_dir}/data/digits32',
                                            size=32, val_fraction=0.2, seed=0))

and a user adds one in a module the config imports (``custom_imports``)::

    from regnet_plugin.studies.preparation import DATA_PREPARATIONS

    def prepare_my_data(root, size=64):
        ...  # write the data under root

    DATA_PREPARATIONS.register(prepare_my_data, 'my_data')

Every distinct parameter set is written once, into its own directory
``<root>-<hash>`` (``hash``: of the kind and its parameters), first under a
temporary name and renamed into place when complete. A re-sample with other data
parameters (e.g. another train/val split) therefore never writes over the data the
earlier models were trained on, and never mixes the two; ``study.model_config``
points every path of a model config under ``root`` at that directory, so the data
is part of each model's recipe.
"""
from __future__ import annotations

import hashlib
import inspect
import json
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from ..design.parts import Registry

MARKER = '.prepared.json'


#: name -> prepare(root, **params); the same small public registry as the design
#: parts and spaces (``design.parts.Registry``)
DATA_PREPARATIONS: Registry[Callable[..., Any]] = Registry('data preparation type')


def prepare_digits(root: Path, size: int = 32, val_fraction: float = 0.2,
                   seed: int = 0) -> None:
    """scikit-learn's 8x8 digits as an ImageNet-style folder tree (``demo_data``)."""
    from .demo_data import write_digits_tree
    write_digits_tree(root, size=size, val_fraction=val_fraction, seed=seed)


DATA_PREPARATIONS.register(prepare_digits, 'digits')


@dataclass(frozen=True)
class PreparedData:
    """Where a study's data was prepared, and from what."""

    kind: str
    params: dict[str, Any]
    digest: str
    root: Path          # the configured root (what model configs name)
    path: Path          # where the data is: <root>-<digest>

    def record(self) -> dict[str, Any]:
        return {'type': self.kind, 'params': self.params, 'hash': self.digest,
                'root': str(self.root), 'path': str(self.path)}


def data_digest(kind: str, params: Mapping[str, Any]) -> str:
    """Hash of a preparation kind and its parameters (not of where it is written)."""
    text = json.dumps({'type': kind, 'params': dict(params)}, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def resolve_data_spec(spec: Mapping[str, Any]) -> PreparedData:
    """Check a ``data_preparation`` dict (known kind, a root, parameters the kind
    accepts) and say where its data goes, without writing anything."""
    spec = dict(spec)
    kind = spec.pop('type', None)
    if kind not in DATA_PREPARATIONS:
        raise ValueError(f'unknown study.data_preparation type {kind!r}; registered: '
                         f'{", ".join(DATA_PREPARATIONS.names())} (add one with '
                         f'DATA_PREPARATIONS.register, in a module the config imports '
                         f'through custom_imports)')
    prepare = DATA_PREPARATIONS.get(kind)
    if 'root' not in spec:
        raise ValueError(f"study.data_preparation needs a 'root' (where the data goes), "
                         f'got {dict(spec, type=kind)!r}')
    root = Path(os.path.abspath(str(spec.pop('root'))))
    signature = inspect.signature(prepare)
    try:
        signature.bind(root, **spec)
    except TypeError as exc:
        raise ValueError(f'study.data_preparation of type {kind!r}: {exc} (it takes '
                         f'{signature})') from None
    # the kind's defaults are part of the data: changing one makes another directory
    defaults = {name: p.default for name, p in list(signature.parameters.items())[1:]
                if p.default is not inspect.Parameter.empty}
    digest = data_digest(kind, {**defaults, **spec})
    return PreparedData(kind, spec, digest, root, root.parent / f'{root.name}-{digest}')


def prepare_data(spec: Mapping[str, Any], log: Callable[[str], None] = print
                 ) -> PreparedData:
    """Write the data ``spec`` (``type``, ``root``, the kind's parameters) describes,
    once per parameter set, atomically (see the module docstring)."""
    prepared = resolve_data_spec(spec)
    prepare = DATA_PREPARATIONS.get(prepared.kind)
    params = prepared.params
    if (prepared.path / MARKER).exists():
        return prepared
    if prepared.path.exists():
        raise ValueError(f'{prepared.path} exists but was not written completely by a '
                         f'data preparation (no {MARKER}); move it away and sample again')
    prepared.path.parent.mkdir(parents=True, exist_ok=True)
    tmp = prepared.path.with_name(f'.{prepared.path.name}.tmp-{os.getpid()}-'
                                  f'{secrets.token_hex(4)}')
    tmp.mkdir()
    try:
        prepare(tmp, **params)
        (tmp / MARKER).write_text(json.dumps(prepared.record(), indent=1))
        try:
            os.rename(tmp, prepared.path)
        except OSError:
            if not (prepared.path / MARKER).exists():
                raise
            # another process prepared the same data at the same time: use theirs
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    log(f'{prepared.kind} data prepared at {prepared.path}')
    return prepared
