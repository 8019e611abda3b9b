"""Convert whole checkpoint files: pycls / torchvision / timm / MMPretrain / MMDetection
-> ours, and ours (or any of those) -> pycls.

Ours is an MMPretrain-style checkpoint, ``{'state_dict': {'backbone.…', 'head.fc.…'},
'meta': {...}}``, that ``load_from=`` and ``init_cfg=dict(type='Pretrained', ...)`` read;
``meta['regnet_plugin']['backbone']`` is the backbone config that fits its tensors.
Every conversion renames keys with :mod:`.keymap`, then checks every key and shape with
:mod:`.architecture`: nothing is dropped or guessed silently.

Our checkpoints take BGR input, as pycls trained them and as every config here feeds
them (MMPretrain's and MMDetection's RegNet pipelines: pycls statistics in BGR order,
no RGB conversion). Sources trained on RGB (timm, torchvision) get the stem conv's
input channels reversed, so the converted model gives on a BGR image what the source
gives on the same image in RGB.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Mapping

import torch

from .. import __version__
from ..atomic_io import atomic_write
from ..design.pycls_config import is_pycls_config, spec_from_pycls_config
from .architecture import BACKBONE, Architecture, num_classes_of, resolve_architecture
from .formats import LAYOUTS, SOURCES, pycls
from .keymap import OURS, ConversionError, KeyLayout, _preview, rename

DESTINATIONS: tuple[str, ...] = ('ours', 'pycls')
#: The one tensor that sees the image's channels.
STEM_CONV = f'{BACKBONE}stem.conv.weight'
#: Where checkpoint files keep the model's tensors, by toolbox.
_STATE_DICT_KEYS = ('state_dict', 'model_state', 'model', 'module', 'model_ema')


@dataclass
class Conversion:
    """A converted state dict and what was found on the way (for the CLI's summary)."""

    state_dict: dict[str, Any]
    architecture: Architecture
    num_classes: int | None
    source: str
    #: detector keys (neck, heads) kept verbatim by an MMDetection conversion
    kept_verbatim: list[str] = field(default_factory=list)
    #: BN ``num_batches_tracked`` counters the source did not store (filled with 0)
    filled_counters: list[str] = field(default_factory=list)
    #: the stem conv's input channels were reversed (an RGB-trained source, see above)
    flipped_to_bgr: bool = False

    def summary(self) -> str:
        lines = [f'{self.source} -> {self.architecture.describe()}, '
                 f'{len(self.state_dict)} tensors, '
                 f'head: {self.num_classes if self.num_classes else "none"} classes']
        if self.kept_verbatim:
            lines.append(f'kept {len(self.kept_verbatim)} detector keys verbatim '
                         f'{_preview(self.kept_verbatim, 5)}')
        if self.filled_counters:
            lines.append(f'filled {len(self.filled_counters)} missing BN '
                         f'num_batches_tracked counters with 0')
        if self.flipped_to_bgr:
            lines.append(f'{self.source} was trained on RGB: stem input channels reversed, '
                         f'the checkpoint takes BGR like every RegNet config here')
        return '\n'.join(lines)


def _is_tensor_dict(obj: Any) -> bool:
    return isinstance(obj, Mapping) and bool(obj) and all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())


def extract_state_dict(checkpoint: Any) -> dict[str, torch.Tensor]:
    """The tensors of a checkpoint, whichever toolbox wrote it.

    A plain state dict is returned as is; otherwise the first of ``state_dict``,
    ``model_state`` (pycls), ``model``, ``module``, ``model_ema`` holding tensors. A
    ``module.`` prefix on every key (a DDP-wrapped model) is removed.
    """
    if _is_tensor_dict(checkpoint):
        state_dict = dict(checkpoint)
    elif isinstance(checkpoint, Mapping):
        for key in _STATE_DICT_KEYS:
            if _is_tensor_dict(checkpoint.get(key)):
                state_dict = dict(checkpoint[key])
                break
        else:
            raise ConversionError(
                f'found no state dict in the checkpoint: its top-level keys are '
                f'{_preview(map(str, checkpoint))}; expected a dict of tensors or one of '
                f'{list(_STATE_DICT_KEYS)}')
    else:
        raise ConversionError(f'a checkpoint must be a dict, got {type(checkpoint).__name__}')
    if all(k.startswith('module.') for k in state_dict):
        state_dict = {k[len('module.'):]: v for k, v in state_dict.items()}
    return state_dict


def load_checkpoint_file(path: str | os.PathLike) -> Any:
    """``torch.load`` on the CPU, weights only (safe for checkpoints of unknown origin).

    A path that is not a readable checkpoint (missing, a directory, empty, a text
    file, truncated or otherwise corrupt) raises :class:`ConversionError` with one line
    saying which, instead of torch's EOFError/KeyError/UnpicklingError tracebacks.
    """
    name = os.fspath(path)
    if os.path.isdir(name):
        raise ConversionError(f'{name!r} is a directory, not a checkpoint file')
    if not os.path.isfile(name):
        raise ConversionError(f'no checkpoint file at {name!r}')
    size = os.path.getsize(name)
    if size == 0:
        raise ConversionError(f'{name!r} is empty (0 bytes), not a checkpoint')
    with open(name, 'rb') as f:
        head = f.read(512)
    try:
        return torch.load(name, map_location='cpu', weights_only=True)
    except Exception as err:   # torch raises many types here; all mean "cannot read"
        raise ConversionError(f'cannot read {name!r} ({size} bytes) as a PyTorch '
                              f'checkpoint: {_describe_unreadable(head, err)}') from err


