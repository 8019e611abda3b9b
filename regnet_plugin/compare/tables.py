"""Compute every row of the paper's tables ourselves and set it beside the paper's.

For each row: flops/params/acts (:mod:`.counting`: analytic for RegNets, fvcore on the
MMPretrain model otherwise), the measured inference time (:mod:`.timing`), and the
user's top-1 error (:mod:`.results`, :mod:`.evaluate`). A computed figure that does not
round to the paper's printed one is *flagged* (the paper's figure is kept as printed,
ours as computed; nothing is overwritten), with a note saying by how much.
"""
from __future__ import annotations

import gc
import math
from dataclasses import dataclass, field
from typing import Callable, Iterable

from .counting import Counts, count_spec_analytic, count_with_fvcore
from .paper import (FIGURE_SCALE, FIGURE_UNIT, PaperRow, PaperTable, agrees_with_paper,
                    rounding_tolerance)
from .results import ErrorResult, normalise_name
from .timing import Timing, TimingSetup, measure_inference
from .zoo import ModelEntry, build_classifier, model_entry

FLAG = '≠'

#: Why a flagged figure of the paper differs from a faithful count, where we know.
#: Shown only next to a flag that actually fires; the figures themselves stay as they are.
KNOWN_CAUSES: dict[tuple[str, str], str] = {
    ('ResNet-50', 'params'): (
        'the paper prints 22.6M, but every ResNet-50 (torchvision, pycls, MMPretrain) '
        'has 25.6M trainable params; 22.6 is most likely a typo in the paper'),
    ('ResNet-101', 'params'): (
        'ResNet-101 has 44,549,160 params, which rounds to 44.5M; the paper\'s 44.6 fits a '
        'double rounding (44.549 -> 44.55 -> 44.6)'),
    **{(f'EfficientNet-B{i}', column): (
        'Table 4 appears to quote the EfficientNet paper\'s own figures (0.39/0.70/1.0/'
        '1.8/4.2/9.9B flops and 5.3/7.8/9.2/12/19/30M params, from TF\'s profiler and '
        'rounded to 2 significant digits) rather than a count of the released models; '
        'MMPretrain\'s EfficientNet is a port of those released models')
       for i in range(6) for column in ('flops', 'params')},
    ('MobileNetV2', 'params'): (
        'Table 2 quotes the MobileNetV2 paper (6.9M at width 1.4); the released 1.4x '
        'models, which MMPretrain follows, have about 6.1M'),
}


@dataclass
class Measurement:
    """What we computed for one model (shared by every table the model appears in)."""

    entry: ModelEntry
    counts: Counts | None = None
    count_note: str = ''
    timing: Timing | None = None
    timing_note: str = ''


@dataclass
class ComparedRow:
    paper: PaperRow
    measurement: Measurement
    error: ErrorResult | None = None
    flags: dict[str, str] = field(default_factory=dict)

    @property
    def model(self) -> str:
        return self.paper.model


@dataclass
class ComparedTable:
    table: PaperTable
    rows: list[ComparedRow]


def flag_disagreements(paper: PaperRow, counts: Counts | None,
                       columns: Iterable[str]) -> dict[str, str]:
    """column -> note, for each computed figure outside the paper's printed rounding."""
    flags: dict[str, str] = {}
    if counts is None:
        return flags
    for column in columns:
        printed = paper.figure(column)
        if printed is None:
            continue
        ours = counts.figure(column)
        if agrees_with_paper(ours, printed):
            continue
        unit = FIGURE_UNIT[column]
        note = (f'{column}: computed {ours:.3f}{unit} ({getattr(counts, column):,}) vs '
                f'paper {printed}{unit}, outside its rounding '
                f'(±{rounding_tolerance(printed):g}); '
                f'{(ours - float(printed)) / float(printed):+.1%}')
        cause = KNOWN_CAUSES.get((paper.model, column))
        if cause:
            note += f'. Known cause: {cause}'
        flags[column] = note
    return flags


