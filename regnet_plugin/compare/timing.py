"""Inference time of a batch of images, measured the way the paper reports it.

The paper times a forward pass of 64 images on one GPU. We do the same on the current
device (CUDA when available, else CPU), fp32, in eval mode under ``torch.inference_mode``:
a few warm-up passes (cuDNN autotuning, allocator and thread-pool start-up), then
``repeats`` timed passes, each bracketed by ``torch.cuda.synchronize()`` on CUDA (the
kernels are asynchronous, so a wall clock without a sync would time the launches
only). The median of the repeats is reported: robust to the odd slow pass from other
processes on a shared machine.
"""
from __future__ import annotations

import platform
import statistics
import time
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TimingSetup:
    """Where and how times were taken (printed with every table)."""

    device: str
    device_name: str
    torch_version: str
    threads: int
    batch_size: int
    warmup: int
    repeats: int
    dtype: str = 'float32'

    def describe(self) -> str:
        return (f'{self.device_name} ({self.device}), torch {self.torch_version}, '
                f'{self.threads} CPU threads, batch {self.batch_size}, {self.dtype}, '
                f'{self.warmup} warm-up + median of {self.repeats} timed passes')


@dataclass(frozen=True)
class Timing:
    median_ms: float
    all_ms: tuple[float, ...]
    resolution: int


def pick_device(requested: str | None = None) -> str:
    """'cuda' when a GPU is visible, else 'cpu'; or ``requested`` once checked.

    A device torch does not know ('foo'), CUDA where there is none, or a GPU index
    beyond the visible ones is a ValueError naming the value, before any work is done.
    """
    import torch
    if not requested:
        return 'cuda' if torch.cuda.is_available() else 'cpu'
    try:
        device = torch.device(requested)
    except (RuntimeError, TypeError):
        raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N', got {requested!r}"
                         ) from None
    if device.type not in ('cpu', 'cuda'):
        raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N', got {requested!r}")
    if device.type == 'cuda':
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ValueError(f'device {requested!r} asked for, but CUDA is not available '
                             f"here; use --device cpu")
        if device.index is not None and device.index >= count:
            raise ValueError(f'device {requested!r}: there are {count} CUDA devices '
                             f'(cuda:0..cuda:{count - 1})')
    return requested


def cpu_name() -> str:
    """The CPU model (Linux /proc/cpuinfo), else what ``platform`` knows."""
    try:
        with open('/proc/cpuinfo', encoding='utf-8') as info:
            for line in info:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or 'CPU'


def timing_setup(device: str, batch_size: int, warmup: int, repeats: int) -> TimingSetup:
    import torch
    from ..validate import check_int
    check_int('batch_size', batch_size, 1)
    check_int('repeats', repeats, 1)
    check_int('warmup', warmup, 0)
    if device.startswith('cuda'):
        name = torch.cuda.get_device_name(torch.device(device))
    else:
        name = cpu_name()
    return TimingSetup(device, name, torch.__version__, torch.get_num_threads(),
                       batch_size, warmup, repeats)


def measure_inference(model: Any, resolution: int, setup: TimingSetup) -> Timing:
    """Median wall time (ms) of one forward pass of ``setup.batch_size`` images."""
    import torch

    device = torch.device(setup.device)
    on_cuda = device.type == 'cuda'
    if on_cuda:
        torch.backends.cudnn.benchmark = True
    model = model.to(device).eval()
    images = torch.randn(setup.batch_size, 3, resolution, resolution, device=device)

    def sync() -> None:
        if on_cuda:
            torch.cuda.synchronize(device)

    times: list[float] = []
    with torch.inference_mode():
        for _ in range(setup.warmup):
            model(images)
        sync()
        for _ in range(setup.repeats):
            start = time.perf_counter()
            model(images)
            sync()
            times.append((time.perf_counter() - start) * 1e3)
    return Timing(statistics.median(times), tuple(times), resolution)
