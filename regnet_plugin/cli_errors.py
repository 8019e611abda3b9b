"""One convention for every command-line tool in ``tools/``: bad input is one line, exit 2.

argparse answers a malformed command line with ``prog: error: ...`` on stderr and exit
status 2. ``cli_main`` extends that to the errors the plugin raises for bad input:
``ValueError`` and ``TypeError`` (``regnet_plugin.validate``: the message names the
argument, the value and what is accepted), ``OSError`` (a missing, unreadable or
unwritable file) and ``BadInput`` (raised by a tool for what it checks itself). They
print the same one line and exit 2, without a traceback; ``--debug`` (see
``add_debug_flag``) lets the exception through with its traceback. Anything else (a
bug, an interrupted run) is not bad input and keeps Python's traceback.

Standard library only, so the torch-free tools use it without importing the toolboxes.
"""
from __future__ import annotations

import argparse
import functools
import inspect
import os
import sys
from typing import Callable, Sequence, TypeVar

R = TypeVar('R')

#: The exception types that mean "the input is bad" when they reach a tool's main.
BAD_INPUT_ERRORS: tuple[type[BaseException], ...] = (ValueError, TypeError, OSError)

DEBUG_FLAG = '--debug'


class BadInput(ValueError):
    """Input a tool refuses; ``cli_main`` prints its message as ``prog: error: ...``."""


def add_debug_flag(parser: argparse.ArgumentParser) -> None:
    """Add ``--debug``: on an error, show the Python traceback instead of one line."""
    parser.add_argument(DEBUG_FLAG, action='store_true',
                        help='on an error, show the full Python traceback instead of '
                             'the one-line message')


def error_message(err: BaseException) -> str:
    """The one-line text for ``err`` (an OSError as 'No such file or directory: PATH')."""
    if isinstance(err, OSError) and err.strerror and err.filename is not None:
        text = f'{err.strerror}: {err.filename}'
        if getattr(err, 'filename2', None) is not None:
            text += f' -> {err.filename2}'
        return text
    if isinstance(err, KeyError) and err.args:      # str(KeyError) adds quotes
        return str(err.args[0])
    return str(err).strip() or type(err).__name__


def wants_debug(argv: Sequence[str]) -> bool:
    """Whether ``--debug`` is among the options (before a ``--`` separator)."""
    argv = list(argv)
    if '--' in argv:
        argv = argv[:argv.index('--')]
    return DEBUG_FLAG in argv


def report_bad_input(prog: str, err: BaseException) -> None:
    print(f'{prog}: error: {error_message(err)}', file=sys.stderr, flush=True)


def cli_main(main: Callable[..., R]) -> Callable[..., R]:
    """Decorate a tool's ``main(argv=None)``: bad input becomes ``prog: error: ...`` on
    stderr and ``SystemExit(2)``, as for argparse's own errors (so in-process callers
    see the same ``SystemExit`` either way); ``--debug`` in argv re-raises instead."""
    prog = os.path.basename(inspect.getsourcefile(main) or main.__name__)

    @functools.wraps(main)
    def wrapper(argv: Sequence[str] | None = None, *args, **kwargs) -> R:
        given = sys.argv[1:] if argv is None else argv
        try:
            return main(argv, *args, **kwargs)
        except BrokenPipeError:             # `tool | head`: the reader left; not an error
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise SystemExit(1) from None
        except BAD_INPUT_ERRORS as err:
            if wants_debug(given):
                raise
            report_bad_input(prog, err)
            raise SystemExit(2) from None

    return wrapper
