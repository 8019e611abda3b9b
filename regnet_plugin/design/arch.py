"""Turn the ways users name a model into an ``AnyNetSpec``.

Shared by ``tools/model_info.py`` and the backbone's ``arch=`` argument. Accepted:

* a preset name: ``'regnetx_400mf'`` (also ``'RegNetX-400MF'``);
* a JSON object (string) or a mapping: an AnyNetSpec dict (``{"stages": [...]}``),
  RegNet parameters (``depth, w0, wa, wm, group_width[, bottleneck_ratio, se_ratio]``),
  MMPretrain's arch dict (``w0, wa, wm, group_w, depth, bot_mul``), or per-stage
  lists (``depths, widths[, group_widths, bottleneck_ratios, se_ratios, strides]``);
* key=value pairs, as one string or a list: ``'depth=22 w0=24 wa=24.48 wm=2.54
  group_width=16'`` or ``'depths=1,2,7,12 widths=32,64,160,384 group_widths=16'``;
* a pycls model config: a ``.yaml`` path, YAML text or a dict with its ``MODEL``,
  ``ANYNET``/``REGNET`` sections (:mod:`regnet_plugin.design.pycls_config`);
* an ``AnyNetSpec`` or ``RegNetParams`` (passed through).
"""
from __future__ import annotations

import dataclasses
import inspect
import json
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from .presets import get_preset
from .pycls_config import is_pycls_config, spec_from_pycls_config
from .regnet import MM_ARCH_KEYS, RegNetParams
from .spec import AnyNetSpec

_REGNET_KEYS = tuple(f.name for f in dataclasses.fields(RegNetParams))
_REGNET_REQUIRED = {f.name for f in dataclasses.fields(RegNetParams)
                    if f.default is dataclasses.MISSING}
#: the arguments of ``AnyNetSpec.from_lists``
_LIST_KEYS = tuple(inspect.signature(AnyNetSpec.from_lists).parameters)


@dataclass(frozen=True)
class Arch:
    """A parsed architecture: the spec, plus its RegNet parameters / preset name if any."""

    spec: AnyNetSpec
    regnet: RegNetParams | None = None
    preset: str | None = None


def _parse_value(text: str) -> Any:
    """'22' -> 22, '24.48' -> 24.48, '1,2,7' -> [1, 2, 7], 'pycls' -> 'pycls'."""
    if ',' in text:
        return [_parse_value(t) for t in text.split(',') if t != '']
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_key_values(tokens: Sequence[str]) -> dict[str, Any]:
    """['depth=22', 'w0=24'] (or one space-separated string) -> dict."""
    out: dict[str, Any] = {}
    for token in tokens:
        if '=' not in token:
            raise ValueError(f'expected key=value, got {token!r}')
        key, _, value = token.partition('=')
        key = key.strip()
        if not key or not value.strip():
            raise ValueError(f'expected key=value with both parts, got {token!r}')
        if key in out:
            raise ValueError(f'key {key!r} given twice')
        out[key] = _parse_value(value.strip())
    return out


def arch_from_mapping(data: Mapping[str, Any]) -> Arch:
    """Decide which of the dict formats ``data`` is, and build it."""
    keys = set(data)
    if 'stages' in keys:
        return Arch(AnyNetSpec.from_dict(data))
    if 'depths' in keys or 'widths' in keys:
        bad = sorted(keys - set(_LIST_KEYS))
        missing = sorted({'depths', 'widths'} - keys)
        if bad or missing:
            raise ValueError(f'per-stage lists: missing keys {missing}, unexpected keys '
                             f'{bad}; depths and widths are required, accepted keys are '
                             f'{list(_LIST_KEYS)}')
        # one stage given as 'depths=3 widths=64' arrives as scalars
        lists = {k: ([v] if k in ('depths', 'widths') and not isinstance(v, (list, tuple))
                     else v) for k, v in data.items()}
        return Arch(AnyNetSpec.from_lists(**lists))
    if 'group_w' in keys or 'bot_mul' in keys:
        return Arch(*_regnet(RegNetParams.from_mm_arch(dict(data))))
    bad = sorted(keys - set(_REGNET_KEYS))
    missing = sorted(_REGNET_REQUIRED - keys)
    if bad or missing:
        raise ValueError(
            f'cannot read architecture keys {sorted(keys)}: unknown {bad}, missing '
            f'{missing}. Accepted: RegNet parameters {list(_REGNET_KEYS)}; '
            f'MMPretrain arch {list(MM_ARCH_KEYS)}; per-stage lists {list(_LIST_KEYS)}; '
            f"or an AnyNetSpec dict with 'stages'")
    return Arch(*_regnet(RegNetParams(**dict(data))))


def _regnet(params: RegNetParams) -> tuple[AnyNetSpec, RegNetParams]:
    return params.to_spec(), params


def parse_arch(arch: str | Sequence[str] | Mapping[str, Any] | AnyNetSpec | RegNetParams
               ) -> Arch:
    """Any accepted architecture description -> ``Arch`` (see module doc).

    Unknown preset names raise ValueError listing valid ones with the closest; an
    arch of another type raises TypeError.
    """
    if isinstance(arch, AnyNetSpec):
        return Arch(arch)
    if isinstance(arch, RegNetParams):
        return Arch(*_regnet(arch))
    if is_pycls_config(arch):
        model = spec_from_pycls_config(arch)
        return Arch(model.spec, model.regnet)
    if isinstance(arch, Mapping):
        return arch_from_mapping(arch)
    if isinstance(arch, str):
        text = arch.strip()
        if text.startswith('{'):
            try:
                data = json.loads(text)
            except json.JSONDecodeError as err:
                raise ValueError(f'architecture JSON is invalid ({err}): {text!r}') from None
            if not isinstance(data, dict):
                raise ValueError(f'architecture JSON must be an object, got {text!r}')
            return arch_from_mapping(data)
        if '=' in text:
            return arch_from_mapping(parse_key_values(text.split()))
        # unknown names: get_preset raises ValueError with the valid names and a hint
        return Arch(*_regnet(get_preset(text)), preset=text)
    if isinstance(arch, Sequence) and not isinstance(arch, str) and arch \
            and all(isinstance(t, str) for t in arch):
        if len(arch) == 1:
            return parse_arch(arch[0])
        return arch_from_mapping(parse_key_values(arch))
    raise TypeError(f'cannot read architecture {arch!r}: give a preset name, a JSON '
                     f'object, key=value pairs, a dict, an AnyNetSpec or RegNetParams')


def arch_to_spec(arch: Any) -> AnyNetSpec:
    return parse_arch(arch).spec
