"""The command line: every command has --help; bad input is a usage error, not a traceback."""

from __future__ import annotations

import json

import pytest

from gridledger.node.cli import build_parser, main
from gridledger.node.cli.figures import flatten, print_figures


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["contracts", "build", "--help"], ["bench", "gas", "--help"], ["demo", "--help"]],
)
def test_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0
    assert "usage: gridledger" in capsys.readouterr().out


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2
    assert "invalid choice: 'frobnicate'" in capsys.readouterr().err


def test_bad_orders_argument(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["bench", "gas", "--orders", "ten"])
    assert exc.value.code == 2
    assert "invalid int value: 'ten'" in capsys.readouterr().err


def test_bench_figures_print_flat_aligned_or_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    figures = flatten({"ticks_per_s": {"helics": 2.0, "gridledger": 1234.5}, "ratio": 0.25})
    assert figures == {"ticks_per_s.helics": 2.0, "ticks_per_s.gridledger": 1234.5, "ratio": 0.25}
    print_figures(figures, as_json=False)
    assert capsys.readouterr().out.splitlines() == [
        "ticks_per_s.helics             2.000",
        "ticks_per_s.gridledger     1,234.500",
        "ratio                          0.250",
    ]
    print_figures(figures, as_json=False, sort=True, decimals=1)
    assert capsys.readouterr().out.splitlines()[0] == "ratio                            0.2"
    print_figures(figures, as_json=True, sort=True)
    assert list(json.loads(capsys.readouterr().out)) == sorted(figures)
