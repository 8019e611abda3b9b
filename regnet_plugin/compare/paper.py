"""The paper's comparison tables, as printed, kept as data (never as results).

Sources: Table 2 (mobile regime), Table 3 (ResNe(X)t, (a) grouped by activations and
(b) grouped by flops) and Table 4 (EfficientNet) of "Designing Network Design Spaces"
as transcribed from the paper, and the RegNetX/RegNetY
model tables (paper Figures 15/16, ``docs/design.md`` Presets, with the infer/train/error columns
from the seeds). Numbers are stored as the *strings the paper prints*, because their
number of decimals is the paper's rounding, and a computed figure is only called a
disagreement when it lies outside that rounding (see :func:`rounding_tolerance`).

Conventions the paper uses (and that ``regnet_plugin.compare`` follows):

* flops are multiply-adds, params trainable parameters, acts the output elements of
  every conv and fc layer (``docs/design.md``, Complexity);
* every model is counted at the resolution it is evaluated at: 224x224 for RegNet and
  ResNe(X)t, and EfficientNet-B0..B5 at their own resolutions (224, 240, 260, 300, 380,
  456). The EfficientNet flops/acts of Table 4 (B1 0.7B, B5 9.9B / 98.9M acts) are
  only reached at those resolutions; at 224 B5 would be about 2.4B flops;
* inference time is for a batch of 64 images on one V100 GPU, train time for 100
  epochs on 8 V100s, and the error is the mean top-1 error of 5 training runs
  ("ours"), with the originally reported error in brackets ("[orig]").

The seeds spell ResNeXt as "RESNETX" in one copy of Table 3 (a transcription slip);
the rows are ResNeXt-50/101/152 with 32x4d groups, as the paper's text says.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

#: The figure columns a table may print, in display order.
FIGURE_COLUMNS = ('flops', 'params', 'acts')
#: Units of the printed figures: flops in billions, params and acts in millions.
FIGURE_SCALE = {'flops': 1e9, 'params': 1e6, 'acts': 1e6}
FIGURE_UNIT = {'flops': 'B', 'params': 'M', 'acts': 'M'}


@dataclass(frozen=True)
class PaperRow:
    """One model's row as the paper prints it (``None`` where the paper prints '-')."""

    model: str
    flops: str | None = None
    params: str | None = None
    acts: str | None = None
    batch_size: int | None = None
    infer_ms: str | None = None
    train_hr: str | None = None
    error: str | None = None
    error_std: str | None = None
    error_orig: str | None = None

    def figure(self, column: str) -> str | None:
        if column not in FIGURE_COLUMNS:
            raise KeyError(f'unknown figure column {column!r}; one of {FIGURE_COLUMNS}')
        return getattr(self, column)

    def error_text(self) -> str:
        """The error cell as printed: '23.2 ± 0.09 [23.9]'."""
        if self.error is None:
            return '-'
        text = self.error
        if self.error_std is not None:
            text += f' ± {self.error_std}'
        if self.error_orig is not None:
            text += f' [{self.error_orig}]'
        return text


@dataclass(frozen=True)
class PaperTable:
    """A table of the paper: which models, in which order, with which figures."""

    key: str
    title: str
    source: str
    rows: tuple[PaperRow, ...]
    columns: tuple[str, ...] = FIGURE_COLUMNS
    note: str = ''

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(r.model for r in self.rows)


def printed_decimals(printed: str) -> int:
    """How many decimals the paper prints: '4.1' -> 1, '0.57' -> 2, '34' -> 0."""
    exponent = Decimal(printed).as_tuple().exponent
    if not isinstance(exponent, int):
        raise ValueError(f'not a finite number: {printed!r}')
    return max(0, -exponent)


def rounding_tolerance(printed: str) -> float:
    """Half a unit in the last printed decimal: '4.1' -> 0.05, '0.57' -> 0.005."""
    return 0.5 * 10.0 ** -printed_decimals(printed)


def agrees_with_paper(computed: float, printed: str) -> bool:
    """True when ``computed`` (in the paper's unit) rounds to what the paper prints.

    Half-way cases count as agreeing whichever way the paper rounded them (a tiny
    slack absorbs float noise), so only a real disagreement is flagged.
    """
    return abs(computed - float(printed)) <= rounding_tolerance(printed) * (1 + 1e-9)


# -- the rows ---------------------------------------------------------------------
def _r(model, flops, params, acts, infer, train, err, std, orig=None, batch=None):
    return PaperRow(model, flops, params, acts, batch, infer, train, err, std, orig)


_RESNEXT_ROWS = {r.model: r for r in (
    _r('ResNet-50', '4.1', '22.6', '11.1', '53', '12.2', '23.2', '0.09', '23.9'),
    _r('ResNeXt-50', '4.2', '25.0', '14.4', '78', '18.0', '21.9', '0.10', '22.2'),
    _r('ResNet-101', '7.8', '44.6', '16.2', '90', '20.4', '21.4', '0.11', '22.0'),
    _r('ResNeXt-101', '8.0', '44.2', '21.2', '137', '31.8', '20.7', '0.08', '21.2'),
    _r('ResNet-152', '11.5', '60.2', '22.6', '130', '29.2', '20.9', '0.12', '21.6'),
    _r('ResNeXt-152', '11.7', '60.0', '29.7', '197', '45.7', '20.4', '0.06', '21.1'),
)}

