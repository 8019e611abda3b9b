"""Design spaces of the paper (Section 3, Table 1; constrained RegNets of Sections 4-5).

A design space is a distribution over models. Every space here is a frozen,
configurable object (ranges and value sets are constructor parameters with the
paper's defaults; ``space.replace(**changes)`` composes a new one) that can

* ``sample(rng)``: draw one member (an ``AnyNetSpec``); ``draw(rng)`` also gives
  the space-level parameters (per-stage d/w/b/g, or the RegNet's d, w0, wa, wm, g, b);
  ``drawn_parameters(params)`` names the space's degrees of freedom (what a study
  bootstraps and plots; AnyNet draws also carry them as ``params['drawn']``),
* ``draw_batch(rng, n)``: draw n points at once as arrays (vectorised; what the
  sampler uses to evaluate tens of thousands of models a second),
* ``contains(spec)``: decide membership exactly (see each class),
* ``size``: the count of the space as the paper's Table 1 counts it.

Distributions follow the reference implementation's sweep samplers (pycls):
quantized log-uniform draws on closed ranges, uniform choice from value sets
(the sets are powers of two, so that too is log-uniform).

Group-width compatibility: after drawing, every stage goes through
``adjust_block_compatibility`` (as pycls does for RegNets) instead of being
resampled; a space's members are therefore the *adjusted* specs, and
``contains`` tests membership of that image (e.g. a group width of 12 is a member
of AnyNetX_A when it comes from g = 16 at a bottleneck width of 12).
"""
from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping, Sequence

import numpy as np

from .complexity import batch_complexity, complexity
from .parts import Registry
from .presets import SE_RATIO_Y
from .regnet import (QUANTUM, RegNetParams, adjust_compatibility_arrays, block_exponents,
                     quantize_widths)
from .spec import NUM_STAGES, STEM_WIDTH, AnyNetSpec
from ..validate import (MAX_DEPTH, MAX_WIDTH, check_int, check_int_list, check_number,
                        check_number_list, check_sequence)

#: Sampling quanta of the RegNet parameters (pycls' regnet_sampler).
W0_QUANTUM, WA_QUANTUM, WM_QUANTUM = 8, 0.1, 0.001


# -- random draws (vectorised versions of pycls.sweep.random) ---------------------
def _from_steps(steps: np.ndarray, q: float) -> np.ndarray:
    """k * q, written so that a decimal quantum gives the float nearest k * q."""
    if q >= 1:
        return steps * q
    inv = round(1 / q)
    if not math.isclose(inv * q, 1.0):
        return steps * q
    return steps / inv


def _steps(low: float, high: float, q: float) -> tuple[int, int]:
    """First and last k with k * q in [low, high] (tolerant of decimal quanta)."""
    return math.ceil(low / q - 1e-9), math.floor(high / q + 1e-9)


def _grid(low: float, high: float, q: float) -> np.ndarray:
    """Every multiple of q in [low, high], increasing."""
    first, last = _steps(low, high, q)
    return _from_steps(np.arange(first, last + 1), q)


def log_uniform(rng: np.random.Generator, low: float, high: float, q: float,
                n: int) -> np.ndarray:
    """Log-uniform on [low, high], quantized to multiples of q (pycls' log_uniform).

    Draws f in (low - q*, high] log-uniformly (q* = min(q, low / 2)) and rounds
    up to a multiple of q, so every multiple of q in the range can come out.
    """
    f = np.exp(-rng.uniform(-np.log(high), -np.log(low - min(q, low / 2)), n))
    steps = np.ceil(f / q)
    steps = np.clip(steps, *_steps(low, high, q))
    return _from_steps(steps, q)


def uniform(rng: np.random.Generator, low: float, high: float, q: float,
            n: int) -> np.ndarray:
    """Uniform on [low, high] quantized to multiples of q (pycls' uniform).

    Draws f in [low, high + q) and rounds down, so each multiple is equally likely.
    """
    steps = np.floor(rng.uniform(low, high + q, n) / q)
    steps = np.clip(steps, *_steps(low, high, q))
    return _from_steps(steps, q)


#: The distributions a space dimension can be drawn from.
DISTRIBUTIONS = {'log_uniform': log_uniform, 'uniform': uniform}


def _check_distribution(name: str, value: str) -> None:
    if value not in DISTRIBUTIONS:
        raise ValueError(f'{name} must be one of {sorted(DISTRIBUTIONS)}, got {value!r}')


def choice(rng: np.random.Generator, values: Sequence[float], n: int) -> np.ndarray:
    return np.asarray(values)[rng.integers(0, len(values), n)]


