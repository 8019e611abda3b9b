"""One place for checking user input: integers, finite numbers, lengths, choices.

Every public entry point of the plugin (the torch-free design core, the backbones,
the studies, the CLIs) checks its arguments with these functions, so a bad value
always gives the same kind of error: ``TypeError`` for a value of the wrong type,
``ValueError`` for a value of the right type outside the accepted range, and the
message names the argument, the value received and what is accepted.

The module imports nothing beyond the standard library (no numpy, no torch), so
the CLIs that skip the package ``__init__`` can use it at no cost. numpy scalars
are accepted where Python numbers are (``operator.index`` and ``float`` know them);
``bool`` is refused wherever a number is asked for (``True`` is not a depth).
"""
from __future__ import annotations

import math
import operator
from typing import Any, Iterable, Sequence, TypeVar

T = TypeVar('T')

#: Bounds on model sizes. They exist so that a typo (depth=100000000, w0=8e20)
#: gives an error instead of a model that exhausts memory; they are far above any
#: network of the papers (RegNetY-32GF: 20 blocks, width 3712).
MAX_DEPTH = 10_000          # blocks in one stage / in a RegNet
MAX_WIDTH = 1 << 20         # channels of one layer
MAX_IMG_SIZE = 1 << 15      # pixels along one side
MAX_CLASSES = 1 << 24


def _fmt(number: float) -> str:
    """1048576 rather than 1.04858e+06; 0.25 and 1e-09 as usual."""
    if float(number).is_integer() and abs(number) < 1e16:
        return str(int(number))
    return f'{number:g}'


def _range_text(minimum: float | None, maximum: float | None) -> str:
    if minimum is not None and maximum is not None:
        return f'in [{minimum}, {maximum}]'
    if minimum is not None:
        return f'>= {minimum}'
    if maximum is not None:
        return f'<= {maximum}'
    return ''


def check_int(name: str, value: Any, minimum: int | None = None,
              maximum: int | None = None) -> int:
    """An integer (Python or numpy; not bool, not float) in [minimum, maximum].

    Returns it as a Python ``int``. Wrong type: ``TypeError``; out of range:
    ``ValueError``. Both messages name ``name``, the value and the accepted range.
    """
    accepted = ' '.join(filter(None, ['an integer', _range_text(minimum, maximum)]))
    if isinstance(value, bool):
        raise TypeError(f'{name} must be {accepted}, got the bool {value!r}')
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(f'{name} must be {accepted}, got {value!r} '
                        f'({type(value).__name__})') from None
    if (minimum is not None and number < minimum) or (
            maximum is not None and number > maximum):
        shown = number if abs(number) < 10 ** 16 else f'{number:.3g}'   # not 300 digits
        raise ValueError(f'{name} must be {accepted}, got {shown}')
    return int(number)


def check_number(name: str, value: Any, minimum: float | None = None,
                 maximum: float | None = None, *, min_inclusive: bool = True,
                 max_inclusive: bool = True) -> float:
    """A finite real number (int, float or numpy scalar; not bool, not str) in range.

    Returns it as a Python ``float``. NaN and infinities are always refused.
    """
    low = '' if minimum is None else ('>= ' if min_inclusive else '> ') + _fmt(minimum)
    high = '' if maximum is None else ('<= ' if max_inclusive else '< ') + _fmt(maximum)
    accepted = 'a finite number' + (f' {low}' if low else '') + (
        f'{" and " if low else " "}{high}' if high else '')
    if isinstance(value, (bool, str, bytes)) or value is None:
        raise TypeError(f'{name} must be {accepted}, got {value!r}')
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f'{name} must be {accepted}, got {value!r} '
                        f'({type(value).__name__})') from None
    if not math.isfinite(number):
        raise ValueError(f'{name} must be {accepted}, got {value!r}')
    if minimum is not None and (number < minimum if min_inclusive else number <= minimum):
        raise ValueError(f'{name} must be {accepted}, got {value!r}')
    if maximum is not None and (number > maximum if max_inclusive else number >= maximum):
        raise ValueError(f'{name} must be {accepted}, got {value!r}')
    return number