REGNETX_ROWS = tuple(_r(*row[:8], batch=row[8]) for row in (
    ('RegNetX-200MF', '0.2', '2.7', '2.2', '10', '2.8', '31.1', '0.09', 1024),
    ('RegNetX-400MF', '0.4', '5.2', '3.1', '15', '3.9', '27.3', '0.15', 1024),
    ('RegNetX-600MF', '0.6', '6.2', '4.0', '17', '4.4', '25.9', '0.03', 1024),
    ('RegNetX-800MF', '0.8', '7.3', '5.1', '21', '5.7', '24.8', '0.09', 1024),
    ('RegNetX-1.6GF', '1.6', '9.2', '7.9', '33', '8.7', '23.0', '0.13', 1024),
    ('RegNetX-3.2GF', '3.2', '15.3', '11.4', '57', '14.3', '21.7', '0.08', 512),
    ('RegNetX-4.0GF', '4.0', '22.1', '12.2', '69', '17.1', '21.4', '0.19', 512),
    ('RegNetX-6.4GF', '6.5', '26.2', '16.4', '92', '23.5', '20.8', '0.07', 512),
    ('RegNetX-8.0GF', '8.0', '39.6', '14.1', '94', '22.6', '20.7', '0.07', 512),
    ('RegNetX-12GF', '12.1', '46.1', '21.4', '137', '32.9', '20.3', '0.04', 512),
    ('RegNetX-16GF', '15.9', '54.3', '25.5', '168', '39.7', '20.0', '0.11', 512),
    ('RegNetX-32GF', '31.7', '107.8', '36.3', '318', '76.9', '19.5', '0.12', 256),
))

REGNETY_ROWS = tuple(_r(*row[:8], batch=row[8]) for row in (
    ('RegNetY-200MF', '0.2', '3.2', '2.2', '11', '3.1', '29.6', '0.11', 1024),
    ('RegNetY-400MF', '0.4', '4.3', '3.9', '19', '5.1', '25.9', '0.16', 1024),
    ('RegNetY-600MF', '0.6', '6.1', '4.3', '19', '5.2', '24.5', '0.07', 1024),
    ('RegNetY-800MF', '0.8', '6.3', '5.2', '22', '6.0', '23.7', '0.03', 1024),
    ('RegNetY-1.6GF', '1.6', '11.2', '8.0', '39', '10.1', '22.0', '0.08', 1024),
    ('RegNetY-3.2GF', '3.2', '19.4', '11.3', '67', '16.5', '21.0', '0.05', 512),
    ('RegNetY-4.0GF', '4.0', '20.6', '12.3', '68', '16.8', '20.6', '0.08', 512),
    ('RegNetY-6.4GF', '6.4', '30.6', '16.4', '104', '26.1', '20.1', '0.04', 512),
    ('RegNetY-8.0GF', '8.0', '39.2', '18.0', '113', '28.1', '20.1', '0.09', 512),
    ('RegNetY-12GF', '12.1', '51.8', '21.4', '150', '36.0', '19.7', '0.06', 512),
    ('RegNetY-16GF', '15.9', '83.6', '23.0', '189', '45.6', '19.6', '0.16', 512),
    ('RegNetY-32GF', '32.3', '145.0', '30.3', '319', '76.0', '19.0', '0.12', 256),
))

_REGNET_ROWS = {r.model: r for r in REGNETX_ROWS + REGNETY_ROWS}
# Table 3 prints the RegNetX rows without a batch size column.
_REGNET_ROWS_NO_BATCH = {name: replace(row, batch_size=None)
                         for name, row in _REGNET_ROWS.items()}

_EFFICIENTNET_ROWS = {r.model: r for r in (
    _r('EfficientNet-B0', '0.4', '5.3', '6.7', '34', '11.7', '24.9', '0.03', '23.7', 256),
    _r('EfficientNet-B1', '0.7', '7.8', '10.9', '52', '15.6', '24.1', '0.16', '21.2', 256),
    _r('EfficientNet-B2', '1.0', '9.2', '13.8', '68', '18.4', '23.4', '0.06', '20.2', 256),
    _r('EfficientNet-B3', '1.8', '12.0', '23.8', '114', '32.1', '22.5', '0.05', '18.9', 256),
    _r('EfficientNet-B4', '4.2', '19.0', '48.5', '240', '65.1', '21.2', '0.06', '17.4', 128),
    _r('EfficientNet-B5', '9.9', '30.0', '98.9', '504', '135.1', '21.5', '0.11', '16.7', 64),
)}


def _pick(pool: dict[str, PaperRow], *names: str) -> tuple[PaperRow, ...]:
    return tuple(pool[n] for n in names)


