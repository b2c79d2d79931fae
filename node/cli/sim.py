"""`gridledger sim ...`: standalone scenario runs, federates, and the federation benchmark."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from gridledger.node.cli.sim_ledger import add_ledger_arguments


def _print_summary(summary: Any) -> None:
    columns = ["run", "microgrid", "import_kwh", "export_kwh", "cap_kw", "violation_kwh"]
    columns += ["compliance", "trust", "soc_mean_pct"]
    shown = summary[columns]
    if len(shown) > 24:
        shown = shown.groupby("run", sort=False).agg(
            microgrids=("microgrid", "count"),
            import_kwh=("import_kwh", "sum"),
            export_kwh=("export_kwh", "sum"),
            violation_kwh=("violation_kwh", "sum"),
            soc_mean_pct=("soc_mean_pct", "mean"),
        )
    print(shown.to_string(index=len(summary) > 24, float_format=lambda v: f"{v:.3f}"))


def _sim_run(args: argparse.Namespace) -> int:
    from gridledger.sim.errors import SimError
    from gridledger.sim.runner import run_scenario
    from gridledger.sim.scenarios import resolve

    started = time.perf_counter()
    try:
        scenario = resolve(args.scenario)
        if args.seed is not None:
            scenario = scenario.with_seed(args.seed)
        if args.start_ts is not None:
            scenario = scenario.with_start_ts(args.start_ts)
        out_dir = args.out or Path("out/sim") / scenario.name
        if args.testnet is not None:
            return _sim_feed(scenario, args)
        if args.federation:
            if args.ledger != "none":
                print("error: --ledger settles a standalone run, not --federation", file=sys.stderr)
                return 2
            from gridledger.sim.federation.session import run_federated_cli

            return run_federated_cli(scenario, out_dir, args)
        outputs = run_scenario(
            scenario, out_dir, args.run or (), show_progress=not args.quiet, plots=not args.no_plots
        )
    except SimError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    _print_summary(outputs.summary)
    if outputs.market is not None:
        from gridledger.sim.market_loop import market_totals

        print("\nlocal market (totals over the microgrids; 'none' = no local market):")
        print(market_totals(outputs.market).to_string(float_format=lambda v: f"{v:.3f}"))
    print(
        f"\nwrote {len(outputs.files)} files to {out_dir}/ in {time.perf_counter() - started:.2f} s"
    )
    if args.ledger != "none":
        from gridledger.node.cli.sim_ledger import settle_run_on_ledger

        return settle_run_on_ledger(scenario, outputs, args, out_dir)
    return 0


def _sim_feed(scenario: Any, args: argparse.Namespace) -> int:
    """`sim run SCENARIO --testnet DIR`: the scenario's meters report to the testnet's nodes."""
    import dataclasses

    from gridledger.node import testnet
    from gridledger.node.errors import NodeError
    from gridledger.node.meters import sim_feed

    if args.steps is not None:
        scenario = dataclasses.replace(scenario, n_steps=min(args.steps, scenario.n_steps))
    assign = dict(pair.split("=", 1) for pair in args.assign.split(",") if "=" in pair)
    try:
        feeds = sim_feed.plan(args.testnet, scenario, assign)
        if args.admit:
            print("admitting and funding the participants with their meters (node1's operator)")
            sim_feed.admit(args.testnet, feeds)
        sim_feed.wait_admitted(args.testnet, feeds)
        if args.start_ts is None:  # readings must end before the chain's clock
            now_ts = int(time.time())
            entry = testnet.load_layout(args.testnet)[0]
            if sim_feed.testnet_clock(args.testnet, entry) == "sim":  # the run moves the clock on
                head_ts = sim_feed.chain_head_ts(args.testnet)
                start_ts = head_ts + (-head_ts) % scenario.dt_s
            elif args.realtime is not None and args.realtime <= 1:
                start_ts = now_ts - now_ts % scenario.dt_s
            else:  # yesterday from 00:00 UTC: an accelerated day ends in the past
                start_ts = now_ts - now_ts % 86_400 - 86_400
            resume_ts = max(f.resume_ts for f in feeds)  # meters that reported before go on
            if resume_ts > start_ts:
                start_ts = resume_ts + (-resume_ts) % scenario.dt_s
            scenario = scenario.with_start_ts(start_ts)
        for feed in feeds:
            print(
                f"{feed.microgrid}: meter {feed.meter.address} -> {feed.node} "
                f"(participant {feed.meter.participant}, from seq {feed.meter.next_seq})"
            )
        pace = "unpaced" if args.realtime is None else f"{args.realtime:g} s per s"
        print(
            f"{scenario.name}: {scenario.n_steps} ticks of {scenario.dt_s} s from "
            f"{scenario.start_ts}, {pace}"
        )
        outcome = sim_feed.run(args.testnet, scenario, feeds, args.realtime, args.batch)
    except NodeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for mg, n in outcome.posted.items():
        print(f"{mg}: {n} readings on chain (last seq {outcome.last_seq[mg]})")
    return 0


def _sim_federate(args: argparse.Namespace) -> int:
    import logging

    from gridledger.sim.errors import SimError
    from gridledger.sim.federation.federate import run_federate
    from gridledger.sim.federation.keys import wait_for_federate_keys

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    controls = [c.strip() for c in args.controls.split(",") if c.strip()]
    try:
        keys = wait_for_federate_keys(args.keys, args.name, args.welcome_timeout_s)
        answered = run_federate(
            args.endpoint,
            args.name,
            args.role,
            controls,
            args.timeout_s,
            args.welcome_timeout_s,
            keys=keys,
        )
    except SimError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{args.name}: answered {answered} ticks")
    return 0


def _sim_bench_federation(args: argparse.Namespace) -> int:
    import importlib.util

    from gridledger.node.benchmarks.federation import measure
    from gridledger.node.cli.figures import flatten, print_figures, progress_printer

    helics = not args.no_helics
    if helics and importlib.util.find_spec("helics") is None:
        print(
            "error: the HELICS baseline needs `pip install helics` (or --no-helics)",
            file=sys.stderr,
        )
        return 1
    figures = measure(args.steps, args.repeats, helics, progress_printer("federation"))
    print_figures(flatten(figures), args.json, sort=True)
    return 0


def _sim_list(args: argparse.Namespace) -> int:
    from gridledger.sim.scenarios import builtin_names, resolve

    for name in builtin_names():
        scenario = resolve(name)
        runs = ", ".join(scenario.run_names())
        print(f"{name:<12} {scenario.description}\n{'':<12} runs: {runs}")
    return 0


def register_bench_federation(kinds: Any) -> None:
    """Add `federation` to a `bench` subcommand group (`sim bench`, or an alias elsewhere)."""
    federation = kinds.add_parser(
        "federation",
        help="lockstep ticks per second with 4 federates, against HELICS in the same run",
    )
    federation.add_argument("--json", action="store_true", help="print the figures as JSON")
    federation.add_argument("--steps", type=int, default=1440, help="ticks per run (1440)")
    federation.add_argument("--repeats", type=int, default=3, help="runs per figure (median)")
    federation.add_argument("--no-helics", action="store_true", help="skip the HELICS baseline")
    federation.set_defaults(handler=_sim_bench_federation)


def register(commands: Any) -> None:
    """Add `sim` and its subcommands to the CLI."""
    sim = commands.add_parser("sim", help="the microgrid simulator (standalone or federated)")
    kinds = sim.add_subparsers(dest="sim_command", required=True)

    run = kinds.add_parser(
        "run",
        help="run a scenario and write tidy tables (CSV, Parquet) and PNG plots",
        description="Run a scenario without any chain: the operator rule is built in "
        "(or, with --federation, federates answer each tick over ZMQ).",
    )
    run.add_argument("scenario", help="a built-in scenario (see `sim list`) or a TOML file")
    run.add_argument("--out", type=Path, default=None, help="output folder (out/sim/NAME)")
    run.add_argument("--seed", type=int, default=None, help="root seed (default: the file's)")
    run.add_argument(
        "--start-ts",
        type=int,
        default=None,
        metavar="UNIX_S",
        help="start at this time [unix s] instead of the file's start_ts (times of day follow "
        "UTC: keep the file's UTC time of day to keep its day)",
    )
    run.add_argument(
        "--run",
        action="append",
        metavar="NAME",
        help="run 'base' or a variant (repeatable; default: the scenario's default_runs)",
    )
    run.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument(
        "--federation",
        metavar="ENDPOINT",
        default=None,
        help="run in lockstep with federates over ZMQ, bound at ENDPOINT (tcp://127.0.0.1:5555)",
    )
    run.add_argument(
        "--federates",
        metavar="NAMES",
        default="",
        help="comma-separated federate names to wait for (with --federation)",
    )
    run.add_argument(
        "--timeout-s", type=float, default=10.0, help="per-tick answer timeout [s] (federation)"
    )
    run.add_argument(
        "--register-timeout-s",
        type=float,
        default=120.0,
        help="how long to wait for all federates to register [s] (federation)",
    )
    run.add_argument(
        "--keys",
        type=Path,
        default=None,
        metavar="DIR",
        help="the run's Curve keys: the bus's and one pair per federate, created if missing "
        "(OUT/federation-keys); give it to each `sim federate --keys`",
    )
    run.add_argument(
        "--realtime",
        type=float,
        default=None,
        metavar="SPEED",
        help="pace ticks by the wall clock, SPEED simulated seconds per second (federation)",
    )
    run.add_argument(
        "--testnet",
        type=Path,
        default=None,
        metavar="DIR",
        help="feed the testnet in DIR: each microgrid's meter signs every step and its readings "
        "go to one prosumer node's POST /v1/readings (pace with --realtime SPEED)",
    )
    run.add_argument("--steps", type=int, default=None, help="stop after N ticks (--testnet)")
    run.add_argument(
        "--batch", type=int, default=10, help="ticks per request to the nodes (--testnet)"
    )
    run.add_argument(
        "--assign", default="", help="MG=node,... which node each microgrid reports to (--testnet)"
    )
    run.add_argument(
        "--admit",
        action="store_true",
        help="node1's operator admits and funds the participants with their meters (--testnet)",
    )
    add_ledger_arguments(run)
    run.set_defaults(handler=_sim_run)

    federate = kinds.add_parser(
        "federate",
        help="join a federated run as a federate (the operator, or a monitoring node)",
    )
    federate.add_argument("endpoint", help="the bus, e.g. tcp://127.0.0.1:5555")
    federate.add_argument("--name", required=True, help="this federate's name")
    federate.add_argument(
        "--keys",
        type=Path,
        required=True,
        metavar="DIR",
        help="the run's key folder (`sim run --keys`, default OUT/federation-keys): NAME.key "
        "and bus.pub are read from it (waiting for them up to --welcome-timeout-s)",
    )
    federate.add_argument(
        "--role",
        choices=("operator", "monitor"),
        default="monitor",
        help="operator: dispatch the controlled batteries against their caps; monitor: observe",
    )
    federate.add_argument(
        "--controls", default="", help="comma-separated microgrids whose batteries it dispatches"
    )
    federate.add_argument(
        "--timeout-s", type=float, default=60.0, help="give up after this long without a tick [s]"
    )
    federate.add_argument(
        "--welcome-timeout-s",
        type=float,
        default=120.0,
        help="wait this long for the welcome, sent once every federate registered [s]",
    )
    federate.set_defaults(handler=_sim_federate)

    bench = kinds.add_parser("bench", help="benchmarks of the simulator (see BENCHMARKS.md)")
    register_bench_federation(bench.add_subparsers(dest="sim_bench_command", required=True))

    listing = kinds.add_parser("list", help="the built-in scenarios and their runs")
    listing.set_defaults(handler=_sim_list)