@dataclass
class Batch:
    """n drawn points as per-stage arrays (shape (n, stages)) plus their parameters.

    ``valid[i]`` is False for draws that are not members (e.g. a RegNet with other
    than 4 stages, or over a constrained space's params/acts limits).
    """

    space: 'DesignSpace'
    depths: np.ndarray
    widths: np.ndarray
    bottleneck_ratios: np.ndarray
    group_widths: np.ndarray
    valid: np.ndarray
    params: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.valid)

    def draw(self, i: int) -> 'Draw':
        """The i-th point as a ``Draw`` (spec built by the exact scalar path)."""
        return self.space._draw_from_batch(self, i)


@dataclass(frozen=True)
class Draw:
    """One sampled model: its spec and the space-level parameters that made it.

    ``params`` is JSON friendly (lists, numbers); ``regnet`` is set for RegNet spaces.
    """

    spec: AnyNetSpec
    params: dict[str, Any]
    regnet: RegNetParams | None = None


def _format_size(value: float) -> str:
    return f'{value:.1e}'.replace('e+', 'e').replace('e0', 'e')


@dataclass(frozen=True)
class DesignSpace:
    """Base class: sampling, membership and size of a set of AnyNet models."""

    name: str = 'DesignSpace'
    max_tries: int = 100_000  # draws per sample() before giving up (a hang guard)

    kind: ClassVar[str] = 'space'

    # -- to implement -------------------------------------------------
    def draw_batch(self, rng: np.random.Generator, n: int) -> Batch:
        raise NotImplementedError

    def _draw_from_batch(self, batch: Batch, i: int) -> Draw:
        raise NotImplementedError

    def contains(self, spec: Any) -> bool:
        raise NotImplementedError

    @property
    def size(self) -> float:
        raise NotImplementedError

    def drawn_parameters(self, params: dict[str, Any]) -> dict[str, float]:
        """The space's degrees of freedom as drawn, one named number each.

        ``params`` is a ``Draw.params``; the result is what a study analyses: exactly
        the dimensions the space draws, before group compatibility (AnyNet draws
        store it as ``params['drawn']``: their per-stage lists do not say what the
        space shares).
        """
        raise NotImplementedError

    # -- shared -----------------------------------------------------------
    @property
    def size_str(self) -> str:
        """Size printed as in Table 1, e.g. '1.8e18'."""
        return _format_size(self.size)

    def draw(self, rng: np.random.Generator) -> Draw:
        """Draw until a member comes out (bounded by ``max_tries``)."""
        for _ in range(self.max_tries):
            batch = self.draw_batch(rng, 1)
            if batch.valid[0]:
                return batch.draw(0)
        raise RuntimeError(f'{self.name}: no member found in {self.max_tries} draws; '
                           f'the space is empty or nearly so')

    def sample(self, rng: np.random.Generator) -> AnyNetSpec:
        return self.draw(rng).spec

    def replace(self, **changes: Any) -> 'DesignSpace':
        """A new space with some parameters changed (unknown names: ValueError)."""
        _check_param_names(type(self), changes)
        return dataclasses.replace(self, **changes)


def _check_param_names(cls: type, params: dict[str, Any]) -> None:
    valid = [f.name for f in dataclasses.fields(cls)]
    bad = sorted(set(params) - set(valid))
    if bad:
        raise ValueError(f'unknown parameter(s) {bad} for {cls.__name__}; '
                         f'valid parameters: {valid}')


def _check_range(name: str, value: Any, minimum: float, integer: bool = False,
                 multiple_of: int | None = None, multiple_name: str = '') -> tuple:
    """A (low, high) pair with minimum <= low <= high (bounds multiples of
    ``multiple_of`` if given; ``multiple_name`` names it in the message)."""
    check = check_int if integer else check_number
    low, high = (check(f'{name}[{i}]', v, minimum)
                 for i, v in enumerate(check_sequence(f'{name} (low, high)', value, 2)))
    if not low <= high:
        raise ValueError(f'{name} must satisfy {minimum} <= low <= high, got {value!r}')
    if multiple_of is not None and (low % multiple_of or high % multiple_of):
        raise ValueError(f'{name} bounds must be multiples of '
                         f'{multiple_name + " " if multiple_name else ""}{multiple_of}, '
                         f'got {value!r}')
    return low, high


def _check_values(name: str, values: Any, minimum: float, integer: bool = False
                  ) -> tuple:
    if integer:
        return tuple(check_int_list(name, values, minimum, min_length=1))
    return tuple(check_number_list(name, values, minimum, min_length=1))


