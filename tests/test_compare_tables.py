"""Tests of the comparison tables (regnet_plugin.compare, tools/compare_tables.py).

The figures checked here are what the tool computes (core analytic counts, fvcore on
MMPretrain models, checked against an independent hook count and ``numel`` sums), never
the paper's copied numbers, except where the test is about flagging a disagreement.
"""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

torch = pytest.importorskip('torch')
pytest.importorskip('fvcore')
pytest.importorskip('mmpretrain')

from torch import nn  # noqa: E402

from regnet_plugin.compare.counting import (Counts, count_regnet_analytic,  # noqa: E402
                                            count_with_fvcore, count_with_hooks)
from regnet_plugin.compare.paper import (TABLES, PaperRow, agrees_with_paper,  # noqa: E402
                                         resolve_tables, rounding_tolerance)
from regnet_plugin.compare.render import figure_cell, markdown_table  # noqa: E402
from regnet_plugin.compare.results import (load_results,  # noqa: E402
                                           top1_error_from_runner_output)
from regnet_plugin.compare.tables import (FLAG, Measurer, compare_tables,  # noqa: E402
                                          flag_disagreements, pearson)
from regnet_plugin.compare.zoo import build_classifier, model_entry  # noqa: E402
from regnet_plugin.design import complexity, preset_spec  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def _regnet_backbones_available() -> bool:
    import regnet_plugin  # noqa: F401
    from mmpretrain.registry import MODELS
    return MODELS.get('RegNetX') is not None and MODELS.get('RegNetY') is not None


#: MMPretrain's own model config of each ResNe(X)t row (configs/_base_/models): the
#: independent reference for the rows, which we build as AnyNet points
MMPRETRAIN_RESNET_CONFIGS = {
    'ResNet-50': 'resnet50.py', 'ResNet-101': 'resnet101.py', 'ResNet-152': 'resnet152.py',
    'ResNeXt-50': 'resnext50_32x4d.py', 'ResNeXt-101': 'resnext101_32x4d.py',
    'ResNeXt-152': 'resnext152_32x4d.py'}


def _mmpretrain_resnet(name: str) -> nn.Module:
    """MMPretrain's ResNet/ResNeXt classifier for a row, as its own config builds it
    (eval mode, random init)."""
    import mmpretrain
    from mmengine.config import Config
    from mmpretrain.registry import MODELS
    path = (Path(mmpretrain.__file__).parent / '.mim' / 'configs' / '_base_' / 'models'
            / MMPRETRAIN_RESNET_CONFIGS[name])
    config = Config.fromfile(str(path)).model
    assert config.backbone.type in ('ResNet', 'ResNeXt')
    return MODELS.build(config).eval()


# -- RegNet columns = the core's analytic numbers ------------------------------------
def test_regnet_rows_are_the_core_analytic_counts():
    tables = resolve_tables(['regnetx', 'regnety', 'table3', 'table4', 'mobile'])
    regnet_names = [r.model for t in tables for r in t.rows if r.model.startswith('RegNet')]
    compared = compare_tables(tables, Measurer(setup=None), rows=regnet_names)
    regnet_rows = [r for t in compared for r in t.rows if r.measurement.entry.is_regnet]
    assert len({r.model for r in regnet_rows}) == 24
    for row in regnet_rows:
        report = complexity(preset_spec(row.measurement.entry.preset), img_size=224,
                            num_classes=1000)
        counts = row.measurement.counts
        assert (counts.flops, counts.params, counts.acts) == (
            report.flops, report.params, report.acts), row.model
        assert counts.method == 'analytic'
        # the 24 presets round to the paper's model tables (docs/design.md, Presets)
        assert row.flags == {}, (row.model, row.flags)