def _table3(part: str, grouping: str, *names: str) -> PaperTable:
    return PaperTable(
        key=f'table3{part}',
        title=f'Table 3({part}): ResNe(X)t comparisons grouped by {grouping}',
        source=f'paper Table 3({part})',
        rows=_pick({**_RESNEXT_ROWS, **_REGNET_ROWS_NO_BATCH}, *names),
        note='ResNeXt rows are the 32x4d models. All models at 224x224.')


TABLE3A = _table3('a', 'activations',
                  'ResNet-50', 'RegNetX-3.2GF', 'ResNeXt-50', 'ResNet-101', 'RegNetX-6.4GF',
                  'ResNeXt-101', 'ResNet-152', 'RegNetX-12GF')
TABLE3B = _table3('b', 'flops',
                  'ResNet-50', 'ResNeXt-50', 'RegNetX-4.0GF', 'ResNet-101', 'ResNeXt-101',
                  'RegNetX-8.0GF', 'ResNet-152', 'ResNeXt-152', 'RegNetX-12GF')

TABLE4 = PaperTable(
    key='table4',
    title='Table 4: EfficientNet comparisons (same training setup)',
    source='paper Table 4',
    rows=_pick({**_EFFICIENTNET_ROWS, **_REGNET_ROWS},
               'EfficientNet-B0', 'RegNetY-400MF', 'EfficientNet-B1', 'RegNetY-600MF',
               'EfficientNet-B2', 'RegNetY-800MF', 'EfficientNet-B3', 'RegNetY-1.6GF',
               'EfficientNet-B4', 'RegNetY-4.0GF', 'EfficientNet-B5', 'RegNetY-8.0GF'),
    note=('EfficientNet-B0..B5 are counted (and, by default, timed) at their own '
          'resolutions 224/240/260/300/380/456, as the paper does; RegNets at 224. '
          'The bracketed [orig] errors of EfficientNet come from longer, enhanced '
          'training schedules.'))

MOBILE = PaperTable(
    key='mobile',
    title='Table 2: mobile regime (~600MF)',
    source='paper Table 2',
    columns=('flops', 'params'),
    rows=(
        _r('MobileNet', '0.57', '4.2', None, None, None, '29.4', None),
        _r('MobileNetV2', '0.59', '6.9', None, None, None, '25.3', None),
        _r('ShuffleNet', '0.52', None, None, None, None, '26.3', None),
        _r('ShuffleNetV2', '0.59', None, None, None, None, '25.1', None),
        _r('NASNet-A', '0.56', '5.3', None, None, None, '26.0', None),
        _r('AmoebaNet-C', '0.57', '6.4', None, None, None, '24.3', None),
        _r('PNASNet-5', '0.59', '5.1', None, None, None, '25.8', None),
        _r('DARTS', '0.57', '4.7', None, None, None, '26.7', None),
        _r('RegNetX-600MF', '0.60', '6.2', None, None, None, '25.9', '0.03'),
        _r('RegNetY-600MF', '0.60', '6.1', None, None, None, '24.5', '0.07'),
    ),
    note=('Errors of the non-RegNet rows are the originally reported ones (their own, '
          'often enhanced, training). The paper does not name the widths of its mobile '
          'baselines; the variants near 600MF are used (MobileNet 1.0x, MobileNetV2 1.4x, '
          'ShuffleNet 2x g=3, ShuffleNetV2 2x). NAS models have no MMPretrain '
          'implementation and are shown with the paper\'s figures only.'))

REGNETX = PaperTable(
    key='regnetx', title='RegNetX models (paper Figure 15 / appendix table)',
    source='paper Figure 15 (RegNetX)', rows=REGNETX_ROWS, note='All at 224x224.')

REGNETY = PaperTable(
    key='regnety', title='RegNetY models (paper Figure 16 / appendix table)',
    source='paper Figure 16 (RegNetY)', rows=REGNETY_ROWS, note='All at 224x224.')

TABLES: dict[str, PaperTable] = {
    t.key: t for t in (TABLE3A, TABLE3B, TABLE4, MOBILE, REGNETX, REGNETY)}

#: Convenience names accepted by ``--tables`` for groups of tables.
TABLE_ALIASES: dict[str, tuple[str, ...]] = {
    'table3': ('table3a', 'table3b'), 'resnext': ('table3a', 'table3b'),
    'efficientnet': ('table4',), 'table2': ('mobile',), 'regnet': ('regnetx', 'regnety'),
    'all': tuple(TABLES),
}


def resolve_tables(names: list[str] | None) -> list[PaperTable]:
    """Tables by key or alias, in the order given (all tables when ``names`` is empty)."""
    keys: list[str] = []
    for name in names or ['all']:
        key = name.strip().lower()
        expanded = TABLE_ALIASES.get(key, (key,))
        for k in expanded:
            if k not in TABLES:
                raise ValueError(
                    f'unknown table {name!r}; choose from '
                    f'{", ".join(list(TABLES) + list(TABLE_ALIASES))}')
            if k not in keys:
                keys.append(k)
    return [TABLES[k] for k in keys]
