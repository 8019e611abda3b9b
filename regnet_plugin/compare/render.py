"""Rendering the compared tables: Markdown (also what the CLI prints) and CSV.

Each figure cell shows ours and the paper's side by side; a computed figure outside
the paper's rounding carries the ``≠`` marker, and the table's notes say why.
"""
from __future__ import annotations

import csv
import io
from typing import Iterable

from .paper import FIGURE_UNIT, printed_decimals
from .tables import FLAG, ComparedRow, ComparedTable, TimeCorrelation
from .timing import TimingSetup

NOT_EVALUATED = 'not evaluated'


def _decimals(printed: str | None, default: int = 1) -> int:
    return default if printed is None else printed_decimals(printed)


def figure_cell(row: ComparedRow, column: str) -> str:
    """Our figure, one decimal finer than the paper prints, with the flag if any."""
    counts = row.measurement.counts
    if counts is None:
        return '-'
    text = f'{counts.figure(column):.{_decimals(row.paper.figure(column)) + 1}f}'
    return f'{text} {FLAG}' if column in row.flags else text


def time_cell(row: ComparedRow) -> str:
    timing = row.measurement.timing
    if timing is None:
        return row.measurement.timing_note or '-'
    return f'{timing.median_ms:.1f}'


def error_cell(row: ComparedRow) -> str:
    return f'{row.error.top1_error:.2f}' if row.error else NOT_EVALUATED


def table_header(table: ComparedTable) -> list[str]:
    header = ['model', 'res']
    for column in table.table.columns:
        unit = FIGURE_UNIT[column]
        header += [f'{column} ({unit}) ours', 'paper']
    header += ['infer (ms) ours', 'paper (V100, 64 img)', 'top-1 err ours',
               'paper ours±std [orig]']
    return header


def table_cells(row: ComparedRow, table: ComparedTable) -> list[str]:
    m = row.measurement
    resolution = str(m.entry.resolution)
    if m.timing is not None and m.timing.resolution != m.entry.resolution:
        resolution += f' (timed {m.timing.resolution})'
    cells = [row.model, resolution]
    for column in table.table.columns:
        cells += [figure_cell(row, column), row.paper.figure(column) or '-']
    cells += [time_cell(row), row.paper.infer_ms or '-', error_cell(row),
              row.paper.error_text()]
    return cells


def markdown_table(table: ComparedTable) -> str:
    header = table_header(table)
    lines = [f'### {table.table.title}', '',
             '| ' + ' | '.join(header) + ' |',
             '|' + '|'.join('---' for _ in header) + '|']
    for row in table.rows:
        lines.append('| ' + ' | '.join(table_cells(row, table)) + ' |')
    notes = [f'- {FLAG} {row.model}: {note}' for row in table.rows
             for note in row.flags.values()]
    notes += [f'- {row.model}: figures not computed: {row.measurement.count_note}'
              for row in table.rows if row.measurement.counts is None]
    errors = [f'- {row.model}: error from {row.error.source}'
              for row in table.rows if row.error]
    lines += ['', f'Source: {table.table.source}. {table.table.note}'.rstrip()]
    if notes:
        lines += ['', 'Disagreements and gaps:', *notes]
    if errors:
        lines += ['', *errors]
    return '\n'.join(lines)


def correlation_text(corr: TimeCorrelation) -> str:
    def fmt(r: float | None) -> str:
        return 'n/a (needs >= 3 timed models)' if r is None else f'{r:.3f}'
    text = (f'Pearson correlation with measured inference time over {corr.n} models: '
            f'activations r = {fmt(corr.acts_r)}, flops r = {fmt(corr.flops_r)}')
    return text + (f' ({corr.note})' if corr.note else '')


