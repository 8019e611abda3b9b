"""Analytic complexity (docs/design.md, Complexity) against pycls 0.1.1's analytic count
and against fvcore."""
import math

import numpy as np
import pytest

from regnet_plugin.design import (PRESET_NAMES, AnyNetSpec, StageSpec, complexity,
                                  get_preset)
from regnet_plugin.design.sampler import specs_complexity, stage_arrays_complexity


def random_anynet(rng, num_stages=None, se_ratio=None):
    """Random AnyNet with b in {1, 2, 4}, compatible g, optional SE, strides 1/2."""
    n = int(rng.integers(1, 6)) if num_stages is None else num_stages
    se = float(rng.choice([0.0, 0.25, 0.5])) if se_ratio is None else se_ratio
    stages = []
    for _ in range(n):
        b = float(rng.choice([1.0, 2.0, 4.0]))
        g = int(rng.choice([1, 2, 4, 8, 16]))
        # widths >= 8 keep an SE block (w_se = round(se * w_in)) at least 1 wide; pycls
        # counts a 0-wide SE's bias, we do not (see the report on complexity.py)
        w_b = g * int(rng.integers(max(1, math.ceil(8 / (b * g))), 12))
        stages.append(StageSpec(int(rng.integers(1, 5)), int(w_b * b),
                                int(rng.choice([1, 2])), b, g, se))
    return AnyNetSpec(tuple(stages), stem_width=int(rng.choice([16, 24, 32])))


def test_parts_sum_to_totals():
    rng = np.random.default_rng(0)
    specs = [get_preset(n).to_spec() for n in PRESET_NAMES]
    specs += [random_anynet(rng) for _ in range(30)]
    for spec in specs:
        rep = complexity(spec, img_size=224, num_classes=1000)
        assert list(rep.parts) == ['stem'] + [f's{i + 1}' for i in range(spec.num_stages)] \
            + ['head']
        for key in ('flops', 'params', 'acts'):
            assert sum(p[key] for p in rep.parts.values()) == getattr(rep, key)
        no_head = complexity(spec, num_classes=0)
        assert 'head' not in no_head.parts
        assert rep.flops - no_head.flops == rep.parts['head']['flops']


def test_bad_complexity_input():
    spec = get_preset('regnetx_200mf').to_spec()
    with pytest.raises(ValueError, match=r'img_size must be an integer in \[1, 32768\], got 0'):
        complexity(spec, img_size=0)
    with pytest.raises(ValueError, match=r'num_classes must be an integer in \[0, .*got -1'):
        complexity(spec, num_classes=-1)
    # wrong types are TypeErrors naming the value (they used to compute, or fail inside)
    with pytest.raises(TypeError, match='num_classes must be an integer .*got 10.5'):
        complexity(spec, num_classes=10.5)
    with pytest.raises(TypeError, match='img_size must be an integer .*got 224.5'):
        complexity(spec, 224.5)
    with pytest.raises(TypeError, match="spec must be an AnyNetSpec .*got 'regnetx_200mf'"):
        complexity('regnetx_200mf')


def test_vectorised_complexity_equals_complexity():
    """The sampler's closed form gives complexity()'s integers (presets and random)."""
    rng = np.random.default_rng(1)
    for se in (0.0, 0.25):
        specs = [random_anynet(rng, num_stages=4, se_ratio=se) for _ in range(60)]
        specs = [AnyNetSpec.from_lists(s.depths, s.widths, [2] * 4, s.bottleneck_ratios,
                                       s.group_widths, se, 32) for s in specs]
        for size, nc in ((224, 1000), (97, 10), ((64, 48), 0)):
            f, p, a = specs_complexity(specs, size, nc)
            for i, spec in enumerate(specs):
                rep = complexity(spec, size, nc)
                assert (f[i], p[i], a[i]) == (rep.flops, rep.params, rep.acts)
    # mixed strides
    spec = random_anynet(rng, num_stages=3, se_ratio=0.25)
    f, p, a = stage_arrays_complexity(
        [spec.depths], [spec.widths], [[s.bottleneck_width for s in spec.stages]],
        [[s.groups for s in spec.stages]], 0.25, spec.stem_width, 160, 7, spec.strides)
    rep = complexity(spec, 160, 7)
    assert (f[0], p[0], a[0]) == (rep.flops, rep.params, rep.acts)