def _describe_unreadable(head: bytes, err: Exception) -> str:
    """Why torch.load failed, in words: text, a truncated/corrupt file, a refused pickle."""
    if b'\0' not in head:
        try:
            head.decode('utf-8')
            return f'it is a text file (starts with {head[:40].decode("utf-8")!r})'
        except UnicodeDecodeError:
            pass
    text = str(err).splitlines()[0] if str(err) else type(err).__name__
    if 'Weights only load failed' in str(err) or 'Unsupported global' in str(err):
        globals_ = [line.strip() for line in str(err).splitlines()
                    if 'Unsupported global' in line]
        return ('it holds Python objects that a weights-only load refuses'
                + (f' ({globals_[0]})' if globals_ else ''))
    if isinstance(err, (EOFError, KeyError)) or 'zip archive' in text \
            or 'central directory' in text or 'truncated' in text.lower():
        return f'the file is truncated or corrupt ({type(err).__name__}: {text})'
    return f'{type(err).__name__}: {text}'


def _source_layout(source: str, state_dict: Mapping[str, Any]) -> KeyLayout:
    if source not in LAYOUTS:
        raise ConversionError(f'unknown source format {source!r}; accepted: {list(SOURCES)}')
    layout = LAYOUTS[source]
    # A bare backbone (MMDetection's ImageNet-pretrained files, or ours saved without
    # a classifier) has no 'backbone.' prefix.
    if layout.backbone_prefix and not any(
            k.startswith(layout.backbone_prefix) for k in state_dict):
        layout = layout.with_backbone_prefix('')
    return layout


def to_ours(state_dict: Mapping[str, Any], source: str, arch: str | None = None,
            width_rounding: str | None = None, _suggest_source: bool = True,
            ) -> Conversion:
    """Rename ``source``'s RegNet tensors to ours and verify them against the arch.

    ``arch``/``width_rounding`` as in :func:`~.architecture.resolve_architecture`.
    Raises :class:`ConversionError` listing unknown keys (another architecture, or the
    wrong ``source``), missing/unexpected keys and shape mismatches.
    """
    layout = _source_layout(source, state_dict)
    keep_verbatim = None
    if source == 'mmdet' and layout.backbone_prefix:
        # A detector: only the backbone changes; neck and heads are kept as they are.
        keep_verbatim = lambda key: not key.startswith(BACKBONE)  # noqa: E731
    renamed, unknown = rename(state_dict, layout, OURS, keep_verbatim)
    if unknown:
        # Only the fc matched (any classifier has one): the backbone is foreign.
        backbone_known = any(layout.parse(k) is not None and layout.parse(k).part != 'head'
                             for k in state_dict)
        raise ConversionError(
            f'{len(unknown)} of {len(state_dict)} keys are not {layout.name} RegNet '
            f'tensors {_preview(unknown)}' +
            ('' if backbone_known or not _suggest_source
             else _guess_source(state_dict, source)))
    kept = [k for k in renamed if keep_verbatim is not None and keep_verbatim(k)]
    kept_set = set(kept)
    model = {k: v for k, v in renamed.items() if k not in kept_set}
    filled = _fill_missing_counters(model)
    architecture = resolve_architecture(model, arch, width_rounding)
    flip = layout.input_channels != OURS.input_channels
    if flip:
        model[STEM_CONV] = model[STEM_CONV].flip(1)
    return Conversion(model | {k: renamed[k] for k in kept}, architecture,
                      num_classes_of(model), source, kept, filled, flip)


def _guess_source(state_dict: Mapping[str, Any], source: str) -> str:
    """A hint for a checkpoint whose backbone keys do not fit ``source``: the format
    that converts it completely, if any."""
    for other in SOURCES:
        if other in (source, 'mmdet'):
            continue
        try:
            to_ours(state_dict, other, _suggest_source=False)
        except ConversionError:
            continue
        return f' (it is a {other} RegNet checkpoint: use --src {other})'
    return (f' (no backbone key matched and no other format fits: this is not a RegNet '
            f'checkpoint of any of {list(SOURCES)})')


def _model_config(checkpoint: Any) -> str | None:
    """The pycls model config a pycls checkpoint carries in ``cfg``, when it reads as
    an AnyNet/RegNet (it names strides and stems, which the weights do not show)."""
    cfg = checkpoint.get('cfg') if isinstance(checkpoint, Mapping) else None
    if not isinstance(cfg, str) or not is_pycls_config(cfg):
        return None
    try:
        spec_from_pycls_config(cfg)
    except (ValueError, TypeError):
        return None                     # another pycls version's keys: shapes decide
    return cfg


def _our_spec(checkpoint: Any) -> dict[str, Any] | None:
    """The spec our checkpoints record in their meta (strides and stems included)."""
    meta = checkpoint.get('meta') if isinstance(checkpoint, Mapping) else None
    ours = meta.get('regnet_plugin') if isinstance(meta, Mapping) else None
    spec = ours.get('spec') if isinstance(ours, Mapping) else None
    return spec if isinstance(spec, Mapping) else None


def _fill_missing_counters(state_dict: dict[str, Any]) -> list[str]:
    """Add BN ``num_batches_tracked`` where a BN has its other buffers but not it.

    Some exporters leave the counter out; it does not affect outputs (momentum is
    fixed), and leaving it missing would fail a strict load.
    """
    filled = []
    for key in list(state_dict):
        if key.endswith('.running_var'):
            counter = key[:-len('running_var')] + 'num_batches_tracked'
            if counter not in state_dict:
                state_dict[counter] = torch.tensor(0, dtype=torch.long)
                filled.append(counter)
    return filled


def to_pycls(conversion: Conversion) -> dict[str, Any]:
    """A pycls 0.1.1 checkpoint (``model_state`` + an ``anynet`` ``cfg``) of a conversion."""
    if conversion.num_classes is None:
        raise ConversionError('pycls models always end in head.fc, but this checkpoint '
                              'has no classifier head (head.fc.weight/bias)')
    if conversion.kept_verbatim:
        raise ConversionError(
            f'pycls has classifiers only; this is a detector checkpoint with '
            f'{len(conversion.kept_verbatim)} non-backbone keys '
            f'{_preview(conversion.kept_verbatim)}')
    block_type = conversion.architecture.spec.block_type
    state_dict, unknown = rename(conversion.state_dict, OURS, pycls.LAYOUT.for_block(block_type))
    if unknown:   # cannot happen after verification; refuse rather than drop
        raise ConversionError(f'keys without a pycls name {_preview(unknown)}')
    return pycls.make_checkpoint(state_dict, conversion.architecture.spec,
                                 conversion.num_classes)


def ours_checkpoint(conversion: Conversion, source_file: str | None = None,
                    ) -> dict[str, Any]:
    """Our checkpoint dict: ``state_dict`` plus ``meta`` describing the architecture."""
    meta = conversion.architecture.to_meta() | {
        'num_classes': conversion.num_classes,
        'input_channels': OURS.input_channels,
        'converted_from': {'format': conversion.source,
                           'file': os.path.basename(source_file) if source_file else None,
                           'input_channels': LAYOUTS[conversion.source].input_channels},
        'converter': f'regnet_plugin {__version__}',
    }
    return {'state_dict': conversion.state_dict, 'meta': {'regnet_plugin': meta}}


def convert_file(source: str, in_path: str | os.PathLike, out_path: str | os.PathLike,
                 destination: str = 'ours', arch: str | None = None,
                 width_rounding: str | None = None) -> Conversion:
    """Read ``in_path`` in ``source`` format, write ``out_path`` in ``destination``'s."""
    if destination not in DESTINATIONS:
        raise ConversionError(f'unknown destination format {destination!r}; accepted: '
                              f'{list(DESTINATIONS)}')
    if source == destination:
        raise ConversionError(f'source and destination are both {source!r}')
    _check_distinct_files(in_path, out_path)
    checkpoint = load_checkpoint_file(in_path)
    state_dict = extract_state_dict(checkpoint)
    if source == 'pycls' and arch is None:
        arch = _model_config(checkpoint)
    if source == 'ours' and arch is None:
        arch = _our_spec(checkpoint)
    conversion = to_ours(state_dict, source, arch, width_rounding)
    if destination == 'pycls':
        checkpoint = to_pycls(conversion)
    else:
        checkpoint = ours_checkpoint(conversion, os.fspath(in_path))
    # A failure while writing (disk full, Ctrl-C) must not leave a corrupt file where a
    # good one was: write a temporary file next to it, fsync, rename.
    atomic_write(out_path, lambda f: torch.save(checkpoint, f))
    return conversion


def _check_distinct_files(in_path: str | os.PathLike, out_path: str | os.PathLike) -> None:
    """Refuse OUT == IN (also through a symlink or another spelling of the path), and an
    OUT that is a directory, before anything is read or written."""
    out_name = os.fspath(out_path)
    if os.path.isdir(out_name):
        raise ConversionError(f'the output {out_name!r} is a directory; give a file name')
    same = os.path.realpath(in_path) == os.path.realpath(out_path)
    if not same and os.path.exists(out_path) and os.path.exists(in_path):
        same = os.path.samefile(in_path, out_path)    # hard links
    if same:
        raise ConversionError(f'the output {out_name!r} is the input file '
                              f'{os.fspath(in_path)!r}; write the conversion to another '
                              f'file (the source would be overwritten)')