def _validate_common(space: 'AnyNetSpace | RegNetSpace') -> None:
    """Checks (and normalises) the parameters both space families have."""
    set_ = functools.partial(object.__setattr__, space)
    check_int('num_stages', space.num_stages, 1, MAX_DEPTH)
    set_('depth_range', _check_range('depth_range', space.depth_range, 1, True))
    set_('bottleneck_ratios',
         _check_values('bottleneck_ratios', space.bottleneck_ratios, 1e-9))
    set_('group_widths', _check_values('group_widths', space.group_widths, 1, True))
    check_number('se_ratio', space.se_ratio, 0, 1, max_inclusive=False)


# ==================================================================================
# AnyNetX_A ... AnyNetX_E
# ==================================================================================
@dataclass(frozen=True)
class AnyNetSpace(DesignSpace):
    """AnyNetX with per-stage free d_i, w_i, b_i, g_i, and the A->E refinements.

    ``shared_bottleneck`` (B), ``shared_group`` (C), ``nondecreasing_widths`` (D),
    ``nondecreasing_depths`` (E). Monotone dimensions are drawn i.i.d. and sorted,
    so D/E keep the per-value distribution of A (the paper counts them as 1/4! of
    the unsorted space each). d_i and w_i are log-uniform by default
    (``depth_distribution`` / ``width_distribution``: 'uniform' or 'log_uniform').
    ``Draw.params`` holds the raw per-stage draws, before group compatibility.
    """

    name: str = 'AnyNetX'
    num_stages: int = NUM_STAGES
    depth_range: tuple[int, int] = (1, 16)
    width_range: tuple[int, int] = (8, 1024)
    width_quantum: int = QUANTUM
    bottleneck_ratios: tuple[float, ...] = (1.0, 2.0, 4.0)
    group_widths: tuple[int, ...] = (1, 2, 4, 8, 16, 32)
    shared_bottleneck: bool = False
    shared_group: bool = False
    nondecreasing_widths: bool = False
    nondecreasing_depths: bool = False
    se_ratio: float = 0.0
    stem_width: int = STEM_WIDTH
    depth_distribution: str = 'log_uniform'
    width_distribution: str = 'log_uniform'

    kind: ClassVar[str] = 'anynet'

    def __post_init__(self) -> None:
        _validate_common(self)
        q = self.width_quantum
        check_int('width_quantum', q, 1, MAX_WIDTH)
        object.__setattr__(self, 'width_range', _check_range(
            'width_range', self.width_range, q, True, q, 'width_quantum'))
        for dim in ('depth', 'width'):
            _check_distribution(f'{dim}_distribution', getattr(self, f'{dim}_distribution'))

    # -- counting ---------------------------------------------------------
    @property
    def _n_depths(self) -> int:
        return self.depth_range[1] - self.depth_range[0] + 1

    @property
    def _n_widths(self) -> int:
        return (self.width_range[1] - self.width_range[0]) // self.width_quantum + 1

    @property
    def size(self) -> float:
        """Table 1's count: product of per-stage choices, / S! per monotone dimension."""
        s = self.num_stages
        nb, ng = len(self.bottleneck_ratios), len(self.group_widths)
        total = float(self._n_depths * self._n_widths) ** s
        total *= nb if self.shared_bottleneck else nb ** s
        total *= ng if self.shared_group else ng ** s
        total /= math.factorial(s) ** (self.nondecreasing_widths + self.nondecreasing_depths)
        return total

    @property
    def exact_size(self) -> int:
        """The exact number of raw draws (non-decreasing tuples counted exactly)."""
        s = self.num_stages
        nb, ng = len(self.bottleneck_ratios), len(self.group_widths)
        n_w = math.comb(self._n_widths + s - 1, s) if self.nondecreasing_widths \
            else self._n_widths ** s
        n_d = math.comb(self._n_depths + s - 1, s) if self.nondecreasing_depths \
            else self._n_depths ** s
        return (n_w * n_d * (nb if self.shared_bottleneck else nb ** s)
                * (ng if self.shared_group else ng ** s))

    # -- sampling -----------------------------------------------------------
    def draw_batch(self, rng: np.random.Generator, n: int) -> Batch:
        s = self.num_stages
        d_lo, d_hi = self.depth_range
        depths = DISTRIBUTIONS[self.depth_distribution](
            rng, d_lo, d_hi, 1, n * s).reshape(n, s).astype(np.int64)
        w_lo, w_hi = self.width_range
        widths = DISTRIBUTIONS[self.width_distribution](
            rng, w_lo, w_hi, self.width_quantum, n * s).reshape(n, s).astype(np.int64)
        bs = choice(rng, self.bottleneck_ratios, n if self.shared_bottleneck else n * s)
        bs = np.repeat(bs[:, None], s, 1) if self.shared_bottleneck else bs.reshape(n, s)
        gs = choice(rng, self.group_widths, n if self.shared_group else n * s)
        gs = np.repeat(gs[:, None], s, 1) if self.shared_group else gs.reshape(n, s)
        if self.nondecreasing_widths:
            widths = np.sort(widths, axis=1)
        if self.nondecreasing_depths:
            depths = np.sort(depths, axis=1)
        params = {'depths': depths, 'widths': widths, 'bottleneck_ratios': bs,
                  'group_widths': gs}
        adj_w, adj_g = adjust_compatibility_arrays(widths, bs, gs)
        valid = np.ones(n, dtype=bool)
        if self.nondecreasing_widths:
            # with shared b and g (AnyNetX_D/E) compatibility keeps the order; in other
            # compositions a draw whose adjusted widths decrease is not a member
            valid = np.all(np.diff(adj_w, axis=1) >= 0, axis=1)
        return Batch(self, depths, adj_w, bs.astype(float), adj_g, valid, params)

    def _draw_from_batch(self, batch: Batch, i: int) -> Draw:
        # the batch holds the draw after group compatibility (adjust_compatibility_arrays)
        spec = AnyNetSpec.from_lists(batch.depths[i].tolist(), batch.widths[i].tolist(),
                                     [2] * self.num_stages,
                                     batch.bottleneck_ratios[i].tolist(),
                                     batch.group_widths[i].tolist(), self.se_ratio,
                                     self.stem_width)
        params = {k: v[i].tolist() for k, v in batch.params.items()}
        return Draw(spec, {**params, 'drawn': self.drawn_parameters(params)})

    def drawn_parameters(self, params: dict[str, Any]) -> dict[str, float]:
        """``d1..``, ``w1..`` per stage; ``b`` and ``g`` once where the space shares
        them (B: b; C-E: b and g), else ``b1..``/``g1..`` (raw draws, before group
        compatibility: a drawn g = 16 stays 16 in a stage whose width forces 8)."""
        drawn: dict[str, float] = {}
        for key, name, shared in (('depths', 'd', False), ('widths', 'w', False),
                                  ('bottleneck_ratios', 'b', self.shared_bottleneck),
                                  ('group_widths', 'g', self.shared_group)):
            values = [float(v) for v in params[key]]
            if shared:
                drawn[name] = values[0]
            else:
                drawn.update({f'{name}{i}': v for i, v in enumerate(values, start=1)})
        return drawn

    # -- membership ---------------------------------------------------------
    def contains(self, spec: Any) -> bool:
        """Is ``spec`` the (compatibility-adjusted) image of a draw of this space?

        Checks stage count, strides 2, stem/SE, depth range, each stage's
        (w, b, g) against the image of the raw choices, shared b/g (the same raw
        g must explain every stage) and monotone widths/depths where required.
        """
        if not isinstance(spec, AnyNetSpec):
            raise ValueError(f'{self.name}.contains expects an AnyNetSpec, got '
                             f'{type(spec).__name__}')
        if (spec.num_stages != self.num_stages or spec.stem_width != self.stem_width
                or any(s != 2 for s in spec.strides)
                or any(r != self.se_ratio for r in spec.se_ratios)):
            return False
        lo, hi = self.depth_range
        if not all(lo <= d <= hi for d in spec.depths):
            return False
        image = _stage_image(self.width_range, self.width_quantum, self.bottleneck_ratios,
                             self.group_widths)
        raw_gs = []
        for st in spec.stages:
            gs = image.get((st.width, st.bottleneck_ratio, st.group_width))
            if not gs:
                return False
            raw_gs.append(gs)
        if self.shared_bottleneck and len(set(spec.bottleneck_ratios)) != 1:
            return False
        if self.shared_group and not frozenset.intersection(*raw_gs):
            return False
        if self.nondecreasing_widths and any(
                a > b for a, b in zip(spec.widths, spec.widths[1:])):
            return False
        if self.nondecreasing_depths and any(
                a > b for a, b in zip(spec.depths, spec.depths[1:])):
            return False
        return True