# -- pycls 0.1.1, the paper's reference implementation --------------------------------
@pytest.fixture
def pycls_cfg():
    config = pytest.importorskip('pycls.core.config')
    config.reset_cfg()
    yield config.cfg
    config.reset_cfg()


def pycls_regnet_complexity(cfg, params, img_size, num_classes):
    from pycls.core import net
    from pycls.models.regnet import RegNet
    cfg.REGNET.DEPTH, cfg.REGNET.W0 = params.depth, params.w0
    cfg.REGNET.WA, cfg.REGNET.WM = params.wa, params.wm
    cfg.REGNET.GROUP_W, cfg.REGNET.BOT_MUL = params.group_width, 1.0 / params.bottleneck_ratio
    cfg.REGNET.SE_ON, cfg.REGNET.SE_R = params.se_ratio > 0, params.se_ratio or 0.25
    cfg.MODEL.NUM_CLASSES, cfg.TRAIN.IM_SIZE = num_classes, img_size
    return net.complexity(RegNet)


def anynet_kwargs(spec, num_classes):
    se = set(spec.se_ratios)
    assert len(se) == 1, 'pycls AnyNet has one SE ratio for all stages'
    se_r = se.pop()
    return dict(stem_type='simple_stem_in', stem_w=spec.stem_width,
                block_type='res_bottleneck_block', ds=spec.depths, ws=spec.widths,
                ss=spec.strides, bms=[1.0 / b for b in spec.bottleneck_ratios],
                gws=spec.group_widths, se_r=se_r if se_r else None, nc=num_classes)


@pytest.mark.parametrize('img_size, num_classes', [(224, 1000), (256, 1000), (32, 10),
                                                   (97, 21)])
def test_presets_equal_pycls(pycls_cfg, img_size, num_classes):
    from pycls.core.config import reset_cfg
    for name in PRESET_NAMES:
        reset_cfg()                                  # no state leaks between cases
        params = get_preset(name)
        ref = pycls_regnet_complexity(pycls_cfg, params, img_size, num_classes)
        ours = complexity(params.to_spec(), img_size=img_size, num_classes=num_classes)
        assert (ours.flops, ours.params, ours.acts) == \
            (ref['flops'], ref['params'], ref['acts']), (name, img_size, num_classes)


def test_random_anynets_equal_pycls(pycls_cfg):
    from pycls.core import net
    from pycls.models.anynet import AnyNet
    rng = np.random.default_rng(7)
    for case in range(120):
        spec = random_anynet(rng, se_ratio=float(rng.choice([0.0, 0.25])))
        img_size = int(rng.choice([224, 128, 65, 32]))
        nc = int(rng.choice([1000, 10]))
        ref = AnyNet.complexity({'h': img_size, 'w': img_size, 'flops': 0, 'params': 0,
                                 'acts': 0}, **anynet_kwargs(spec, nc))
        ours = complexity(spec, img_size=img_size, num_classes=nc)
        assert (ours.flops, ours.params, ours.acts) == \
            (ref['flops'], ref['params'], ref['acts']), (case, spec.describe())
    # and through pycls' cfg path (ANYNET.*, TRAIN.IM_SIZE, MODEL.NUM_CLASSES)
    spec = AnyNetSpec.from_lists([1, 2, 3, 2], [24, 48, 96, 192], [2, 2, 2, 2],
                                 [1.0, 2.0, 4.0, 1.0], [8, 8, 8, 16], 0.25)
    c = pycls_cfg
    c.ANYNET.DEPTHS, c.ANYNET.WIDTHS, c.ANYNET.STRIDES = spec.depths, spec.widths, spec.strides
    c.ANYNET.BOT_MULS = [1.0 / b for b in spec.bottleneck_ratios]
    c.ANYNET.GROUP_WS, c.ANYNET.SE_ON, c.ANYNET.SE_R = spec.group_widths, True, 0.25
    c.MODEL.NUM_CLASSES, c.TRAIN.IM_SIZE = 37, 96
    ref = net.complexity(AnyNet)
    ours = complexity(spec, 96, 37)
    assert (ours.flops, ours.params, ours.acts) == (ref['flops'], ref['params'], ref['acts'])


