"""Printing helpers shared by the commands: progress lines on stderr, and flat figures as
aligned `key  value` lines or JSON."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from typing import Any


def progress_printer(bench: str) -> Callable[[str], None]:
    """A progress callback printing `[bench NAME] message` lines to stderr."""

    def progress(message: str) -> None:
        print(f"[bench {bench}] {message}", file=sys.stderr, flush=True)

    return progress


def print_figures(
    figures: Mapping[str, float], as_json: bool, sort: bool = False, decimals: int = 3
) -> None:
    """Print flat figures as JSON, or one aligned `key  value` line each (sorted by key if
    ``sort``, else in the benchmark's order)."""
    if as_json:
        print(json.dumps(figures, indent=2, sort_keys=sort))
        return
    width = max(len(k) for k in figures)
    for key, value in sorted(figures.items()) if sort else figures.items():
        print(f"{key:<{width}}  {value:>12,.{decimals}f}")


def flatten(figures: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested figures as one level of dotted keys (`step_overhead_us.gridledger`), the shape
    ``print_figures`` prints."""
    flat: dict[str, Any] = {}
    for key, value in figures.items():
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat
