"""Re-sampling a study after its recipe or data changed (`sample --force`): every
model config is rewritten, results trained another way are set aside (never
deleted), prepared data goes into a clean directory per data setting, and data
preparation kinds are a public registry."""
import json
from pathlib import Path

import pytest
from mmengine.config import Config

from regnet_plugin.studies.layout import StudyDir
from regnet_plugin.studies.manifest import Manifest
from regnet_plugin.studies.preparation import DATA_PREPARATIONS, prepare_data
from regnet_plugin.studies.results import ModelResult, ResultStore
from regnet_plugin.studies.study import sample_study
from regnet_plugin.studies.worker import run_worker
from recipe_trainer import data_root
from study_helpers import starts_per_key

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / 'configs' / 'studies' / 'demo_digits.py'
RECIPE = str(Path(__file__).with_name('recipe_trainer.py')) + ':train'

CONFIG = f"""
_base_ = [{str(DEMO)!r}]
study = dict(num_models={{n}}, data_preparation=dict(val_fraction={{val}}, seed={{split}}))
train_cfg = dict(max_epochs={{epochs}}, val_interval=1)
"""


def study_config(tmp_path: Path, name: str, n: int = 2, epochs: int = 2,
                 val: float = 0.2, split: int = 0) -> Path:
    path = tmp_path / name
    path.write_text(CONFIG.format(n=n, epochs=epochs, val=val, split=split))
    return path


def quiet(message: str) -> None:
    pass


def config_of(work: Path, key: str) -> Config:
    return Config.fromfile(str(StudyDir(work).model_config(key)))


def test_resample_after_a_recipe_change_trains_with_the_new_recipe(tmp_path):
    work = tmp_path / 'study'
    first = sample_study(study_config(tmp_path, 'a.py', epochs=2), work, log=quiet)
    run_worker(work, RECIPE, wait_for_others=False)
    store = ResultStore(work / 'results')
    assert {store.load(k).epochs for k in first.keys()} == {2}

    messages = []
    second = sample_study(study_config(tmp_path, 'b.py', epochs=3), work, force=True,
                          log=messages.append)
    assert second.keys() == first.keys()        # same population, another recipe
    assert {config_of(work, k).train_cfg.max_epochs for k in second.keys()} == {3}
    # the results trained for 2 epochs are set aside, not counted, not deleted
    assert not any(store.path(k).exists() for k in second.keys())
    [aside] = (work / 'superseded').iterdir()
    index = json.loads((aside / 'superseded.json').read_text())
    assert sorted(m['key'] for m in index['models']) == sorted(first.keys())
    old = ResultStore(aside / 'results')
    assert {old.load(k).epochs for k in first.keys()} == {2}
    assert {Config.fromfile(str(aside / 'models' / k / 'config.py')).train_cfg.max_epochs
            for k in first.keys()} == {2}
    assert Manifest.load(StudyDir(work)).history[-1]['models'] == len(first.keys())
    assert any('set aside 4 result(s)' in m for m in messages)

    report = run_worker(work, RECIPE, wait_for_others=False)
    assert sorted(report.trained) == sorted(second.keys())
    assert {store.load(k).epochs for k in second.keys()} == {3}

    # more models, same recipe: the finished ones are kept (a model's seed does not
    # depend on its position in the population), only the new ones are to train
    before = {k: store.path(k).read_bytes() for k in second.keys()}
    third = sample_study(study_config(tmp_path, 'c.py', n=3, epochs=3), work, force=True,
                         log=quiet)
    assert set(second.keys()) < set(third.keys())
    assert all(store.path(k).read_bytes() == content for k, content in before.items())
    assert len(list((work / 'superseded').iterdir())) == 1
    assert sorted(run_worker(work, RECIPE, wait_for_others=False).trained) == sorted(
        set(third.keys()) - set(second.keys()))
    assert set(starts_per_key(work).values()) <= {1, 2}


