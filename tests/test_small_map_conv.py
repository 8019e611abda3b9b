"""SmallMapConv2d computes what torch's own convolution computes (values and
gradients), on every path it takes, and is a drop-in nn.Conv2d for checkpoints."""
from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F
from mmcv.cnn import build_conv_layer
from torch import nn

import regnet_plugin  # noqa: F401  (registers SmallMapConv2d)
from regnet_plugin.models import AnyNet, SmallMapConv2d

# (in, out, kernel, stride, padding, dilation, groups, map size)
CASES = [
    # 1x1 maps (the unrolled matrix is the centre tap): dense, grouped, depthwise
    (16, 32, 3, 1, 1, 1, 1, 1), (16, 16, 3, 2, 1, 1, 8, 1), (12, 12, 3, 1, 1, 1, 12, 1),
    (8, 8, 5, 1, 2, 1, 2, 1), (8, 8, 3, 1, 2, 2, 4, 1),
    # pointwise on small maps, with and without stride, grouped
    (16, 24, 1, 1, 0, 1, 1, 1), (16, 24, 1, 1, 0, 1, 1, 2), (16, 24, 1, 2, 0, 1, 1, 8),
    (16, 24, 1, 1, 0, 1, 4, 4), (24, 16, 1, 2, 0, 1, 8, 3),
    # unrolled path: 2x2 maps, strides, grouped, depthwise, dilation, even kernels
    (16, 16, 3, 1, 1, 1, 8, 2), (16, 32, 3, 2, 1, 1, 2, 2), (12, 12, 3, 1, 1, 1, 12, 2),
    (8, 8, 3, 1, 2, 2, 1, 2), (8, 16, 2, 1, 0, 1, 1, 2), (6, 6, 2, 1, 0, 1, 3, 2),
    # depthwise with a channel multiplier: elementwise paths, 1x1 and 3x3, strides
    (8, 16, 1, 1, 0, 1, 8, 2), (6, 12, 3, 1, 1, 1, 6, 2), (8, 16, 3, 2, 1, 1, 8, 2),
    # larger maps: nn.Conv2d's own path
    (8, 16, 3, 1, 1, 1, 2, 8), (8, 16, 1, 1, 0, 1, 1, 16),
]


def _pair(case, bias, channels_last, seed=0):
    cin, cout, k, s, p, d, g, hw = case
    torch.manual_seed(seed)
    ref = nn.Conv2d(cin, cout, k, s, p, d, g, bias=bias).double()
    fast = SmallMapConv2d(cin, cout, k, s, p, d, g, bias=bias).double()
    fast.load_state_dict(ref.state_dict())
    x = torch.randn(5, cin, hw, hw, dtype=torch.float64)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return ref, fast, x


@pytest.mark.parametrize('case,bias,channels_last',
                         [(c, b, cl) for c in CASES for b, cl in
                          itertools.product((False, True), (False, True))])
def test_values_and_gradients_equal_torch_conv(case, bias, channels_last):
    ref, fast, x = _pair(case, bias, channels_last)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    ya, yb = ref(xa), fast(xb)
    assert ya.shape == yb.shape
    torch.testing.assert_close(yb, ya, rtol=1e-10, atol=1e-12)
    grad = torch.randn_like(ya)
    ya.backward(grad)
    yb.backward(grad)
    torch.testing.assert_close(xb.grad, xa.grad, rtol=1e-10, atol=1e-12)
    for (name, pa), pb in zip(ref.named_parameters(), fast.parameters()):
        torch.testing.assert_close(pb.grad, pa.grad, rtol=1e-10, atol=1e-12, msg=name)


def test_a_kernel_larger_than_the_padded_map_fails_as_in_torch():
    for conv in (nn.Conv2d(4, 4, 3), SmallMapConv2d(4, 4, 3)):
        with pytest.raises(RuntimeError):
            conv(torch.randn(2, 4, 1, 1))


def test_each_path_is_taken(monkeypatch):
    """The cases above exercise the GEMM paths, not only the fallback."""
    calls = []
    monkeypatch.setattr(nn.Conv2d, 'forward',
                        lambda self, x: calls.append('conv') or F.conv2d(
                            x, self.weight, self.bias, self.stride, self.padding,
                            self.dilation, self.groups))
    for case in CASES:
        _, fast, x = _pair(case, False, False)
        fast(x)
    assert calls.count('conv') == 2          # only the two 'larger maps' cases