def check_positive(name: str, value: Any, maximum: float | None = None) -> float:
    """A finite number > 0 (and <= maximum when given)."""
    return check_number(name, value, 0, maximum, min_inclusive=False)


def check_bool(name: str, value: Any) -> bool:
    """A real bool (or numpy bool); 0/1, 'yes' and None are refused."""
    if isinstance(value, bool) or type(value).__name__ == 'bool_':
        return bool(value)
    raise TypeError(f'{name} must be True or False, got {value!r}')


def check_choice(name: str, value: Any, choices: Iterable[T]) -> T:
    """One of ``choices`` (compared with ==); the error lists them."""
    options = list(choices)
    try:
        if value in options:
            return value
    except TypeError:       # unhashable or incomparable value
        pass
    raise ValueError(f'{name} must be one of {options}, got {value!r}')


def check_sequence(name: str, value: Any, length: int | None = None,
                   min_length: int = 0) -> list:
    """A list/tuple (or numpy array) of ``length`` entries (or >= ``min_length``).

    Strings, bytes, dicts and scalars are refused: a width list is not '64'.
    """
    if isinstance(value, (str, bytes, dict)) or not hasattr(value, '__len__') \
            or not hasattr(value, '__iter__'):
        raise TypeError(f'{name} must be a list, got {value!r} ({type(value).__name__})')
    items = list(value)
    if length is not None and len(items) != length:
        raise ValueError(f'{name} must have {length} entries, got {len(items)}: {value!r}')
    if len(items) < min_length:
        raise ValueError(f'{name} must have at least {min_length} entries, '
                         f'got {len(items)}: {value!r}')
    return items


def check_int_list(name: str, values: Any, minimum: int | None = None,
                   maximum: int | None = None, length: int | None = None,
                   min_length: int = 0) -> list[int]:
    """A list of integers, each in [minimum, maximum]; entries named ``name[i]``."""
    items = check_sequence(name, values, length, min_length)
    return [check_int(f'{name}[{i}]', v, minimum, maximum) for i, v in enumerate(items)]


def check_number_list(name: str, values: Any, minimum: float | None = None,
                      maximum: float | None = None, length: int | None = None,
                      min_length: int = 0, *, min_inclusive: bool = True) -> list[float]:
    """A list of finite numbers, each in range; entries named ``name[i]``."""
    items = check_sequence(name, values, length, min_length)
    return [check_number(f'{name}[{i}]', v, minimum, maximum, min_inclusive=min_inclusive)
            for i, v in enumerate(items)]


def check_same_length(**sequences: Sequence) -> int:
    """All the named sequences have one length; the error lists every length."""
    lengths = {name: len(seq) for name, seq in sequences.items()}
    if len(set(lengths.values())) > 1:
        listed = ', '.join(f'{name} has {n}' for name, n in lengths.items())
        raise ValueError(f'expected one entry per stage in each list, but {listed}')
    return next(iter(lengths.values()), 0)


def check_str(name: str, value: Any) -> str:
    """A non-empty string."""
    if not isinstance(value, str):
        raise TypeError(f'{name} must be a string, got {value!r} ({type(value).__name__})')
    if not value:
        raise ValueError(f'{name} must be a non-empty string, got an empty string')
    return value


def check_mapping(name: str, value: Any) -> dict:
    """A dict-like (``keys`` and ``__getitem__``); returned as a plain dict."""
    if not (hasattr(value, 'keys') and hasattr(value, '__getitem__')):
        raise TypeError(f'{name} must be a dict, got {value!r} ({type(value).__name__})')
    return dict(value)


def check_keys(name: str, mapping: dict, allowed: Iterable[str],
               required: Iterable[str] = ()) -> None:
    """No keys outside ``allowed``, every key of ``required``; both listed on error."""
    allowed, required = sorted(allowed), sorted(required)
    unknown = sorted(set(map(str, mapping)) - set(allowed))
    if unknown:
        raise ValueError(f'{name}: unknown key(s) {unknown}; accepted: {allowed}')
    missing = [k for k in required if k not in mapping]
    if missing:
        raise ValueError(f'{name}: missing key(s) {missing}; required: {required}')