def markdown_report(tables: Iterable[ComparedTable], setup: TimingSetup | None,
                    corr: TimeCorrelation, timing_resolution: str | int,
                    plots: Iterable[str] = ()) -> str:
    tables = list(tables)
    parts = ['# RegNet comparison tables: computed beside the paper', '',
             'flops = multiply-adds of conv and fc layers (with bias adds), params = '
             'trainable parameters, acts = output elements of all conv and fc layers '
             '(docs/design.md, Complexity), for one image at the row\'s resolution '
             '(`res`), 1000 classes. RegNets and ResNe(X)t (AnyNet points): analytic '
             'count of the core; other models: MMPretrain classifiers counted with fvcore '
             'restricted to conv/linear. Ours is printed '
             f'one decimal finer than the paper; {FLAG} marks a figure that does not round '
             'to the paper\'s.', '']
    if setup is None:
        parts.append('Inference time: not measured.')
    else:
        where = ('each model at its own resolution (`res`)' if timing_resolution == 'native'
                 else f'{timing_resolution}x{timing_resolution} for every model')
        parts.append(f'Inference time: {setup.describe()}; images at {where}. The paper\'s '
                     'column is one V100 GPU with 64 images.')
    parts += ['', correlation_text(corr), '']
    for table in tables:
        parts += [markdown_table(table), '']
    plots = list(plots)
    if plots:
        parts += ['Plots: ' + ', '.join(f'`{p}`' for p in plots), '']
    return '\n'.join(parts)


CSV_FIELDS = (
    'table', 'model', 'family', 'architecture', 'resolution', 'count_method',
    'flops', 'params', 'acts', 'flops_b', 'params_m', 'acts_m',
    'paper_flops_b', 'paper_params_m', 'paper_acts_m', 'flags',
    'infer_ms', 'infer_resolution', 'infer_batch', 'infer_device', 'paper_infer_ms',
    'top1_error', 'error_source', 'paper_error', 'paper_error_std', 'paper_error_orig',
    'paper_batch_size', 'paper_train_hr', 'note')


def csv_rows(tables: Iterable[ComparedTable], setup: TimingSetup | None) -> list[dict]:
    out = []
    for table in tables:
        for row in table.rows:
            m, counts, timing = row.measurement, row.measurement.counts, row.measurement.timing
            out.append({
                'table': table.table.key, 'model': row.model, 'family': m.entry.family,
                'architecture': m.entry.description, 'resolution': m.entry.resolution,
                'count_method': counts.method if counts else '',
                'flops': counts.flops if counts else '',
                'params': counts.params if counts else '',
                'acts': counts.acts if counts else '',
                'flops_b': f'{counts.figure("flops"):.4f}' if counts else '',
                'params_m': f'{counts.figure("params"):.4f}' if counts else '',
                'acts_m': f'{counts.figure("acts"):.4f}' if counts else '',
                'paper_flops_b': row.paper.flops or '',
                'paper_params_m': row.paper.params or '',
                'paper_acts_m': row.paper.acts or '',
                'flags': ' | '.join(row.flags.values()),
                'infer_ms': f'{timing.median_ms:.3f}' if timing else '',
                'infer_resolution': timing.resolution if timing else '',
                'infer_batch': setup.batch_size if (timing and setup) else '',
                'infer_device': setup.device_name if (timing and setup) else '',
                'paper_infer_ms': row.paper.infer_ms or '',
                'top1_error': f'{row.error.top1_error:.3f}' if row.error else NOT_EVALUATED,
                'error_source': row.error.source if row.error else '',
                'paper_error': row.paper.error or '',
                'paper_error_std': row.paper.error_std or '',
                'paper_error_orig': row.paper.error_orig or '',
                'paper_batch_size': row.paper.batch_size or '',
                'paper_train_hr': row.paper.train_hr or '',
                'note': m.count_note or m.timing_note,
            })
    return out


def csv_text(tables: Iterable[ComparedTable], setup: TimingSetup | None) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator='\n')
    writer.writeheader()
    writer.writerows(csv_rows(tables, setup))
    return buffer.getvalue()
