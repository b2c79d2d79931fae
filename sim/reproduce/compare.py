"""One row of a reproduction table: a quantity, the paper's value, ours, and the difference."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Row:
    """``quantity`` of ``case`` in ``unit``; ``paper`` is None where the paper gives none."""

    quantity: str
    case: str
    unit: str
    paper: float | None
    ours: float

    @property
    def diff(self) -> float | None:
        """Ours minus the paper's (None without a published value)."""
        return None if self.paper is None else self.ours - self.paper

    @property
    def rel_pct(self) -> float | None:
        """The difference relative to the paper's value [%] (None without one, or at 0)."""
        if self.paper is None or self.paper == 0:
            return None
        return 100.0 * (self.ours - self.paper) / abs(self.paper)

    def as_dict(self) -> dict[str, object]:
        """The row as JSON-ready values (NaN as None)."""
        ours = None if math.isnan(self.ours) else self.ours
        return {
            "quantity": self.quantity,
            "case": self.case,
            "unit": self.unit,
            "paper": self.paper,
            "ours": ours,
            "diff": self.diff,
            "rel_pct": self.rel_pct,
        }


def _num(v: float | None, signed: bool = False) -> str:
    if v is None or math.isnan(v):
        return "-"
    return f"{v:+.2f}" if signed else f"{v:.2f}"


def format_table(title: str, rows: Sequence[Row]) -> str:
    """A fixed-width table: quantity, case, unit, paper, ours, ours - paper, relative."""
    head = ("quantity", "case", "unit", "paper", "ours", "diff", "rel %")
    body = [
        (
            r.quantity,
            r.case,
            r.unit,
            _num(r.paper),
            _num(r.ours),
            _num(r.diff, True),
            _num(r.rel_pct, True),
        )
        for r in rows
    ]
    widths = [max(len(x[i]) for x in (head, *body)) for i in range(len(head))]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for cells in body:
        lines.append(
            "  ".join(
                c.ljust(w) if i < 3 else c.rjust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            )
        )
    return "\n".join(lines)
