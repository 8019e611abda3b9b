"""Checks of the mmcv layer configs the backbones take (``conv_cfg``, ``norm_cfg``,
``dcn``, plugin ``cfg``): a bad one fails when the backbone is built, with a message
that names the value and what is accepted, not later inside mmcv or in forward."""
from __future__ import annotations

import inspect
from typing import Any, Iterable

from mmcv.cnn import build_norm_layer
from mmengine.registry import MODELS

from ..validate import check_int, check_mapping

#: mmcv norm types that normalise the channels of an NCHW feature map.
NORM_TYPES_2D: tuple[str, ...] = ('BN', 'BN2d', 'SyncBN', 'MMSyncBN', 'GN', 'IN', 'IN2d')
#: mmcv norm types that build but compute something else on NCHW maps.
_WRONG_NORM_TYPES = {
    'LN': "nn.LayerNorm normalises the last dimension (width), not the channels; for "
          "a layer norm over (C, H, W) use dict(type='GN', num_groups=1)",
    'BN1d': 'BatchNorm1d expects (N, C) or (N, C, L) inputs',
    'BN3d': 'BatchNorm3d expects 5-D inputs',
    'IN1d': 'InstanceNorm1d expects 3-D inputs',
    'IN3d': 'InstanceNorm3d expects 5-D inputs',
}


def check_layer_cfg(name: str, cfg: Any) -> dict[str, Any] | None:
    """None, or a dict with a ``type`` (returned as a copy)."""
    if cfg is None:
        return None
    cfg = check_mapping(name, cfg)
    if 'type' not in cfg:
        raise ValueError(f"{name} needs a 'type', got {cfg!r}")
    return cfg


def check_norm_cfg(norm_cfg: Any, channels: Iterable[int] = ()) -> dict[str, Any]:
    """A norm config that builds a 2-D norm layer for each of ``channels``."""
    cfg = check_layer_cfg('norm_cfg', norm_cfg)
    if cfg is None:
        raise TypeError('norm_cfg must be a dict such as dict(type=\'BN\'), got None')
    layer_type = cfg['type']
    if inspect.isclass(layer_type):
        layer_type = layer_type.__name__
    elif not isinstance(layer_type, str):
        raise TypeError(f"norm_cfg['type'] must be a string such as 'BN', got "
                        f'{layer_type!r}')
    elif layer_type in _WRONG_NORM_TYPES:
        raise ValueError(f"norm_cfg type {layer_type!r} does not fit a 2-D backbone: "
                         f"{_WRONG_NORM_TYPES[layer_type]}. Accepted: {list(NORM_TYPES_2D)}")
    else:
        with MODELS.switch_scope_and_registry(None) as registry:
            found = registry.get(layer_type)
        if found is None:
            raise ValueError(f'norm_cfg type {layer_type!r} is not a registered norm layer; '
                             f'accepted: {list(NORM_TYPES_2D)} (or any norm layer '
                             f'registered in MODELS)')
    widths = sorted(set(channels))
    if layer_type == 'GN' or cfg['type'] == 'GN':
        if 'num_groups' not in cfg:
            raise ValueError(f"norm_cfg GN needs num_groups, e.g. dict(type='GN', "
                             f'num_groups=8), got {norm_cfg!r}')
        groups = check_int("norm_cfg['num_groups']", cfg['num_groups'], 1)
        bad = [w for w in widths if w % groups]
        if bad:
            raise ValueError(f"norm_cfg GN num_groups={groups} must divide the channels of "
                             f'every norm layer ({widths}); it does not divide {bad}')
    try:    # unknown or mistyped arguments fail here, named, not deep inside the build
        build_norm_layer(dict(cfg), widths[0] if widths else cfg.get('num_groups', 1))
    except (TypeError, ValueError, KeyError, AssertionError) as err:
        kind = TypeError if isinstance(err, TypeError) else ValueError
        raise kind(f'norm_cfg {norm_cfg!r} does not build a norm layer: {err}') from None
    return cfg
