"""Battery control rules: the operator's contract coordinator and the local self-consumption rule.

These are the decisions federates make; they are pure functions of what a federate
observes at a tick (``Observation``), so the same rule gives the same set-points whether
it runs inside a standalone run or in a federate process across the bus.

- The operator (FED-MGDT's contract coordinator, CCF) dispatches each *controllable*
  microgrid that has an import cap: in the window it discharges the excess of net load over
  the metered cap target, outside it absorbs PV surplus and never discharges
  (``coordinator_request_w``), bounded by power and energy in the battery step.
- Any other battery runs self-consumption (EnergyTwin's myopic baseline): discharge to
  cover net load, charge from surplus.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gridledger.contracts.units import SECONDS_PER_DAY
from gridledger.sim.profiles import SECONDS_PER_HOUR, in_window
from gridledger.sim.scenario import CapContract, MicrogridSpec


@dataclass(frozen=True, slots=True)
class MicrogridState:
    """What a meter and a battery management system report at the start of a tick.

    ``p_load_w``, ``p_pv_w`` [W] over the tick; ``e_battery_wh`` [Wh] and ``soc_pct`` [%]
    at its start (None without a battery).
    """

    p_load_w: float
    p_pv_w: float
    e_battery_wh: float | None = None
    soc_pct: float | None = None

    @property
    def p_net_w(self) -> float:
        """Net load before the battery [W], ``p_load_w - p_pv_w``."""
        return self.p_load_w - self.p_pv_w


@dataclass(frozen=True, slots=True)
class Observation:
    """The measurements of tick ``tick`` starting at ``time_ts`` [unix s], ``t_day_s`` [s
    since 00:00 UTC of the first day], per microgrid name."""

    tick: int
    time_ts: int
    t_day_s: float
    microgrids: Mapping[str, MicrogridState]


def in_daily_window(t_day_s: float, start_s: float, end_s: float) -> bool:
    """Whether time ``t_day_s`` [s] is in the daily window ``[start_s, end_s)`` [s since
    00:00 UTC]; ``end_s < start_s`` wraps midnight, ``start_s == end_s`` is the whole day
    (docs/nomenclature.md)."""
    tod_s = t_day_s % SECONDS_PER_DAY
    if start_s == end_s:
        return True
    if start_s < end_s:
        return start_s <= tod_s < end_s
    return tod_s >= start_s or tod_s < end_s


def window_mask(t_day_s: npt.ArrayLike, start_s: float, end_s: float) -> npt.NDArray[np.bool_]:
    """``in_daily_window`` over an array of times [s]."""
    if start_s == end_s:
        return np.ones(np.shape(t_day_s), dtype=bool)
    return in_window(t_day_s, start_s, end_s)


def metered_cap_target_w(cap_w: float, dt_s: float) -> float:
    """Highest PCC power [W] whose metered energy over ``dt_s`` [s] stays within ``cap_w`` [W].

    The contract sees ``round(P * dt / 3600)`` integer Wh, so holding P exactly at the cap
    can meter above it (10 kW over 60 s is 166.7 Wh, metered 167 Wh = 10.02 kW). The
    coordinator therefore aims at the largest whole-Wh step energy not above the cap.
    """
    wh_per_w = dt_s / SECONDS_PER_HOUR
    return math.floor(cap_w * wh_per_w) / wh_per_w


def coordinator_request_w(p_net_w: float, in_window: bool, target_w: float) -> float:
    """Battery power the MG1 coordinator requests [W], > 0 discharge, < 0 charge.

    In the window, a net load ``p_net_w = p_load - p_pv`` [W] above ``target_w`` [W] is
    met by discharging the excess (the battery step then clips it to power and energy).
    Otherwise, and outside the window always, the rule is self-consumption: absorb PV
    surplus, never discharge, so the battery is full for the evening.
    """
    if in_window and p_net_w > target_w:
        return p_net_w - target_w
    return min(p_net_w, 0.0)


def self_consumption_request_w(p_net_w: float) -> float:
    """Self-consumption request [W], > 0 discharge: cover net load ``p_net_w`` [W], absorb
    a surplus. The battery step clips it to power and energy."""
    return p_net_w


@dataclass(frozen=True, slots=True)
class CapDispatch:
    """The coordinator's task for one microgrid: hold PCC import at ``target_w`` [W] during
    ``[window_start_s, window_end_s)`` [s since 00:00 UTC]."""

    microgrid: str
    target_w: float
    window_start_s: int
    window_end_s: int


@dataclass(frozen=True, slots=True)
class OperatorRule:
    """FED-MGDT's contract coordinator over a set of controlled microgrids."""

    dispatches: tuple[CapDispatch, ...]

    @classmethod
    def for_contracts(
        cls, contracts: Iterable[CapContract], controlled: Iterable[str], dt_s: float
    ) -> OperatorRule:
        """Dispatch every controlled microgrid under a contract; aim at the metered cap
        target (``metered_cap_target_w``) for steps of ``dt_s`` [s]."""
        names = set(controlled)
        return cls(
            tuple(
                CapDispatch(
                    c.microgrid,
                    metered_cap_target_w(c.cap_w, dt_s),
                    c.window_start_s,
                    c.window_end_s,
                )
                for c in contracts
                if c.microgrid in names
            )
        )

    @property
    def microgrids(self) -> tuple[str, ...]:
        """The microgrids this rule dispatches."""
        return tuple(d.microgrid for d in self.dispatches)

    def setpoints_w(self, obs: Observation) -> dict[str, float]:
        """Battery set-points [W], > 0 discharge, for tick ``obs.tick``."""
        out = {}
        for d in self.dispatches:
            state = obs.microgrids[d.microgrid]
            window = in_daily_window(obs.t_day_s, d.window_start_s, d.window_end_s)
            out[d.microgrid] = coordinator_request_w(state.p_net_w, window, d.target_w)
        return out


def builtin_rules(
    microgrids: Iterable[MicrogridSpec], contracts: Iterable[CapContract], dt_s: float
) -> tuple[OperatorRule, tuple[str, ...]]:
    """The operator rule and the names of the batteries on self-consumption, for a run
    without federates (``sim run`` standalone)."""
    mgs = [mg for mg in microgrids if mg.battery is not None]
    rule = OperatorRule.for_contracts(contracts, [mg.name for mg in mgs if mg.controllable], dt_s)
    local = tuple(mg.name for mg in mgs if mg.name not in rule.microgrids)
    return rule, local
