"""``SmallMapConv2d``: a ``nn.Conv2d`` that computes convolutions on tiny feature maps
as matrix products on the CPU, where oneDNN spends far longer on overhead than on
arithmetic.

Why: a design-space study at low resolution (the embedded digits demo: 32x32
inputs, so the last stages run at 2x2 and 1x1) trains hundreds of small models on
CPU cores. There, oneDNN's convolution (PyTorch's CPU default) takes 0.2-5 ms for a
forward and backward that hold a few hundred thousand multiply-adds, most of all
grouped and depthwise 3x3 convolutions on 1x1 and 2x2 maps; measured on the demo's
population, convolutions on maps of at most 2x2 were about 60% of all convolution
time. The same arithmetic as ``F.linear``/``torch.einsum`` (one GEMM, or one batched
GEMM over the groups) takes a fraction of that (``benchmarks/bench_small_map_conv.py``).

What it computes is the convolution, with the same parameters and state dict as
``nn.Conv2d`` (checkpoints move freely between the two); only the order of the
floating-point sums differs (results agree to float32 rounding, not bit for bit).
Paths, chosen per call from the input's shape:

* a 1x1 kernel without padding on a map of at most ``pointwise_max_pixels`` pixels:
  a (grouped) GEMM over the pixels (strides subsample first); depthwise, a product
  by each channel's weight;
* any other kernel on a map of at most ``max_pixels`` pixels: the convolution
  written out as the matrix it is, from the input's (C/G x H x W) values to the
  output's, one per group (each entry is the weight tap that links an input pixel
  to an output pixel, or zero where only padding would), and one batched GEMM
  (depthwise: elementwise products summed over the input pixels); on a 1x1 map
  with "same" padding this is a 1x1 convolution by the kernel's centre tap;
* everything else, inputs on other devices (CUDA...), ``padding_mode`` other than
  ``'zeros'`` and string paddings: ``nn.Conv2d`` itself.

The written-out matrix has (C_out x C_in/G x in pixels x out pixels) entries, so the
thresholds are kept small; for export (ONNX, TorchScript) build the model with
``nn.Conv2d``, which loads the same weights.

Use it through the backbones' ``conv_cfg=dict(type='SmallMapConv2d')`` (mmcv's
``build_conv_layer``), with ``channels_last=True`` for the larger maps.
"""
from __future__ import annotations

import functools
import itertools
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..validate import check_int

#: defaults measured on a 2-core AMD EPYC (AVX2) with torch 2.14's oneDNN: above
#: them oneDNN is as fast or faster (benchmarks/bench_small_map_conv.py)
DEFAULT_MAX_PIXELS = 4
DEFAULT_POINTWISE_MAX_PIXELS = 64


