"""Does an expected ordering of design spaces show up in a trained study?

The paper's refinement chain (Sections 3.2-4) claims each step is at least as good
as the one before: AnyNetX_A worse than AnyNetX_C worse than AnyNetX_E, and RegNetX
about as good as AnyNetX_E, comparing error EDFs. A study config states such a
claim as ``study.expected_order`` (best last), each step ``'<'`` (strictly better
EDF) or ``'~'`` (no worse)::

    expected_order=['AnyNetX_A', '<', 'AnyNetX_C', '<', 'AnyNetX_E', '~', 'RegNetX']

and ``verdict`` checks every step on the finished models' errors with one-sided
two-sample Kolmogorov-Smirnov tests (the paper compares EDFs; KS is the test of
one EDF lying above another): a ``'<'`` step holds when the later space's EDF is
significantly above (its errors lower), ``'~'`` when the later space is not
significantly worse. The answer is written plainly, with the numbers behind it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

STEPS = ('<', '~')
ALPHA = 0.05


def parse_order(order: Sequence[str]) -> list[tuple[str, str, str]]:
    """``['A', '<', 'B', '~', 'C']`` -> ``[('A', '<', 'B'), ('B', '~', 'C')]``."""
    items = list(order)
    if len(items) < 3 or len(items) % 2 == 0:
        raise ValueError(f"expected_order must alternate space, step, space, ... "
                         f"(steps {STEPS}), got {items!r}")
    pairs = []
    for i in range(0, len(items) - 2, 2):
        worse, step, better = items[i], items[i + 1], items[i + 2]
        if step not in STEPS:
            raise ValueError(f'expected_order step {step!r} between {worse!r} and '
                             f'{better!r} must be one of {STEPS}')
        pairs.append((str(worse), step, str(better)))
    return pairs


@dataclass
class StepResult:
    worse: str
    step: str
    better: str
    n: tuple[int, int]
    mean: tuple[float, float]
    median: tuple[float, float]
    p_better: float            # one-sided KS: `better`'s EDF above `worse`'s
    p_worse: float             # one-sided KS: `better`'s EDF below `worse`'s
    holds: bool | None         # None: too few models to test

    def sentence(self) -> str:
        a, b = self.worse, self.better
        numbers = (f'mean {self.mean[0]:.2f}% vs {self.mean[1]:.2f}%, median '
                   f'{self.median[0]:.2f}% vs {self.median[1]:.2f}%, n={self.n[0]}/{self.n[1]}; '
                   f'KS p({b} better)={self.p_better:.3g}, p({b} worse)={self.p_worse:.3g}')
        if self.holds is None:
            return f'{a} {self.step} {b}: not testable (too few finished models)'
        want = f'{b} better than {a}' if self.step == '<' else f'{b} no worse than {a}'
        return f"{'yes' if self.holds else 'NO'}: {want} ({numbers})"


@dataclass
class OrderingVerdict:
    order: list[str]
    steps: list[StepResult] = field(default_factory=list)
    error_key: str = 'best_error'

    @property
    def holds(self) -> bool | None:
        if any(s.holds is None for s in self.steps):
            return None
        return all(s.holds for s in self.steps)

    def headline(self) -> str:
        chain = ' '.join(self.order)
        if self.holds is None:
            return f'Expected ordering {chain}: not enough finished models to tell.'
        held = sum(bool(s.holds) for s in self.steps)
        if self.holds:
            return (f'The expected ordering {chain} SHOWS UP here: all {len(self.steps)} '
                    f'steps hold (one-sided KS, alpha={ALPHA}).')
        return (f'The expected ordering {chain} does NOT fully show up here: '
                f'{held} of {len(self.steps)} steps hold (one-sided KS, alpha={ALPHA}).')

    def markdown(self) -> str:
        lines = ['## Does the expected ordering show up?', '', f'**{self.headline()}**',
                 '', f'Error: `{self.error_key}`. Each step compares error EDFs with '
                 f"one-sided two-sample KS tests: '<' holds when the later space is "
                 f"significantly better, '~' when it is not significantly worse.", '']
        lines += [f'- {s.sentence()}' for s in self.steps]
        return '\n'.join(lines) + '\n'

    def as_dict(self) -> dict[str, Any]:
        return {'order': self.order, 'holds': self.holds, 'headline': self.headline(),
                'error_key': self.error_key,
                'steps': [dict(s.__dict__) for s in self.steps]}


def verdict(errors: Mapping[str, Sequence[float]], order: Sequence[str],
            error_key: str = 'best_error', min_models: int = 3) -> OrderingVerdict:
    """Check ``order`` (see module doc) against each space's finished errors."""
    from scipy.stats import ks_2samp
    pairs = parse_order(order)
    missing = sorted({s for w, _, b in pairs for s in (w, b)} - set(errors))
    if missing:
        raise ValueError(f'expected_order names spaces the study does not have: '
                         f'{missing}; it has {sorted(errors)}')
    result = OrderingVerdict(list(order), error_key=error_key)
    for worse, step, better in pairs:
        a = np.asarray(errors[worse], dtype=float)
        b = np.asarray(errors[better], dtype=float)
        if min(len(a), len(b)) < min_models:
            result.steps.append(StepResult(worse, step, better, (len(a), len(b)),
                                           (float('nan'),) * 2, (float('nan'),) * 2,
                                           float('nan'), float('nan'), None))
            continue
        # EDF(b) above EDF(a) somewhere: b's errors are smaller ('greater' alternative
        # of ks_2samp(b, a): F_b(x) > F_a(x) for some x)
        p_better = float(ks_2samp(b, a, alternative='greater').pvalue)
        p_worse = float(ks_2samp(b, a, alternative='less').pvalue)
        holds = p_better < ALPHA and p_worse >= ALPHA if step == '<' else p_worse >= ALPHA
        result.steps.append(StepResult(
            worse, step, better, (len(a), len(b)), (float(a.mean()), float(b.mean())),
            (float(np.median(a)), float(np.median(b))), p_better, p_worse, bool(holds)))
    return result


def add_to_report(result: Any, population: Any, order: Sequence[str]) -> OrderingVerdict:
    """Check ``order`` on an analysed population and put the answer into its outputs:
    ``summary['ordering']``, ``ordering.json`` and a section of ``report.md`` placed
    before the first statistics section (the report's headline question)."""
    import json

    from ..atomic_io import atomic_write_text
    spaces = [s for s in order[::2]]
    found = verdict({s: population.errors(s) for s in population.spaces if s in spaces}
                    | {s: [] for s in spaces if s not in population.spaces},
                    order, population.error_key)
    result.summary['ordering'] = found.as_dict()
    report = result.files.get('report')
    if report is not None and Path(report).exists():
        out = Path(report).parent
        atomic_write_text(out / 'ordering.json', json.dumps(found.as_dict(), indent=1))
        result.files['ordering'] = out / 'ordering.json'
        text = Path(report).read_text()
        at = text.find('\n## ')
        section = '\n' + found.markdown()
        text = text + section if at < 0 else text[:at] + section + text[at:]
        atomic_write_text(Path(report), text)
    return found
