"""Counting flops, params and acts (``docs/design.md``, Complexity), three independent ways.

* :func:`count_spec_analytic` - the core's closed-form count of an AnyNet spec
  (``regnet_plugin.design.complexity``). The tables use it for every RegNet row and
  for the ResNe(X)t rows (AnyNet points: ``zoo.resnet_spec``).
* :func:`count_with_fvcore` - any torch classifier (the EfficientNet and mobile rows,
  built from MMPretrain), traced once by fvcore's JIT analysis; the tests use it as the
  cross-check of the analytic count on the built models and on MMPretrain's own
  ResNet/ResNeXt.
* :func:`count_with_hooks` - the same model counted by forward hooks on every
  ``nn.Conv2d``/``nn.Linear``. Nothing in it is shared with the fvcore path, so the
  tests use it as the independent check of :func:`count_with_fvcore`.

Aligning fvcore with the definitions (``docs/design.md``, Complexity)
-----------------------------------
fvcore's ``FlopCountAnalysis`` reports multiply-adds (a "flop" is one MAC), which is
the paper's unit, but by default it also charges batch norm, adaptive pooling,
upsampling, einsum/matmul etc., and it never charges the bias add of a conv or a
linear layer. The paper counts conv and fc layers only, *with* their bias adds
(``docs/design.md``, Complexity). So :func:`count_with_fvcore` runs fvcore's
``JitModelAnalysis`` with
exactly two op handles and nothing else:

* ``aten::_convolution`` -> fvcore's conv MAC count (``batch * prod(weight.shape) *
  prod(out.shape[2:])``, groups included), plus ``prod(out.shape)`` when the traced
  call has a bias;
* ``aten::linear`` / ``aten::addmm`` -> fvcore's MAC count plus ``prod(out.shape)``
  for the bias.

For acts the same handles also return the output elements of those same ops (what
fvcore's ``ActivationCountAnalysis`` counts, restricted to conv and linear). One
trace for both keeps flops and acts about the identical set of layers, and a trace
sees what is actually executed (a module built but skipped in ``forward``, or a
``F.conv2d`` called inside a custom module such as MMCV's ``Conv2dAdaptivePadding``,
is counted as it runs). Every other op (BN, activations, pooling, residual adds, SE's
channel-wise multiply) is ignored, which is the paper's convention. Params are
``sum(p.numel())`` over the trainable parameters (BN: weight and bias, 2 per
channel); buffers such as BN running statistics are not parameters.

All counts are for one image (batch 1) at the row's resolution, 1000 classes.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable

from regnet_plugin.design import complexity, preset_spec


@dataclass(frozen=True)
class Counts:
    """Flops (multiply-adds), trainable params and acts of one model, as integers."""

    flops: int
    params: int
    acts: int
    resolution: int
    method: str

    def figure(self, column: str) -> float:
        """The count in the paper's unit: flops in B, params and acts in M."""
        from .paper import FIGURE_SCALE
        return getattr(self, column) / FIGURE_SCALE[column]


def count_regnet_analytic(preset: str, resolution: int = 224,
                          num_classes: int = 1000) -> Counts:
    """The core's exact count of a RegNet preset (``docs/design.md``, Complexity)."""
    return count_spec_analytic(preset_spec(preset), resolution, num_classes)


def count_spec_analytic(spec: Any, resolution: int = 224, num_classes: int = 1000
                        ) -> Counts:
    """The core's exact count of any AnyNet spec (RegNets, ResNe(X)t as AnyNets)."""
    report = complexity(spec, img_size=resolution, num_classes=num_classes)
    return Counts(report.flops, report.params, report.acts, resolution, 'analytic')


def trainable_params(model: Any) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# -- fvcore ------------------------------------------------------------------------
def _shape(value: Any) -> list[int]:
    from fvcore.nn.jit_handles import get_shape
    return list(get_shape(value))


def _has_tensor_input(value: Any) -> bool:
    """Whether a traced op input is a real tensor (a bias), not a None constant."""
    return value.type().kind() != 'NoneType'


def _conv_flops(inputs: list[Any], outputs: list[Any]) -> int:
    from fvcore.nn.jit_handles import conv_flop_jit
    counted = conv_flop_jit(inputs, outputs)   # a Counter {'conv': macs} in fvcore 0.1.5
    macs = int(sum(counted.values()) if hasattr(counted, 'values') else counted)
    # aten::_convolution(input, weight, bias, stride, padding, dilation, transposed, ...)
    if _has_tensor_input(inputs[2]):
        macs += math.prod(_shape(outputs[0]))
    return macs


