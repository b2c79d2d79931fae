"""The contract-level demo: FED-MGDT experiments E1-E4 and one market interval on an
in-process chain (the multi-node testnet demo replaces the chain, not the story).

For each cap of 4, 6, 8 and 10 kW, a replica of microgrid MG1 (its own participant and
meter) gets an import-cap contract for 17:00-20:00 with lambda = 1 token/kWh and
beta = 0.5/kWh; the simulated day of one-minute readings, each signed by the meter, goes
through Metering; the results are read back from the chain.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gridledger.contracts.enums import Side
from gridledger.contracts.units import TOKEN_UNITS, WAD
from gridledger.market.orders import Order
from gridledger.market.witness import witness_for
from gridledger.node.demo.experiments import day_readings, fedmgdt_terms
from gridledger.node.ledger.ephemeral import EphemeralChain
from gridledger.node.ledger.stack import DAY0_TS, Participant, Stack, build_stack
from gridledger.sim.fedmgdt import FEDMGDT_CAPS_W, Mg1Day, simulate_mg1_day

Progress = Callable[[str], None]
DAY_TS = DAY0_TS - 86400  # the simulated day ends before the chain's clock
BATCH = 120


@dataclass(frozen=True, slots=True)
class CapResult:
    """One experiment as read back from the chain."""

    cap_kw: float
    violation_kwh: float
    compliance: float
    penalty: float
    trust: float
    contract_id: int


@dataclass(frozen=True, slots=True)
class MarketResult:
    """The demo's market interval as read back from the chain."""

    interval: int
    price_per_kwh: float
    volume_kwh: float
    orders: int


def _run_cap(stack: Stack, p: Participant, cap_w: float) -> tuple[CapResult, Mg1Day]:
    terms = fedmgdt_terms(p.address, stack.roles.operator, DAY_TS, cap_w)
    receipt = stack.transact(
        stack.import_cap.functions.createContract(terms.as_abi(), stack.consent(terms.as_abi())),
        stack.roles.operator,
    )
    (created,) = stack.events(stack.import_cap, "ContractCreated", receipt)
    contract_id = int(created["args"]["contractId"])
    day = simulate_mg1_day(cap_w)
    readings = day_readings(day, p.meter, p.address, DAY_TS)
    for start in range(0, len(readings), BATCH):
        chunk = readings[start : start + BATCH]
        stack.submit_readings(chunk, [p.meter_key] * len(chunk), gas=6_000_000)
    violation_wh, _, compliance_wad, penalty_units, trust_wad = (
        stack.import_cap.functions.contractStatus(contract_id).call()
    )
    result = CapResult(
        cap_kw=cap_w / 1000,
        violation_kwh=violation_wh / 1000,
        compliance=compliance_wad / WAD,
        penalty=penalty_units / TOKEN_UNITS,
        trust=trust_wad / WAD,
        contract_id=contract_id,
    )
    return result, day


# The demo's order book: (participant index, side, quantity [Wh], limit [token units/kWh]);
# three sellers with PV surplus, three buyers.
DEMO_BOOK: tuple[tuple[int, Side, int, int], ...] = (
    (0, Side.SELL, 1_200, 90_000),
    (1, Side.SELL, 800, 120_000),
    (2, Side.SELL, 1_500, 200_000),
    (3, Side.BUY, 1_000, 250_000),
    (4, Side.BUY, 900, 180_000),
    (5, Side.BUY, 1_100, 110_000),
)


def _run_market(stack: Stack) -> MarketResult:
    """Three sellers with PV surplus and three buyers trade one 15-minute interval."""
    for p in stack.participants:
        stack.fund_tokens(p.address, 1_000 * TOKEN_UNITS)
    interval = (stack.engine.now() - DAY0_TS + 300) // 900 + 1
    orders: list[Order] = []
    for who, side, qty, price in DEMO_BOOK:
        p = stack.participants[who]
        stack.transact(
            stack.market.functions.placeOrder(interval, int(side), qty, price), p.address
        )
        orders.append(Order(len(orders), p.address, side, qty, price))
    stack.at_time(DAY0_TS + interval * 900 - 300)
    w = witness_for(orders)
    m = stack.market.functions
    stack.transact(
        m.clear(interval, w.volume_wh, list(w.buy_ranking), list(w.sell_ranking)),
        stack.roles.operator,
    )
    stack.transact(
        m.settleOrders([(interval << 32) | i for i in range(len(orders))]), stack.roles.operator
    )
    result = m.resultOf(interval).call()
    return MarketResult(interval, result[1] / TOKEN_UNITS, result[2] / 1000, len(orders))


def run(out_dir: Path, progress: Progress) -> tuple[list[CapResult], MarketResult]:
    """Run E1-E4 and the market interval; write results.csv and the plots into `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    progress("deploying the contracts on an in-process chain (py-evm, Cancun)")
    stack = build_stack(EphemeralChain(), n_participants=6)
    stack.at_time(DAY0_TS)
    results: list[CapResult] = []
    days: dict[float, Mg1Day] = {}
    for i, cap_w in enumerate(FEDMGDT_CAPS_W):
        progress(f"E{i + 1}: MG1 with a {cap_w / 1000:g} kW import cap, 1440 signed readings")
        result, day = _run_cap(stack, stack.participants[i], cap_w)
        results.append(result)
        days[cap_w] = day
    progress("market: one 15-minute interval, six orders, cleared by witness and settled")
    market = _run_market(stack)
    write_csv(results, out_dir / "results.csv")
    plot(results, days, out_dir)
    return results, market


def write_csv(results: list[CapResult], path: Path) -> None:
    """cap_kw, violation_kwh, compliance, penalty (tokens), trust."""
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["cap_kw", "violation_kwh", "compliance", "penalty", "trust"])
        for r in results:
            writer.writerow(
                [
                    f"{r.cap_kw:g}",
                    f"{r.violation_kwh:.3f}",
                    f"{r.compliance:.6f}",
                    f"{r.penalty:.6f}",
                    f"{r.trust:.6f}",
                ]
            )


def plot(results: list[CapResult], days: dict[float, Mg1Day], out_dir: Path) -> None:
    """The three FED-MGDT figures as PNG."""
    day = days[6000.0]
    plot_figures(results, day.t_s / 3600, day.p_pcc_w / 1000, out_dir)


def plot_figures(
    results: list[CapResult], hours: Any, p_pcc_kw: Any, out_dir: Path, label: str = "MG1"
) -> None:
    """MG1's PCC power [kW] over the day against the 6 kW cap, E_viol vs cap, trust vs cap."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4))
    ax.plot(hours, p_pcc_kw, label=f"{label} PCC power")
    ax.axhline(6, color="tab:red", linestyle="--", label="cap 6 kW")
    ax.axvspan(17, 20, color="tab:orange", alpha=0.15, label="enforcement window")
    ax.set(xlabel="hour of day (UTC)", ylabel="power [kW] (> 0 import)", xlim=(0, 24))
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(out_dir / "mg1_pcc_vs_cap_6kw.png", dpi=120)
    plt.close(fig)

    caps = [r.cap_kw for r in results]
    for name, values, ylabel in (
        ("violation_vs_cap.png", [r.violation_kwh for r in results], "E_viol [kWh]"),
        ("trust_vs_cap.png", [r.trust for r in results], "trust exp(-beta E_viol)"),
    ):
        fig, ax = plt.subplots(figsize=(5, 4))
        ax.plot(caps, values, marker="o")
        ax.set(xlabel="import cap [kW]", ylabel=ylabel, xticks=caps)
        fig.tight_layout()
        fig.savefig(out_dir / name, dpi=120)
        plt.close(fig)
