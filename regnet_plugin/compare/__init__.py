"""The paper's comparison tables (Tables 2, 3, 4 and the RegNet model tables),
recomputed: our own flops/params/acts, measured inference time and the user's own
top-1 errors beside the paper's figures, with disagreements flagged, never hidden.

Layout: :mod:`.paper` (the paper's figures, as data), :mod:`.zoo` (which model each row
is and how to build it), :mod:`.counting` (analytic / fvcore / hook counts under ``docs/design.md``,
section 3), :mod:`.timing`, :mod:`.results` and :mod:`.evaluate` (errors),
:mod:`.tables` (computing and flagging), :mod:`.render` and :mod:`.plots` (outputs).
``tools/compare_tables.py`` is the command line.

Only :mod:`.paper` is importable without torch/mmpretrain; the rest imports them lazily.
"""
from .paper import TABLES, PaperRow, PaperTable, agrees_with_paper, resolve_tables

__all__ = ['TABLES', 'PaperRow', 'PaperTable', 'agrees_with_paper', 'resolve_tables']