def test_per_stage_parts_equal_pycls(pycls_cfg):
    """Each part (stem, s1..s4, head) equals pycls' count of that part."""
    from pycls.models.anynet import AnyHead, AnyStage, ResBottleneckBlock, SimpleStemIN
    for name in ('regnetx_400mf', 'regnety_8.0gf'):
        spec = get_preset(name).to_spec()
        parts = complexity(spec).parts
        cx = {'h': 224, 'w': 224, 'flops': 0, 'params': 0, 'acts': 0}

        def delta(before, after):
            return {k: after[k] - before[k] for k in ('flops', 'params', 'acts')}

        new = SimpleStemIN.complexity(dict(cx), 3, spec.stem_width)
        ref = {'stem': delta(cx, new)}
        cx, w_in = new, spec.stem_width
        for i, st in enumerate(spec.stages):
            new = AnyStage.complexity(dict(cx), w_in, st.width, st.stride, st.depth,
                                      ResBottleneckBlock, 1.0 / st.bottleneck_ratio,
                                      st.group_width, st.se_ratio or None)
            ref[f's{i + 1}'] = delta(cx, new)
            cx, w_in = new, st.width
        ref['head'] = delta(cx, AnyHead.complexity(dict(cx), w_in, 1000))
        for key, value in ref.items():
            assert {k: parts[key][k] for k in value} == value, (name, key)


# -- fvcore: an independent count on the real torch model ---------------------------
FVCORE_KINDS = {'conv', 'linear', 'addmm'}            # what we sum
FVCORE_IGNORED = {'batch_norm', 'adaptive_avg_pool2d'}  # zero flops by our definition


def torch_counts(model, img_size):
    """fvcore conv/linear MACs + bias adds, acts and params of a torch model."""
    torch = pytest.importorskip('torch')
    fvcore_nn = pytest.importorskip('fvcore.nn')
    conv_linear = (torch.nn.Conv2d, torch.nn.Linear)
    bias_adds, acts = [], []

    def hook(module, inputs, output):
        acts.append(output.numel())
        if module.bias is not None:
            bias_adds.append(output.numel())    # one add per output element

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, conv_linear)]
    x = torch.zeros(1, 3, img_size, img_size)
    model.eval()
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    analysis = fvcore_nn.FlopCountAnalysis(model, x)
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    by_op = analysis.by_operator()
    unexpected = set(by_op) - FVCORE_KINDS - FVCORE_IGNORED
    assert not unexpected, f'fvcore counted other kinds of flops: {unexpected}'
    macs = sum(v for k, v in by_op.items() if k in FVCORE_KINDS)
    params = sum(p.numel() for p in model.parameters())
    return macs + sum(bias_adds), params, sum(acts)


@pytest.mark.parametrize('name, img_size', [('regnetx_200mf', 224), ('regnety_200mf', 224),
                                            ('regnetx_400mf', 64)])
def test_presets_equal_fvcore_count_of_pycls_model(pycls_cfg, name, img_size):
    from pycls.models.anynet import AnyNet
    spec = get_preset(name).to_spec()
    model = AnyNet(**anynet_kwargs(spec, 1000))
    flops, params, acts = torch_counts(model, img_size)
    ours = complexity(spec, img_size=img_size)
    assert (ours.flops, ours.params, ours.acts) == (flops, params, acts)


def test_anynet_with_bottlenecks_and_se_equals_fvcore_count(pycls_cfg):
    from pycls.models.anynet import AnyNet
    # b != 1 (incl. an inverted bottleneck), mixed group widths, SE, a stride-1 stage,
    # an odd input size
    spec = AnyNetSpec.from_lists([2, 1, 3, 2], [48, 64, 96, 40], [2, 1, 2, 2],
                                 [1.0, 2.0, 4.0, 0.25], [8, 16, 4, 32], 0.25, stem_width=24)
    model = AnyNet(**anynet_kwargs(spec, 10))
    flops, params, acts = torch_counts(model, 45)
    ours = complexity(spec, img_size=45, num_classes=10)
    assert (ours.flops, ours.params, ours.acts) == (flops, params, acts)
