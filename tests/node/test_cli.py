"""The command line: every command has --help; bad input is a usage error, not a traceback."""

from __future__ import annotations

import pytest

from node.cli import build_parser, main


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