def test_off_cpu_and_other_padding_modes_use_nn_conv2d(monkeypatch):
    calls = []
    original = nn.Conv2d.forward
    monkeypatch.setattr(nn.Conv2d, 'forward',
                        lambda self, x: calls.append(1) or original(self, x))
    reflect = SmallMapConv2d(4, 4, 3, padding=1, padding_mode='reflect')
    reflect(torch.randn(2, 4, 2, 2))
    same = SmallMapConv2d(4, 4, 3, padding='same')
    same(torch.randn(2, 4, 2, 2))
    off = SmallMapConv2d(4, 4, 3, padding=1).to('meta')
    off(torch.randn(2, 4, 2, 2, device='meta'))
    assert len(calls) == 3


def test_thresholds_zero_turn_the_gemm_paths_off(monkeypatch):
    calls = []
    original = nn.Conv2d.forward
    monkeypatch.setattr(nn.Conv2d, 'forward',
                        lambda self, x: calls.append(1) or original(self, x))
    conv = SmallMapConv2d(4, 4, 3, padding=1, max_pixels=0)
    conv(torch.randn(2, 4, 2, 2))
    point = SmallMapConv2d(4, 4, 1, pointwise_max_pixels=0)
    point(torch.randn(2, 4, 2, 2))
    assert len(calls) == 2


@pytest.mark.parametrize('kwargs,error', [
    (dict(max_pixels=-1), ValueError), (dict(pointwise_max_pixels=2.5), TypeError)])
def test_bad_thresholds_are_named(kwargs, error):
    with pytest.raises(error, match=next(iter(kwargs))):
        SmallMapConv2d(4, 4, 3, **kwargs)


def test_built_by_mmcv_and_state_dict_is_nn_conv2d():
    conv = build_conv_layer(dict(type='SmallMapConv2d', max_pixels=9), 8, 16, 3,
                            stride=2, padding=1, groups=4, bias=False)
    assert isinstance(conv, SmallMapConv2d) and conv.max_pixels == 9
    plain = nn.Conv2d(8, 16, 3, stride=2, padding=1, groups=4, bias=False)
    assert conv.state_dict().keys() == plain.state_dict().keys()
    conv.load_state_dict(plain.state_dict())        # strict: same keys and shapes


def small_arch(depths: tuple[int, ...]) -> dict:
    """Four stages for 32x32 inputs (maps 8, 4, 2, 1): dense, depthwise and grouped
    3x3 convolutions on each map size."""
    return dict(stem_width=16, stages=[
        dict(depth=d, width=w, stride=2, bottleneck_ratio=b, group_width=g)
        for d, w, b, g in zip(depths, (16, 32, 48, 64), (1.0, 2.0, 1.0, 1.0), (4, 1, 8, 16))])


def test_anynet_with_small_map_conv_matches_the_default_backbone():
    """A whole AnyNet (32x32 input: its last stages run at 2x2 and 1x1) through
    conv_cfg and channels_last: same outputs and gradients as the default one."""
    arch = small_arch(depths=(1, 2, 2, 2))
    torch.manual_seed(0)
    plain = AnyNet(arch=arch, out_indices=(0, 1, 2, 3)).double()
    fast = AnyNet(arch=arch, out_indices=(0, 1, 2, 3), channels_last=True,
                  conv_cfg=dict(type='SmallMapConv2d')).double()
    fast.load_state_dict(plain.state_dict())
    assert sum(isinstance(m, SmallMapConv2d) for m in fast.modules()) > 10
    x = torch.randn(6, 3, 32, 32, dtype=torch.float64)
    outs_a, outs_b = plain(x), fast(x)
    assert [o.shape[-1] for o in outs_a] == [8, 4, 2, 1]
    for a, b in zip(outs_a, outs_b):
        torch.testing.assert_close(b, a, rtol=1e-9, atol=1e-10)
    sum(o.square().mean() for o in outs_a).backward()
    sum(o.square().mean() for o in outs_b).backward()
    for (name, pa), pb in zip(plain.named_parameters(), fast.parameters()):
        torch.testing.assert_close(pb.grad, pa.grad, rtol=1e-8, atol=1e-10, msg=name)


