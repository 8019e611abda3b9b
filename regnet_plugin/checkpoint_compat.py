"""Let mmengine 0.10.x checkpoints load under torch's weights-only ``torch.load``.

Since torch 2.6, ``torch.load`` defaults to ``weights_only=True``: it unpickles
tensors and plain containers only. mmengine 0.10.7 calls ``torch.load`` without
``weights_only`` when resuming (``resume=True``) or loading (``load_from``), and
its checkpoints also hold the message hub's ``HistoryBuffer`` objects with numpy
arrays and scalars inside, so every resume fails with "Unsupported global".

Instead of turning weights-only loading off (which would let any pickle run code),
we allow-list exactly the classes and reconstruct helpers such a checkpoint needs.
This runs once on ``import regnet_plugin`` (``custom_imports`` in a config).
"""
from __future__ import annotations

import pickle

import numpy as np
import torch


def _numpy_multiarray():
    """numpy 2 moved ``numpy.core`` to ``numpy._core``; pickles name the real one."""
    core = getattr(np, '_core', None)
    return core.multiarray if core is not None else np.core.multiarray


# Every numpy dtype an mmengine log buffer or runtime info can hold.
_NUMPY_DTYPE_CODES = '?bBhHiIlLqQefdgFDG'


def history_buffer_statistic(owner: type, name: str):
    """A getattr that resolves only ``HistoryBuffer``'s statistics methods.

    A ``HistoryBuffer`` pickles its ``_statistics_methods`` table as
    ``getattr(HistoryBuffer, 'min')`` etc. Allow-listing the builtin ``getattr``
    would let a checkpoint reach any attribute of any allowed object, so the
    checkpoint's ``builtins.getattr`` is bound to this narrow version instead.
    """
    from mmengine.logging.history_buffer import HistoryBuffer

    HistoryBuffer()  # its __init__ registers mmengine's default statistics
    methods = HistoryBuffer._statistics_methods
    if owner is HistoryBuffer and name in methods and hasattr(HistoryBuffer, name):
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'weights-only load: getattr({owner!r}, {name!r}) is not allowed; only '
        f'HistoryBuffer statistics methods {sorted(methods)} are')


def mmengine_checkpoint_globals() -> list:
    """The non-tensor globals found in mmengine Runner checkpoints (meta/message_hub)."""
    from mmengine.logging.history_buffer import HistoryBuffer

    multiarray = _numpy_multiarray()
    safe = [HistoryBuffer, np.ndarray, np.dtype, multiarray._reconstruct,
            multiarray.scalar, (history_buffer_statistic, 'builtins.getattr')]
    # numpy >= 1.25 pickles dtypes through their classes (numpy.dtypes.Float64DType).
    safe += sorted({type(np.dtype(code)) for code in _NUMPY_DTYPE_CODES},
                   key=lambda cls: cls.__name__)
    return safe


def allow_mmengine_checkpoints() -> None:
    """Add mmengine's checkpoint globals to torch's weights-only allow-list."""
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is None:  # torch < 2.4 loads everything anyway
        return
    add(mmengine_checkpoint_globals())


allow_mmengine_checkpoints()
