"""Top-1 errors from the user's own evaluations (the tool never invents or copies one).

Accepted sources, all keyed by the model's table name (``ResNet-50``, ``RegNetX-3.2GF``;
matching ignores case, spaces, '-' and '_'):

* a JSON file mapping name -> top-1 *error* in percent (a number), or name -> a
  string path of an MMEngine ``Runner.test()`` output (below);
* an MMEngine output given as a path: the run's work dir (searched recursively), its
  ``<timestamp>.json`` (the scalar dump ``LoggerHook`` writes after the test epoch,
  ``{"accuracy/top1": 76.13, ...}``), or its ``<timestamp>.log`` text log
  (``Epoch(test) [...] accuracy/top1: 76.1300 ...``). The newest top-1 accuracy found
  is read and converted to an error, 100 - top-1 (MMPretrain's ``Accuracy`` reports
  percentages).
"""
from __future__ import annotations

import difflib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

TOP1_KEY = 'accuracy/top1'
_LOG_TOP1 = re.compile(r'accuracy/top1:\s*([0-9]+(?:\.[0-9]+)?)')


@dataclass(frozen=True)
class ErrorResult:
    top1_error: float
    source: str


def normalise_name(name: str) -> str:
    """'RegNetX-3.2GF', 'regnetx_3.2gf', 'RegNetX 3.2GF' -> 'regnetx3.2gf'."""
    return re.sub(r'[\s_\-]', '', name).lower()


def _check_error(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f'{where}: top-1 error must be a number (percent), got {value!r}')
    value = float(value)
    if not (math.isfinite(value) and 0.0 <= value <= 100.0):
        raise ValueError(f'{where}: top-1 error must be a percentage in [0, 100], '
                         f'got {value}')
    return value


def _top1_from_json_file(path: Path) -> float | None:
    """The last 'accuracy/top1' in a JSON file or JSON-lines file (None if absent)."""
    found = None
    text = path.read_text(encoding='utf-8')
    try:
        documents = [json.loads(text)]
    except json.JSONDecodeError:
        documents = []
        for line in text.splitlines():
            line = line.strip()
            if line:
                try:
                    documents.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
    for doc in documents:
        if isinstance(doc, dict) and TOP1_KEY in doc:
            found = float(doc[TOP1_KEY])
    return found


def _top1_from_log(path: Path) -> float | None:
    matches = _LOG_TOP1.findall(path.read_text(encoding='utf-8', errors='replace'))
    return float(matches[-1]) if matches else None


def top1_error_from_runner_output(path: str | Path) -> ErrorResult:
    """The top-1 error recorded by an MMEngine Runner test run (dir, .json or .log)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f'no such evaluation output: {path}')
    if path.is_dir():
        candidates = sorted(
            (p for p in path.rglob('*') if p.suffix in ('.json', '.log') and p.is_file()),
            key=lambda p: (p.stat().st_mtime, p.suffix == '.json'))
    else:
        candidates = [path]
    for candidate in reversed(candidates):        # newest first
        reader = _top1_from_json_file if candidate.suffix == '.json' else _top1_from_log
        try:
            top1 = reader(candidate)
        except (OSError, UnicodeDecodeError, ValueError):
            continue
        if top1 is not None:
            return ErrorResult(_check_error(100.0 - top1, str(candidate)), str(candidate))
    raise ValueError(f'no "{TOP1_KEY}" found in {path} (expected the output of an '
                     f'MMEngine Runner.test() run: its work dir, <timestamp>.json or .log)')


def check_model_name(name: str, known: Iterable[str], where: str) -> str:
    """``name`` normalised, if it is one of ``known`` (table names); else ValueError
    naming it, where it came from, the closest known name and the accepted ones."""
    known = list(known)
    by_key = {normalise_name(k): k for k in known}
    key = normalise_name(name)
    if key not in by_key:
        close = difflib.get_close_matches(key, list(by_key), n=1, cutoff=0.6)
        hint = f" (did you mean '{by_key[close[0]]}'?)" if close else ''
        raise ValueError(f'{where}: unknown model {name!r}{hint}; the tables have: '
                         f'{", ".join(known)}')
    return key


def load_results(path: str | Path, known_models: Iterable[str] | None = None
                 ) -> dict[str, ErrorResult]:
    """Errors from a JSON mapping name -> error (number) or -> Runner output path.

    With ``known_models`` (the tables' row names), a name that is none of them is a
    ValueError instead of a result that silently matches no row.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f'{path} is a directory; --results takes a JSON file')
    try:
        mapping = json.loads(path.read_text(encoding='utf-8'))
    except json.JSONDecodeError as exc:
        raise ValueError(f'{path} is not valid JSON: {exc}') from None
    if not isinstance(mapping, Mapping):
        raise ValueError(f'{path} must hold a JSON object mapping model name -> top-1 '
                         f'error, got {type(mapping).__name__}')
    results: dict[str, ErrorResult] = {}
    for name, value in mapping.items():
        if known_models is not None:
            check_model_name(name, known_models, str(path))
        if isinstance(value, str):
            target = Path(value)
            if not target.is_absolute():
                target = path.parent / target
            results[normalise_name(name)] = top1_error_from_runner_output(target)
        else:
            results[normalise_name(name)] = ErrorResult(
                _check_error(value, f'{path}: {name}'), str(path))
    return results