class SmallMapConv2d(nn.Conv2d):
    """``nn.Conv2d`` computed by GEMMs on small CPU feature maps (see module doc).

    Args:
        *args, **kwargs: as ``nn.Conv2d``.
        max_pixels: the largest input map (H*W) computed by im2col and GEMM for
            kernels larger than 1x1; 0 turns that path off.
        pointwise_max_pixels: the same for 1x1 kernels.
    """

    def __init__(self, *args: Any, max_pixels: int = DEFAULT_MAX_PIXELS,
                 pointwise_max_pixels: int = DEFAULT_POINTWISE_MAX_PIXELS,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_pixels = check_int('max_pixels', max_pixels, 0)
        self.pointwise_max_pixels = check_int('pointwise_max_pixels',
                                              pointwise_max_pixels, 0)
        if isinstance(self.padding, str):            # 'same' / 'valid': nn.Conv2d's
            self._gemm_ok = False
        else:
            self._gemm_ok = self.padding_mode == 'zeros'

    def extra_repr(self) -> str:
        return (f'{super().extra_repr()}, max_pixels={self.max_pixels}, '
                f'pointwise_max_pixels={self.pointwise_max_pixels}')

    def forward(self, x: Tensor) -> Tensor:
        if not self._gemm_ok or x.device.type != 'cpu' or x.dim() != 4:
            return super().forward(x)
        pixels = x.shape[-2] * x.shape[-1]
        if self.kernel_size == (1, 1) and self.padding == (0, 0):
            if pixels <= self.pointwise_max_pixels:
                return _pointwise(x, self.weight, self.bias, self.stride, self.groups)
        elif pixels <= self.max_pixels:
            return _unrolled(x, self.weight, self.bias, self.stride, self.padding,
                             self.dilation, self.groups)
        return super().forward(x)


def _pixel_major(x: Tensor) -> bool:
    """Whether to compute in (pixel, channel) order: for channels_last inputs (and
    1x1 maps, where both orders are one). NCHW inputs are computed in (channel,
    pixel) order, so that outputs and gradients keep their input's layout too."""
    return x.shape[-2] * x.shape[-1] == 1 or (
        x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous())


def _as_map(rows: Tensor, n: int, h: int, w: int) -> Tensor:
    """(N*H*W, C) rows, pixel-major, as an (N, C, H, W) channels_last map.

    On a 1x1 map the result gets the plain contiguous strides, as autograd gives the
    gradient of such a map: BatchNorm's CPU backward takes a path about 6x slower
    when its input and its gradient differ in strides, even strides that only
    differ on size-1 dimensions."""
    c = rows.shape[-1]
    if h * w == 1:
        return rows.reshape(n, c, 1, 1)
    return rows.reshape(n, h, w, c).permute(0, 3, 1, 2)


def _pixel_rows(x: Tensor) -> Tensor:
    """(N, C, H, W) as (N*H*W, C) rows: a view when ``x`` is channels_last."""
    n, c, h, w = x.shape
    return x.permute(0, 2, 3, 1).reshape(n * h * w, c)


def _pointwise(x: Tensor, weight: Tensor, bias: Tensor | None, stride: tuple[int, int],
               groups: int) -> Tensor:
    """1x1 convolution as a GEMM over the pixels, in the input's layout."""
    pixel_major = _pixel_major(x)
    if stride != (1, 1):
        x = x[:, :, ::stride[0], ::stride[1]]
    n, c, h, w = x.shape
    out, per_group = weight.shape[0], c // groups
    if per_group == 1 and groups > 1:               # depthwise: no sum at all
        if pixel_major:
            y = _pixel_rows(x).reshape(n * h * w, groups, 1) * weight.reshape(groups, -1)
            y = y.reshape(n * h * w, out)
            return _as_map(y if bias is None else y + bias, n, h, w)
        y = x.reshape(n, groups, 1, h * w) * weight.reshape(1, groups, -1, 1)
        y = y.reshape(n, out, h, w)
        return y if bias is None else y + bias.view(1, out, 1, 1)
    if not pixel_major:                              # NCHW: channels x pixels
        y = torch.einsum('ngip,goi->ngop', x.reshape(n, groups, per_group, h * w),
                         weight.reshape(groups, out // groups, per_group))
        y = y.reshape(n, out, h, w)
        return y if bias is None else y + bias.view(1, out, 1, 1)
    rows = _pixel_rows(x)
    if groups == 1:
        y = F.linear(rows, weight.reshape(out, c), bias)
    else:
        y = torch.einsum('pgi,goi->pgo', rows.reshape(n * h * w, groups, per_group),
                         weight.reshape(groups, out // groups, per_group))
        y = y.reshape(n * h * w, out)
        if bias is not None:
            y = y + bias
    return _as_map(y, n, h, w)


@functools.lru_cache(maxsize=256)
def tap_selection(size: tuple[int, int], kernel: tuple[int, int], stride: tuple[int, int],
                  padding: tuple[int, int], dilation: tuple[int, int]
                  ) -> tuple[Tensor, int | None, int, int]:
    """Which kernel tap links each (input pixel, output pixel) pair of a convolution
    on a ``size`` map: a 0/1 matrix of shape (kh*kw, in pixels * out pixels), so
    that ``taps @ selection`` writes the convolution out as a matrix; also the one
    tap used where a single pixel pair exists (a 1x1 map: the centre tap), else
    None; and the output's height and width."""
    (h, w), (kh, kw) = size, kernel
    oh = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (w + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    if oh < 1 or ow < 1:
        raise RuntimeError(f'the {kh}x{kw} kernel (dilation {dilation}, padding '
                           f'{padding}) does not fit the {h}x{w} input')
    selection = torch.zeros(kh * kw, h * w, oh * ow)
    for oy, ox, ky, kx in itertools.product(range(oh), range(ow), range(kh), range(kw)):
        iy = oy * stride[0] - padding[0] + ky * dilation[0]
        ix = ox * stride[1] - padding[1] + kx * dilation[1]
        if 0 <= iy < h and 0 <= ix < w:
            selection[ky * kw + kx, iy * w + ix, ox + oy * ow] = 1.0
    single = None
    if h * w * oh * ow == 1:
        used = selection.reshape(kh * kw).nonzero().flatten().tolist()
        single = used[0] if len(used) == 1 else None
    return selection.reshape(kh * kw, -1), single, oh, ow


def _unrolled(x: Tensor, weight: Tensor, bias: Tensor | None, stride: tuple[int, int],
              padding: tuple[int, int], dilation: tuple[int, int], groups: int) -> Tensor:
    """The convolution as one (input pixels x output pixels) matrix per group.

    Rows and columns are ordered as the input is laid out in memory: (pixel,
    channel) for channels_last, (channel, pixel) for NCHW, so that a dense
    convolution needs no copy of its input or output."""
    n, c, h, w = x.shape
    out, per_group, kh, kw = weight.shape
    selection, single, oh, ow = tap_selection((h, w), (kh, kw), stride, padding, dilation)
    per_out, p_in, p_out = out // groups, h * w, oh * ow
    taps = weight.reshape(out, per_group, kh * kw)
    if single is not None:          # one pixel pair: a 1x1 convolution by that tap
        return _pointwise(x, taps[:, :, single, None, None], bias, (1, 1), groups)
    matrix = taps.reshape(-1, kh * kw) @ selection.to(weight.dtype)
    matrix = matrix.reshape(groups, per_out, per_group, p_in, p_out)
    if _pixel_major(x):
        rows = _pixel_rows(x).reshape(n, p_in, groups, per_group)
        if groups == 1:
            matrix = matrix.permute(0, 3, 2, 4, 1).reshape(p_in * per_group, p_out * out)
            y = rows.reshape(n, p_in * per_group) @ matrix
        elif per_group == 1:                        # depthwise: no sum over channels
            # y[n, q, g, o] = sum_p x[n, p, g] * matrix[g, o, p, q], elementwise
            y = (rows.reshape(n, p_in, 1, groups, 1)
                 * matrix[:, :, 0].permute(2, 3, 0, 1).contiguous()).sum(1)
        else:
            matrix = matrix.permute(0, 3, 2, 4, 1).reshape(groups, p_in * per_group,
                                                           p_out * per_out)
            values = rows.permute(2, 0, 1, 3).reshape(groups, n, p_in * per_group)
            y = torch.bmm(values, matrix)               # G, N, p_out * out/G
            y = y.reshape(groups, n, p_out, per_out).permute(1, 2, 0, 3)
        y = y.reshape(n * p_out, out)
        if bias is not None:
            y = y + bias
        return _as_map(y, n, oh, ow)
    if per_group == 1 and groups > 1:               # depthwise, (channel, pixel) order
        y = (x.reshape(n, groups, 1, p_in, 1)
             * matrix[:, :, 0].unsqueeze(0)).sum(3).reshape(n, out, oh, ow)
    else:
        matrix = matrix.permute(0, 2, 3, 1, 4).reshape(groups, per_group * p_in,
                                                       per_out * p_out)
        values = x.reshape(n, groups, per_group * p_in).transpose(0, 1)
        y = torch.bmm(values, matrix).transpose(0, 1).reshape(n, out, oh, ow)
    return y if bias is None else y + bias.view(1, out, 1, 1)
