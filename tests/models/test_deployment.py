"""What deployment and compilers need from the backbones: ``torch.fx.symbolic_trace``
(RegNetY's SE block used to branch on ``x.requires_grad``), ``torch.jit.trace``, ONNX
export with ``torch.onnx.export``'s default exporter and dynamic batch and image size
(checked against onnxruntime), and ``torch.compile`` without graph breaks."""
from __future__ import annotations

import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

from regnet_plugin.models import RegNetX, RegNetY

REPO_CONFIG = 'configs/regnet/regnety-200mf_8xb128_in1k.py'


pytestmark = pytest.mark.usefixtures('one_thread')   # tests/conftest.py


def _randomized(model: torch.nn.Module) -> torch.nn.Module:
    """Random BN statistics and gammas: fresh BNs (and zeroed bn3) hide mistakes."""
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, _BatchNorm):
                n = module.num_features
                module.weight.copy_(torch.rand(n, generator=gen) + 0.5)
                module.bias.copy_(torch.randn(n, generator=gen) * 0.1)
                module.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
                module.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
    return model


def _small_y(**kwargs) -> RegNetY:
    torch.manual_seed(0)
    return _randomized(RegNetY('regnety_200mf', out_indices=(1, 3), **kwargs))


def test_fx_symbolic_trace_of_regnety_trains_and_infers_like_eager():
    model = _small_y()
    with torch.no_grad():
        traced = torch.fx.symbolic_trace(model.eval())
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        for a, b in zip(traced(x), model(x)):
            torch.testing.assert_close(a, b)
    # traced under no_grad, then trained: the graph has no grad-dependent branch
    traced.train()
    model.train()
    x.requires_grad_(True)
    out_traced, out_eager = traced(x)[-1], model(x)[-1]
    torch.testing.assert_close(out_traced, out_eager)
    grad_traced, = torch.autograd.grad(out_traced.square().sum(), x)
    grad_eager, = torch.autograd.grad(out_eager.square().sum(), x)
    torch.testing.assert_close(grad_traced, grad_eager)


@pytest.mark.parametrize('cls,arch', [(RegNetX, 'regnetx_200mf'), (RegNetY, 'regnety_200mf')])
def test_jit_trace_matches_eager_on_other_sizes(cls, arch):
    torch.manual_seed(0)
    model = _randomized(cls(arch, out_indices=(0, 3), out_stem=True)).eval()
    with torch.no_grad():
        traced = torch.jit.trace(model, torch.randn(1, 3, 64, 64))
        x = torch.randn(3, 3, 96, 80)
        for a, b in zip(traced(x), model(x)):
            torch.testing.assert_close(a, b)


def _onnx_check(module: torch.nn.Module, path, inputs: list[torch.Tensor]) -> None:
    """Export with dynamic batch/height/width, then compare onnxruntime with torch on
    inputs of other sizes than the example."""
    onnxruntime = pytest.importorskip('onnxruntime')
    pytest.importorskip('onnxscript')
    batch, height, width = (torch.export.Dim(n, min=1, max=4096)
                            for n in ('batch', 'height', 'width'))
    program = torch.onnx.export(module, (torch.randn(2, 3, 64, 64),), str(path),
                                input_names=['image'],
                                dynamic_shapes=({0: batch, 2: height, 3: width},))
    assert program is not None          # the default (dynamo) exporter returns a program
    session = onnxruntime.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    for x in inputs:
        with torch.no_grad():
            expected = module(x)
        expected = expected if isinstance(expected, (tuple, list)) else (expected,)
        got = session.run(None, {session.get_inputs()[0].name: x.numpy()})
        assert len(got) == len(expected)
        for a, b in zip(got, expected):
            assert a.shape == tuple(b.shape)
            assert abs(torch.from_numpy(a) - b).max().item() <= 1e-5


SIZES = [torch.randn(1, 3, 64, 64), torch.randn(3, 3, 96, 128), torch.randn(2, 3, 75, 57)]


@pytest.mark.slow
@pytest.mark.parametrize('cls,arch', [(RegNetX, 'regnetx_200mf'), (RegNetY, 'regnety_200mf')])
def test_onnx_export_of_the_backbone_matches_onnxruntime(tmp_path, cls, arch):
    torch.manual_seed(0)
    model = _randomized(cls(arch, out_indices=(0, 1, 2, 3))).eval()
    _onnx_check(model, tmp_path / f'{arch}.onnx', SIZES)


@pytest.mark.slow
def test_onnx_export_of_an_image_classifier_from_our_config(tmp_path):
    import regnet_plugin  # noqa: F401
    from mmengine.config import Config
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(REPO_CONFIG)
    torch.manual_seed(0)
    classifier = MODELS.build(cfg.model)
    classifier.init_weights()
    _randomized(classifier).eval()        # forward(inputs, mode='tensor'): the logits
    _onnx_check(classifier, tmp_path / 'classifier.onnx', SIZES)


@pytest.mark.slow
def test_torch_compile_has_no_graph_breaks():
    """fullgraph=True fails on any graph break; one small model, default backend."""
    model = _small_y().eval()
    compiled = torch.compile(model, fullgraph=True, dynamic=False)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        for a, b in zip(compiled(x), model(x)):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
    explanation = torch._dynamo.explain(model)(x)
    assert explanation.graph_break_count == 0 and explanation.graph_count == 1
