"""The one exception hierarchy of the ``sim`` package.

Everything the simulator refuses or fails at is a ``SimError``; callers (the CLI, the
node) catch that one type. Subclasses say which part failed and carry what is needed to
act on it (the key path of a bad scenario value, the line of a bad CSV row, the names of
the federates that did not answer).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class SimError(Exception):
    """Base of every error raised by ``sim``."""


class PhysicsInputError(SimError, ValueError):
    """A physics function or model parameter got a value outside its domain (a negative
    step, an efficiency above 1, a NaN); the message names the value and what was given."""


class ScenarioError(SimError):
    """A scenario file or value is refused.

    ``key_path`` names the offending key (``microgrids[1].battery.capacity_wh``), ``reason``
    says what is wrong with it and ``source`` is the file, when there is one.
    """

    def __init__(self, key_path: str, reason: str, source: Path | None = None) -> None:
        self.key_path = key_path
        self.reason = reason
        self.source = source
        where = f"{source}: " if source is not None else ""
        super().__init__(f"{where}{key_path}: {reason}" if key_path else f"{where}{reason}")


class MeasuredDataError(SimError):
    """A measured-data CSV file is refused; ``line`` is 1-based (the header is line 1)."""

    def __init__(self, path: Path, line: int | None, reason: str) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {reason}")


class MeterError(SimError):
    """A meter cannot produce the reading it is asked for."""


class FederationError(SimError):
    """The federation bus failed; the run stopped (outputs so far are written by the runner)."""


class ProtocolError(FederationError):
    """A bus message is malformed or unexpected. The bus refuses it and keeps running."""


class FederateTimeoutError(FederationError):
    """Federates did not answer in time (they died, hung or never registered).

    ``federates`` names them; ``tick`` is the tick they did not answer (None while
    registering).
    """

    def __init__(self, federates: Sequence[str], tick: int | None, timeout_s: float) -> None:
        self.federates = tuple(federates)
        self.tick = tick
        self.timeout_s = timeout_s
        names = ", ".join(repr(f) for f in self.federates)
        what = "register" if tick is None else f"answer tick {tick}"
        super().__init__(
            f"federate{'s' if len(self.federates) > 1 else ''} {names} did not {what} "
            f"within {timeout_s:g} s; the run stopped"
        )


class TwinError(SimError):
    """A consumer digital twin (``sim.twin``) refuses its inputs; the message quotes them."""


class InconsistentPreferencesError(TwinError):
    """An AHP pairwise matrix is too inconsistent to use: consistency ratio >= 0.1.

    ``consistency_ratio`` is the matrix's CR; ``offending`` names the comparisons that
    disagree most with the priority vector, as (criterion i, criterion j, a_ij given,
    w_i / w_j implied), worst first.
    """

    def __init__(
        self, consistency_ratio: float, offending: Sequence[tuple[str, str, float, float]]
    ) -> None:
        self.consistency_ratio = consistency_ratio
        self.offending = tuple(offending)
        named = "; ".join(
            f"{i} vs {j}: given {given:.3g}, priorities imply {implied:.3g}"
            for i, j, given, implied in self.offending
        )
        super().__init__(
            f"pairwise comparisons inconsistent: CR {consistency_ratio:.3f} >= 0.1; revise {named}"
        )


class ScheduleError(TwinError):
    """The day-ahead schedule cannot be solved (infeasible inputs or a solver failure)."""


class CurveKeyError(SimError):
    """A CurveZMQ key or key file is refused: malformed, missing, or readable by others (the
    message names the file and what is wrong)."""