# -- the other families: what the tool computes, checked independently -------------
class _TinyNet(nn.Module):
    """Hand-countable: conv with bias, grouped conv without, BN, pool, fc with bias."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=True)
        self.bn = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1, groups=4, bias=False)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        x = torch.relu(self.bn(self.conv1(x)))
        x = self.conv2(x) + x
        return self.fc(x.mean((2, 3)))


def test_counting_conventions_by_hand():
    # 16x16 input: conv1 -> 8x8x8; conv2 -> 8x8x8; fc -> 10
    conv1 = 3 * 3 * 3 * 8 * 64 + 8 * 64          # MACs + bias adds
    conv2 = 3 * 3 * 8 * 8 * 64 // 4
    fc = 8 * 10 + 10
    params = (3 * 3 * 3 * 8 + 8) + 2 * 8 + (3 * 3 * 2 * 8) + (8 * 10 + 10)
    acts = 8 * 64 + 8 * 64 + 10
    expected = (conv1 + conv2 + fc, params, acts)
    for counter in (count_with_fvcore, count_with_hooks):
        counts = counter(_TinyNet(), 16)
        assert (counts.flops, counts.params, counts.acts) == expected, counter.__name__


@pytest.mark.parametrize('name,resolution', [('ResNeXt-50', 64), ('EfficientNet-B0', 96)])
def test_mmpretrain_models_fvcore_equals_hooks_and_numel(name, resolution):
    if name in MMPRETRAIN_RESNET_CONFIGS:       # the row is our AnyNet: take MMPretrain's
        model = _mmpretrain_resnet(name)
    else:
        model, config = build_classifier(model_entry(name))
        assert config['backbone']['type'] == 'EfficientNet'
    fv = count_with_fvcore(model, resolution)
    hooks = count_with_hooks(model, resolution)
    assert fv.params == sum(p.numel() for p in model.parameters())
    assert (fv.flops, fv.acts) == (hooks.flops, hooks.acts)
    assert fv.flops > 0 and fv.acts > 0


def test_resnet50_row_is_computed_and_flagged_where_the_paper_differs():
    compared = compare_tables([TABLES['table3a']], Measurer(setup=None), rows=['ResNet-50'])
    (row,) = compared[0].rows
    counts = row.measurement.counts
    assert counts.method == 'analytic'      # our AnyNet's count (zoo.resnet_spec)
    # cross-check on MMPretrain's own ResNet-50: same params, flops, acts
    model = _mmpretrain_resnet('ResNet-50')
    assert counts.params == sum(p.numel() for p in model.parameters())
    hooks = count_with_hooks(model, 224)
    assert (counts.flops, counts.acts) == (hooks.flops, hooks.acts)
    # the paper prints 22.6M params; a faithful count is 25.56M: flagged, not overwritten
    assert 'params' in row.flags and row.paper.params == '22.6'
    assert figure_cell(row, 'params').endswith(FLAG)
    assert FLAG not in figure_cell(row, 'flops')
    assert 'ResNet-50: params' in markdown_table(compared[0])


def test_efficientnet_counted_at_its_own_resolution():
    entry = model_entry('EfficientNet-B3')
    assert entry.resolution == 300
    assert model_entry('RegNetY-1.6GF').resolution == 224


@pytest.mark.skipif(not _regnet_backbones_available(),
                    reason='regnet_plugin.models backbones (RegNetX/RegNetY) not landed yet')
@pytest.mark.parametrize('preset', ['regnetx_200mf', 'regnety_200mf', 'regnetx_400mf',
                                    'regnety_600mf'])
def test_regnet_torch_model_counted_with_fvcore_equals_core(preset):
    # 64px keeps it quick; the analytic count takes the same resolution (and the
    # 224px case is the same code path with other sizes)
    model, _ = build_classifier(model_entry(preset))
    analytic = count_regnet_analytic(preset, resolution=64)
    for counter in (count_with_fvcore, count_with_hooks):
        counts = counter(model, 64)
        assert (counts.flops, counts.params, counts.acts) == (
            analytic.flops, analytic.params, analytic.acts), counter.__name__


# -- flags ---------------------------------------------------------------------------
def test_flags_fire_only_outside_the_papers_rounding():
    assert rounding_tolerance('4.1') == pytest.approx(0.05)
    assert rounding_tolerance('0.57') == pytest.approx(0.005)
    assert agrees_with_paper(4.149, '4.1') and not agrees_with_paper(4.151, '4.1')
    row = PaperRow('X', flops='4.1', params='25.6', acts='11.1')
    counts = Counts(4_089_185_256, 25_557_032, 11_114_984, 224, 'test')
    assert flag_disagreements(row, counts, ('flops', 'params', 'acts')) == {}
    wrong = PaperRow('X', flops='4.1', params='22.6', acts='12.0')
    flags = flag_disagreements(wrong, counts, ('flops', 'params', 'acts'))
    assert set(flags) == {'params', 'acts'}
    assert '25.557M' in flags['params'] and '22.6M' in flags['params']


def test_pearson():
    assert pearson([1, 2, 3, 4], [2, 4, 6, 8]) == pytest.approx(1.0)
    assert pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert pearson([1, 2], [1, 2]) is None
    assert math.isclose(pearson([1, 2, 3, 4], [1, 3, 2, 4]), 0.8)


# -- errors from the user's results --------------------------------------------------
def test_errors_from_results_json_and_runner_outputs(tmp_path):
    run = tmp_path / 'work' / '20240101_000000'
    run.mkdir(parents=True)
    (run / '20240101_000000.json').write_text(
        json.dumps({'accuracy/top1': 76.25, 'accuracy/top5': 93.0}))
    log_dir = tmp_path / 'logrun'
    log_dir.mkdir()
    (log_dir / 'x.log').write_text(
        'Epoch(test) [782/782]    accuracy/top1: 78.4000  accuracy/top5: 94.1000\n')
    assert top1_error_from_runner_output(tmp_path / 'work').top1_error == pytest.approx(23.75)
    assert top1_error_from_runner_output(log_dir / 'x.log').top1_error == pytest.approx(21.6)
    mapping = tmp_path / 'errors.json'
    mapping.write_text(json.dumps({'ResNet-50': 23.4, 'regnetx_3.2gf': 'logrun'}))
    errors = load_results(mapping)
    assert errors['resnet50'].top1_error == 23.4
    assert errors['regnetx3.2gf'].top1_error == pytest.approx(21.6)
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps({'ResNet-50': 123}))
    with pytest.raises(ValueError, match='percentage'):
        load_results(bad)


def test_eval_through_the_runner_test_loop(tmp_path):
    """--eval's path: a checkpoint of the row's classifier through Runner.test()."""
    import numpy as np
    from PIL import Image

    from regnet_plugin.compare.evaluate import evaluate_checkpoint, imagenet_val_pipeline

    root = tmp_path / 'imagenet'
    (root / 'val').mkdir(parents=True)
    (root / 'meta').mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(
            root / 'val' / f'img{i}.JPEG')
    (root / 'meta' / 'val.txt').write_text('img0.JPEG 0\nimg1.JPEG 1\n')
    entry = model_entry('RegNetX-200MF')
    model, _ = build_classifier(entry)
    # make class 0 win for every image: img0 is right, img1 wrong -> 50% top-1 error
    with torch.no_grad():
        model.head.fc.weight.zero_()
        model.head.fc.bias.zero_()
        model.head.fc.bias[0] = 1.0
    checkpoint = tmp_path / 'model.pth'
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    assert imagenet_val_pipeline(model_entry('EfficientNet-B3'))[1] == dict(
        type='EfficientNetCenterCrop', crop_size=300)
    assert imagenet_val_pipeline(entry)[1:3] == [
        dict(type='ResizeEdge', scale=256, edge='short'),
        dict(type='CenterCrop', crop_size=224)]
    result = evaluate_checkpoint(entry, checkpoint, root, tmp_path / 'work', batch_size=2,
                                 num_workers=0)
    assert result.top1_error == pytest.approx(50.0)
    assert top1_error_from_runner_output(tmp_path / 'work').top1_error == pytest.approx(50.0)


# -- the CLI, end to end -------------------------------------------------------------
def test_cli_end_to_end_small(tmp_path, capsys):
    import importlib.util
    spec = importlib.util.spec_from_file_location('compare_tables_cli',
                                                  REPO / 'tools' / 'compare_tables.py')
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    results = tmp_path / 'errors.json'
    results.write_text(json.dumps({'ShuffleNetV2': 24.75}))
    out = tmp_path / 'out'
    rc = cli.main(['--tables', 'mobile', '--rows', 'ShuffleNetV2', 'RegNetY-600MF', 'DARTS',
                   '--repeats', '1', '--warmup', '0', '--batch-size', '2',
                   '--timing-resolution', '64', '--results', str(results),
                   '--out-dir', str(out), '--quiet'])
    assert rc == 0
    printed = capsys.readouterr().out
    assert 'Table 2' in printed and 'not evaluated' in printed
    rows = {r['model']: r for r in csv.DictReader((out / 'comparison.csv').open())}
    assert set(rows) == {'ShuffleNetV2', 'RegNetY-600MF', 'DARTS'}
    analytic = count_regnet_analytic('regnety_600mf')
    assert int(rows['RegNetY-600MF']['flops']) == analytic.flops
    assert int(rows['RegNetY-600MF']['params']) == analytic.params
    model, _ = build_classifier(model_entry('ShuffleNetV2'))
    assert int(rows['ShuffleNetV2']['params']) == sum(p.numel() for p in model.parameters())
    assert rows['ShuffleNetV2']['top1_error'] == '24.750'
    assert rows['RegNetY-600MF']['top1_error'] == 'not evaluated'
    assert float(rows['ShuffleNetV2']['infer_ms']) > 0
    assert rows['ShuffleNetV2']['infer_resolution'] == '64'
    # the paper prints '-' for ShuffleNet params, so nothing to flag there
    assert 'params' not in rows['ShuffleNetV2']['flags']
    assert rows['DARTS']['flops'] == '' and 'no MMPretrain' in rows['DARTS']['note']
    # a flag in the CSV is a flag in the printed table
    assert (FLAG in printed) == any(r['flags'] for r in rows.values())
    assert (out / 'comparison.md').read_text().startswith('# RegNet comparison tables')
    assert (out / 'comparison_time.png').stat().st_size > 0
    assert (out / 'comparison_error.png').stat().st_size > 0


@pytest.mark.parametrize('row, mmpretrain_config', [
    ('RegNetX-400MF', 'regnet/regnetx-400mf_8xb128_in1k.py'),
    ('RegNetY-4.0GF', 'regnet/regnetx-4.0gf_8xb64_in1k.py'),
    ('ResNet-50', 'resnet/resnet50_8xb32_in1k.py'),
    ('ResNeXt-50', 'resnext/resnext50-32x4d_8xb32_in1k.py'),
    ('EfficientNet-B0', 'efficientnet/efficientnet-b0_8xb32_in1k.py')])
def test_eval_preprocessing_is_mmpretrains_for_the_family(tmp_path, row, mmpretrain_config):
    """--eval normalises as the checkpoints were trained: MMPretrain's own config for
    the family (RegNets: BGR, pycls statistics; ResNe(X)t/EfficientNet: RGB)."""
    from mmengine.config import Config

    from regnet_plugin.compare.evaluate import data_preprocessor
    twin = tmp_path / 'twin.py'
    twin.write_text(f"_base_ = 'mmpretrain::{mmpretrain_config}'\n")
    theirs = Config.fromfile(str(twin)).data_preprocessor
    ours = data_preprocessor(model_entry(row))
    for key in ('mean', 'std', 'to_rgb'):
        assert ours[key] == theirs[key], key


@pytest.mark.parametrize('name, groups, width_per_group', [('ResNet-50', 1, 64),
                                                           ('ResNeXt-50', 32, 4)])
def test_resnets_counted_with_fvcore_equal_pycls_analytic_count(name, groups,
                                                                width_per_group):
    """An independent reference for the fvcore path: pycls 0.1.1's own analytic count
    of the same network. Flops and params agree exactly; pycls also counts the stem
    max-pool's output (64 x 56 x 56) as activations, which our definition (conv and fc outputs)
    does not."""
    import importlib
    pycls_config = pytest.importorskip('pycls.core.config')
    resnet = importlib.import_module('pycls.models.resnet')
    pycls_config.reset_cfg()
    cfg = pycls_config.cfg
    cfg.MODEL.DEPTH, cfg.MODEL.NUM_CLASSES = 50, 1000
    cfg.RESNET.TRANS_FUN, cfg.RESNET.STRIDE_1X1 = 'bottleneck_transform', False
    cfg.RESNET.NUM_GROUPS, cfg.RESNET.WIDTH_PER_GROUP = groups, width_per_group
    try:
        reference = resnet.ResNet.complexity({'h': 224, 'w': 224, 'flops': 0,
                                              'params': 0, 'acts': 0})
    finally:
        pycls_config.reset_cfg()          # pycls' config is global: leave it as found
    counts = count_with_fvcore(_mmpretrain_resnet(name), 224)
    assert (counts.flops, counts.params) == (reference['flops'], reference['params'])
    assert counts.acts == reference['acts'] - 64 * 56 * 56


@pytest.mark.slow
@pytest.mark.parametrize('name', ['ResNet-50', 'ResNeXt-50', 'ResNet-101', 'ResNeXt-152'])
def test_resnext_rows_counted_by_our_anynet_equal_fvcore_of_mmpretrain(name):
    """The ResNe(X)t rows are our AnyNet points (analytic count); fvcore on
    MMPretrain's own ResNet/ResNeXt stays the cross-check: identical integers."""
    entry = model_entry(name)
    assert entry.spec is not None and entry.spec.stem_type == 'res_stem_in'
    fv = count_with_fvcore(_mmpretrain_resnet(name), 224)
    ours = Measurer(setup=None).measure(name).counts
    assert ours.method == 'analytic'
    assert (ours.flops, ours.params, ours.acts) == (fv.flops, fv.params, fv.acts)