class Measurer:
    """Counts and times each model once, however many tables it appears in.

    ``timing_resolution`` is 'native' (time each model at the resolution it is counted
    at, as the paper's Table 4 does for EfficientNet) or an int (e.g. 224 for all).
    ``setup=None`` skips timing.
    """

    def __init__(self, setup: TimingSetup | None, timing_resolution: str | int = 'native',
                 log: Callable[[str], None] = lambda message: None) -> None:
        self.setup = setup
        self.timing_resolution = timing_resolution
        self.log = log
        self.cache: dict[str, Measurement] = {}

    def measure(self, name: str) -> Measurement:
        if name in self.cache:
            return self.cache[name]
        entry = model_entry(name)
        m = Measurement(entry)
        self.cache[name] = m
        if not entry.buildable:
            m.count_note = m.timing_note = entry.unavailable
            return m
        model = None
        if entry.spec is not None:            # RegNets and ResNe(X)t: the core counts
            m.counts = count_spec_analytic(entry.spec, entry.resolution)
        if entry.spec is None or self.setup is not None:
            try:
                model, _ = build_classifier(entry)
            except Exception as exc:  # noqa: BLE001 - reported in the table, not hidden
                note = f'cannot build {entry.description}: {exc}'
                m.timing_note = note
                if m.counts is None:
                    m.count_note = note
                self.log(f'[{name}] {note}')
        if model is not None and m.counts is None:
            self.log(f'[{name}] counting with fvcore at {entry.resolution}px')
            m.counts = count_with_fvcore(model, entry.resolution)
        if model is not None and self.setup is not None:
            resolution = (entry.resolution if self.timing_resolution == 'native'
                          else int(self.timing_resolution))
            self.log(f'[{name}] timing batch {self.setup.batch_size} at {resolution}px')
            try:
                m.timing = measure_inference(model, resolution, self.setup)
            except RuntimeError as exc:   # e.g. out of memory: say so in the table
                m.timing_note = f'timing failed: {exc}'.splitlines()[0]
                self.log(f'[{name}] {m.timing_note}')
        elif self.setup is None:
            m.timing_note = 'not timed'
        if model is not None:      # free big models (EfficientNet-B5) before the next
            del model
            gc.collect()
        return m


def select_rows(table: PaperTable, rows: list[str] | None) -> list[PaperRow]:
    if not rows:
        return list(table.rows)
    wanted = {normalise_name(r) for r in rows}
    return [r for r in table.rows if normalise_name(r.model) in wanted]


def compare_tables(tables: list[PaperTable], measurer: Measurer,
                   errors: dict[str, ErrorResult] | None = None,
                   rows: list[str] | None = None) -> list[ComparedTable]:
    """Every selected row of every table, computed, with flags and the user's errors."""
    errors = errors or {}
    if rows:
        known = {normalise_name(r.model) for t in tables for r in t.rows}
        unknown = [r for r in rows if normalise_name(r) not in known]
        if unknown:
            raise ValueError(f'rows {unknown} are in none of the selected tables '
                             f'({", ".join(t.key for t in tables)})')
    compared = []
    for table in tables:
        selected = select_rows(table, rows)
        if not selected:
            continue
        out = []
        for paper_row in selected:
            m = measurer.measure(paper_row.model)
            out.append(ComparedRow(paper_row, m, errors.get(normalise_name(paper_row.model)),
                                   flag_disagreements(paper_row, m.counts, table.columns)))
        compared.append(ComparedTable(table, out))
    return compared


def pearson(xs: list[float], ys: list[float]) -> float | None:
    """Pearson correlation, None with fewer than 3 points or no spread."""
    n = len(xs)
    if n < 3 or n != len(ys):
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / math.sqrt(sxx * syy)


@dataclass(frozen=True)
class TimeCorrelation:
    n: int
    flops_r: float | None
    acts_r: float | None
    note: str = ''


def time_correlation(measurements: Iterable[Measurement]) -> TimeCorrelation:
    """Pearson r of measured time with flops and with acts, over the timed models.

    Counts and times are compared at the same resolution only: a model timed at a
    resolution other than the one it was counted at is left out (and said so).
    """
    xs_f, xs_a, ys = [], [], []
    skipped = []
    for m in measurements:
        if m.counts is None or m.timing is None:
            continue
        if m.timing.resolution != m.counts.resolution:
            skipped.append(m.entry.name)
            continue
        xs_f.append(m.counts.flops / FIGURE_SCALE['flops'])
        xs_a.append(m.counts.acts / FIGURE_SCALE['acts'])
        ys.append(m.timing.median_ms)
    note = (f'left out (timed at another resolution than counted): {", ".join(skipped)}'
            if skipped else '')
    return TimeCorrelation(len(ys), pearson(xs_f, ys), pearson(xs_a, ys), note)
