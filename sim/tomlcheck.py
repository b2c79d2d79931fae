"""Typed, path-aware reading of a parsed TOML table, for validators that name the bad key.

``Table`` wraps one TOML table and the key path that leads to it; each getter checks the
value's type and bounds and raises ``ScenarioError("microgrids[1].battery.capacity_wh",
"must be > 0, got -5")`` on the first problem. ``Table.done()`` refuses keys nobody asked
for, so a typo (``capcity_wh``) is an error rather than a silently ignored default.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from gridledger.sim.errors import ScenarioError


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Final = _Required()
"""Default marker of a getter: the key must be present."""


def _type_name(value: object) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return names.get(type(value), type(value).__name__)


class Table:
    """One TOML table at ``path`` (``""`` for the document) of the file ``source``."""

    def __init__(self, data: Mapping[str, Any], path: str, source: Path | None) -> None:
        self._data = data
        self.path = path
        self.source = source
        self._seen: set[str] = set()

    def key_path(self, key: str) -> str:
        """The full path of ``key`` in this table."""
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str, reason: str) -> ScenarioError:
        """A ScenarioError about ``key`` of this table."""
        return ScenarioError(self.key_path(key), reason, self.source)

    def has(self, key: str) -> bool:
        """Whether ``key`` is present (marks it as expected)."""
        self._seen.add(key)
        return key in self._data

    def _get(self, key: str, default: object) -> object:
        self._seen.add(key)
        if key in self._data:
            return self._data[key]
        if default is REQUIRED:
            raise self.error(key, "is required")
        return default

    def number(
        self,
        key: str,
        default: float | _Required = REQUIRED,
        *,
        gt: float | None = None,
        ge: float | None = None,
        lt: float | None = None,
        le: float | None = None,
    ) -> float:
        """A finite number (TOML integer or float) within the given bounds."""
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(key, f"must be a number, got {_type_name(value)}")
        number = float(value)
        if not math.isfinite(number):
            raise self.error(key, f"must be finite, got {value}")
        checks = (
            (gt, ">", gt is not None and not number > gt),
            (ge, ">=", ge is not None and not number >= ge),
            (lt, "<", lt is not None and not number < lt),
            (le, "<=", le is not None and not number <= le),
        )
        for bound, text, failed in checks:
            if failed:
                raise self.error(key, f"must be {text} {bound:g}, got {value}")
        return number

    def integer(
        self,
        key: str,
        default: int | _Required = REQUIRED,
        *,
        ge: int | None = None,
        le: int | None = None,
    ) -> int:
        """An integer (a TOML float such as 60.0 is refused: counts and seconds are exact)."""
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"must be an integer, got {_type_name(value)}")
        if ge is not None and value < ge:
            raise self.error(key, f"must be >= {ge}, got {value}")
        if le is not None and value > le:
            raise self.error(key, f"must be <= {le}, got {value}")
        return value

    def string(
        self, key: str, default: str | _Required = REQUIRED, *, choices: tuple[str, ...] = ()
    ) -> str:
        """A string, one of ``choices`` when given."""
        value = self._get(key, default)
        if not isinstance(value, str):
            raise self.error(key, f"must be a string, got {_type_name(value)}")
        if choices and value not in choices:
            raise self.error(key, f"must be one of {', '.join(choices)}; got {value!r}")
        return value

    def boolean(self, key: str, default: bool | _Required = REQUIRED) -> bool:
        """A boolean."""
        value = self._get(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false, got {_type_name(value)}")
        return value

    def strings(self, key: str, default: tuple[str, ...] | _Required = REQUIRED) -> tuple[str, ...]:
        """An array of strings."""
        value = self._get(key, default)
        if isinstance(value, tuple):
            return value
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(key, f"must be an array of strings, got {_type_name(value)}")
        return tuple(value)

    def table(self, key: str) -> Table | None:
        """The sub-table ``key``, or None when absent."""
        value = self._get(key, None)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.error(key, f"must be a table, got {_type_name(value)}")
        return Table(value, self.key_path(key), self.source)

    def required_table(self, key: str) -> Table:
        """The sub-table ``key``, which must be present."""
        table = self.table(key)
        if table is None:
            raise self.error(key, "is required")
        return table

    def tables(self, key: str) -> list[Table]:
        """The array of tables ``key`` (``[[key]]``), empty when absent."""
        value = self._get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.error(key, f"must be an array of tables, got {_type_name(value)}")
        return [Table(v, f"{self.key_path(key)}[{i}]", self.source) for i, v in enumerate(value)]

    def subtables(self, key: str) -> dict[str, Table]:
        """The tables under ``key`` by name (``[key.NAME]``), empty when absent."""
        table = self.table(key)
        if table is None:
            return {}
        out = {}
        for name in table._data:
            sub = table.table(name)
            assert sub is not None
            out[name] = sub
        return out

    def numbers_by_name(self, key: str, *, gt: float | None = None) -> dict[str, float]:
        """A table of name = number, each number checked."""
        table = self.table(key)
        if table is None:
            return {}
        return {name: table.number(name, gt=gt) for name in table._data}

    def done(self) -> None:
        """Refuse any key that no getter asked for (a misspelt key is an error)."""
        unknown = sorted(set(self._data) - self._seen)
        if unknown:
            expected = ", ".join(sorted(self._seen)) or "none"
            raise self.error(unknown[0], f"unknown key (expected one of: {expected})")