@pytest.mark.parametrize('name', ['ResNet-50', 'ResNeXt-50'])
def test_resnext_rows_build_the_anynet_they_count(name):
    """The module a ResNe(X)t row times and evaluates is the AnyNet the core counts:
    fvcore and the hooks on the built classifier give the analytic integers (64px keeps
    it quick; 224px is the same code path)."""
    from regnet_plugin.models import AnyNet
    entry = model_entry(name)
    model, config = build_classifier(entry)
    assert config['backbone']['type'] == 'AnyNet'
    assert type(model.backbone) is AnyNet and model.backbone.spec == entry.spec
    analytic = complexity(entry.spec, img_size=64, num_classes=1000)
    for counter in (count_with_fvcore, count_with_hooks):
        counts = counter(model, 64)
        assert (counts.flops, counts.params, counts.acts) == (
            analytic.flops, analytic.params, analytic.acts), counter.__name__


def _randomise(model: nn.Module, generator: torch.Generator) -> None:
    """Random values in every parameter and every BatchNorm statistic, scaled (weights
    ~ 1/sqrt(fan-in), BN near identity) so that 50 layers keep outputs finite."""
    from torch.nn.modules.batchnorm import _BatchNorm
    touched = set()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                module.weight.normal_(0, module.weight[0].numel() ** -0.5,
                                      generator=generator)
                touched.add(module.weight)
            elif isinstance(module, _BatchNorm):
                module.weight.uniform_(0.5, 1.5, generator=generator)
                module.running_mean.normal_(0, 0.1, generator=generator)
                module.running_var.uniform_(0.5, 1.5, generator=generator)
                touched.add(module.weight)
            else:
                continue
            if module.bias is not None:
                module.bias.normal_(0, 0.1, generator=generator)
                touched.add(module.bias)
    assert touched == set(model.parameters())


@pytest.mark.slow
@pytest.mark.parametrize('name', ['ResNet-50', 'ResNeXt-50'])
def test_mmpretrain_resnet_checkpoint_evaluates_as_the_rows_anynet(tmp_path, name):
    """--eval with MMPretrain's ImageNet ResNet-50/ResNeXt-50 checkpoint (random values
    here, nothing downloaded): an ImageClassifier checkpoint of MMPretrain's own model,
    loaded through --eval's Runner (refused if a tensor does not fit), gives the row's
    AnyNet exactly MMPretrain's outputs; the keys also load strictly."""
    from regnet_plugin.compare.evaluate import evaluation_runner
    generator = torch.Generator().manual_seed(0)
    theirs = _mmpretrain_resnet(name)
    _randomise(theirs, generator)
    checkpoint = tmp_path / f'{name}.pth'
    torch.save({'meta': {'note': 'random'}, 'state_dict': theirs.state_dict()}, checkpoint)
    (tmp_path / 'imagenet' / 'val').mkdir(parents=True)
    runner = evaluation_runner(model_entry(name), checkpoint, tmp_path / 'imagenet',
                               tmp_path / 'work')
    runner.load_or_resume()                 # what Runner.test() does first
    ours = runner.model.eval()
    assert type(ours.backbone).__name__ == 'AnyNet'
    image = torch.randn(1, 3, 64, 64, generator=generator)
    with torch.no_grad():
        expected = theirs(image, mode='tensor')
        assert expected.abs().max() > 0.1 and torch.isfinite(expected).all()
        torch.testing.assert_close(ours(image, mode='tensor'), expected,
                                   rtol=1e-5, atol=1e-6)
    incompatible = ours.load_state_dict(theirs.state_dict(), strict=True)
    assert not incompatible.missing_keys and not incompatible.unexpected_keys