def test_train_and_val_share_no_image_after_a_resample_with_another_split(tmp_path):
    work = tmp_path / 'study'
    first = sample_study(study_config(tmp_path, 'a.py', val=0.2, split=0), work, log=quiet)
    key = first.keys()[0]
    old_root = Path(data_root(config_of(work, key).train_dataloader.dataset))
    ResultStore(work / 'results').write(ModelResult.done(key, 5.0))   # trained on split 0
    second = sample_study(study_config(tmp_path, 'b.py', val=0.3, split=1), work,
                          force=True, log=quiet)
    cfg = config_of(work, second.keys()[0])
    root = Path(data_root(cfg.train_dataloader.dataset))
    assert Path(data_root(cfg.val_dataloader.dataset)) == root
    train = {p.name for p in (root / 'train').rglob('*.png')}
    val = {p.name for p in (root / 'val').rglob('*.png')}
    assert not train & val
    assert len(train) + len(val) == 1797 and len(val) == round(0.3 * 1797)
    assert root != old_root
    # the first split is still there, as it was (its model was trained on it)
    old_val = {p.name for p in (old_root / 'val').rglob('*.png')}
    assert len(old_val) == round(0.2 * 1797) and old_val != val
    assert not ResultStore(work / 'results').path(key).exists()      # set aside
    assert list((work / 'superseded').glob(f'*/results/{key}.json'))
    assert Manifest.load(StudyDir(work)).data['params']['seed'] == 1


def test_data_preparation_kinds_are_registered(tmp_path):
    assert 'digits' in DATA_PREPARATIONS
    calls = []

    def write_rows(root, rows=3):
        calls.append(root)
        (root / 'rows.txt').write_text('x\n' * rows)

    DATA_PREPARATIONS.register(write_rows, 'test_rows')

    try:
        prepared = prepare_data(dict(type='test_rows', root=str(tmp_path / 'd'), rows=5),
                                log=quiet)
        assert (prepared.path / 'rows.txt').read_text() == 'x\n' * 5
        assert prepared.path.name.startswith('d-') and not (tmp_path / 'd').exists()
        again = prepare_data(dict(type='test_rows', root=str(tmp_path / 'd'), rows=5),
                             log=quiet)
        assert again.path == prepared.path and len(calls) == 1      # written once
        other = prepare_data(dict(type='test_rows', root=str(tmp_path / 'd'), rows=2),
                             log=quiet)
        assert other.path != prepared.path
        assert (prepared.path / 'rows.txt').read_text() == 'x\n' * 5  # untouched
        assert not list(tmp_path.glob('.*tmp*'))                   # nothing half-done
        with pytest.raises(ValueError, match="unknown study.data_preparation type "
                                             "'nope'; registered: digits, test_rows"):
            prepare_data(dict(type='nope', root=str(tmp_path / 'n')), log=quiet)
        with pytest.raises(ValueError, match="'test_rows'.*colums"):
            prepare_data(dict(type='test_rows', root=str(tmp_path / 'n'), colums=2),
                         log=quiet)
        with pytest.raises(KeyError, match='already registered'):
            DATA_PREPARATIONS.register(lambda root: None, 'test_rows')
    finally:
        DATA_PREPARATIONS._items.pop('test_rows', None)


def test_digits_tree_is_never_written_over_with_another_split(tmp_path):
    from regnet_plugin.studies.demo_data import write_digits_tree
    (tmp_path / 'train').mkdir()
    (tmp_path / 'train' / 'stray.png').write_bytes(b'')
    with pytest.raises(ValueError, match='already holds files'):
        write_digits_tree(tmp_path, val_fraction=0.3, seed=1)


def test_model_config_text_reads_back_as_the_same_config(tmp_path):
    from regnet_plugin.studies.study import python_text
    config = dict(model=dict(type='ImageClassifier', backbone=dict(arch=dict(
        stages=[dict(depth=1, width=48, stride=2)])), topk=(1,)),
        optim_wrapper=dict(optimizer=dict(lr=0.05, weight_decay=5e-5, nesterov=True)),
        load_from=None, data_root='/a/b', custom_imports=dict(imports=['regnet_plugin']))
    path = tmp_path / 'm.py'
    path.write_text(python_text(config))
    assert Config.fromfile(str(path)).to_dict() == config
    # a value without a Python literal (inf) falls back to mmengine's own formatting
    assert python_text(dict(a=float('inf'))) == Config(dict(a=float('inf'))).pretty_text
