"""How reports write numbers: percentages, points, intervals, p-values, counts.

Every helper takes None (a number that could not be computed: null in significance.json)
and writes "—" for it, so a missing figure is visible, never a crash or a "nan".
"""

from __future__ import annotations

import math


def finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def pct(x: float | None) -> str:
    """A share as percent: 0.125 -> "12.5"."""
    return f"{100 * x:.1f}" if x is not None and finite(x) else "—"


def ci(lo: float | None, hi: float | None) -> str:
    """An interval of shares in percent points: "[1.2, 3.4]"."""
    if lo is None or hi is None or not (finite(lo) and finite(hi)):
        return "—"
    return f"[{100 * lo:.1f}, {100 * hi:.1f}]"


def p_cell(p: float | None) -> str:
    """A p or q value for a table cell: "< 0.001" or "0.123"."""
    if p is None or not finite(p):
        return "—"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def p_is(name: str, p: float | None) -> str:
    """"p < 0.001" or "p = 0.123" (never "p = < 0.001")."""
    cell = p_cell(p)
    return f"{name} {cell}" if cell.startswith("<") else f"{name} = {cell}"


def points(x: float | None) -> str:
    """A difference of shares in signed percent points: 0.031 -> "+3.1"."""
    return f"{x * 100:+.1f}" if x is not None and finite(x) else "—"


def num(x: float | None, digits: int = 1) -> str:
    """A plain number with thousands separators."""
    return f"{x:,.{digits}f}" if x is not None and finite(x) else "—"