def test_pycls_resnet50_yaml_equals_pycls_count_and_the_table_row():
    """pycls' configs/archive/imagenet/anynet/R-50-1x64d_step_8gpu.yaml (its model
    sections, as published) is ResNet-50 as an AnyNet point: flops and params equal
    pycls 0.1.1's own AnyNet count and the comparison table's ResNet-50; acts are pycls'
    minus the stem max-pool output (64 x 56 x 56), which our definition leaves out."""
    from regnet_plugin.design import complexity, parse_arch
    yaml_text = '\n'.join([
        'MODEL:', '  TYPE: anynet', '  NUM_CLASSES: 1000', 'ANYNET:',
        '  STEM_TYPE: res_stem_in', '  STEM_W: 64', '  BLOCK_TYPE: res_bottleneck_block',
        '  DEPTHS: [3, 4, 6, 3]', '  WIDTHS: [256, 512, 1024, 2048]',
        '  STRIDES: [1, 2, 2, 2]', '  BOT_MULS: [0.25, 0.25, 0.25, 0.25]',
        '  GROUP_WS: [64, 128, 256, 512]', 'BN:', '  ZERO_INIT_FINAL_GAMMA: True',
        'TRAIN:', '  IM_SIZE: 224', ''])
    spec = parse_arch(yaml_text).spec
    ours = complexity(spec)
    pycls_config = pytest.importorskip('pycls.core.config')
    from pycls.core import net
    from pycls.models.anynet import AnyNet as PyclsAnyNet
    pycls_config.reset_cfg()
    try:
        pycls_config.cfg.merge_from_other_cfg(pycls_config.cfg.load_cfg(yaml_text))
        reference = net.complexity(PyclsAnyNet)
    finally:
        pycls_config.reset_cfg()
    assert (ours.flops, ours.params) == (reference['flops'], reference['params'])
    assert ours.acts == reference['acts'] - 64 * 56 * 56
    row = Measurer(setup=None).measure('ResNet-50').counts
    assert (row.flops, row.params, row.acts) == (ours.flops, ours.params, ours.acts)
    assert spec == model_entry('ResNet-50').spec
