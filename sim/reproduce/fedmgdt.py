"""FED-MGDT reproduced from the simulator alone: experiments E1-E4, Figures 2-4, the checks.

FED-MGDT runs MG1 for a day under an import cap of 4, 6, 8 and 10 kW (E1-E4) enforced
17:00-20:00 (``sim.fedmgdt``). It publishes the shape of the result, not its numbers, so the
reproduction prints our E1-E4 table (violation energy, compliance, trust, penalty) and the
paper's qualitative claims as pass/fail checks:

1. violation energy falls as the cap rises;
2. it is non-zero at 6 kW;
3. it drops sharply between 6 and 8 kW (here: by at least 90 %), the boundary where the
   6 kW battery can cover the evening excess;
4. it is about zero at 10 kW (here: under 1 % of E1's);
5. trust and compliance rise with the cap.

Figures: 2, PCC power against each cap over the day; 3, violation energy per cap; 4, trust
and compliance per cap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np

from gridledger.sim.fedmgdt import (
    FEDMGDT_CAPS_W,
    Mg1Config,
    Mg1Day,
    simulate_mg1_day,
    violation_wh,
)
from gridledger.sim.profiles import in_window

SHARP_DROP = 0.9
"""The 6 -> 8 kW drop that counts as sharp: at least 90 % of the 6 kW violation energy."""
ABOUT_ZERO = 0.01
"""10 kW counts as about zero below 1 % of the 4 kW violation energy."""


@dataclass(frozen=True, slots=True)
class Experiment:
    """One of E1-E4: the cap [W], violation and window energy [kWh], compliance, trust and
    penalty [token] under FED-MGDT's lambda 1.0 / kWh and beta 0.5 / kWh, and the day."""

    name: str
    cap_w: float
    violation_kwh: float
    window_kwh: float
    compliance: float
    trust: float
    penalty: float
    day: Mg1Day


@dataclass(frozen=True, slots=True)
class Check:
    """One qualitative claim of the paper and whether our run keeps it."""

    claim: str
    passed: bool
    detail: str


def run_experiments(config: Mg1Config | None = None) -> tuple[Experiment, ...]:
    """E1-E4 under ``config`` (default: ``Mg1Config()``; one simulated day each, same
    weather and load)."""
    config = config or Mg1Config()
    out = []
    for i, cap_w in enumerate(FEDMGDT_CAPS_W, start=1):
        day = simulate_mg1_day(cap_w, config)
        viol_kwh = violation_wh(day, cap_w) / 1000.0
        mask = in_window(day.t_s, day.window_start_s, day.window_end_s)
        window_kwh = float(np.abs((day.import_wh - day.export_wh)[mask]).sum()) / 1000.0
        compliance = 1.0 if window_kwh == 0 else max(0.0, 1.0 - viol_kwh / window_kwh)
        trust = math.exp(-0.5 * viol_kwh)  # FED-MGDT beta 0.5 / kWh; lambda 1.0 / kWh below
        exp = Experiment(f"E{i}", cap_w, viol_kwh, window_kwh, compliance, trust, viol_kwh, day)
        out.append(exp)
    return tuple(out)


def checks(experiments: tuple[Experiment, ...]) -> list[Check]:
    """The paper's qualitative claims against ``experiments`` (E1-E4 in cap order)."""
    e = [x.violation_kwh for x in experiments]
    trust = [x.trust for x in experiments]
    comp = [x.compliance for x in experiments]
    kwh = ", ".join(f"{v:.3f}" for v in e)
    return [
        Check("violation energy falls as the cap rises", all(a >= b for a, b in pairwise(e)),
              f"{kwh} kWh"),
        Check("violation energy is non-zero at 6 kW", e[1] > 0, f"{e[1]:.3f} kWh"),
        Check("sharp drop between 6 and 8 kW (>= 90 %)", e[2] <= (1 - SHARP_DROP) * e[1],
              f"{e[1]:.3f} -> {e[2]:.3f} kWh"),
        Check("about zero at 10 kW (< 1 % of 4 kW)", e[3] <= ABOUT_ZERO * e[0],
              f"{e[3]:.3f} kWh"),
        Check("trust and compliance rise with the cap",
              all(a <= b for a, b in pairwise(trust))
              and all(a <= b for a, b in pairwise(comp)),
              "trust " + ", ".join(f"{t:.3f}" for t in trust)),
    ]  # fmt: skip


def format_experiments(experiments: tuple[Experiment, ...]) -> str:
    """The E1-E4 table (the paper publishes no numbers to set beside these)."""
    lines = ["E1-E4 (MG1, cap enforced 17:00-20:00; the paper publishes the shape only)"]
    lines.append("exp  cap kW  violation kWh  window kWh  compliance  trust   penalty")
    for x in experiments:
        lines.append(
            f"{x.name:<4} {x.cap_w / 1e3:>6.0f}  {x.violation_kwh:>13.3f}  {x.window_kwh:>10.3f}"
            f"  {x.compliance:>10.3f}  {x.trust:>5.3f}  {x.penalty:>8.3f}"
        )
    return "\n".join(lines)


def write_figures(experiments: tuple[Experiment, ...], out_dir: Path) -> list[Path]:
    """FED-MGDT Figures 2-4 as PNG in ``out_dir``; their paths."""
    import matplotlib  # noqa: PLC0415  (~0.5 s; only when figures are written)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    out_dir.mkdir(parents=True, exist_ok=True)
    caps = [x.cap_w / 1e3 for x in experiments]
    files = []
    fig, ax = plt.subplots(figsize=(8, 4))
    for x in experiments:
        hours = x.day.t_s / 3600.0
        (line,) = ax.plot(
            hours, x.day.p_pcc_w / 1e3, lw=1, label=f"{x.name} ({x.cap_w / 1e3:.0f} kW)"
        )
        ax.hlines(x.cap_w / 1e3, 17, 20, color=line.get_color(), ls="--")
    ax.axvspan(17, 20, color="k", alpha=0.06)
    ax.set(xlabel="hour [UTC]", ylabel="PCC power [kW]", title="Fig. 2: MG1 PCC power vs cap")
    ax.legend(fontsize=8)
    files.append(_save(fig, out_dir / "fig02_pcc_vs_cap.png"))

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.bar(caps, [x.violation_kwh for x in experiments], width=1.2)
    ax.set(
        xlabel="import cap [kW]", ylabel="violation energy [kWh]", title="Fig. 3: violation energy"
    )
    files.append(_save(fig, out_dir / "fig03_violation.png"))

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(caps, [x.trust for x in experiments], "o-", label="trust")
    ax.plot(caps, [x.compliance for x in experiments], "s--", label="compliance")
    ax.set(
        xlabel="import cap [kW]", ylabel="[-]", ylim=(0, 1.05), title="Fig. 4: trust and compliance"
    )
    ax.legend()
    files.append(_save(fig, out_dir / "fig04_trust.png"))
    return files


def _save(fig: object, path: Path) -> Path:
    fig.tight_layout()  # type: ignore[attr-defined]
    fig.savefig(path, dpi=110)  # type: ignore[attr-defined]
    import matplotlib.pyplot as plt  # noqa: PLC0415

    plt.close(fig)  # type: ignore[arg-type]
    return path
