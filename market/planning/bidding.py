"""The `planned` bidding strategy: orders from a prosumer's forecast and plan, kept by its battery.

The default prosumer strategy is persistence (``persistence_order``, used by the node's agent
and by ``gridledger reproduce bidding``): the net energy metered over the last interval is
expected again in the next, and offered (a surplus) or bid for (a deficit). The planned
strategy instead asks the prosumer's rolling planner (``market.planning.rolling``,
replanning every interval) what it expects at its meter in the interval: the plan's grid
exchange of its first step, ``(import - export) * dt`` [Wh], from its q50 forecasts of load
and PV and its battery plan. That expectation becomes the order (``order_of``), and during
the interval the battery holds the meter at the committed power: ``set-point = measured net
load - committed PCC power``, clipped by the battery's limits, so a sale is delivered from
the battery when PV falls short of the forecast.

Before the planner is active (its 7-day history) or when planning fails, the prosumer places
no order and its battery runs the myopic rule.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from gridledger.contracts.enums import Side
from gridledger.market.forecast.forest import ForecastConfig
from gridledger.market.planning.lp import PlannerCosts
from gridledger.market.planning.rolling import RollingConfig, RollingPlanner, myopic_setpoint_w
from gridledger.market.planning.storage import StorageLimits

MIN_ORDER_WH = 50
"""No order below this much energy [Wh] (the persistence strategy's default)."""


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """What to order for one interval: ``side`` (None: no order) and ``quantity_wh`` [Wh]."""

    side: Side | None
    quantity_wh: int

    def committed_pcc_w(self, dt_s: float) -> float | None:
        """The mean PCC power [W] (> 0 import) this order commits to over an interval of
        ``dt_s`` [s]; None without an order."""
        if self.side is None:
            return None
        signed_wh = self.quantity_wh if self.side is Side.BUY else -self.quantity_wh
        return signed_wh * 3600.0 / dt_s


def order_of(expected_net_wh: float, min_order_wh: int = MIN_ORDER_WH) -> OrderIntent:
    """The order for an expected net import ``expected_net_wh`` [Wh] (> 0 import): a buy of
    a deficit, a sell of a surplus, nothing below ``min_order_wh``."""
    quantity = round(abs(expected_net_wh))
    if quantity < min_order_wh:
        return OrderIntent(None, 0)
    return OrderIntent(Side.BUY if expected_net_wh > 0 else Side.SELL, quantity)


def persistence_order(last_interval_net_wh: float, min_order_wh: int = MIN_ORDER_WH) -> OrderIntent:
    """The persistence strategy's order: the net energy ``last_interval_net_wh`` [Wh] (> 0
    import) metered over the last interval is expected again, and ordered (``order_of``).
    The node's agent cuts its sale to the export it expects (``capped_sell`` with
    ``export_floor_wh``, node.agents.strategies.Persistence)."""
    return order_of(last_interval_net_wh, min_order_wh)


def capped_sell(
    intent: OrderIntent, cap_wh: float, min_order_wh: int = MIN_ORDER_WH
) -> OrderIntent:
    """``intent`` with a sale cut to ``cap_wh`` [Wh], the export the prosumer expects to have
    in the interval: a prosumer never offers energy it does not expect to have. No sale is
    left below ``min_order_wh`` (nor at all when ``cap_wh`` < 1 Wh); a buy or no order is
    returned as it is."""
    if intent.side is not Side.SELL:
        return intent
    quantity = min(intent.quantity_wh, math.floor(max(cap_wh, 0.0)))
    if quantity < max(min_order_wh, 1):
        return OrderIntent(None, 0)
    return OrderIntent(Side.SELL, quantity)


def export_floor_wh(steps: Sequence[tuple[int, float]], recent: int, until_ts: int) -> float:
    """The least net export [Wh] (> 0 export) a meter is expected to meter in any one of its
    steps from now until ``until_ts`` [unix s]: a conservative expectation from its latest
    ``steps`` ((start [unix s], net export [Wh]), oldest first, at least one), the lesser of

    - the least step of the last ``recent`` (the export dipped that low in the last interval);
    - the steps' trend (their least-squares line over time) lowered by the deepest any step
      fell below it, and, when it falls, followed to ``until_ts`` (a rise is not counted on).

    Negative when the meter is expected to import; a delivery obligation is checked step by
    step (docs/contracts.md), so it is the least step, not the mean, that a sale must not
    exceed."""
    if not steps:
        raise ValueError("export_floor_wh needs at least one metered step")
    last_ts = steps[-1][0]
    ts = [float(t - last_ts) for t, _ in steps]
    xs = [float(x) for _, x in steps]
    n = len(steps)
    t_mean, x_mean = sum(ts) / n, sum(xs) / n
    spread = sum((t - t_mean) ** 2 for t in ts)
    slope = (
        sum((t - t_mean) * (x - x_mean) for t, x in zip(ts, xs, strict=True)) / spread
        if spread > 0
        else 0.0
    )
    below = min(x - (x_mean + slope * (t - t_mean)) for t, x in zip(ts, xs, strict=True))
    level = x_mean + slope * (0.0 - t_mean) + below  # the trend's lower envelope now
    trend = level + min(slope, 0.0) * max(0, until_ts - last_ts)
    return min(*xs[-max(recent, 1) :], trend)


@dataclass
class PlannedBidder:
    """The planned strategy of one prosumer's microgrid with a battery (module docstring)."""

    battery: StorageLimits
    dt_s: int
    grid_limit_w: float | None = None
    forecast: ForecastConfig = field(default_factory=ForecastConfig)
    costs: PlannerCosts = field(default_factory=PlannerCosts)
    activation_tick: int = 168
    min_order_wh: int = MIN_ORDER_WH

    def __post_init__(self) -> None:
        rolling = RollingConfig(self.activation_tick, horizon_ticks=4, replan_every_ticks=1)
        self.planner = RollingPlanner(
            self.battery, self.dt_s, self.grid_limit_w, rolling, self.costs, self.forecast
        )

    def order(
        self, tick: int, e_wh: float, p_load_w: npt.ArrayLike, p_pv_w: npt.ArrayLike
    ) -> OrderIntent:
        """The order for interval ``tick`` from the ticks observed before it and the stored
        energy ``e_wh`` [Wh] at its start; replans."""
        if tick < self.activation_tick:
            return OrderIntent(None, 0)
        load = np.asarray(p_load_w, dtype=np.float64)
        # The plan is built from the ticks before `tick`; tick `tick` enters only the
        # planner's applied set-point, which the planned strategy replaces (setpoint_w).
        before = self.planner.fallback_count
        self.planner.setpoint_w(tick, e_wh, load, p_pv_w)
        last = self.planner.decisions[-1] if self.planner.decisions else None
        if self.planner.fallback_count > before or last is None or last.tick != tick:
            return OrderIntent(None, 0)
        plan = last.plan
        expected_wh = float(plan.p_import_w[0] - plan.p_export_w[0]) * self.dt_s / 3600.0
        return order_of(expected_wh, self.min_order_wh)

    def setpoint_w(self, intent: OrderIntent, p_net_w: float) -> float:
        """Battery set-point [W] (> 0 discharge) during the interval: hold the meter at the
        committed power, or the myopic rule without an order."""
        committed_w = intent.committed_pcc_w(self.dt_s)
        if committed_w is None:
            return myopic_setpoint_w(p_net_w)
        return p_net_w - committed_w