def _classifier(channels_last: bool, conv_cfg):
    from mmengine.registry import MODELS
    arch = small_arch(depths=(1, 1, 2, 1))
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='mmpretrain.ImageClassifier',
        backbone=dict(type='AnyNet', arch=arch, zero_init_last_bn=True,
                      channels_last=channels_last, conv_cfg=conv_cfg),
        neck=dict(type='mmpretrain.GlobalAveragePooling'),
        head=dict(type='mmpretrain.LinearClsHead', num_classes=10, in_channels=64,
                  loss=dict(type='mmpretrain.CrossEntropyLoss'))))
    model.init_weights()
    return model


@pytest.mark.parametrize('channels_last,conv_cfg', [
    (True, None), (False, dict(type='SmallMapConv2d')), (True, dict(type='SmallMapConv2d'))])
def test_same_seed_same_initial_weights_and_same_training(channels_last, conv_cfg):
    """The study's fast path starts from the default path's weights (mmengine's
    Kaiming init fills NCHW memory order even when the backbone is channels_last)
    and, in float64, takes the same SGD steps on the same batches."""
    plain = _classifier(False, None)
    fast = _classifier(channels_last, conv_cfg)
    for (name, a), b in zip(plain.state_dict().items(), fast.state_dict().values()):
        assert torch.equal(a, b), name
    plain, fast = plain.double(), fast.double()
    optims = [torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9, nesterov=True,
                              weight_decay=5e-5) for m in (plain, fast)]
    gen = torch.Generator().manual_seed(1)
    for _ in range(4):
        x = torch.randn(16, 3, 32, 32, generator=gen, dtype=torch.float64)
        y = torch.randint(0, 10, (16,), generator=gen)
        for model, optim in zip((plain, fast), optims):
            logits = model.head.fc(model.extract_feat(x)[-1])
            loss = F.cross_entropy(logits, y)
            optim.zero_grad()
            loss.backward()
            optim.step()
    for (name, a), b in zip(plain.named_parameters(), fast.parameters()):
        torch.testing.assert_close(b, a, rtol=1e-9, atol=1e-11, msg=name)


def test_batchnorm_gets_its_gradient_in_its_input_layout():
    """With channels_last (the documented use), each GEMM path returns the layout
    autograd later gives the gradient of its output. BatchNorm's CPU backward is
    several times slower when its input and its gradient differ in strides, even
    on size-1 dimensions ((C, 1, C, C) against (C, 1, 1, 1) on a 1x1 map)."""
    model = AnyNet(arch=small_arch(depths=(1, 2, 2, 2)), channels_last=True,
                   conv_cfg=dict(type='SmallMapConv2d'))
    seen = []

    def record(module, inputs, output):
        output.register_hook(
            lambda grad, x=inputs[0]: seen.append((tuple(x.shape), x.stride(),
                                                   grad.stride())))

    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.register_forward_hook(record)
    x = torch.randn(4, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    sum(o.square().mean() for o in model(x)).backward()
    assert {shape[-1] for shape, _, _ in seen} == {16, 8, 4, 2, 1}
    mismatched = [(shape, a, b) for shape, a, b in seen if a != b]
    assert not mismatched


@pytest.mark.parametrize('groups,size', [(16, 2), (16, 1), (32, 2), (32, 1)])
def test_grouped_products_copy_no_group_one_by_one(groups, size):
    """Grouped and depthwise convolutions on small maps run as a few whole-tensor
    operations, forward and backward, in channels_last. torch's float32 CPU
    ``bmm`` calls BLAS once per group and first copies each group's operand that
    is neither row- nor column-contiguous; the gradient of a depthwise product
    written as a batched GEMM arrived that way: 64 copies for a 2x2 convolution
    of 32 channels, and about 5x the time of the product itself."""
    from torch.profiler import profile
    conv = SmallMapConv2d(32, 32, 3, padding=1, groups=groups, bias=False)
    x = torch.randn(64, 32, size, size).contiguous(memory_format=torch.channels_last)
    x.requires_grad_()
    with profile() as prof:
        conv(x).square().sum().backward()
    clones = sum(e.count for e in prof.key_averages() if e.key == 'aten::clone')
    assert clones < groups
    assert x.grad is not None and conv.weight.grad is not None