@functools.lru_cache(maxsize=None)
def _stage_image(width_range: tuple[int, int], width_quantum: int,
                 bottleneck_ratios: tuple[float, ...], group_widths: tuple[int, ...]
                 ) -> dict[tuple[int, float, int], frozenset[int]]:
    """What one stage can be after compatibility: (width, b, group width) -> the raw
    group widths that give it, over every raw (width, b, g) choice."""
    W, B, G = (a.ravel() for a in np.meshgrid(
        np.arange(width_range[0], width_range[1] + 1, width_quantum),
        np.array(bottleneck_ratios, dtype=float), np.array(group_widths), indexing='ij'))
    adj_w, adj_g = adjust_compatibility_arrays(W, B, G)
    table: dict[tuple[int, float, int], set[int]] = {}
    for aw, b, ag, g in zip(adj_w.tolist(), B.tolist(), adj_g.tolist(), G.tolist()):
        table.setdefault((aw, b, ag), set()).add(g)
    return {k: frozenset(v) for k, v in table.items()}


# ==================================================================================
# RegNet spaces
# ==================================================================================
def regnet_stage_arrays(d: np.ndarray, w0: np.ndarray, wa: np.ndarray, wm: np.ndarray,
                        num_stages: int = NUM_STAGES, q: int = QUANTUM
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised RegNet steps 1-3 (``docs/design.md``, "RegNet") for many RegNets:
    (stage depths, raw widths, ok).

    ``ok`` marks rows with exactly ``num_stages`` stages whose exponents s_j are
    0..num_stages-1 with distinct widths (pycls' sweep check num_stages == max_stage).
    Per-element float operations are those of ``quantized_linear_widths``.
    """
    n = len(d)
    dmax = int(d.max()) if n else 0
    j = np.arange(dmax)
    mask = j[None, :] < d[:, None]
    w0f, waf, wmf = (np.asarray(v, dtype=float)[:, None] for v in (w0, wa, wm))
    s = np.where(mask, block_exponents(j, w0f, waf, wmf), -1)
    depths = np.stack([np.count_nonzero(s == i, axis=1) for i in range(num_stages)], 1)
    max_s = s.max(axis=1) + 1 if dmax else np.zeros(n)
    ok = (max_s == num_stages) & np.all(depths > 0, axis=1)
    # raw width of stage i: the block rule at s = i (same float operations)
    exps = np.arange(num_stages, dtype=float)[None, :]
    widths = quantize_widths(w0f, wmf, exps, q).astype(np.int64)
    ok &= np.all(np.diff(widths, axis=1) > 0, axis=1)   # distinct (and increasing)
    return depths.astype(np.int64), widths, ok


def _limits_ok(flops, params, acts) -> np.ndarray:
    """pycls' rule for constrained RegNets: params < 3 + 5.5 F (M), acts < 6.5 sqrt(F) (M)."""
    f_gf = np.asarray(flops, dtype=float) / 1e9
    return ((np.asarray(params) / 1e6 < 3 + 5.5 * f_gf)
            & (np.asarray(acts) / 1e6 < 6.5 * np.sqrt(f_gf)))


@dataclass(frozen=True)
class RegNetSpace(DesignSpace):
    """RegNet: quantized linear widths from (d, w0, wa, wm), shared b and g.

    Draws as pycls' regnet_sampler: d uniform on ``depth_range``; w0, wa, wm
    log-uniform quantized to 8, 0.1, 0.001; g and b uniform from their sets
    (``*_distribution`` switch a dimension between 'uniform' and 'log_uniform').
    ``Draw.params`` / ``Draw.regnet`` hold the drawn (d, w0, wa, wm, g, b).
    Only 4-stage networks (exponents 0..3) are members. With
    ``complexity_limits`` the params/acts rule of the constrained spaces applies
    (evaluated at 224x224, 1000 classes).
    """

    name: str = 'RegNetX'
    depth_range: tuple[int, int] = (1, 63)
    w0_range: tuple[int, int] = (8, 248)
    wa_range: tuple[float, float] = (8.0, 255.9)
    wm_range: tuple[float, float] = (1.5, 3.0)
    bottleneck_ratios: tuple[float, ...] = (1.0, 2.0, 4.0)
    group_widths: tuple[int, ...] = (1, 2, 4, 8, 16, 32)
    se_ratio: float = 0.0
    num_stages: int = NUM_STAGES
    complexity_limits: bool = False
    stem_width: int = STEM_WIDTH
    size_levels: int = 64
    depth_distribution: str = 'uniform'
    w0_distribution: str = 'log_uniform'
    wa_distribution: str = 'log_uniform'
    wm_distribution: str = 'log_uniform'

    kind: ClassVar[str] = 'regnet'

    def __post_init__(self) -> None:
        _validate_common(self)
        set_ = functools.partial(object.__setattr__, self)
        set_('w0_range', _check_range('w0_range', self.w0_range, W0_QUANTUM, True,
                                      W0_QUANTUM))
        set_('wa_range', _check_range('wa_range', self.wa_range, WA_QUANTUM))
        wmr = _check_range('wm_range', self.wm_range, 1.0)
        if wmr[0] <= 1:
            raise ValueError(f'wm_range must satisfy 1 < low <= high, got {self.wm_range!r}')
        set_('wm_range', wmr)
        check_int('size_levels', self.size_levels, 1)
        for dim in ('depth', 'w0', 'wa', 'wm'):
            _check_distribution(f'{dim}_distribution', getattr(self, f'{dim}_distribution'))

    @property
    def size(self) -> float:
        """Table 1's count: depths x levels^3 (w0, wa, wm) x |g| x |b|.

        The paper counts each of w0, wa, wm as ``size_levels`` (64) distinguishable
        values; depth counts its integers (d < 64: 63). Gives 3.0e8 for RegNet.
        """
        n_d = self.depth_range[1] - self.depth_range[0] + 1
        return float(n_d * self.size_levels ** 3 * len(self.group_widths)
                     * len(self.bottleneck_ratios))

    # -- sampling ---------------------------------------------------------------
    def draw_batch(self, rng: np.random.Generator, n: int) -> Batch:
        dist = lambda dim: DISTRIBUTIONS[getattr(self, f'{dim}_distribution')]  # noqa
        d = dist('depth')(rng, *self.depth_range, 1, n).astype(np.int64)
        w0 = dist('w0')(rng, *self.w0_range, W0_QUANTUM, n).astype(np.int64)
        wa = dist('wa')(rng, *self.wa_range, WA_QUANTUM, n)
        wm = dist('wm')(rng, *self.wm_range, WM_QUANTUM, n)
        g = choice(rng, self.group_widths, n).astype(np.int64)
        b = choice(rng, self.bottleneck_ratios, n).astype(float)
        return self._batch_from_params(d, w0, wa, wm, g, b)

    def _batch_from_params(self, d, w0, wa, wm, g, b) -> Batch:
        s, n = self.num_stages, len(d)
        # Cheap pre-check on the last block alone (exponents never decrease along the
        # network): only rows whose last exponent is num_stages - 1 can have
        # num_stages stages; the per-block arrays are built for those rows only.
        s_last = block_exponents(d - 1, *(np.asarray(v, dtype=float) for v in (w0, wa, wm)))
        rows = np.flatnonzero(s_last == s - 1)
        depths = np.ones((n, s), dtype=np.int64)
        raw_w = np.full((n, s), QUANTUM, dtype=np.int64)
        ok = np.zeros(n, dtype=bool)
        if rows.size:
            depths[rows], raw_w[rows], ok[rows] = regnet_stage_arrays(
                d[rows], w0[rows], wa[rows], wm[rows], s)
        bs = np.repeat(b[:, None], s, 1)
        widths, gs = adjust_compatibility_arrays(raw_w, bs, np.repeat(g[:, None], s, 1))
        params = {'depth': d, 'w0': w0, 'wa': wa, 'wm': wm, 'group_width': g,
                  'bottleneck_ratio': b}
        batch = Batch(self, depths, widths, bs, gs, ok, params)
        if self.complexity_limits and ok.any():
            rows = np.flatnonzero(ok)
            f, p, a = batch_complexity(batch, 224, 1000, rows)
            batch.valid[rows] = _limits_ok(f, p, a)
        return batch

    def _regnet_params(self, values: dict[str, Any]) -> RegNetParams:
        return RegNetParams(depth=int(values['depth']), w0=int(values['w0']),
                            wa=float(values['wa']), wm=float(values['wm']),
                            group_width=int(values['group_width']),
                            bottleneck_ratio=float(values['bottleneck_ratio']),
                            se_ratio=self.se_ratio, stem_width=self.stem_width)

    def _draw_from_batch(self, batch: Batch, i: int) -> Draw:
        rp = self._regnet_params({k: v[i] for k, v in batch.params.items()})
        # the named draws are the drawn parameters already (drawn_parameters names them)
        return Draw(rp.to_spec(), rp.to_dict(), rp)

    def drawn_parameters(self, params: dict[str, Any]) -> dict[str, float]:
        """The paper's six: ``d, w0, wa, wm, g, b`` (g before group compatibility)."""
        return {'d': float(params['depth']), 'w0': float(params['w0']),
                'wa': float(params['wa']), 'wm': float(params['wm']),
                'g': float(params['group_width']), 'b': float(params['bottleneck_ratio'])}

    # -- membership -----------------------------------------------------------------
    def contains_params(self, params: RegNetParams) -> bool:
        """Are these parameters a point of the space (and a kept, 4-stage model)?

        wa and wm are continuous here (only their ranges are checked), although
        draws come quantized to 0.1 and 0.001; w0 must be a multiple of 8.
        """
        if (params.se_ratio != self.se_ratio or params.stem_width != self.stem_width
                or params.width_rounding != 'pycls'):
            return False
        if not (self.depth_range[0] <= params.depth <= self.depth_range[1]
                # on the w0 grid: RegNetParams makes w0 a multiple of QUANTUM (8)
                and self.w0_range[0] <= params.w0 <= self.w0_range[1]
                and self.wa_range[0] <= params.wa <= self.wa_range[1]
                and self.wm_range[0] <= params.wm <= self.wm_range[1]
                and params.group_width in self.group_widths
                and params.bottleneck_ratio in self.bottleneck_ratios):
            return False
        one = lambda v, t: np.array([v], dtype=t)  # noqa: E731
        _, _, ok = regnet_stage_arrays(one(params.depth, np.int64), one(params.w0, np.int64),
                                       one(params.wa, float), one(params.wm, float),
                                       self.num_stages)
        if not ok[0]:
            return False
        if self.complexity_limits:
            rep = complexity(params.to_spec())
            return bool(_limits_ok(rep.flops, rep.params, rep.acts))
        return True

    def contains(self, spec: Any) -> bool:
        """Membership of a ``RegNetParams`` (direct) or of an ``AnyNetSpec``.

        For a spec, searches the space's sampling grid for parameters that
        generate exactly this spec: w0 and g over their finite choices, wm over
        its 0.001 grid (matching the four stage widths), then wa over its 0.1
        grid (matching the stage depths); a hit is confirmed with ``to_spec()``.
        So a spec is a member when a draw of the space can produce it.
        """
        if isinstance(spec, RegNetParams):
            return self.contains_params(spec)
        if not isinstance(spec, AnyNetSpec):
            raise ValueError(f'{self.name}.contains expects an AnyNetSpec or '
                             f'RegNetParams, got {type(spec).__name__}')
        return self.find_params(spec) is not None

    def find_params(self, spec: AnyNetSpec) -> RegNetParams | None:
        """Parameters of this space that generate ``spec`` exactly, or None."""
        s = self.num_stages
        if (spec.num_stages != s or spec.stem_width != self.stem_width
                or any(st != 2 for st in spec.strides)
                or any(r != self.se_ratio for r in spec.se_ratios)
                or len(set(spec.bottleneck_ratios)) != 1
                or spec.bottleneck_ratios[0] not in self.bottleneck_ratios
                or not self.depth_range[0] <= spec.depth <= self.depth_range[1]):
            return None
        b = spec.bottleneck_ratios[0]
        target_w = np.array(spec.widths)
        target_g = np.array(spec.group_widths)
        target_d = np.array(spec.depths)
        wm_grid, wa_grid = _grid(*self.wm_range, WM_QUANTUM), _grid(*self.wa_range, WA_QUANTUM)
        exps = np.arange(s, dtype=float)
        w0s = np.arange(self.w0_range[0], self.w0_range[1] + 1, W0_QUANTUM)
        for g in self.group_widths:
            # the first stage's raw width is w0 itself
            first_w, first_g = adjust_compatibility_arrays(w0s, b, g)
            for w0 in w0s[(first_w == target_w[0]) & (first_g == target_g[0])].tolist():
                # stage widths depend on wm only: raw width of stage i is w0 * wm^i
                raw = quantize_widths(w0, wm_grid[:, None], exps)
                aw, ag = adjust_compatibility_arrays(raw.astype(np.int64), b, g)
                wm_ok = wm_grid[np.all((aw == target_w) & (ag == target_g), axis=1)]
                if not wm_ok.size:
                    continue
                WM, WA = (a.ravel() for a in np.meshgrid(wm_ok, wa_grid, indexing='ij'))
                n = WM.size
                depths, raw_w, ok = regnet_stage_arrays(
                    np.full(n, spec.depth), np.full(n, w0), WA, WM, s)
                hits = np.flatnonzero(ok & np.all(depths == target_d, axis=1))
                for i in hits:
                    rp = RegNetParams(depth=spec.depth, w0=w0, wa=float(WA[i]),
                                      wm=float(WM[i]), group_width=g,
                                      bottleneck_ratio=b, se_ratio=self.se_ratio,
                                      stem_width=self.stem_width)
                    if rp.to_spec() == spec and self.contains_params(rp):
                        return rp
        return None


# ==================================================================================
# Registries: space classes by type name, named spaces by name
# ==================================================================================
#: Space classes a config names with ``type`` (``dict(type='AnyNetSpace', ...)``).
SPACE_TYPES: Registry[type] = Registry('design space type')
SPACE_TYPES.register(AnyNetSpace, 'AnyNetSpace')
SPACE_TYPES.register(RegNetSpace, 'RegNetSpace')


@dataclass(frozen=True)
class NamedSpace:
    """A registered design space: its class and the parameters it fixes."""

    name: str
    cls: type
    defaults: Mapping[str, Any]

    def build(self, **overrides: Any) -> DesignSpace:
        _check_param_names(self.cls, overrides)
        return self.cls(**{**self.defaults, 'name': self.name, **overrides})


#: Named design spaces (``get_space(name)``); add yours with :func:`register_space`.
SPACES: Registry[NamedSpace] = Registry('design space')


def register_space(name: str, cls: type | str, **defaults: Any) -> NamedSpace:
    """Register a design space under ``name``: a space class (or its ``SPACE_TYPES``
    name) and the parameters that define it. Unknown parameters: ValueError."""
    cls = SPACE_TYPES.get(cls) if isinstance(cls, str) else cls
    if not (isinstance(cls, type) and issubclass(cls, DesignSpace)):
        raise TypeError(f'a design space needs a DesignSpace class, got {cls!r}')
    _check_param_names(cls, defaults)
    entry = NamedSpace(name, cls, dict(defaults))
    entry.build()                       # bad values fail now, not at first use
    return SPACES.register(entry)


_ANYNET_REFINEMENTS = ('shared_bottleneck', 'shared_group', 'nondecreasing_widths',
                       'nondecreasing_depths')
_CONSTRAINED = dict(bottleneck_ratios=(1.0,), depth_range=(12, 28), wm_range=(2.0, 3.0),
                    complexity_limits=True)
# AnyNetX_B..E each add one refinement to the previous; the constrained RegNets are
# Section 5's (pass depth_range=(12, 40) for Section 4's d <= 40).
for _i, _letter in enumerate('ABCDE'):
    register_space(f'AnyNetX_{_letter}', AnyNetSpace,
                   **{r: True for r in _ANYNET_REFINEMENTS[:_i]})
register_space('RegNetX', RegNetSpace)
register_space('RegNetY', RegNetSpace, se_ratio=SE_RATIO_Y)
register_space('RegNetX_constrained', RegNetSpace, **_CONSTRAINED)
register_space('RegNetY_constrained', RegNetSpace, **dict(_CONSTRAINED, se_ratio=SE_RATIO_Y))
#: The built-in spaces (``SPACES.names()`` also lists those registered later).
SPACE_NAMES: tuple[str, ...] = SPACES.names()


def space_from_config(cfg: Mapping[str, Any]) -> DesignSpace:
    """A space a config defines: ``dict(type='AnyNetSpace' | 'RegNetSpace', name=...,
    **parameters)`` builds one from scratch, ``dict(base='AnyNetX_A', name=...,
    **overrides)`` starts from a registered space."""
    cfg = dict(cfg)
    if ('type' in cfg) == ('base' in cfg):
        raise ValueError(f"a design space config needs exactly one of 'type' (one of "
                         f"{', '.join(SPACE_TYPES.names())}) or 'base' (one of "
                         f"{', '.join(SPACES.names())}), got {cfg!r}")
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in cfg.items()}
    if 'type' in params:
        cls = SPACE_TYPES.get(params.pop('type'))
        _check_param_names(cls, params)
        return cls(**params)
    base = params.pop('base')
    if base not in SPACES:
        raise ValueError(f'unknown design space {base!r} as base; valid spaces: '
                         f'{", ".join(SPACES.names())}')
    return SPACES.get(base).build(**params)


def get_space(name: str | DesignSpace | Mapping[str, Any], **overrides: Any) -> DesignSpace:
    """A named design space, with some of its parameters overridden; a space; or a
    space config (see :func:`space_from_config`).

    Unknown names or parameter names raise ValueError listing the valid ones.
    """
    if isinstance(name, DesignSpace):
        return name.replace(**overrides) if overrides else name
    if isinstance(name, Mapping):
        space = space_from_config(name)
        return space.replace(**overrides) if overrides else space
    if name not in SPACES:
        raise ValueError(f'unknown design space {name!r}; valid spaces: '
                         f'{", ".join(SPACES.names())}')
    return SPACES.get(name).build(**overrides)
