"""The published numbers the reproductions compare against (docs/reproductions.md).

EnergyTwin: Table 1 (campus, nominal week after activation), Table 2 (forecast MAE) and the
stress cases (predictive controller). FED-MGDT publishes the shape of E1-E4, not numbers:
its qualitative checks are in ``sim.reproduce.fedmgdt``.
"""

from __future__ import annotations

ENERGYTWIN_TABLE1: dict[str, dict[str, float]] = {
    "baseline": {
        "CEBR": 172.59,
        "IEBR": 214.53,
        "mean SoC": 18.63,
        "BRI(>=50%)": 17.86,
        "scarcity": 48.81,
        "EFC": 12.58,
    },
    "predictive": {
        "CEBR": 279.13,
        "IEBR": 502.09,
        "mean SoC": 61.76,
        "BRI(>=50%)": 71.43,
        "scarcity": 11.90,
        "EFC": 20.75,
    },
}
"""Table 1: final CEBR [%], mean post-activation IEBR [%], mean SoC [%], BRI [%],
scarcity [%], EFC [cycles]."""

ENERGYTWIN_TABLE2_MAE_KW: dict[str, float] = {"load": 7.56, "pv": 5.06}
"""Table 2: forecast MAE [kW] at the planning instants."""

ENERGYTWIN_STRESS: dict[str, dict[str, float]] = {
    "pv_outage": {
        "CEBR": 269.27,
        "IEBR": 440.03,
        "mean SoC": 65.02,
        "BRI(>=50%)": 72.62,
        "scarcity": 7.14,
    },
    "load_spike": {"IEBR": 414.13, "mean SoC": 10.57, "BRI(>=50%)": 8.43, "scarcity": 48.19},
}
"""The stress cases of the predictive controller (the paper gives these KPIs only)."""