def _linear_flops(inputs: list[Any], outputs: list[Any]) -> int:
    from fvcore.nn.jit_handles import linear_flop_jit
    # aten::linear(input, weight, bias)
    macs = int(linear_flop_jit(inputs, outputs))
    if len(inputs) > 2 and _has_tensor_input(inputs[2]):
        macs += math.prod(_shape(outputs[0]))
    return macs


def _addmm_flops(inputs: list[Any], outputs: list[Any]) -> int:
    from fvcore.nn.jit_handles import addmm_flop_jit
    # aten::addmm(bias, mat1, mat2, ...): the bias is always there
    return int(addmm_flop_jit(inputs, outputs)) + math.prod(_shape(outputs[0]))


def _flops_and_acts(flop_handle: Callable) -> Callable:
    """A handle giving both figures of one op, as a Counter fvcore files by key.

    fvcore uses the keys of a Counter returned by a handle as operator names, so one
    trace yields ``by_operator() == {'flops': ..., 'acts': ...}``.
    """
    def handle(inputs: list[Any], outputs: list[Any]) -> Counter:
        return Counter({'flops': flop_handle(inputs, outputs),
                        'acts': math.prod(_shape(outputs[0]))})
    return handle


#: The only ops counted: conv and linear (docs/design.md, Complexity); the rest is free.
_HANDLES: dict[str, Callable] = {
    'aten::_convolution': _flops_and_acts(_conv_flops),
    'aten::linear': _flops_and_acts(_linear_flops),
    'aten::addmm': _flops_and_acts(_addmm_flops),
}


def _sample_input(model: Any, resolution: int):
    import torch
    try:
        param = next(model.parameters())
        device, dtype = param.device, param.dtype
    except StopIteration:
        device, dtype = torch.device('cpu'), torch.float32
    return torch.zeros(1, 3, resolution, resolution, device=device, dtype=dtype)


def count_with_fvcore(model: Any, resolution: int) -> Counts:
    """Flops/params/acts of ``model`` (an nn.Module mapping images to logits).

    See the module docstring for how fvcore's conventions are aligned to our definitions.
    """
    import torch
    from fvcore.nn.jit_analysis import JitModelAnalysis

    was_training = model.training
    model.eval()
    try:
        inputs = (_sample_input(model, resolution),)
        with torch.no_grad():
            analysis = JitModelAnalysis(model, inputs)
            analysis.set_op_handle(**_HANDLES)
            analysis.unsupported_ops_warnings(False)
            analysis.uncalled_modules_warnings(False)
            analysis.tracer_warnings('none')
            totals = analysis.by_operator()
    finally:
        model.train(was_training)
    flops, acts = int(totals.get('flops', 0)), int(totals.get('acts', 0))
    if flops == 0:
        raise RuntimeError(
            'fvcore counted no conv/linear op: the traced graph names them differently '
            'in this torch/fvcore version; compare with count_with_hooks()')
    return Counts(flops, trainable_params(model), acts, resolution, 'fvcore')


# -- forward hooks (independent check) ---------------------------------------------
def count_with_hooks(model: Any, resolution: int) -> Counts:
    """The same count by forward hooks on every ``nn.Conv2d`` and ``nn.Linear``.

    Conv MACs = k_h * k_w * (c_in / groups) * c_out * h_out * w_out, plus c_out * h_out
    * w_out for a bias; linear MACs = in * out (+ out). Acts = output elements.
    """
    import torch
    from torch import nn

    flops = acts = 0

    def on_conv(module: nn.Conv2d, _inputs: Any, output: torch.Tensor) -> None:
        nonlocal flops, acts
        out_elements = output.numel()
        k_h, k_w = module.kernel_size
        flops += out_elements * k_h * k_w * module.in_channels // module.groups
        flops += out_elements if module.bias is not None else 0
        acts += out_elements

    def on_linear(module: nn.Linear, _inputs: Any, output: torch.Tensor) -> None:
        nonlocal flops, acts
        out_elements = output.numel()
        flops += out_elements * module.in_features
        flops += out_elements if module.bias is not None else 0
        acts += out_elements

    handles = []
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            handles.append(module.register_forward_hook(on_conv))
        elif isinstance(module, nn.Linear):
            handles.append(module.register_forward_hook(on_linear))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(_sample_input(model, resolution))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return Counts(flops, trainable_params(model), acts, resolution, 'hooks')
